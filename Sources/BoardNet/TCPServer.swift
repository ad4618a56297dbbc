import BoardCore
import CLwIP

private let ERR_OK_: err_t = err_t(ERR_OK.rawValue)
private let ERR_ABRT_: err_t = err_t(ERR_ABRT.rawValue)
private let ERR_VAL_: err_t = err_t(ERR_VAL.rawValue)

/// The core's `WiFiServer` (WiFiServer.cpp, reference §3): a listen pcb with a
/// backlog (5 by default, enforced by lwIP's `tcp_backlog_delayed`/`accepted`),
/// and a queue of connections accepted by lwIP but not yet by the sketch.
public final class TCPServer {
    unowned(unsafe) let network: Network
    public private(set) var port: UInt16
    private var listenPCB: UnsafeMutablePointer<tcp_pcb>?
    private var unclaimed: [TCPClient] = []
    public var noDelay = false
    /// `MAX_PENDING_CLIENTS_PER_PORT`.
    public static let defaultBacklog = 5

    public init(network: Network, port: UInt16) {
        self.network = network
        self.port = port
        network.servers[ObjectIdentifier(self)] = self
    }

    public enum BeginError: Error, Equatable { case outOfMemory, portInUse }

    /// `begin(port, backlog)` (WiFiServer.cpp:62-89): closes, then with a backlog of 0
    /// returns before it even takes the port: nothing listens. Returns whether it listens.
    @discardableResult
    public func begin(port newPort: UInt16? = nil, backlog: UInt8 = UInt8(TCPServer.defaultBacklog)) throws(BeginError) -> Bool {
        close()
        network.servers[ObjectIdentifier(self)] = self
        if backlog == 0 { return false }
        if let newPort { port = newPort }
        guard let pcb = tcp_new() else { throw .outOfMemory }
        clwip_set_reuseaddr(pcb)
        var any = ip_addr_t()
        clwip_ip_set_u32(&any, 0)
        if tcp_bind(pcb, &any, port) != ERR_OK_ {
            tcp_close(pcb)
            throw .portInUse
        }
        guard let listen = tcp_listen_with_backlog(pcb, backlog) else {
            tcp_close(pcb)
            throw .outOfMemory
        }
        listenPCB = listen
        port = listen.pointee.local_port
        tcp_arg(listen, Unmanaged.passUnretained(self).toOpaque())
        tcp_accept(listen) { arg, newpcb, err in
            guard let arg else { return ERR_VAL_ }
            return Unmanaged<TCPServer>.fromOpaque(arg).takeUnretainedValue().accepted(newpcb, err)
        }
        return true
    }

    /// `_accept`: a ClientContext is made at once (data is buffered before the
    /// sketch accepts) and counted as still pending with `tcp_backlog_delayed`.
    private func accepted(_ newpcb: UnsafeMutablePointer<tcp_pcb>?, _ err: err_t) -> err_t {
        // lwIP passes NULL with ERR_MEM when tcp_alloc failed; the core would crash
        // here (it does not check); esplua refuses the SYN instead.
        guard let newpcb, err == ERR_OK_ else { return ERR_VAL_ }
        guard let client = TCPClient(network: network, pcb: newpcb) else {
            tcp_abort(newpcb)
            network.onSketchOutOfMemory?(TCPClient.contextBytes)
            return ERR_ABRT_
        }
        tcp_backlog_delayed(newpcb)
        unclaimed.append(client)
        return ERR_OK_
    }

    /// `hasClient()`.
    public var hasClient: Bool { !unclaimed.isEmpty }

    /// `hasClientData()`: the bytes waiting on the first unaccepted connection that has any
    /// (WiFiServer.cpp:110-119).
    public var hasClientData: Int { unclaimed.first { $0.available > 0 }?.available ?? 0 }

    /// `hasMaxPendingClients()`: compares with the constant 5, not the backlog given.
    public var hasMaxPendingClients: Bool {
        guard let l = listenPCB else { return false }
        return l.withMemoryRebound(to: tcp_pcb_listen.self, capacity: 1) { Int($0.pointee.accepts_pending) } >= TCPServer.defaultBacklog
    }

    /// `accept()`: the oldest unclaimed connection, its backlog slot freed; nil if none.
    public func accept() -> TCPClient? {
        guard !unclaimed.isEmpty else { return nil }
        let client = unclaimed.removeFirst()
        client.becomeHandle()  // WiFiServer::accept wraps it in a WiFiClient
        if let pcb = client.pcb {
            tcp_backlog_accepted(pcb)
            client.setNoDelay(noDelay)
        }
        return client
    }

    /// `status()`: LISTEN (1) or CLOSED (0).
    public var status: Int { listenPCB == nil ? 0 : TCPState.listen.rawValue }

    /// `close()`/`stop()`/`end()`: closes the listen pcb only; queued clients stay acceptable.
    public func close() {
        guard let l = listenPCB else { return }
        tcp_arg(l, nil)
        tcp_accept(l, nil)
        tcp_close(l)
        listenPCB = nil
    }

    /// The sketch dropped the server object.
    public func release() {
        close()
        for c in unclaimed { c.release() }
        unclaimed.removeAll()
        network.servers.removeValue(forKey: ObjectIdentifier(self))
    }

    func forget() {
        listenPCB = nil
        for c in unclaimed { c.forget() }
        unclaimed.removeAll()
    }
}
