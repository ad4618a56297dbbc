import BoardNet

/// What the page learns in one message: the events of one batch (the console's
/// text and marks in order, heap samples, chart marks, TCP segments) and, at its
/// end, snapshots (the connection table, the pins when they changed). Built on the
/// board's thread; `json(...)` turns it into the text sent to every browser.
///
/// Bounded: a batch keeps at most `maxConsoleBytes` of serial text, `maxHeap`
/// samples (the last one replaced beyond that, so the newest is always there),
/// `maxMarks` marks and the latest `maxSegments` segments; what it leaves out it counts.
public struct UIBatch: Sendable, Equatable {
    /// One item of the serial console, in order.
    public enum ConsoleItem: Sendable, Equatable {
        case text(String)
        /// A line the page draws apart: a reboot (`reset`) or a crash (`crash`).
        case mark(kind: String, text: String)
    }

    /// The state of one GPIO as the page draws it.
    public struct Pin: Sendable, Equatable {
        public var mode: Int
        public var level: Bool
        /// PWM duty in the current range, nil when not running PWM.
        public var pwm: Int?
        public init(mode: Int, level: Bool, pwm: Int?) {
            self.mode = mode
            self.level = level
            self.pwm = pwm
        }
    }

    /// A part's control as the page shows it: `sensor.temperature` and its value now.
    public struct Control: Sendable, Equatable {
        public var name: String
        public var value: Double
        public init(name: String, value: Double) {
            self.name = name
            self.value = value
        }
    }

    /// Virtual time's controls as they stand (`TimeControl`).
    public struct TimeState: Sendable, Equatable {
        public var paused: Bool
        /// Board time per host time; 0: as fast as possible.
        public var speed: Double
        public init(paused: Bool, speed: Double) {
            self.paused = paused
            self.speed = speed
        }
    }

    public static let maxConsoleBytes = 64 * 1024
    public static let maxHeap = 64
    public static let maxMarks = 32
    public static let maxSegments = 64

    /// The console's items; serial text still being gathered is in `pending`.
    public var console: [ConsoleItem] { pending.isEmpty ? items : items + [.text(String(decoding: pending, as: UTF8.self))] }
    private var items: [ConsoleItem] = []
    /// Serial bytes since the last mark (appended in place: a line at a time is cheap).
    private var pending: [UInt8] = []
    private var consoleBytes = 0
    public private(set) var heap: [(time: UInt64, free: Int, maxBlock: Int)] = []
    public private(set) var marks: [(time: UInt64, label: String)] = []
    public private(set) var segments: [TCPSegment] = []
    /// Serial bytes, marks and segments left out of this batch.
    public private(set) var dropped = 0
    /// Events recorded (the feed flushes early when many wait).
    public private(set) var eventCount = 0

    public init() {}

    public var isEmpty: Bool { eventCount == 0 }

    /// Empties the batch for the next one, keeping its arrays' storage: the board's
    /// thread then allocates nothing for a batch once the first few have grown them
    /// (its allocations land among slirp's sockets, whose list every host poll walks).
    public mutating func removeAll() {
        items.removeAll(keepingCapacity: true)
        pending.removeAll(keepingCapacity: true)
        consoleBytes = 0
        heap.removeAll(keepingCapacity: true)
        marks.removeAll(keepingCapacity: true)
        segments.removeAll(keepingCapacity: true)
        dropped = 0
        eventCount = 0
    }

    public mutating func serial(_ bytes: UnsafeRawBufferPointer) {
        eventCount += 1
        guard consoleBytes + bytes.count <= Self.maxConsoleBytes else {
            dropped += bytes.count
            return
        }
        consoleBytes += bytes.count
        pending.append(contentsOf: bytes)
    }

    public mutating func consoleMark(kind: String, text: String, time: UInt64) {
        eventCount += 1
        if !pending.isEmpty { items.append(.text(String(decoding: pending, as: UTF8.self))) }
        pending.removeAll()
        items.append(.mark(kind: kind, text: text))
        mark(text, at: time)
    }

    public mutating func heapSample(free: Int, maxBlock: Int, at time: UInt64) {
        eventCount += 1
        if heap.count < Self.maxHeap {
            heap.append((time, free, maxBlock))
        } else {
            heap[heap.count - 1] = (time, free, maxBlock)
        }
    }

    public mutating func mark(_ label: String, at time: UInt64) {
        eventCount += 1
        guard canMark else {
            dropped += 1
            return
        }
        marks.append((time, label))
    }

    /// Whether a mark would be kept (build its label only then).
    public var canMark: Bool { marks.count < Self.maxMarks }

