import BoardCore
import CBearSSL
import CBearSSLShim

/// The core's `BearSSL::WiFiClientSecureCtx` (libraries/ESP8266WiFi/src/
/// WiFiClientSecureBearSSL.cpp and .h, core 3.1.2+; line numbers below are of the
/// .cpp): BearSSL's client engine, run in the host, over a `TCPClient` (the
/// ClientContext), with exactly the core's engine loop (`_run_until`).
///
/// BearSSL's contexts and I/O buffers live in host memory; the emulated heap is
/// charged what the core allocates, at the ESP8266's sizes (`HeapCost`): the
/// second stack when the first object is made, the client context and the two
/// I/O buffers when a connection opens, the X.509 context during the handshake.
/// Blocking calls wait in the board's `esp_delay`.
public final class SecureClient {
    /// What the core allocates for TLS, in bytes, on the ESP8266 (32-bit).
    public enum HeapCost {
        /// `_stackSize (6200/4)` words: the BearSSL second stack (StackThunk.cpp:53, 67),
        /// allocated by the first WiFiClientSecure and freed with the last (:57-96).
        public static let stack = 6200
        /// `sizeof(br_ssl_client_context)` for a 32-bit target (BearSSL 0.6 headers,
        /// armv7: ILP32 with 8-byte `uint64_t` alignment as Xtensa) plus `make_shared`'s
        /// control block (vtable, use and weak counts: 12 B). `_sc` (cpp:1130).
        public static let clientContext = 3408 + 12
        /// `sizeof(struct br_x509_insecure_context)` (cpp:665-674) on 32-bit + control block.
        public static let x509Insecure = 1464 + 12
        /// `sizeof(br_x509_minimal_context)` on 32-bit + control block.
        public static let x509Minimal = 3048 + 12
        /// `shared_ptr<unsigned char>(new unsigned char[sz], default_delete)`: a separate
        /// control block (vtable, counts, pointer: 16 B) beside each I/O buffer (cpp:1114-1124).
        public static let bufferControlBlock = 16
        /// `new WiFiClientSecureCtx()` (its fields on 32-bit; an estimate, see README) and
        /// the `shared_ptr` control block of `WiFiClientSecure::_ctx`.
        public static let context = 200
        public static let contextControlBlock = 16
    }

    /// `setBufferSizes(16384, 512)` in `_clear()` (cpp:85) → 16384 + 325 and 512 + 85 (cpp:178-192).
    public static let defaultBufferSizes = (input: 16709, output: 597)

    public let tcp: TCPClient
    unowned(unsafe) let network: Network
    private var heap: Heap { network.board.heap }

    /// How the server's certificate is checked (`_installClientX509Validator`, cpp:1067-1120).
    public enum Verification: Equatable {
        /// Nothing set: BearSSL's minimal validator with no trust anchor (every chain fails).
        case none
        case insecure
        case fingerprint([UInt8])
        case trustAnchors
    }
    public private(set) var verification = Verification.none
    /// `_iobuf_in_size`, `_iobuf_out_size`.
    public private(set) var inputBufferSize = SecureClient.defaultBufferSizes.input
    public private(set) var outputBufferSize = SecureClient.defaultBufferSizes.output
    /// `setX509Time(now)`: the validation time; nil: the host's clock (see README).
    public var x509Time: UInt64?
    /// `_timeout`: 15 s for the handshake, 5 s after it (cpp:73, 1210).
    public var timeoutMillis: UInt64 = 15000

    private var anchors: UnsafeMutablePointer<cbr_x509_list>?
    private var anchorsCharge: Int32?
    private var client: OpaquePointer?
    private var engine: UnsafeMutablePointer<br_ssl_engine_context>?
    private var sslCharges: [Int32] = []
    private var x509Charge: Int32?
    private var contextCharges: [Int32] = []
    private var oomError = false
    private var handshakeDone = false
    /// `_recvapp_buf`/`_recvapp_len`.
    private var recvapp: UnsafeMutableBufferPointer<UInt8>?
    private var released = false
    /// The first bytes from the server (its ServerHello), for `getMFLNStatus`.
    private var serverHello: [UInt8] = []

