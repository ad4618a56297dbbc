import BoardCore
import CVDEPlug
import Glibc

/// Where a board's Ethernet frames go: its own slirp (the default: DHCP, DNS,
/// NAT and port forwards to this host) or a VDE network (`--net URL`: a switch
/// shared with other boards, a TAP device, a LAN across machines).
protocol LinkBackend: AnyObject {
    /// Frames from the network to the board, waiting for the event loop (an
    /// empty frame is a barrier: the pass ends there).
    var toDevice: [[UInt8]] { get set }
    /// A frame from the board to the network.
    func input(_ frame: UnsafeRawBufferPointer)
    func addDescriptors(to fds: inout [pollfd])
    /// The same for the board's loop (`HostIO.addDescriptors(to:mayWait:)`).
    func addDescriptors(to fds: inout [pollfd], mayWait: Bool)
    /// Reads what the descriptors `addDescriptors` added have; returns whether any was ready.
    func handle(_ results: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool
    /// The next board time (µs) the backend needs attention, if any.
    func nextDeadline(now: UInt64) -> UInt64?
    /// Moves frames whose delivery time has come into `toDevice` (a lab's lockstep link).
    func due(now: UInt64)
    func close()
}

extension LinkBackend {
    func due(now: UInt64) {}
    func addDescriptors(to fds: inout [pollfd], mayWait: Bool) { addDescriptors(to: &fds) }
}

/// A board's addressing on a LAN without slirp (`--net`): static, as
/// `WiFi.config(ip, gateway, mask)` sets it, or DHCP from the LAN's server
/// (`--ip dhcp`: a lab's gateway, `LANDHCP`). The static default is slirp's
/// plan (10.0.2.15/24, gateway 10.0.2.2, DNS 10.0.2.3), so a board on a TAP
/// device without a DHCP server keeps the addresses it has alone.
public struct LANAddress: Sendable, Equatable {
    public var address: String
    /// DHCP instead of the static address (`--ip dhcp`).
    public var dhcp = false
    public var netmask = "255.255.255.0"
    public var gateway = "10.0.2.2"
    public var dns = "10.0.2.3"
    public init(address: String = "10.0.2.15") { self.address = address }
}

/// A VDE network (vdeplug4): `vde:///path` (a switch on this machine),
/// `tap://NAME` (a TAP device: the Linux kernel as the peer), `vxvde://` (a LAN
/// over multicast across machines), `ptp://`, `switch://` … any URL libvdeplug
/// opens. One `vde_recv` per ready read: frames reach the board one per pass.
final class VDEBackend: LinkBackend {
    private var conn: OpaquePointer?
    let url: String
    var toDevice: [[UInt8]] = []
    private var buffer = [UInt8](repeating: 0, count: Int(VDE_MAXMTU) + 18)  // VDE_ETHBUFSIZE
    private var hasControl = false
    /// The switch went away (its control descriptor closed): the board's frames
    /// go nowhere from then on, as with a switch unplugged.
    private(set) var disconnected = false

    init(url: String) throws(NetworkError) {
        self.url = url
        let u = strdup(url), d = strdup("esplua")
        defer { free(u); free(d) }
        errno = 0
        conn = vde_open_real(u, d, LIBVDEPLUG_INTERFACE_VERSION, nil)
        guard conn != nil else {
            let why = errno != 0 ? String(cString: strerror(errno)) : "libvdeplug refused it"
            throw .linkFailed(url, why)
        }
        let fd = vde_datafd(conn)
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        hasControl = vde_ctlfd(conn) >= 0
    }

    deinit { close() }

    func close() {
        if let c = conn { _ = vde_close(c) }
        conn = nil
    }

    func input(_ frame: UnsafeRawBufferPointer) {
        guard let c = conn else { return }
        while vde_send(c, frame.baseAddress, frame.count, 0) < 0 && errno == EINTR {}
    }

    func addDescriptors(to fds: inout [pollfd]) {
        guard let c = conn, !disconnected else { return }
        fds.append(pollfd(fd: vde_datafd(c), events: Int16(POLLIN), revents: 0))
        if hasControl { fds.append(pollfd(fd: vde_ctlfd(c), events: Int16(POLLIN), revents: 0)) }
    }

    private func wentAway() {
        guard !disconnected else { return }
        disconnected = true
        writeStandardError("esplua: the VDE network \(url) went away\n")
    }

    func handle(_ results: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool {
        guard let c = conn, !results.isEmpty else { return false }
        var ready = false
        if results[0].revents & Int16(POLLIN) != 0 {
            ready = true
            // what the descriptor holds now, at most a burst (a switch queues per port)
            for _ in 0..<64 {
                let n = buffer.withUnsafeMutableBytes { vde_recv(c, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
                if n <= 0 { break }
                if n > 1 { toDevice.append(Array(buffer[0..<n])) }  // 1: "received, drop it"
            }
        }
        if results[0].revents & Int16(POLLHUP | POLLERR | POLLNVAL) != 0 { wentAway() }
        if results.count > 1, results[1].revents != 0 {
            var b = [UInt8](repeating: 0, count: 256)
            if read(results[1].fd, &b, b.count) <= 0 { wentAway() }
        }
        return ready
    }

    func nextDeadline(now: UInt64) -> UInt64? { nil }
}
