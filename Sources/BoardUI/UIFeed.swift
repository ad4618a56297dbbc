import BoardCore
import BoardNet
import Glibc

/// The page's subscriber on the board (DESIGN.md 15): it records the board's events
/// into a `UIBatch` and, as one of the loop's sources, hands the batch over as one
/// JSON message every `interval` of host time (or at once when `maxEvents` wait),
/// with the connection table and the pins read at that moment. `deliver` must not
/// block (the hub queues the text for the server's thread): the board never waits
/// for a browser.
///
/// Board thread only.
public final class UIFeed: EventSource {
    /// Host time between two messages (ns).
    public var interval: UInt64 = 100_000_000
    /// Events after which a batch goes at once.
    public var maxEvents = 4096
    /// Host time after which a message goes even with nothing new (the page's clock moves).
    public var heartbeat: UInt64 = 1_000_000_000
    private unowned let board: Board
    private unowned let network: Network
    private let plugins: PluginHost?
    private let capture: PcapBuffer?
    private let luaMemory: (() -> Int?)?
    private let deliver: (String) -> Void
    private let hostNanos: () -> UInt64
    private var batch = UIBatch()
    private var lastFlush: UInt64
    private var lastSent: UInt64
    private var lastPins: [UIBatch.Pin] = []
    private var lastPCBs: [Network.PCBRow] = []
    private var lastControls: [UIBatch.Control] = []
    private var lastTime: UIBatch.TimeState?
    /// The last message's bytes: the next one's text is reserved at about that size.
    private var lastMessageBytes = 1024
    private var subscription: BoardEvents.Subscription?
    /// The latest TCP frames, raw: decoded when a message goes (a busy board's
    /// thousands of segments a second cost a copy each, not a decode).
    private var frames = FrameRing(capacity: UIBatch.maxSegments)

    /// Subscribes to `board`'s events. `plugins` places the parts whose controls the page
    /// shows; `capture` gets every frame (the page's pcap download); `luaMemory` reads the
    /// sketch's Lua VM at each message; `hostNanos` is the host's monotonic clock (a test's own).
    public init(
        board: Board, network: Network, plugins: PluginHost? = nil, capture: PcapBuffer? = nil,
        luaMemory: (() -> Int?)? = nil, hostNanos: @escaping () -> UInt64 = UIFeed.monotonicNanos,
        deliver: @escaping (String) -> Void
    ) {
        self.board = board
        self.network = network
        self.plugins = plugins
        self.capture = capture
        self.luaMemory = luaMemory
        self.deliver = deliver
        self.hostNanos = hostNanos
        lastFlush = board.clock.mode == .real ? board.clock.micros &* 1000 : hostNanos()
        lastSent = lastFlush
        // not `.pcb`: watching it makes the network compare its whole pcb table on every
        // pass; the segments and the table read at each message tell the same story.
        // Not `.pin`: the pins are read at each message (a servo's pulses are not news)
        let kinds: BoardEvent.Kind = [.serialOut, .frame, .heap, .reset, .crash, .wifi, .visit, .control]
        subscription = board.events.subscribe(kinds) { [unowned self] t, event in self.record(event, at: t) }
        board.loop.addSource(self)
        // a paused board runs no passes: its messages go from the hold
        board.loop.addHeldWatcher(self)
    }

    /// Ends the subscription and leaves the loop.
    public func cancel() {
        subscription?.cancel()
        subscription = nil
        board.loop.removeSource(self)
        board.loop.removeHeldWatcher(self)
    }

    func record(_ event: BoardEvent, at t: UInt64) {
        switch event {
        case .serialOut(let bytes): batch.serial(bytes)
        case .frame(let outbound, let bytes):
            capture?.append(bytes, at: t)
            guard let flags = FrameRing.tcpFlags(bytes) else { return }
            frames.add(bytes, outbound: outbound, at: t)
            // a peer's SYN and any RST are marked on the chart
            if (flags & 0x12 == 0x02 && !outbound || flags & 0x04 != 0) && batch.canMark,
                let s = TCPSegment(frame: bytes, outbound: outbound, time: t)
            {
                batch.mark(s.rst ? "RST :\(s.sourcePort)→:\(s.destinationPort)" : "SYN :\(s.sourcePort)→:\(s.destinationPort)", at: t)
            }
        case .heap(let free, let maxBlock): batch.heapSample(free: free, maxBlock: maxBlock, at: t)
        case .reset(let reason): batch.consoleMark(kind: "reset", text: "reboot: \(reason.description)", time: t)
        case .crash(let what): batch.consoleMark(kind: "crash", text: "crash: \(what)", time: t)
        case .wifi(let what): batch.mark("WiFi \(what)", at: t)
        case .visit(let report): batch.mark("visit: \(report)", at: t)
        case .control(let part, let control, let value): batch.mark("\(part).\(control) = \(value)", at: t)
        case .serialIn, .log, .pcb, .pin: break
        }
    }

    // MARK: EventSource

    public func service(now: UInt64) {
        let host = hostTime()
        if host &- lastFlush >= interval || batch.eventCount + frames.added >= maxEvents { flush(host: host) }
    }

    public func nextDeadline(now: UInt64) -> UInt64? {
        // in real time the board wakes for the next message (the TIME_WAIT countdown
        // moves); in virtual time the passes come fast enough on their own
        board.clock.mode == .real ? now + interval / 1000 : nil
    }