    public enum MakeError: Error { case outOfMemory(Int) }

    /// `WiFiClientSecure()`: the context object, and the second stack if it is the first
    /// (`stack_thunk_add_ref`, cpp:106-112). Throws when the heap cannot hold them: the
    /// core's `new` and the stack's `malloc` abort (StackThunk.cpp:69-73).
    public init(network: Network) throws(MakeError) {
        self.network = network
        tcp = TCPClient(network: network)
        let heap = network.board.heap
        guard let a = heap.allocate(HeapCost.context, owner: "WiFiClientSecureCtx") else { throw .outOfMemory(HeapCost.context) }
        guard let b = heap.allocate(HeapCost.contextControlBlock, owner: "WiFiClientSecureCtx") else {
            heap.free(a)
            throw .outOfMemory(HeapCost.contextControlBlock)
        }
        contextCharges = [a, b]
        if network.bearSSLStack.refs == 0 {
            guard let s = heap.allocate(HeapCost.stack, owner: "BearSSL stack") else {
                heap.free(a)
                heap.free(b)
                throw .outOfMemory(HeapCost.stack)
            }
            network.bearSSLStack.charge = s
        }
        network.bearSSLStack.refs += 1
        network.secureClients[ObjectIdentifier(self)] = self
    }

    // MARK: settings

    /// `setInsecure()`: no certificate check (`_clearAuthenticationSettings` first).
    public func setInsecure() { dropAnchors(); verification = .insecure }

    /// `setFingerprint(fpStr)` (cpp:627-661): 20 hex pairs, spaces or colons between;
    /// false (and nothing changed) for anything else.
    @discardableResult
    public func setFingerprint(_ text: String) -> Bool {
        func htoi(_ c: UInt8) -> UInt8 {
            switch c {
            case 0x30...0x39: return c - 0x30
            case 0x41...0x46: return c - 0x41 + 10
            case 0x61...0x66: return c - 0x61 + 10
            default: return 255
            }
        }
        let s = Array(text.utf8)
        var i = 0
        var fp: [UInt8] = []
        while fp.count < 20 {
            guard i < s.count else { break }
            let c = s[i]
            i += 1
            guard i < s.count else { return false }
            let d = s[i]
            i += 1
            let hi = htoi(c), lo = htoi(d)
            guard hi <= 15, lo <= 15 else { return false }
            fp.append(hi << 4 | lo)
            while i < s.count && (s[i] == 0x20 || s[i] == 0x3a) { i += 1 }
        }
        guard fp.count == 20, i == s.count else { return false }
        dropAnchors()
        verification = .fingerprint(fp)
        return true
    }

    /// `setTrustAnchors(new X509List(pem))`: the list is charged to the heap as the
    /// core's X509List holds it (DER, DN and key copies, the two arrays). False when
    /// the text holds no certificate.
    public enum AnchorError: Error { case noCertificate, outOfMemory(Int) }
    public func setTrustAnchors(pem: String) throws(AnchorError) {
        let list = pem.withCString { cbr_x509_list_from_pem($0, strlen($0)) }
        guard let list else { throw .noCertificate }
        // br_x509_certificate (8 B) and br_x509_trust_anchor (32 B) per certificate on 32-bit
        let bytes = list.pointee.content_bytes + list.pointee.count * (8 + 32)
        guard let h = heap.allocate(bytes, owner: "X509List") else {
            cbr_x509_list_free(list)
            throw .outOfMemory(bytes)
        }
        dropAnchors()
        anchors = list
        anchorsCharge = h
        verification = .trustAnchors
    }

    private func dropAnchors() {
        if let a = anchors { cbr_x509_list_free(a) }
        anchors = nil
        if let h = anchorsCharge { heap.free(h) }
        anchorsCharge = nil
    }

