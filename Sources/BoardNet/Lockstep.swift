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
/// Soft-AP cells (a board's `WiFi.softAP`, joined by other boards' stations) add:
///
/// | direction | message | bytes |
/// |---|---|---|
/// | board → conductor | AP: a frame the board's soft-AP interface sent | `A`, sentAt u64, Ethernet frame |
/// | board → conductor | CELL: the board's soft-AP opened (or closed: no SSID) | `C`, now u64, `LabCell` without owner |
/// | board → conductor | JOIN: the station joined the cell of board `owner` (255: left it) | `J`, now u64, owner u8 |
/// | conductor → board | AP: a frame for the board's soft-AP interface | `A`, deliverAt u64, Ethernet frame |
/// | conductor → board | CELLS: every open cell of the lab (sent when they change) | `L`, 0 u64, `LabCell`s |
/// | conductor → board | STATIONS: how many stations joined the board's cell | `N`, count u64 |
///
/// The lab's page (`esplua lab --ui`) adds:
///
/// | direction | message | bytes |
/// |---|---|---|
/// | conductor → board | COMMAND: a command of the page for the board (serial input, reset, a control), to be carried out at `at` | `U`, at u64, the command's JSON (`UICommand`) |
///
/// A board starts with a horizon of 0: its first pass reports DONE and waits.
/// It reads its socket only while it waits for a grant, so what it receives,
/// and when its sketch sees it, depends on board time alone.
public enum LockstepMessage {
    public static let frame = UInt8(ascii: "F"), done = UInt8(ascii: "D"), grant = UInt8(ascii: "G")
    public static let apFrame = UInt8(ascii: "A"), cell = UInt8(ascii: "C"), join = UInt8(ascii: "J")
    public static let cells = UInt8(ascii: "L"), stations = UInt8(ascii: "N")
    public static let command = UInt8(ascii: "U")

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

    /// The largest message: a VDE-sized frame and its header, or a lab's cells.
    public static let maxSize = 1 + 8 + 8 + 4096
}

/// A soft-AP cell of a lab: the board whose soft-AP it is, and what a scan shows.
public struct LabCell: Sendable, Equatable {
    public var owner: Int
    public var ssid: String
    public var psk: String
    public var channel: Int
    public var bssid: [UInt8]
    /// `softAP(…, ssid_hidden)`: no SSID in its beacons; a scan lists it only with show_hidden.
    public var hidden: Bool

    public init(owner: Int, ssid: String, psk: String, channel: Int, bssid: [UInt8], hidden: Bool = false) {
        self.owner = owner
        self.ssid = ssid
        self.psk = psk
        self.channel = channel
        self.bssid = bssid
        self.hidden = hidden
    }

    /// channel u8 (0x80: hidden), bssid 6 bytes, SSID (u8 length, bytes), PSK (u8 length,
    /// bytes); with `owner` first when asked.
    public func encode(withOwner: Bool) -> [UInt8] {
        var m: [UInt8] = withOwner ? [UInt8(truncatingIfNeeded: owner)] : []
        m.append(UInt8(channel & 0x7f) | (hidden ? 0x80 : 0))
        m += bssid.prefix(6)
        m.append(UInt8(ssid.utf8.count))
        m += Array(ssid.utf8)
        m.append(UInt8(psk.utf8.count))
        m += Array(psk.utf8)
        return m
    }

    /// Decodes cells from `bytes` (each with its owner when `withOwner`); the owner
    /// of cells without one is `owner`. Malformed tails are ignored.
    public static func decode(_ bytes: ArraySlice<UInt8>, withOwner: Bool, owner: Int = 0) -> [LabCell] {
        var cells: [LabCell] = []
        var i = bytes.startIndex
        func take(_ n: Int) -> ArraySlice<UInt8>? {
            guard bytes.endIndex - i >= n else { return nil }
            defer { i += n }
            return bytes[i..<i + n]
        }
        while i < bytes.endIndex {
            var who = owner
            if withOwner { guard let o = take(1) else { break }; who = Int(o.first!) }
            guard let ch = take(1), let b = take(6), let sl = take(1), let ss = take(Int(sl.first!)), let pl = take(1),
                let ps = take(Int(pl.first!))
            else { break }
            cells.append(
                LabCell(
                    owner: who, ssid: String(decoding: ss, as: UTF8.self), psk: String(decoding: ps, as: UTF8.self),
                    channel: Int(ch.first! & 0x7f), bssid: Array(b), hidden: ch.first! & 0x80 != 0))
        }
        return cells
    }
}

