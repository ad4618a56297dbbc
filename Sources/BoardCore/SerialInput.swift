import Glibc

/// Serial RX from a host descriptor (stdin): `echo on | esplua run s.lua` and a
/// terminal both reach `Serial.read()`. A closed or absent descriptor is simply no
/// input. Bytes are read no faster than the sketch makes room in the RX buffer,
/// so nothing piped in is lost; a terminal stays in its own (line) mode.
public final class SerialInput: HostIO {
    private let fd: Int32
    private unowned let uart: UART
    public private(set) var isOpen = true

    public init(fd: Int32 = 0, uart: UART) {
        self.fd = fd
        self.uart = uart
        // a descriptor that is not open at all (a closed stdin) is no input
        if fcntl(fd, F_GETFD) == -1 { isOpen = false }
    }

    public func addDescriptors(to fds: inout [pollfd]) {
        guard isOpen, uart.rxSpace > 0 else { return }
        fds.append(pollfd(fd: fd, events: Int16(POLLIN), revents: 0))
    }

    public func handle(_ fds: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool {
        guard !failed, let p = fds.first, p.revents != 0 else { return false }
        if p.revents & Int16(POLLNVAL) != 0 { isOpen = false; return false }
        var buf = [UInt8](repeating: 0, count: min(4096, max(1, uart.rxSpace)))
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n > 0 {
            uart.receive(buf[0..<n])
            return true
        }
        // end of input; or EIO from a terminal this process is in the background of
        if n == 0 || (errno != EINTR && errno != EAGAIN) { isOpen = false }
        return false
    }
}