    /// `setBufferSizes(recv, xmit)` (cpp:178-192): each clamped to 512…16384, plus
    /// BearSSL's overheads (325 in, 85 out). Applies to the next `connect`.
    public func setBufferSizes(receive: Int, transmit: Int) {
        inputBufferSize = max(512, min(16384, receive)) + 325
        outputBufferSize = max(512, min(16384, transmit)) + 85
    }

    // MARK: connecting

    public enum ConnectError: Error, Equatable { case outOfMemory(Int) }

    /// `connect(name, port)` (cpp:218-229) once the name is resolved: the TCP
    /// connection (`WiFiClient::connect`), then `_connectSSL(host)`. Throws where the
    /// core's `new` aborts (the ClientContext, `make_shared` of the contexts).
    public func connect(address: UInt32, port: UInt16, host: String?) throws(ConnectError) -> Bool {
        // WiFiClient::connect stops a previous connection (the virtual stop(): _freeSSL, which
        // sets 15 s), then hands _timeout to the new ClientContext (WiFiClient.cpp:145-170)
        if tcp.hasContext { freeSSL() }
        tcp.timeoutMillis = timeoutMillis
        let ok: Bool
        do { ok = try tcp.connect(address: address, port: port) } catch { throw .outOfMemory(TCPClient.contextBytes) }
        guard ok else { return false }
        return try connectSSL(host: host)
    }

    /// `_connectSSL` (cpp:1125-1212).
    private func connectSSL(host: String?) throws(ConnectError) -> Bool {
        freeSSL()
        oomError = false
        guard let sc = heap.allocate(HeapCost.clientContext, owner: "br_ssl_client_context") else {
            throw .outOfMemory(HeapCost.clientContext)  // make_shared: the core's operator new aborts
        }
        sslCharges = [sc]
        // _alloc_iobuf (cpp:1114-1124): new (std::nothrow), so a failure is an error, not a crash
        for (size, owner) in [(inputBufferSize, "_iobuf_in"), (outputBufferSize, "_iobuf_out")] {
            guard let b = heap.allocate(size, owner: owner) else {
                freeSSL()
                oomError = true
                return false
            }
            sslCharges.append(b)
            guard let cb = heap.allocate(HeapCost.bufferControlBlock, owner: owner) else {
                freeSSL()
                oomError = true
                return false
            }
            sslCharges.append(cb)
        }
        let x509Bytes = verification == .insecure || isFingerprint ? HeapCost.x509Insecure : HeapCost.x509Minimal
        guard let x = heap.allocate(x509Bytes, owner: "x509 context") else { throw .outOfMemory(x509Bytes) }
        x509Charge = x
        var fingerprint = [UInt8](repeating: 0, count: 20)
        let mode: Int32
        switch verification {
        case .insecure: mode = Int32(CBR_VERIFY_INSECURE)
        case .fingerprint(let fp): mode = Int32(CBR_VERIFY_FINGERPRINT); fingerprint = fp
        case .trustAnchors, .none: mode = Int32(CBR_VERIFY_ANCHORS)
        }
        // br_x509_minimal_set_time's days since 0 AD and seconds (cpp:1108-1110)
        let (days, seconds): (UInt32, UInt32) = x509Time.map { (UInt32($0 / 86400 + 719528), UInt32($0 % 86400)) } ?? (0, 0)
        client = fingerprint.withUnsafeBufferPointer { fp in
            if let host {
                return host.withCString {
                    cbr_client_new(inputBufferSize, outputBufferSize, mode, fp.baseAddress, anchors, days, seconds, $0)
                }
            }
            return cbr_client_new(inputBufferSize, outputBufferSize, mode, fp.baseAddress, anchors, days, seconds, nil)
        }
        guard let client else { freeSSL(); return false }
        engine = cbr_client_engine(client)
        serverHello = []
        let ok = waitForHandshake()
        // the session is validated: the X.509 context goes (cpp:1205-1207)
        if let x = x509Charge { heap.free(x) }
        x509Charge = nil
        if ok { timeoutMillis = 5000 }
        return ok
    }

