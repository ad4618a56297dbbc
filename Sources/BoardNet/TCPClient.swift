import BoardCore
import CLwIP

private let ERR_OK_: err_t = err_t(ERR_OK.rawValue)
private let ERR_ABRT_: err_t = err_t(ERR_ABRT.rawValue)
private let ERR_MEM_: err_t = err_t(ERR_MEM.rawValue)

/// The core's `ClientContext`: one TCP connection seen through the Arduino API,
/// with exactly its lwIP calls (ClientContext.h, core 3.x; reference §2).
///
/// - received pbufs are chained (`pbuf_cat`) and acknowledged to lwIP
///   (`tcp_recved`) only as the sketch reads them, so unread data closes the window;
/// - a peer FIN with nothing unread aborts (RST), with unread data it stays in
///   CLOSE_WAIT (reported as CLOSED);
/// - `stop()` flushes up to 300 ms, then `tcp_close`, falling back to `tcp_abort`;
/// - `abort()` flushes, detaches and `tcp_abort`s (RST, pcb freed at once);
/// - the pcb runs at `TCP_PRIO_MIN`, so lwIP may kill it to admit a new one.
/// Blocking calls wait in the board's `esp_delay` (`BoardLoop.espDelay`).
public final class TCPClient {
    unowned(unsafe) let network: Network
    var pcb: UnsafeMutablePointer<tcp_pcb>?
    private var rx: UnsafeMutablePointer<pbuf>?
    private var rxOffset = 0
    private var charge: Int32?
    /// Stream timeout (`setTimeout`), 5000 ms by default; applies to connect and write.
    public var timeoutMillis: UInt64 = 5000
    /// `WIFICLIENT_MAX_FLUSH_WAIT_MS`.
    public static let maxFlushWaitMillis: UInt64 = 300
    /// Heap charged for a ClientContext object (its ESP8266 fields; an estimate, see README).
    public static let contextBytes = 48
    /// Bumped by lwIP callbacks (ack, poll, error): wakes blocking waits.
    private var wakeups = 0
    /// When the sketch got this handle (`WiFiClient()` or `accept()`), nil while it
    /// is a connection waiting in a server's queue: the core's `SList` of WiFiClient
    /// objects, which `stopAll()` walks, holds handles, not ClientContexts.
    private(set) var handleSequence: Int?

    /// A context for an accepted pcb. Nil when the heap cannot hold the
    /// ClientContext (the core's `new` would abort: the caller crashes the sketch).
    init?(network: Network, pcb: UnsafeMutablePointer<tcp_pcb>) {
        self.network = network
        guard let h = network.board.heap.allocate(TCPClient.contextBytes, owner: "ClientContext") else { return nil }
        charge = h
        attach(pcb)
        register()
    }

    /// Heap this context holds: itself (as the heap charged it) and the received
    /// data it keeps unread.
    var heapHeld: Int { (charge == nil ? 0 : Heap.cost(of: TCPClient.contextBytes)) + Int(clwip_chain_heap(rx)) }

    private func register() {
        network.clients[ObjectIdentifier(self)] = self
    }

    /// The sketch holds this client now: `SList::_add` puts it first in the list (slist.h:11-15).
    func becomeHandle() {
        network.clientSequence += 1
        handleSequence = network.clientSequence
    }

    /// `WiFiClient()`: no connection and no ClientContext yet.
    public init(network: Network) {
        self.network = network
        becomeHandle()
    }

    /// Set by `tcp_connect`'s connected callback.
    private var connectPending = false

    public enum ConnectError: Error, Equatable { case outOfMemory }