    /// Sends what waits (and the tables) now.
    public func flush() { flush(host: hostTime()) }

    /// Host time (ns): in real time board time is the host's monotonic clock, read once
    /// per pass already (no second reading on every pass); in virtual time `hostNanos`.
    private func hostTime() -> UInt64 { board.clock.mode == .real ? board.clock.micros &* 1000 : hostNanos() }

    private func flush(host: UInt64) {
        lastFlush = host
        frames.drain(into: &batch)
        let pcbs = network.pcbTable()
        markTimeWaits(pcbs)
        let pins = Self.pins(board.pins)
        let pinsChanged = pins != lastPins
        let controls = plugins.map(Self.controls) ?? []
        let controlsChanged = controls != lastControls
        // nothing new, nothing to count down and not yet a heartbeat: no message
        let time = Self.timeState(board)
        let quiet =
            batch.isEmpty && !pinsChanged && !controlsChanged && pcbs == lastPCBs && time == lastTime
            && !pcbs.contains(where: { $0.state == .timeWait })
        if quiet && host &- lastSent < heartbeat { return }
        lastSent = host
        let text = batch.json(
            time: board.clock.micros, pcbs: pcbs, pins: pinsChanged ? pins : nil, controls: controlsChanged ? controls : nil,
            luaMemory: luaMemory?(), time: time, capacity: lastMessageBytes + lastMessageBytes / 4)
        lastMessageBytes = max(1024, text.utf8.count)
        deliver(text)
        batch.removeAll()
        lastPins = pins
        lastControls = controls
        lastPCBs = pcbs
        lastTime = time
    }

    /// Marks the pcbs that entered TIME_WAIT since the last message (at this message's time).
    private func markTimeWaits(_ pcbs: [Network.PCBRow]) {
        func key(_ r: Network.PCBRow) -> String { "\(r.localPort) \(r.remoteAddress):\(r.remotePort)" }
        let before = Set(lastPCBs.filter { $0.state == .timeWait }.map(key))
        for r in pcbs where r.state == .timeWait && batch.canMark && !before.contains(key(r)) {
            batch.mark("TIME_WAIT :\(r.localPort)→:\(r.remotePort)", at: board.clock.micros)
        }
    }

    /// Virtual time's pause and speed for the page's controls; nil in real time.
    static func timeState(_ board: Board) -> UIBatch.TimeState? {
        guard board.clock.mode == .virtual else { return nil }
        let t = board.loop.time
        return UIBatch.TimeState(paused: t.paused, speed: t.speed ?? 0)
    }

    static func pins(_ pins: Pins) -> [UIBatch.Pin] {
        let modes = pins.modes, pwm = pins.pwm
        return (0..<Pins.count).map { UIBatch.Pin(mode: modes[$0].rawValue, level: pins.currentLevel($0), pwm: pwm[$0]) }
    }

    /// Every placed part's controls (the names its plugin declares), read now.
    static func controls(_ plugins: PluginHost) -> [UIBatch.Control] {
        let declared = plugins.loaded.flatMap { $0.library.parts }
        return plugins.parts.flatMap { part in
            (declared.first { $0.name == part.type }?.controls ?? []).compactMap { c in
                part.get(c).map { UIBatch.Control(name: "\(part.name).\(c)", value: $0) }
            }
        }
    }

    public static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }
}

/// The latest `capacity` TCP frames of a batch, copied into slots that keep their
/// storage from one batch to the next; decoded (`TCPSegment`) only when drained.
struct FrameRing {
    private var slots: [(time: UInt64, outbound: Bool, bytes: [UInt8])] = []
    private let capacity: Int
    private var next = 0
    private var count = 0
    /// Frames added since the last drain (those beyond `capacity` are counted as dropped).
    private(set) var added = 0

    init(capacity: Int) { self.capacity = capacity }

    mutating func add(_ frame: UnsafeRawBufferPointer, outbound: Bool, at t: UInt64) {
        added += 1
        if slots.count < capacity {
            slots.append((t, outbound, Array(frame)))
        } else {
            slots[next].time = t
            slots[next].outbound = outbound
            slots[next].bytes.removeAll(keepingCapacity: true)
            slots[next].bytes.append(contentsOf: frame)
        }
        next = (next + 1) % capacity
        count = min(count + 1, capacity)
    }

    /// Decodes the kept frames, oldest first, into `batch`; counts the overwritten as dropped.
    mutating func drain(into batch: inout UIBatch) {
        if added > count { batch.countDropped(added - count) }
        let start = (next - count + capacity) % capacity
        for i in 0..<count {
            let slot = slots[(start + i) % capacity]
            let segment = slot.bytes.withUnsafeBytes { TCPSegment(frame: $0, outbound: slot.outbound, time: slot.time) }
            if let segment { batch.segment(segment) }
        }
        count = 0
        added = 0
    }

    /// The TCP flags of an Ethernet frame carrying IPv4 TCP, nil for any other frame.
    static func tcpFlags(_ b: UnsafeRawBufferPointer) -> UInt8? {
        guard b.count >= 34, b[12] == 0x08, b[13] == 0x00, b[23] == 6 else { return nil }
        let flagsAt = 14 + Int(b[14] & 0x0F) * 4 + 13
        return flagsAt < b.count ? b[flagsAt] : nil
    }
}