/// A board's link in a lab run in virtual time: its frames go to the lab's
/// conductor, which is the switch (it delivers them to the destination board or
/// the gateway at their delivery time), and board time is granted by it
/// (`TimeGrant`: the board's loop stops at the horizon, reports, and waits).
final class LockstepBackend: LinkBackend, TimeGrant, CellLink {
    private var fd: Int32
    private let clock: BoardClock
    var toDevice: [[UInt8]] = []
    /// Frames for the soft-AP interface (a lab's cell), due now.
    var toAccessPoint: [[UInt8]] = []
    /// Frames received, waiting for their delivery time (sorted by it, stable);
    /// `ap`: for the soft-AP interface.
    private var queue: [(at: UInt64, ap: Bool, frame: [UInt8])] = []
    /// The lab's open soft-AP cells (as of the last grant).
    private(set) var cells: [LabCell] = []
    /// Stations joined to this board's cell (as of the last grant).
    private(set) var stationCount = 0
    private(set) var horizon: UInt64 = 0
    /// The page's commands received, waiting for their board time (sorted by it, stable).
    private var commands: [(at: UInt64, text: String)] = []
    /// Gets each of the page's commands when its board time comes (the board's inbox).
    var onCommand: ((String) -> Void)?
    /// Called every 100 ms of host time while the board waits for a grant (a lab
    /// paused, or waiting for a slower board): the page's feed still sends.
    var whileWaiting: (() -> Void)?
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

    /// A frame the soft-AP interface sent, to the stations of its cell.
    func accessPointOutput(_ frame: UnsafeRawBufferPointer) {
        guard fd >= 0 else { return }
        LockstepMessage.send(fd, LockstepMessage.encode(LockstepMessage.apFrame, clock.micros, frame: frame))
    }

    /// The soft-AP opened (`cell`) or closed (nil).
    func announce(_ cell: LabCell?) {
        guard fd >= 0 else { return }
        let body = cell?.encode(withOwner: false) ?? []
        body.withUnsafeBytes { LockstepMessage.send(fd, LockstepMessage.encode(LockstepMessage.cell, clock.micros, frame: $0)) }
    }

    /// The station joined the cell of board `cell.owner` (nil: it left).
    func join(_ cell: LabCell?, station: [UInt8]) {
        guard fd >= 0 else { return }
        [UInt8(truncatingIfNeeded: cell?.owner ?? 255)].withUnsafeBytes {
            LockstepMessage.send(fd, LockstepMessage.encode(LockstepMessage.join, clock.micros, frame: $0))
        }
    }

    func due(now: UInt64) {
        while let first = queue.first, first.at <= now {
            if first.ap { toAccessPoint.append(first.frame) } else { toDevice.append(first.frame) }
            queue.removeFirst()
        }
        while let first = commands.first, first.at <= now {
            commands.removeFirst()
            onCommand?(first.text)
        }
    }

    // the conductor's socket is read only in `sync`, never polled
    func addDescriptors(to fds: inout [pollfd]) {}
    func handle(_ results: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool { false }

    func nextDeadline(now: UInt64) -> UInt64? {
        switch (queue.first?.at, commands.first?.at) {
        case (let f?, let c?): min(f, c)
        case (let f, let c): f ?? c
        }
    }

    func sync(now: UInt64, next: UInt64) -> Bool {
        guard fd >= 0, LockstepMessage.send(fd, LockstepMessage.encode(LockstepMessage.done, now, next)) else { return false }
        while true {
            if let whileWaiting {
                var p = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
                let r = poll(&p, 1, 100)
                if r == 0 {
                    whileWaiting()
                    continue
                }
                if r < 0 && errno == EINTR { continue }
            }
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
            if kind == LockstepMessage.cells {
                cells = LabCell.decode(buffer[9..<n], withOwner: true)
                continue
            }
            if kind == LockstepMessage.stations {
                stationCount = Int(t)
                continue
            }
            if kind == LockstepMessage.command {
                let index = commands.lastIndex { $0.at <= t }.map { $0 + 1 } ?? 0
                commands.insert((t, String(decoding: buffer[9..<n], as: UTF8.self)), at: index)
                continue
            }
            guard kind == LockstepMessage.frame || kind == LockstepMessage.apFrame else { continue }
            let index = queue.lastIndex { $0.at <= t }.map { $0 + 1 } ?? 0
            queue.insert((t, kind == LockstepMessage.apFrame, Array(buffer[9..<n])), at: index)
        }
    }
}