    private var isFingerprint: Bool { if case .fingerprint = verification { return true } else { return false } }

    /// `_wait_for_handshake` (cpp:603-618).
    private func waitForHandshake() -> Bool {
        handshakeDone = false
        while !handshakeDone && clientConnected {
            guard runUntil(UInt32(BR_SSL_SENDAPP)) else { break }
            if let engine, br_ssl_engine_current_state(engine) & UInt32(BR_SSL_SENDAPP) != 0 { handshakeDone = true }
            network.board.loop.optimisticYield(1000)
        }
        return handshakeDone
    }

    /// `_freeSSL` (cpp:235-250): contexts and buffers go; the object and stack stay.
    private func freeSSL() {
        if let c = client { cbr_client_free(c) }
        client = nil
        engine = nil
        for h in sslCharges { heap.free(h) }
        sslCharges = []
        if let x = x509Charge { heap.free(x) }
        x509Charge = nil
        recvapp = nil
        handshakeDone = false
        timeoutMillis = 15000
    }

    // MARK: the engine loop

    /// `_clientConnected` (cpp:252-258).
    private var clientConnected: Bool { tcp.tcpState == .established }

    /// `_engineConnected` (cpp:260-262).
    private var engineConnected: Bool {
        guard clientConnected, handshakeDone, let engine else { return false }
        return br_ssl_engine_current_state(engine) != UInt32(BR_SSL_CLOSED)
    }

    /// `_run_until(target, blocking)` (cpp:480-600): records to send go first, then the
    /// target, then records to read. Where the core spins with `optimistic_yield(100)`
    /// waiting for data, this waits in `esp_delay` until data or a state change.
    private func runUntil(_ target: UInt32, blocking: Bool = true) -> Bool {
        guard let engine else { return false }
        let loop = network.board.loop
        let deadline = network.board.clock.micros + timeoutMillis * 1000
        var noWork = 0
        while blocking || noWork < 2 {
            loop.optimisticYield(100)
            if network.board.clock.micros >= deadline || loop.isStopping { return false }
            let state = br_ssl_engine_current_state(engine)
            if state & UInt32(BR_SSL_CLOSED) != 0 { return false }
            if tcp.tcpState != .established && tcp.available == 0 { return state & target != 0 }
            if state & UInt32(BR_SSL_SENDREC) != 0 {
                var len = 0
                guard let buf = br_ssl_engine_sendrec_buf(engine, &len) else { return false }
                if !blocking { len = min(len, tcp.availableForWrite) }
                let written = tcp.write(Array(UnsafeBufferPointer(start: buf, count: len)))
                if written <= 0 { return false }
                br_ssl_engine_sendrec_ack(engine, written)
                noWork = 0
                continue
            }
            if state & target != 0 { return true }
            if state & UInt32(BR_SSL_RECVAPP) != 0 { return false }
            if state & UInt32(BR_SSL_RECVREC) != 0 && tcp.available > 0 {
                var len = 0
                guard let buf = br_ssl_engine_recvrec_buf(engine, &len) else { return false }
                let got = tcp.read(max: len)
                if !handshakeDone && serverHello.count < 512 { serverHello += got.prefix(512 - serverHello.count) }
                got.withUnsafeBufferPointer { buf.update(from: $0.baseAddress!, count: got.count) }
                br_ssl_engine_recvrec_ack(engine, got.count)
                noWork = 0
                continue
            }
            br_ssl_engine_flush(engine, 0)
            noWork += 1
            if blocking && br_ssl_engine_current_state(engine) & UInt32(BR_SSL_SENDREC) == 0 {
                let now = network.board.clock.micros
                loop.espDelay(deadline > now ? deadline - now : 0) { self.tcp.available == 0 && self.tcp.tcpState == .established }
            }
        }
        return false
    }

