import BoardCore
import CBearSSL
import CBearSSLShim
import FoundationEssentials
import Glibc

/// A world TLS service's certificate chain and private key (BearSSL's server engine,
/// `br_ssl_server_init_full_rsa`/`_ec`, runs in this process as the service: its I/O
/// is the world's Unix socket, serviced from the board's loop, so a TLS lesson is as
/// deterministic as a plain one). BearSSL's server honours the client's
/// max_fragment_length extension, so `setBufferSizes(512, 512)` works against it.
final class TLSIdentity {
    let chain: UnsafeMutablePointer<cbr_x509_list>
    let key: OpaquePointer

    /// Reads the PEM files, or, without them, makes a self-signed RSA 2048 certificate
    /// for `name` with `openssl` in `directory`.
    init(tls: World.TLS, name: String, directory: String) throws(NetworkError) {
        var certPath = tls.cert, keyPath = tls.key
        if certPath == nil {
            certPath = "\(directory)/\(name).cert.pem"
            keyPath = "\(directory)/\(name).key.pem"
            try TLSIdentity.makeSelfSigned(name: name, cert: certPath!, key: keyPath!)
        }
        guard let certData = FileManager.default.contents(atPath: certPath!) else {
            throw .worldFailed("cannot read the TLS certificate \(certPath!)")
        }
        guard let keyData = FileManager.default.contents(atPath: keyPath!) else { throw .worldFailed("cannot read the TLS key \(keyPath!)") }
        guard let chain = certData.withUnsafeBytes({ cbr_x509_list_from_pem($0.baseAddress, $0.count) }) else {
            throw .worldFailed("\(certPath!) holds no PEM certificate")
        }
        guard let key = keyData.withUnsafeBytes({ cbr_private_key_from_pem($0.baseAddress, $0.count) }) else {
            cbr_x509_list_free(chain)
            throw .worldFailed("\(keyPath!) holds no RSA or EC private key")
        }
        self.chain = chain
        self.key = key
    }

    deinit {
        cbr_x509_list_free(chain)
        cbr_private_key_free(key)
    }

    /// `openssl req -x509`: RSA 2048 (fixed-length signatures and a fixed serial, so the
    /// handshake has the same length on every run), valid ten years, the name as CN and SAN.
    static func makeSelfSigned(name: String, cert: String, key: String) throws(NetworkError) {
        let args = [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "3650",
            "-set_serial", "1", "-subj", "/CN=\(name)", "-addext", "subjectAltName=DNS:\(name)",
        ]
        var pid: pid_t = 0
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        defer { posix_spawn_file_actions_destroy(&actions) }
        let cargs = args.map { strdup($0) } + [nil]
        defer { for a in cargs { free(a) } }
        guard posix_spawnp(&pid, "openssl", &actions, nil, cargs, environ) == 0 else {
            throw .worldFailed("cannot run openssl to make a certificate for \(name) (install Debian's openssl)")
        }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else { throw .worldFailed("openssl could not make a certificate for \(name)") }
    }
}

/// One TLS connection of a world service: BearSSL's server engine between the
/// socket (records) and the service's reply logic (plain text).
final class TLSSession {
    private let server: OpaquePointer
    private var engine: UnsafeMutablePointer<br_ssl_engine_context> { cbr_server_engine(server) }
    private var closing = false
    private var helloSent = false

