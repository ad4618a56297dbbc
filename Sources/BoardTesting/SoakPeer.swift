import ArduinoLua
import BoardCore
import BoardNet
import Foundation

/// A TCP client living on the board's link, in this process and in board time,
/// that opens connections to the board one after another and ends each in one of
/// four ways. It speaks from its own address (no host socket, no host port to
/// reuse), so a soak of 100,000 connections meets only the board.
///
/// The board's sketch reads one letter per connection and acts on it: `s` it
/// stops, `a` it aborts, `p` it waits for the peer's FIN (and the core answers it
/// with RST, having nothing unread), `r` for the peer's RST
/// (see `SoakPeer.sketch`).
public final class SoakPeer: EventSource {
    public enum Ending: String, CaseIterable, Sendable {
        /// The board answers and calls `stop()` (FIN; the board keeps TIME_WAIT).
        case boardStops = "s"
        /// The board answers and calls `abort()` (RST).
        case boardAborts = "a"
        /// The peer sends FIN after the answer; with nothing unread the core aborts (RST).
        case peerCloses = "p"
        /// The peer sends RST after the answer.
        case peerResets = "r"
    }

    /// The server sketch the peer expects on the board's `port`.
    public static let sketch = """
        local server = WiFiServer(80)
        local open, dropped = {}, false
        function setup()
          WiFi.begin("esplua-net", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(10) end
          server:begin()
        end
        function loop()
          local c = server:accept()
          if c then open[#open + 1] = { c = c } end
          for i = #open, 1, -1 do
            local e = open[i]
            local c = e.c
            if not e.mode and c:available() > 0 then
              e.mode = c:read(1)
              c:print("ok")
              if e.mode == "s" then c:stop() elseif e.mode == "a" then c:abort() end
            end
            if e.mode == "s" or e.mode == "a" or not c:connected() then
              c:stop()
              table.remove(open, i)
              dropped = true
            end
          end
          -- the objects the sketch let go of are freed before the next pass
          if dropped then collectgarbage() dropped = false end
        end
        """

    public let address = "10.0.2.50"
    public let mac: [UInt8] = [0x02, 0x00, 0x00, 0x00, 0x00, 0x50]
    private let boardAddress = "10.0.2.15"
    private unowned let device: Device
    private let port: UInt16
    private let total: Int
    private let endings: [Ending]
    private let gap: UInt64

    /// Connections finished, by ending.
    public private(set) var finished: [Ending: Int] = [:]
    /// What went differently from the plan (each connection at most once).
    public private(set) var problems: [String] = []
    /// Called after each finished connection with the count so far.
    public var progress: ((Int) -> Void)?
    public var done: Bool { started == total && current == nil }

    private struct Connection {
        let ending: Ending
        let localPort: UInt16
        let iss: UInt32
        var boardNext: UInt32 = 0  // the next byte expected from the board
        var sentRequest = false
        var sentClose = false
        var gotAnswer = false
        var startedAt: UInt64
    }
    private var current: Connection?
    private var started = 0
    private var nextStart: UInt64 = 0
    private var inbox: [[UInt8]] = []

    /// Installs the peer on `device`'s link and loop; connections start at `start` (board µs).
    public init(
        device: Device, port: UInt16 = 80, connections: Int, endings: [Ending] = Ending.allCases,
        start: UInt64, gapMicros: UInt64 = 1000
    ) {
        self.device = device
        self.port = port
        self.total = connections
        self.endings = endings
        self.gap = gapMicros
        self.nextStart = start
        device.network.linkPeer = { [unowned self] frame in self.take(frame) }
        device.board.loop.addSource(self)
    }

    /// A frame from the board: ARP for our address, or TCP to it.
    private func take(_ frame: UnsafeRawBufferPointer) -> Bool {
        if let reply = EthernetFrames.arpReply(to: frame, ip: address, mac: mac) {
            inject(reply)
            return true
        }
        guard frame.count >= 34, Array(frame[0..<6]) == mac || frame[30..<34].elementsEqual(EthernetFrames.ip4(address)) else {
            return false
        }
        inbox.append(Array(frame))
        return true
    }

    private func inject(_ frame: [UInt8]) { device.board.loop.inbox.post(.injectFrame(frame)) }