    /// `WiFiClient::connect(ip, port)`: an existing connection is stopped first,
    /// then `tcp_new`, a ClientContext, `tcp_connect`, and a wait of up to the
    /// client's timeout. A refused connection (RST) ends the wait at once; one
    /// still not ESTABLISHED at the timeout is aborted (RST). Returns true when connected.
    /// A failed attempt drops the ClientContext's only reference, which frees it at
    /// once (WiFiClient.cpp:164-168).
    /// Throws when the heap cannot hold the ClientContext (the core's `new` aborts).
    public func connect(address: UInt32, port: UInt16) throws(ConnectError) -> Bool {
        if charge != nil { stop(); release() }
        guard let pcb = tcp_new() else { return false }
        guard let h = network.board.heap.allocate(TCPClient.contextBytes, owner: "ClientContext") else {
            tcp_abort(pcb)
            throw .outOfMemory
        }
        charge = h
        register()
        if let start = network.localPortStart {
            var any = ip_addr_t()
            clwip_ip_set_u32(&any, 0)
            _ = tcp_bind(pcb, &any, start)
            network.localPortStart = start == UInt16.max ? nil : start + 1
        }
        attach(pcb)
        var ip = ip_addr_t()
        clwip_ip_set_u32(&ip, address)
        connectPending = true
        let err = tcp_connect(pcb, &ip, port) { arg, _, _ in
            if let arg {
                let me = Unmanaged<TCPClient>.fromOpaque(arg).takeUnretainedValue()
                me.connectPending = false
                me.wakeups += 1
            }
            return ERR_OK_
        }
        guard err == ERR_OK_ else { connectPending = false; abortNow(); freeContext(); return false }
        network.board.loop.espDelay(timeoutMillis * 1000) { self.connectPending && self.pcb != nil }
        connectPending = false
        guard self.pcb != nil, tcpState == .established else { abortNow(); freeContext(); return false }
        return true
    }

    func attach(_ pcb: UnsafeMutablePointer<tcp_pcb>) {
        self.pcb = pcb
        tcp_setprio(pcb, clwip_tcp_prio_min())
        tcp_arg(pcb, Unmanaged.passUnretained(self).toOpaque())
        tcp_recv(pcb) { arg, _, p, _ in
            guard let arg else { if let p { pbuf_free(p) }; return ERR_OK_ }
            return Unmanaged<TCPClient>.fromOpaque(arg).takeUnretainedValue().received(p)
        }
        tcp_sent(pcb) { arg, _, _ in
            if let arg { Unmanaged<TCPClient>.fromOpaque(arg).takeUnretainedValue().wakeups += 1 }
            return ERR_OK_
        }
        tcp_err(pcb) { arg, _ in
            guard let arg else { return }
            let me = Unmanaged<TCPClient>.fromOpaque(arg).takeUnretainedValue()
            me.pcb = nil  // lwIP has freed it
            me.connectPending = false
            me.wakeups += 1
        }
        tcp_poll(
            pcb,
            { arg, _ in
                if let arg { Unmanaged<TCPClient>.fromOpaque(arg).takeUnretainedValue().wakeups += 1 }
                return ERR_OK_
            }, 1)
    }

    // MARK: keepalive (SOF_KEEPALIVE, keep_idle/keep_intvl/keep_cnt)

    /// `keepAlive(idle_s, intv_s, count)` (ClientContext.h:381-391): all three
    /// non-zero set `SOF_KEEPALIVE` and the pcb's timers; any zero clears the flag.
    public func keepAlive(idleSeconds: UInt16 = 7200, intervalSeconds: UInt16 = 75, count: UInt8 = 9) {
        guard let pcb else { return }
        if idleSeconds != 0 && intervalSeconds != 0 && count != 0 {
            clwip_tcp_keepalive(pcb, 1, UInt32(idleSeconds) * 1000, UInt32(intervalSeconds) * 1000, UInt32(count))
        } else {
            clwip_tcp_keepalive(pcb, 0, clwip_tcp_keep_idle(pcb), clwip_tcp_keep_intvl(pcb), clwip_tcp_keep_cnt(pcb))
        }
    }

    /// `disableKeepAlive()` = `keepAlive(0, 0, 0)` (WiFiClient.h).
    public func disableKeepAlive() { keepAlive(idleSeconds: 0, intervalSeconds: 0, count: 0) }

    public var isKeepAliveEnabled: Bool { pcb.map { clwip_tcp_keepalive_enabled($0) != 0 } ?? false }
    /// (idle s, interval s, count) as `getKeepAliveIdle/Interval/Count()` report them:
    /// rounded to seconds, and 0 while keep-alive is off (ClientContext.h:398-411).
    public var keepAliveSettings: (idle: Int, interval: Int, count: Int) {
        guard let pcb, isKeepAliveEnabled else { return (0, 0, 0) }
        return (
            Int((clwip_tcp_keep_idle(pcb) + 500) / 1000), Int((clwip_tcp_keep_intvl(pcb) + 500) / 1000), Int(clwip_tcp_keep_cnt(pcb))
        )
    }

    /// Whether this handle has a ClientContext (connected once, or accepted).
    public var hasContext: Bool { charge != nil }

    private func detach() {
        guard let pcb else { return }
        tcp_arg(pcb, nil)
        tcp_sent(pcb, nil)
        tcp_recv(pcb, nil)
        tcp_err(pcb, nil)
        tcp_poll(pcb, nil, 0)
    }