    /// BearSSL packs its first flight (ServerHello, Certificate, …) into one record;
    /// OpenSSL, and so most servers, send each handshake message in a record of its own,
    /// and the core's `probeMaxFragmentLength` reads the ServerHello only when it is
    /// alone in its record (WiFiClientSecureBearSSL.cpp:1580-1584). The first record is
    /// plain text, so it is split at the end of the ServerHello: the bytes to send and
    /// how many of the engine's it stands for; nil if there is nothing to split.
    private func splitServerHello(_ b: UnsafeBufferPointer<UInt8>) -> (bytes: [UInt8], consumed: Int)? {
        guard b.count >= 9, b[0] == 22, b[5] == 2 else { return nil }
        let recordLen = Int(b[3]) << 8 | Int(b[4])
        let helloLen = 4 + (Int(b[6]) << 16 | Int(b[7]) << 8 | Int(b[8]))
        guard 5 + recordLen <= b.count, helloLen < recordLen else { return nil }
        let rest = recordLen - helloLen
        var out: [UInt8] = [b[0], b[1], b[2], UInt8(helloLen >> 8), UInt8(helloLen & 0xff)]
        out += b[5..<(5 + helloLen)]
        out += [b[0], b[1], b[2], UInt8(rest >> 8), UInt8(rest & 0xff)]
        out += b[(5 + helloLen)..<(5 + recordLen)]
        return (out, 5 + recordLen)
    }

    init?(identity: TLSIdentity) {
        guard let s = cbr_server_new(identity.chain, identity.key) else { return nil }
        server = s
    }

    deinit { cbr_server_free(server) }

    /// Moves records between `fd` and the engine, sends what `answer` gives for the
    /// received text through `pending` (emptied as it goes); once `close()` says so, a
    /// close_notify follows the reply. Returns false when the connection is over (the
    /// caller closes `fd`).
    func pump(fd: Int32, pending: inout [UInt8], close: () -> Bool, answer: ([UInt8]) -> [UInt8]) -> Bool {
        var progress = true
        while progress {
            progress = false
            let st = br_ssl_engine_current_state(engine)
            if st & UInt32(BR_SSL_CLOSED) != 0 { return false }
            if st & UInt32(BR_SSL_SENDREC) != 0 {
                var len = 0
                let buf = br_ssl_engine_sendrec_buf(engine, &len)!
                if !helloSent, let split = splitServerHello(UnsafeBufferPointer(start: buf, count: len)) {
                    helloSent = true
                    var off = 0
                    while off < split.bytes.count {
                        let n = split.bytes.withUnsafeBytes { send(fd, $0.baseAddress! + off, split.bytes.count - off, Int32(MSG_NOSIGNAL)) }
                        if n <= 0 { return false }
                        off += n
                    }
                    br_ssl_engine_sendrec_ack(engine, split.consumed)
                    progress = true
                    continue
                }
                let n = send(fd, buf, len, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                if n > 0 {
                    br_ssl_engine_sendrec_ack(engine, n)
                    progress = true
                    continue
                }
                if errno != EAGAIN { return false }
            }
            if st & UInt32(BR_SSL_RECVAPP) != 0 {
                var len = 0
                let buf = br_ssl_engine_recvapp_buf(engine, &len)!
                let text = Array(UnsafeBufferPointer(start: buf, count: len))
                br_ssl_engine_recvapp_ack(engine, len)
                pending += answer(text)
                progress = true
                continue
            }
            if st & UInt32(BR_SSL_SENDAPP) != 0 && !pending.isEmpty {
                var len = 0
                let buf = br_ssl_engine_sendapp_buf(engine, &len)!
                let n = min(len, pending.count)
                pending.withUnsafeBufferPointer { buf.update(from: $0.baseAddress!, count: n) }
                pending.removeFirst(n)
                br_ssl_engine_sendapp_ack(engine, n)
                br_ssl_engine_flush(engine, 0)
                progress = true
                continue
            }
            if pending.isEmpty && close() && !closing && st & UInt32(BR_SSL_SENDAPP) != 0 {
                closing = true
                br_ssl_engine_close(engine)
                progress = true
                continue
            }
            // close_notify sent: the service closes the connection, as web servers do
            if closing && st & UInt32(BR_SSL_SENDREC) == 0 { return false }
            if st & UInt32(BR_SSL_RECVREC) != 0 {
                var len = 0
                let buf = br_ssl_engine_recvrec_buf(engine, &len)
                let n = recv(fd, buf, len, Int32(MSG_DONTWAIT))
                if n > 0 {
                    br_ssl_engine_recvrec_ack(engine, n)
                    progress = true
                    continue
                }
                if n == 0 || errno != EAGAIN { return false }
            }
        }
        return true
    }
}