    /// `_pollRecvBuffer` (cpp:420-438).
    private func pollRecvBuffer() -> Int {
        if let r = recvapp { return r.count }
        guard engine != nil, runUntil(UInt32(BR_SSL_RECVAPP), blocking: false), let engine else { return 0 }
        let st = br_ssl_engine_current_state(engine)
        if st == UInt32(BR_SSL_CLOSED) { return 0 }
        if st & UInt32(BR_SSL_RECVAPP) != 0 {
            var len = 0
            guard let p = br_ssl_engine_recvapp_buf(engine, &len) else { return 0 }
            recvapp = UnsafeMutableBufferPointer(start: p, count: len)
            return len
        }
        return 0
    }

    // MARK: the Arduino API

    /// `connected()` (cpp:264-274).
    public var connected: Bool {
        guard engineConnected else { return false }
        if pollRecvBuffer() > 0 { return true }
        return engineConnected
    }

    /// `available()` = `_pollRecvBuffer()` (cpp:440-442).
    public var available: Int { pollRecvBuffer() }

    /// `availableForWrite()` (cpp:276-295).
    public var availableForWrite: Int {
        guard engineConnected, runUntil(UInt32(BR_SSL_SENDAPP)), let engine else { return 0 }
        guard br_ssl_engine_current_state(engine) & UInt32(BR_SSL_SENDAPP) != 0 else { return 0 }
        var len = 0
        _ = br_ssl_engine_sendapp_buf(engine, &len)
        return len
    }

    /// `_write` (cpp:297-335): records of at most the send buffer, each flushed.
    public func write(_ bytes: [UInt8]) -> Int {
        guard !bytes.isEmpty, engineConnected else { return 0 }
        var sent = 0
        while sent < bytes.count {
            if sent > 0 { network.board.loop.optimisticYield(1000) }
            guard runUntil(UInt32(BR_SSL_SENDAPP)), let engine else { break }
            guard br_ssl_engine_current_state(engine) & UInt32(BR_SSL_SENDAPP) != 0 else { break }
            var len = 0
            guard let buf = br_ssl_engine_sendapp_buf(engine, &len) else { break }
            let n = min(len, bytes.count - sent)
            bytes.withUnsafeBufferPointer { buf.update(from: $0.baseAddress! + sent, count: n) }
            br_ssl_engine_sendapp_ack(engine, n)
            br_ssl_engine_flush(engine, 0)
            flush()
            sent += n
        }
        return sent
    }

    /// `read(buf, size)` (cpp:354-391): up to `max` bytes of the current record;
    /// nil for the core's -1 (no handshake, or disconnected with nothing left).
    public func read(max: Int) -> [UInt8]? {
        guard engine != nil, handshakeDone else { return nil }
        let avail = pollRecvBuffer()
        let engine = engineConnected
        if avail == 0 { return engine ? [] : nil }
        guard let r = recvapp, let eng = self.engine else { return [] }
        let n = min(r.count, max)
        let out = Array(UnsafeBufferPointer(rebasing: r[0..<n]))
        br_ssl_engine_recvapp_ack(eng, n)
        recvapp = nil
        return out
    }

    /// `Stream::timedRead()`: a byte, or nil once `timeoutMillis` passed without one
    /// (the core keeps trying until the timeout even on a closed connection).
    public func timedRead() -> UInt8? {
        let clock = network.board.clock, loop = network.board.loop
        let deadline = clock.micros + timeoutMillis * 1000
        while true {
            let got = read(max: 1)
            if let b = got?.first { return b }
            let now = clock.micros
            guard now < deadline, !loop.isStopping else { return nil }
            if got == nil {
                loop.espDelay(deadline - now)
                return nil
            }
            loop.espDelay(deadline - now) { self.tcp.available == 0 && self.tcp.tcpState == .established }
        }
    }

    /// `peek()` (cpp:444-455).
    public func peek() -> UInt8? {
        guard engine != nil, pollRecvBuffer() > 0, let r = recvapp, r.count > 0 else { return nil }
        return r[0]
    }