    private func send(_ c: Connection, seq: UInt32, flags: UInt8, payload: [UInt8] = [], options: [UInt8] = []) {
        inject(
            EthernetFrames.tcp(
                from: (address, c.localPort), to: (boardAddress, port), seq: seq, ack: flags & 0x10 != 0 ? c.boardNext : 0,
                flags: flags, window: 8192, options: options, payload: payload, sourceMAC: mac))
    }

    public func nextDeadline(now: UInt64) -> UInt64? {
        if !inbox.isEmpty { return now }
        if current == nil && started < total { return max(now, nextStart) }
        if let c = current { return c.startedAt + 30_000_000 }  // a stuck connection is reported
        return nil
    }

    public func service(now: UInt64) {
        while !inbox.isEmpty { handle(inbox.removeFirst(), now: now) }
        if var c = current, now >= c.startedAt + 30_000_000 {
            problem("connection \(started) (\(c.ending)) stuck 30 s: request \(c.sentRequest), answer \(c.gotAnswer)")
            c.sentClose = true
            send(c, seq: c.iss + 2, flags: 0x04)  // RST
            finish(now: now)
        }
        guard current == nil, started < total, now >= nextStart else { return }
        let ending = endings[started % endings.count]
        started += 1
        // source ports cycle 1024...65535; the ISS steps as a Linux peer's would not matter here
        let c = Connection(
            ending: ending, localPort: UInt16(1024 + (started - 1) % 64_512), iss: UInt32(truncatingIfNeeded: started &* 64_000),
            startedAt: now)
        current = c
        send(c, seq: c.iss, flags: 0x02, options: [2, 4, 0x05, 0xB4])  // SYN, MSS 1460
    }

    private func handle(_ frame: [UInt8], now: UInt64) {
        guard var c = current,
            let s = frame.withUnsafeBytes({ TCPSegment(frame: $0, outbound: true, time: now) }),
            s.destinationPort == c.localPort
        else { return }
        if s.rst {
            // the core aborts when the peer's FIN finds nothing unread (ClientContext.h `_recv`,
            // pb == nullptr: "peer closed = nothing can be written", abort())
            let expected = c.ending == .boardAborts || (c.ending == .peerCloses && c.sentClose)
            if !expected { problem("connection \(started) (\(c.ending)): the board reset it") }
            return finish(now: now)
        }
        if s.syn && s.ack {
            c.boardNext = s.seq &+ 1
            current = c
            send(c, seq: c.iss &+ 1, flags: 0x10)  // ACK
            send(c, seq: c.iss &+ 1, flags: 0x18, payload: Array(c.ending.rawValue.utf8))  // PSH ACK
            c.sentRequest = true
            current = c
            return
        }
        var advanced = false
        if s.payload > 0 && s.seq == c.boardNext {
            c.boardNext = c.boardNext &+ UInt32(s.payload)
            c.gotAnswer = true
            advanced = true
        }
        if s.fin && s.seq &+ UInt32(s.payload) == c.boardNext {
            c.boardNext = c.boardNext &+ 1
            advanced = true
            if c.sentClose {
                // our FIN was out first (peerCloses): this is the board's, ACK it and we are done
                current = c
                send(c, seq: c.iss &+ 3, flags: 0x10)
                return finish(now: now)
            }
            // the board closed first: ACK its FIN with ours; done when it ACKs ours
            c.sentClose = true
            current = c
            send(c, seq: c.iss &+ 2, flags: 0x11)
            return
        }
        current = c
        if advanced { send(c, seq: c.iss &+ (c.sentClose ? 3 : 2), flags: 0x10) }
        if c.sentClose && s.ack && s.ackNumber == c.iss &+ 3 && c.ending == .boardStops {
            return finish(now: now)  // the board ACKed our FIN: it holds TIME_WAIT
        }
        if c.gotAnswer && !c.sentClose {
            switch c.ending {
            case .peerCloses:
                c.sentClose = true
                current = c
                send(c, seq: c.iss &+ 2, flags: 0x11)  // FIN ACK
            case .peerResets:
                c.sentClose = true
                current = c
                send(c, seq: c.iss &+ 2, flags: 0x14)  // RST ACK
                finish(now: now)
            case .boardStops, .boardAborts: break
            }
        }
    }

    private func problem(_ text: String) {
        if problems.count < 20 { problems.append(text) }
    }