    /// `_recv`: data is chained; a FIN (p == nil) with nothing unread aborts.
    private func received(_ p: UnsafeMutablePointer<pbuf>?) -> err_t {
        wakeups += 1
        guard let p else {
            if rx != nil && rxUnread > 0 { return ERR_OK_ }  // stay in CLOSE_WAIT
            abortNow()  // "closing in the legacy way"
            return ERR_ABRT_
        }
        if let rx { pbuf_cat(rx, p) } else { rx = p }
        return ERR_OK_
    }

    // MARK: state

    /// lwIP's state of the pcb (CLOSED when there is none).
    public var tcpState: TCPState {
        guard let pcb else { return .closed }
        return TCPState(rawValue: Int(pcb.pointee.state.rawValue)) ?? .closed
    }

    /// `ClientContext::state()`: CLOSE_WAIT and CLOSING read as CLOSED (0).
    public var status: Int {
        switch tcpState {
        case .closeWait, .closing: return 0
        case let s: return s.rawValue
        }
    }

    /// `WiFiClient::connected()`.
    public var connected: Bool {
        status != 0 && (status == TCPState.established.rawValue || available > 0)
    }

    private var rxUnread: Int { rx.map { Int($0.pointee.tot_len) - rxOffset } ?? 0 }

    /// `available()` without the core's optimistic yield.
    public var available: Int { rxUnread }

    /// `availableForWrite()` = `tcp_sndbuf`.
    public var availableForWrite: Int { pcb.map { Int(clwip_tcp_sndbuf($0)) } ?? 0 }

    public var remoteIP: String { pcb.map { ipString(clwip_pcb_remote_ip($0)) } ?? "0.0.0.0" }
    public var remotePort: Int { pcb.map { Int($0.pointee.remote_port) } ?? 0 }
    public var localIP: String { pcb.map { ipString(clwip_pcb_local_ip($0)) } ?? "0.0.0.0" }
    public var localPort: Int { pcb.map { Int($0.pointee.local_port) } ?? 0 }

    // MARK: reading

