import Glibc

/// A TCP port on 127.0.0.1 for a test's server or forward: below Linux's ephemeral
/// range (32768 and up by default, where any outgoing connection of the machine may
/// hold a port for a while), chosen at random and checked free by binding it.
/// Another program can still take it before the test does; the range and the check
/// make that rare where the bare random choice collided on a busy machine.
public func freeLocalPort() -> Int {
    for _ in 0..<200 {
        let port = Int.random(in: 20_000..<32_768)
        if canBind(port) { return port }
    }
    return Int.random(in: 20_000..<32_768)
}

func canBind(_ port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    return loopback(fd, port: port, bind: true) == 0
}

/// Connects `fd` to 127.0.0.1:`port` (or binds it there, `bind: true`): 0, or -1 with errno set.
public func loopback(_ fd: Int32, port: Int, bind: Bool = false) -> Int32 {
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = in_port_t(UInt16(port).bigEndian)
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let size = socklen_t(MemoryLayout<sockaddr_in>.size)
    return withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind ? Glibc.bind(fd, $0, size) : connect(fd, $0, size) }
    }
}
