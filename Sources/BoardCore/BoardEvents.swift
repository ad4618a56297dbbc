/// Everything a board does that someone outside may watch, stamped with board time
/// (DESIGN.md 15): the pcap writer, the heap trace, the tests' recorders and the
/// dashboard are subscribers. Delivery is synchronous, on the board's thread, in
/// the order things happen; a subscriber that wants another thread copies and hands
/// over. Buffers in events are only valid during the call.
public enum BoardEvent {
    /// Bytes the sketch wrote to Serial.
    case serialOut(UnsafeRawBufferPointer)
    /// Bytes that arrived on Serial's RX (stdin, the inbox).
    case serialIn(UnsafeRawBufferPointer)
    /// A GPIO's level changed.
    case pin(pin: Int, level: Bool)
    /// An Ethernet frame on the board's wire (`outbound`: sent by the board).
    case frame(outbound: Bool, UnsafeRawBufferPointer)
    /// A TCP control block changed state (or appeared, `from` nil, or went, `to` nil).
    case pcb(PCBTransition)
    /// The heap after a pass in which it changed.
    case heap(free: Int, maxBlock: Int)
    /// A WiFi event (connected, got IP, disconnected, mode change), as text.
    case wifi(String)
    /// The board (re)booted.
    case reset(ResetReason)
    /// The sketch crashed; the reason as the dump names it.
    case crash(String)
    /// A world visitor finished a visit (the report line).
    case visit(String)
    /// A part's control was set (wiring schedule, --set, a command).
    case control(part: String, control: String, value: Double)
    /// One of esplua's own messages.
    case log(String)

    /// The kind of an event, for subscriptions.
    public var kind: Kind {
        switch self {
        case .serialOut: return .serialOut
        case .serialIn: return .serialIn
        case .pin: return .pin
        case .frame: return .frame
        case .pcb: return .pcb
        case .heap: return .heap
        case .wifi: return .wifi
        case .reset: return .reset
        case .crash: return .crash
        case .visit: return .visit
        case .control: return .control
        case .log: return .log
        }
    }

    /// A set of event kinds.
    public struct Kind: OptionSet, Sendable, Hashable {
        public let rawValue: UInt32
        public init(rawValue: UInt32) { self.rawValue = rawValue }
        public static let serialOut = Kind(rawValue: 1 << 0)
        public static let serialIn = Kind(rawValue: 1 << 1)
        public static let pin = Kind(rawValue: 1 << 2)
        public static let frame = Kind(rawValue: 1 << 3)
        public static let pcb = Kind(rawValue: 1 << 4)
        public static let heap = Kind(rawValue: 1 << 5)
        public static let wifi = Kind(rawValue: 1 << 6)
        public static let reset = Kind(rawValue: 1 << 7)
        public static let crash = Kind(rawValue: 1 << 8)
        public static let visit = Kind(rawValue: 1 << 9)
        public static let control = Kind(rawValue: 1 << 10)
        public static let log = Kind(rawValue: 1 << 11)
        public static let all = Kind(rawValue: 0xFFF)
    }
}

/// One pcb's change of state, in the terms of lwIP's `enum tcp_state` names.
public struct PCBTransition: Sendable, Equatable, CustomStringConvertible {
    public let localAddress: String
    public let localPort: UInt16
    public let remoteAddress: String
    public let remotePort: UInt16
    /// The state before (nil: the pcb is new).
    public let from: String?
    /// The state after (nil: the pcb was freed).
    public let to: String?

    public init(localAddress: String, localPort: UInt16, remoteAddress: String, remotePort: UInt16, from: String?, to: String?) {
        self.localAddress = localAddress
        self.localPort = localPort
        self.remoteAddress = remoteAddress
        self.remotePort = remotePort
        self.from = from
        self.to = to
    }

    public var description: String {
        "\(localAddress):\(localPort) \(remoteAddress):\(remotePort) \(from ?? "-") -> \(to ?? "-")"
    }
}

/// The board's event stream: any number of subscribers, each to some kinds.
/// Producers ask `wants(_:)` first, so an event nobody watches costs a bit test.
/// Single-threaded (the board's thread).
public final class BoardEvents {
    public typealias Handler = (_ time: UInt64, _ event: BoardEvent) -> Void

    /// A subscription; `cancel()` ends it (so does dropping every reference to it? no:
    /// subscriptions live until cancelled or the board goes).
    public final class Subscription {
        fileprivate let id: Int
        fileprivate weak var owner: BoardEvents?
        fileprivate init(id: Int, owner: BoardEvents) { self.id = id; self.owner = owner }
        public func cancel() { owner?.remove(id) }
    }

    private var subscribers: [(id: Int, kinds: BoardEvent.Kind, handler: Handler)] = []
    private var nextID = 1
    /// The union of every subscriber's kinds.
    public private(set) var watched: BoardEvent.Kind = []
    private unowned(unsafe) let clock: BoardClock

    public init(clock: BoardClock) { self.clock = clock }

    /// Calls `handler` with every event of `kinds`, in order, stamped with board time.
    @discardableResult
    public func subscribe(_ kinds: BoardEvent.Kind, _ handler: @escaping Handler) -> Subscription {
        let id = nextID
        nextID += 1
        subscribers.append((id, kinds, handler))
        watched.formUnion(kinds)
        return Subscription(id: id, owner: self)
    }

    fileprivate func remove(_ id: Int) {
        subscribers.removeAll { $0.id == id }
        watched = subscribers.reduce(into: []) { $0.formUnion($1.kinds) }
    }

    /// Whether anyone watches events of `kind`.
    @inline(__always) public func wants(_ kind: BoardEvent.Kind) -> Bool { !watched.isDisjoint(with: kind) }

    /// Delivers `event` to its subscribers.
    public func publish(_ event: BoardEvent) {
        let kind = event.kind
        guard wants(kind) else { return }
        let t = clock.micros
        for s in subscribers where s.kinds.contains(kind) { s.handler(t, event) }
    }
}
