/// The LAN of a lab run in virtual time, as the lockstep conductor carries it:
/// a learning switch whose frames carry their board time. Each frame a node
/// sends (a board, or the gateway, the last node) goes to the node that owns its
/// destination MAC (learnt from the frames' sources), or to every other live
/// node (a broadcast, a multicast, an unknown destination), and waits in that
/// node's queue with its delivery time until the conductor hands it over.
///
/// Deterministic whatever order the boards' messages reach the conductor in: the
/// conductor routes a window's frames when the window ends, senders in node
/// order; a queue is handed over sorted by (delivery time, sender, the sender's
/// sequence). Single-threaded.
public struct LockstepSwitch {
    public typealias Delivery = (at: UInt64, order: UInt64, frame: [UInt8])

    /// Boards and the gateway (the last node).
    public let nodeCount: Int
    /// The longest window (µs): no frame is delivered sooner than this after it
    /// was sent, so every frame sent in a window reaches its node in a later one.
    public let window: UInt64
    /// Where a frame's delivery time is computed (sender and receiver nodes):
    /// today's ideal wire delivers `window` after the send. The per-link shaper
    /// (`LinkShaper.schedule(frame:at:)`: latency, airtime, loss from a seeded
    /// generator) plugs in here; what it returns sooner than `window` is held
    /// until then.
    public var schedule: (_ frame: [UInt8], _ sentAt: UInt64, _ from: Int, _ to: Int) -> [(deliverAt: UInt64, frame: [UInt8])]
    private var macs: [[UInt8]: Int] = [:]
    private var sent: [UInt64]
    private var queues: [[Delivery]]
    private var dead: Set<Int> = []
    /// The nodes on this segment (nil: all of them). A lab's LAN leaves out the
    /// stations that joined a soft-AP; a soft-AP cell is its board and its stations.
    public var members: Set<Int>?

    public init(nodes: Int, window: UInt64) {
        nodeCount = nodes
        self.window = window
        sent = Array(repeating: 0, count: nodes)
        queues = Array(repeating: [], count: nodes)
        schedule = { frame, sentAt, _, _ in [(sentAt + window, frame)] }
    }

    /// `frame`, sent by node `from` at board time `sentAt`, goes to its destination(s).
    public mutating func route(_ frame: [UInt8], from: Int, sentAt: UInt64) {
        guard frame.count >= 14 else { return }
        let source = Array(frame[6..<12]), destination = Array(frame[0..<6])
        if source[0] & 1 == 0 { macs[source] = from }
        let targets: [Int]
        if destination[0] & 1 == 0, let n = macs[destination] {
            targets = n == from || dead.contains(n) || !(members?.contains(n) ?? true) ? [] : [n]
        } else {
            targets = (0..<nodeCount).filter { $0 != from && !dead.contains($0) && (members?.contains($0) ?? true) }
        }
        sent[from] += 1
        let order = UInt64(from) << 40 | sent[from]
        for to in targets {
            for (due, f) in schedule(frame, sentAt, from, to) {
                queues[to].append((max(due, sentAt + window), order, f))
            }
        }
    }

    /// The earliest delivery time waiting for `node`.
    public func earliest(for node: Int) -> UInt64? { queues[node].lazy.map(\.at).min() }

    /// Everything waiting for `node`, in delivery order; the queue is emptied.
    public mutating func take(for node: Int) -> [Delivery] {
        let q = queues[node].sorted { ($0.at, $0.order) < ($1.at, $1.order) }
        queues[node].removeAll()
        return q
    }

    /// What waits for `node` before `t`, in delivery order (the rest stays).
    public mutating func take(for node: Int, before t: UInt64) -> [Delivery] {
        let q = queues[node].sorted { ($0.at, $0.order) < ($1.at, $1.order) }
        let n = q.firstIndex { $0.at >= t } ?? q.count
        queues[node] = Array(q[n...])
        return Array(q[..<n])
    }

    /// Node `n` ended: nothing more goes to it.
    public mutating func remove(_ n: Int) {
        dead.insert(n)
        queues[n].removeAll()
    }
}