    /// Copies up to `max` unread bytes and consumes them (`tcp_recved` reopens the window).
    public func read(max: Int) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Swift.min(max, rxUnread))
        while out.count < max, let head = rx {
            let len = Int(head.pointee.len) - rxOffset
            let n = Swift.min(len, max - out.count)
            let base = head.pointee.payload!.advanced(by: rxOffset)
            out.append(contentsOf: UnsafeRawBufferPointer(start: base, count: n))
            consume(n)
        }
        return out
    }

    /// The next unread byte without consuming it.
    public func peek() -> UInt8? {
        guard let head = rx, rxUnread > 0 else { return nil }
        return head.pointee.payload!.load(fromByteOffset: rxOffset, as: UInt8.self)
    }

    /// `_consume`: advance within the first pbuf, or drop it.
    private func consume(_ n: Int) {
        guard let head = rx else { return }
        if Int(head.pointee.len) - rxOffset - n > 0 {
            rxOffset += n
        } else if head.pointee.next == nil {
            rx = nil
            rxOffset = 0
            pbuf_free(head)
        } else {
            rx = head.pointee.next
            rxOffset = 0
            pbuf_ref(rx)
            pbuf_free(head)
        }
        if let pcb { tcp_recved(pcb, UInt16(n)) }
    }

    // MARK: writing

    /// `write(buf, n)`: chunks of `tcp_sndbuf`, waiting for acks/polls while the
    /// send buffer is full; gives up after `timeoutMillis` without progress or when
    /// the connection is no longer open. Returns the bytes lwIP accepted.
    public func write(_ bytes: [UInt8]) -> Int {
        var written = 0
        var lastProgress = network.board.clock.micros
        while written < bytes.count {
            guard let pcb, status == TCPState.established.rawValue else { break }
            let room = Int(clwip_tcp_sndbuf(pcb))
            var accepted = false
            if room > 0 {
                let chunk = Swift.min(room, bytes.count - written)
                var flags = UInt8(TCP_WRITE_FLAG_COPY)
                if written + chunk < bytes.count { flags |= UInt8(TCP_WRITE_FLAG_MORE) }
                let err = bytes.withUnsafeBytes { tcp_write(pcb, $0.baseAddress! + written, UInt16(chunk), flags) }
                if err == ERR_OK_ {
                    written += chunk
                    accepted = true
                    lastProgress = network.board.clock.micros
                    tcp_output(pcb)
                } else if err != ERR_MEM_ {
                    break
                }
            }
            if written == bytes.count { break }
            if !accepted {
                let deadline = lastProgress + timeoutMillis * 1000
                if network.board.clock.micros >= deadline || network.board.loop.isStopping { break }
                waitForWakeup(until: deadline)
            }
        }
        return written
    }

    /// `print`/`println` of the core's Print class: each piece is one `write()`
    /// (with its own `tcp_write` and `tcp_output`), so with Nagle on, a piece that
    /// follows unacknowledged data waits for the ACK and the wire shows two
    /// segments. `println(x)` is `print(x)` then `println()` = `print("\r\n")`
    /// (Print.cpp:180-182, 238-242). Returns the bytes written.
    public func print(_ writes: [[UInt8]]) -> Int {
        writes.reduce(0) { $0 + write($1) }
    }

    /// `esp_delay` until a callback wakes this context or `deadline` passes.
    private func waitForWakeup(until deadline: UInt64) {
        let start = wakeups
        let now = network.board.clock.micros
        network.board.loop.espDelay(deadline > now ? deadline - now : 0) { self.wakeups == start }
    }

    /// `flush(maxWaitMs)` = `wait_until_acked`: waits until every byte is
    /// acknowledged (sndbuf back to TCP_SND_BUF) or the connection leaves
    /// ESTABLISHED; the timer restarts whenever the send buffer moves.
    @discardableResult
    public func flush(maxWaitMillis: UInt64 = 0) -> Bool {
        let limit = (maxWaitMillis == 0 ? TCPClient.maxFlushWaitMillis : maxWaitMillis) * 1000
        guard pcb != nil else { return true }
        var previous = -1
        var lastChange = network.board.clock.micros
        while true {
            guard let pcb else { return true }
            tcp_output(pcb)
            let sndbuf = Int(clwip_tcp_sndbuf(pcb))
            if sndbuf != previous {
                previous = sndbuf
                lastChange = network.board.clock.micros
            }
            if status != TCPState.established.rawValue || sndbuf == Int(clwip_tcp_snd_buf()) { return true }
            if network.board.clock.micros - lastChange > limit || network.board.loop.isStopping { return false }
            waitForWakeup(until: lastChange + limit + 1)
        }
    }

    // MARK: closing

    /// `ClientContext::close()`: callbacks detached, `tcp_close`, `tcp_abort` if that fails.
    @discardableResult
    func close() -> Bool {
        guard let pcb else { return true }
        detach()
        var ok = true
        if tcp_close(pcb) != ERR_OK_ {
            tcp_abort(pcb)
            ok = false
        }
        self.pcb = nil
        return ok
    }

    /// `WiFiClient::stop(maxWaitMs)`: flush, then close. False if either failed.
    @discardableResult
    public func stop(maxWaitMillis: UInt64 = 0) -> Bool {
        let flushed = flush(maxWaitMillis: maxWaitMillis)
        let closed = close()
        return flushed && closed
    }

    /// `WiFiClient::abort()` (core 3.1.0, PR #8738): flush, then RST; the pcb is freed at once.
    public func abort() {
        flush()
        abortNow()
    }

    private func abortNow() {
        guard let pcb else { return }
        detach()
        tcp_abort(pcb)
        self.pcb = nil
    }

    public func setNoDelay(_ on: Bool) {
        guard let pcb else { return }
        if on { clwip_tcp_nagle_disable(pcb) } else { clwip_tcp_nagle_enable(pcb) }
    }

    public var noDelay: Bool { pcb.map { clwip_tcp_nagle_disabled($0) != 0 } ?? false }

    /// The last reference went away (`ClientContext::unref`): unread data is
    /// acknowledged and dropped, the connection closed, the context freed.
    public func release() {
        if let head = rx {
            if let pcb { tcp_recved(pcb, UInt16(truncatingIfNeeded: rxUnread)) }
            pbuf_free(head)
            rx = nil
            rxOffset = 0
        }
        close()
        freeContext()
    }

    /// Reboot: lwIP forgets the pcb itself; drop buffers and the heap charge.
    func forget() {
        detach()
        pcb = nil
        if let head = rx { pbuf_free(head) }
        rx = nil
        rxOffset = 0
        freeContext()
    }

    private func freeContext() {
        if let c = charge { network.board.heap.free(c) }
        charge = nil
        network.clients.removeValue(forKey: ObjectIdentifier(self))
    }
}