    /// Counts `n` items left out before they reached the batch (segments beyond the feed's ring).
    public mutating func countDropped(_ n: Int) {
        eventCount += n
        dropped += n
    }

    public mutating func segment(_ s: TCPSegment) {
        eventCount += 1
        if segments.count == Self.maxSegments {
            segments.removeFirst()
            dropped += 1
        }
        segments.append(s)
    }

    public static func == (a: UIBatch, b: UIBatch) -> Bool {
        a.console == b.console && a.segments == b.segments && a.dropped == b.dropped
            && a.heap.map { [Int($0.time), $0.free, $0.maxBlock] } == b.heap.map { [Int($0.time), $0.free, $0.maxBlock] }
            && a.marks.map { "\($0.time) \($0.label)" } == b.marks.map { "\($0.time) \($0.label)" }
    }

    /// The message: `{"t":…,"console":[…],"heap":[[t,free,max]…],"marks":[[t,label]…],
    /// "segments":[…],"pcbs":[…],"pins":[…],"controls":[["part.control",value]…],"lua":bytes,"dropped":n}`;
    /// `pins` and `controls` only when given (they changed), `lua` (the sketch's Lua VM
    /// memory at `time`) when known, `"paused":…,"speed":…` in virtual time; `capacity`:
    /// the bytes to reserve for the text at once (the last message's size: one allocation). Times are board µs; a pcb's `heap` is the bytes of
    /// the emulated heap it holds (`Network.PCBRow.heap`).
    public func json(
        time: UInt64, pcbs: [Network.PCBRow], pins: [Pin]?, controls: [Control]? = nil, luaMemory: Int? = nil,
        time timeState: TimeState? = nil, capacity: Int = 1024
    ) -> String {
        var w = JSONWriter(capacity: capacity)
        w.raw("{\"t\":")
        w.number(time)
        w.raw(",\"console\":[")
        for (i, item) in console.enumerated() {
            if i > 0 { w.raw(",") }
            switch item {
            case .text(let s):
                w.raw("{\"text\":")
                w.string(s)
            case .mark(let kind, let s):
                w.raw("{\"mark\":")
                w.string(kind)
                w.raw(",\"text\":")
                w.string(s)
            }
            w.raw("}")
        }
        w.raw("],\"heap\":[")
        for (i, h) in heap.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("[\(h.time),\(h.free),\(h.maxBlock)]")
        }
        w.raw("],\"marks\":[")
        for (i, m) in marks.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("[\(m.time),")
            w.string(m.label)
            w.raw("]")
        }
        w.raw("],\"segments\":[")
        for (i, s) in segments.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"t\":\(s.time),\"out\":")
            w.bool(s.outbound)
            w.raw(",\"src\":")
            w.string("\(s.source):\(s.sourcePort)")
            w.raw(",\"dst\":")
            w.string("\(s.destination):\(s.destinationPort)")
            w.raw(",\"flags\":")
            w.string(s.flagNames)
            w.raw(",\"seq\":\(s.seq),\"ack\":\(s.ackNumber),\"win\":\(s.window),\"len\":\(s.payload)}")
        }
        w.raw("],\"pcbs\":[")
        for (i, r) in pcbs.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"local\":")
            w.string("\(r.localAddress):\(r.localPort)")
            w.raw(",\"remote\":")
            w.string("\(r.remoteAddress):\(r.remotePort)")
            w.raw(",\"state\":")
            w.string(r.state.description)
            w.raw(",\"unsent\":\(r.unsent),\"unacked\":\(r.unacked),\"unread\":\(r.unread),\"heap\":\(r.heap)")
            w.raw(",\"timeWaitMs\":\(r.state == .timeWait ? r.timeWaitMillisLeft : -1)}")
        }
        w.raw("]")
        if let pins {
            w.raw(",\"pins\":[")
            for (i, p) in pins.enumerated() {
                if i > 0 { w.raw(",") }
                w.raw("[\(p.mode),\(p.level ? 1 : 0),\(p.pwm ?? -1)]")
            }
            w.raw("]")
        }
        if let controls {
            w.raw(",\"controls\":[")
            for (i, c) in controls.enumerated() {
                if i > 0 { w.raw(",") }
                w.raw("[")
                w.string(c.name)
                w.raw(c.value.isFinite ? ",\(c.value)]" : ",null]")
            }
            w.raw("]")
        }
        if let luaMemory { w.raw(",\"lua\":\(luaMemory)") }
        if let timeState {
            w.raw(",\"paused\":")
            w.bool(timeState.paused)
            w.raw(",\"speed\":\(timeState.speed)")
        }
        w.raw(",\"dropped\":\(dropped)}")
        return w.text
    }
}
