import BoardCore
import Glibc

/// The messages between a board and a lab's lockstep conductor (`esplua lab
/// --time virtual`), one per packet on a `SOCK_SEQPACKET` socket pair (the
/// board's descriptor 3, `--net lockstep:3`). Times are board time in µs,
/// little-endian.
///
/// | direction | message | bytes |
/// |---|---|---|
/// | board → conductor | FRAME: a frame the board sent, at its board time | `F`, sentAt u64, Ethernet frame |
/// | board → conductor | DONE: the board reached its horizon (or kept the CPU past it) | `D`, now u64, next u64 |
/// | conductor → board | FRAME: a frame for the board, to reach lwIP at `deliverAt` | `F`, deliverAt u64, Ethernet frame |
/// | conductor → board | GRANT: run until this board time | `G`, until u64 |
///
/// A board starts with a horizon of 0: its first pass reports DONE and waits.
/// It reads its socket only while it waits for a grant, so what it receives,
/// and when its sketch sees it, depends on board time alone.
public enum LockstepMessage {
    public static let frame = UInt8(ascii: "F"), done = UInt8(ascii: "D"), grant = UInt8(ascii: "G")

    /// A message: its kind, two times (the second only for DONE) and the frame bytes.
    public static func encode(_ kind: UInt8, _ t: UInt64, _ u: UInt64? = nil, frame: UnsafeRawBufferPointer? = nil) -> [UInt8] {
        var m: [UInt8] = [kind]
        withUnsafeBytes(of: t.littleEndian) { m += $0 }
        if let u { withUnsafeBytes(of: u.littleEndian) { m += $0 } }
        if let frame { m += frame }
        return m
    }

    /// The little-endian u64 at `offset`.
    public static func time(_ m: UnsafeRawBufferPointer, at offset: Int) -> UInt64 {
        UInt64(littleEndian: m.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
    }

    /// Sends one message (blocking); false if the other end went away.
    @discardableResult
    public static func send(_ fd: Int32, _ m: [UInt8]) -> Bool {
        while true {
            let n = m.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            if n >= 0 { return true }
            if errno != EINTR { return false }
        }
    }

    /// The largest message: a VDE-sized frame and its header.
    public static let maxSize = 1 + 8 + 8 + Int(1514 + 18)
}

/// A board's link in a lab run in virtual time: its frames go to the lab's
/// conductor, which is the switch (it delivers them to the destination board or
/// the gateway at their delivery time), and board time is granted by it
/// (`TimeGrant`: the board's loop stops at the horizon, reports, and waits).
final class LockstepBackend: LinkBackend, TimeGrant {
    private var fd: Int32
    private let clock: BoardClock
    var toDevice: [[UInt8]] = []
    /// Frames received, waiting for their delivery time (sorted by it, stable).
    private var queue: [(at: UInt64, frame: [UInt8])] = []
    private(set) var horizon: UInt64 = 0
    private var buffer = [UInt8](repeating: 0, count: LockstepMessage.maxSize)

    /// `url` is `lockstep:FD` (the socket the lab passed to this process).
    init(url: String, clock: BoardClock) throws(NetworkError) {
        guard clock.mode == .virtual else { throw .linkFailed(url, "a lab's lockstep link runs in virtual time (--time virtual)") }
        guard let n = Int32(url.dropFirst("lockstep:".count)), fcntl(n, F_GETFD) >= 0 else {
            throw .linkFailed(url, "expected lockstep:FD, the socket esplua lab passes to its boards")
        }
        fd = n
        self.clock = clock
    }

    deinit { close() }

    func close() {
        if fd >= 0 { Glibc.close(fd) }
        fd = -1
    }

    func input(_ frame: UnsafeRawBufferPointer) {
        guard fd >= 0 else { return }
        LockstepMessage.send(fd, LockstepMessage.encode(LockstepMessage.frame, clock.micros, frame: frame))
    }

    func due(now: UInt64) {
        while let first = queue.first, first.at <= now {
            toDevice.append(first.frame)
            queue.removeFirst()
        }
    }

    // the conductor's socket is read only in `sync`, never polled
    func addDescriptors(to fds: inout [pollfd]) {}
    func handle(_ results: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool { false }

    func nextDeadline(now: UInt64) -> UInt64? { queue.first?.at }

    func sync(now: UInt64, next: UInt64) -> Bool {
        guard fd >= 0, LockstepMessage.send(fd, LockstepMessage.encode(LockstepMessage.done, now, next)) else { return false }
        while true {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 && errno == EINTR { continue }
            guard n >= 9 else {
                close()
                return false
            }
            let (kind, t) = buffer.withUnsafeBytes { ($0[0], LockstepMessage.time($0, at: 1)) }
            if kind == LockstepMessage.grant {
                horizon = t
                return true
            }
            guard kind == LockstepMessage.frame else { continue }
            let index = queue.lastIndex { $0.at <= t }.map { $0 + 1 } ?? 0
            queue.insert((t, Array(buffer[9..<n])), at: index)
        }
    }
}