    private func finish(now: UInt64) {
        guard let c = current else { return }
        finished[c.ending, default: 0] += 1
        current = nil
        nextStart = now + gap
        progress?(finished.values.reduce(0, +))
    }

    /// Leaves the board's link.
    public func remove() {
        device.network.linkPeer = nil
        device.board.loop.removeSource(self)
    }
}

/// What a soak run found: the counts, and the board's state before and after.
public struct SoakResult: Sendable {
    public var finished: [SoakPeer.Ending: Int]
    public var problems: [String]
    public var heapBefore: Int
    /// Free heap after the last connection, its TIME_WAIT pcbs freed (`tcpCleanup`).
    public var heapAfter: Int
    /// lwIP's allocations (heap blocks owned by "lwip") before and after.
    public var lwipBefore: Int
    public var lwipAfter: Int
    /// pcbs other than the listener after the cleanup.
    public var pcbsLeft: Int
    /// Host resident memory (KiB) after 10% of the connections and at the end.
    public var rssEarly: Int
    public var rssEnd: Int
    public var outcome: RunOutcome
    public var boardSeconds: Double
}

extension SoakPeer {
    /// Runs `connections` connections against `SoakPeer.sketch` in virtual time.
    public static func soak(connections: Int, endings: [Ending] = Ending.allCases, sketchPath: String) throws -> SoakResult {
        var options = DeviceOptions(sketchPath: sketchPath)
        options.board.timeMode = .virtual
        options.noReboot = true
        options.network.associationMicros = 0
        let device = try Device(options: options) { _ in }
        device.log = { _ in }
        defer { device.shutdown() }
        let start: UInt64 = device.board.clock.micros + 2_000_000  // joined and listening by then
        let peer = SoakPeer(device: device, connections: connections, endings: endings, start: start)
        var heapBefore = 0, lwipBefore = 0, rssEarly = 0
        let lwipBytes = { device.board.heap.liveAllocations.filter { $0.owner == "lwip" }.reduce(0) { $0 + $1.blocks } * Heap.blockSize }
        _ = device.board.timers.schedule(at: start) {
            heapBefore = device.board.heap.freeBytes
            lwipBefore = lwipBytes()
        }
        peer.progress = { n in
            if n == max(1, connections / 10) { rssEarly = residentKiB() }
            if n == connections {
                // let the last close settle, free the TIME_WAIT pcbs (the core FAQ's tcpCleanup),
                // let lwIP's TCP timer see no pcb and stop, then end the run
                let t = device.board.clock.micros
                _ = device.board.timers.schedule(at: t + 500_000) { device.network.tcpCleanup() }
                _ = device.board.timers.schedule(at: t + 1_500_000) { device.board.loop.requestStop() }
            }
        }
        let outcome = device.run()
        peer.remove()
        let left = device.network.pcbTable().filter { $0.state != .listen }.count
        return SoakResult(
            finished: peer.finished, problems: peer.problems, heapBefore: heapBefore, heapAfter: device.board.heap.freeBytes,
            lwipBefore: lwipBefore, lwipAfter: lwipBytes(), pcbsLeft: left, rssEarly: rssEarly, rssEnd: residentKiB(),
            outcome: outcome, boardSeconds: Double(device.board.uptimeMicros) / 1e6)
    }
}

/// This process's resident set (KiB), from /proc/self/statm.
public func residentKiB() -> Int {
    guard let f = fopen("/proc/self/statm", "r") else { return 0 }
    defer { fclose(f) }
    var size = 0, resident = 0
    guard withUnsafeMutablePointer(to: &size, { s in withUnsafeMutablePointer(to: &resident) { r in readStatm(f, s, r) } }) else { return 0 }
    return resident * Int(sysconf(Int32(_SC_PAGESIZE))) / 1024
}

private func readStatm(_ f: UnsafeMutablePointer<FILE>, _ size: UnsafeMutablePointer<Int>, _ resident: UnsafeMutablePointer<Int>) -> Bool {
    var line = [CChar](repeating: 0, count: 128)
    guard fgets(&line, 128, f) != nil else { return false }
    let parts = String(cString: line).split(separator: " ")
    guard parts.count >= 2, let s = Int(parts[0]), let r = Int(parts[1]) else { return false }
    size.pointee = s
    resident.pointee = r
    return true
}