    /// `flush()` (cpp:206-209): records out, then `WiFiClient::flush`.
    @discardableResult
    public func flush(maxWaitMillis: UInt64 = 0) -> Bool {
        _ = runUntil(UInt32(BR_SSL_SENDAPP))
        return tcp.flush(maxWaitMillis: maxWaitMillis)
    }

    /// `stop()` (cpp:194-204): `WiFiClient::stop` (which flushes), then `_freeSSL`.
    /// No close_notify is sent, as in the core.
    @discardableResult
    public func stop(maxWaitMillis: UInt64 = 0) -> Bool {
        if engine != nil { _ = runUntil(UInt32(BR_SSL_SENDAPP)) }
        let ok = tcp.stop(maxWaitMillis: maxWaitMillis)
        freeSSL()
        return ok
    }

    /// `getMFLNStatus()`: connected and the server accepted the fragment length. The
    /// core's BearSSL fork records that in `max_frag_len_negotiated` when the ServerHello
    /// carries the extension; BearSSL 0.6 does not, so the ServerHello is read here.
    public var mflnStatus: Bool {
        guard connected else { return false }
        return SecureClient.serverHelloHasMaxFragmentLength(serverHello)
    }

    /// Whether a ServerHello (at the start of `b`, one record) lists extension 1.
    static func serverHelloHasMaxFragmentLength(_ b: [UInt8]) -> Bool {
        guard b.count > 43, b[0] == 22, b[5] == 2 else { return false }
        var i = 5 + 4 + 2 + 32
        i += 1 + Int(b[i])  // session id
        i += 2 + 1  // cipher suite, compression
        guard i + 2 <= b.count else { return false }
        let end = min(b.count, i + 2 + (Int(b[i]) << 8 | Int(b[i + 1])))
        i += 2
        while i + 4 <= end {
            if b[i] == 0 && b[i + 1] == 1 { return true }
            i += 4 + (Int(b[i + 2]) << 8 | Int(b[i + 3]))
        }
        return false
    }

    /// `getLastSSLError()` (cpp:1347-1434): the code and the core's text.
    public var lastSSLError: (code: Int, text: String) {
        var err = engine.map { Int(cbr_engine_last_error($0)) } ?? 0
        var prefix = ""
        if oomError {
            err = -1000
        } else {
            if err & Int(BR_ERR_RECV_FATAL_ALERT) != 0 {
                prefix += "SSL received fatal alert - "
                err &= ~Int(BR_ERR_RECV_FATAL_ALERT)
            }
            if err & Int(BR_ERR_SEND_FATAL_ALERT) != 0 {
                prefix += "SSL sent fatal alert - "
                err &= ~Int(BR_ERR_SEND_FATAL_ALERT)
            }
        }
        return (err, prefix + SecureClient.errorText(err))
    }

    /// The object goes (`~WiFiClientSecureCtx`, cpp:114-122): the connection
    /// (`ClientContext::unref`), the SSL state, the stack reference, the object.
    public func release() {
        guard !released else { return }
        released = true
        tcp.release()
        freeSSL()
        dropAnchors()
        for h in contextCharges { heap.free(h) }
        contextCharges = []
        network.bearSSLStack.refs -= 1
        if network.bearSSLStack.refs == 0, let s = network.bearSSLStack.charge {
            heap.free(s)
            network.bearSSLStack.charge = nil
        }
        network.secureClients.removeValue(forKey: ObjectIdentifier(self))
    }

    /// Reboot: everything the sketch held goes, as the board's RAM does (the
    /// connection itself is forgotten with the network's other contexts).
    func forget() {
        released = true
        freeSSL()
        dropAnchors()
        for h in contextCharges { heap.free(h) }
        contextCharges = []
    }

    deinit {
        if let c = client { cbr_client_free(c) }
        if let a = anchors { cbr_x509_list_free(a) }
    }
}
