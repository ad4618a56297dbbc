import CBearSSL
import CBearSSLShim
import Glibc

extension SecureClient {
    /// `getLastSSLError`'s texts (WiFiClientSecureBearSSL.cpp:1367-1426); 0 has no case there,
    /// so it reads "Unknown error code." as on the board.
    static let errorTexts: [Int: String] = [
        -1000: "Unable to allocate memory for SSL structures and buffers.",
        Int(BR_ERR_BAD_PARAM): "Caller-provided parameter is incorrect.",
        Int(BR_ERR_BAD_STATE):
            "Operation requested by the caller cannot be applied with the current context state (e.g. reading data while outgoing data is waiting to be sent).",
        Int(BR_ERR_UNSUPPORTED_VERSION): "Incoming protocol or record version is unsupported.",
        Int(BR_ERR_BAD_VERSION): "Incoming record version does not match the expected version.",
        Int(BR_ERR_BAD_LENGTH): "Incoming record length is invalid.",
        Int(BR_ERR_TOO_LARGE): "Incoming record is too large to be processed, or buffer is too small for the handshake message to send.",
        Int(BR_ERR_BAD_MAC): "Decryption found an invalid padding, or the record MAC is not correct.",
        Int(BR_ERR_NO_RANDOM): "No initial entropy was provided, and none can be obtained from the OS.",
        Int(BR_ERR_UNKNOWN_TYPE): "Incoming record type is unknown.",
        Int(BR_ERR_UNEXPECTED): "Incoming record or message has wrong type with regards to the current engine state.",
        Int(BR_ERR_BAD_CCS): "ChangeCipherSpec message from the peer has invalid contents.",
        Int(BR_ERR_BAD_ALERT): "Alert message from the peer has invalid contents (odd length).",
        Int(BR_ERR_BAD_HANDSHAKE): "Incoming handshake message decoding failed.",
        Int(BR_ERR_OVERSIZED_ID): "ServerHello contains a session ID which is larger than 32 bytes.",
        Int(BR_ERR_BAD_CIPHER_SUITE):
            "Server wants to use a cipher suite that we did not claim to support. This is also reported if we tried to advertise a cipher suite that we do not support.",
        Int(BR_ERR_BAD_COMPRESSION): "Server wants to use a compression that we did not claim to support.",
        Int(BR_ERR_BAD_FRAGLEN): "Server's max fragment length does not match client's.",
        Int(BR_ERR_BAD_SECRENEG): "Secure renegotiation failed.",
        Int(BR_ERR_EXTRA_EXTENSION):
            "Server sent an extension type that we did not announce, or used the same extension type several times in a single ServerHello.",
        Int(BR_ERR_BAD_SNI): "Invalid Server Name Indication contents (when used by the server, this extension shall be empty).",
        Int(BR_ERR_BAD_HELLO_DONE): "Invalid ServerHelloDone from the server (length is not 0).",
        Int(BR_ERR_LIMIT_EXCEEDED): "Internal limit exceeded (e.g. server's public key is too large).",
        Int(BR_ERR_BAD_FINISHED): "Finished message from peer does not match the expected value.",
        Int(BR_ERR_RESUME_MISMATCH): "Session resumption attempt with distinct version or cipher suite.",
        Int(BR_ERR_INVALID_ALGORITHM): "Unsupported or invalid algorithm (ECDHE curve, signature algorithm, hash function).",
        Int(BR_ERR_BAD_SIGNATURE): "Invalid signature in ServerKeyExchange or CertificateVerify message.",
        Int(BR_ERR_WRONG_KEY_USAGE): "Peer's public key does not have the proper type or is not allowed for the requested operation.",
        Int(BR_ERR_NO_CLIENT_AUTH): "Client did not send a certificate upon request, or the client certificate could not be validated.",
        Int(BR_ERR_IO): "I/O error or premature close on transport stream.",
        Int(BR_ERR_X509_INVALID_VALUE): "Invalid value in an ASN.1 structure.",
        Int(BR_ERR_X509_TRUNCATED): "Truncated certificate or other ASN.1 object.",
        Int(BR_ERR_X509_EMPTY_CHAIN): "Empty certificate chain (no certificate at all).",
        Int(BR_ERR_X509_INNER_TRUNC): "Decoding error: inner element extends beyond outer element size.",
        Int(BR_ERR_X509_BAD_TAG_CLASS): "Decoding error: unsupported tag class (application or private).",
        Int(BR_ERR_X509_BAD_TAG_VALUE): "Decoding error: unsupported tag value.",
        Int(BR_ERR_X509_INDEFINITE_LENGTH): "Decoding error: indefinite length.",
        Int(BR_ERR_X509_EXTRA_ELEMENT): "Decoding error: extraneous element.",
        Int(BR_ERR_X509_UNEXPECTED): "Decoding error: unexpected element.",
        Int(BR_ERR_X509_NOT_CONSTRUCTED): "Decoding error: expected constructed element, but is primitive.",
        Int(BR_ERR_X509_NOT_PRIMITIVE): "Decoding error: expected primitive element, but is constructed.",
        Int(BR_ERR_X509_PARTIAL_BYTE): "Decoding error: BIT STRING length is not multiple of 8.",
        Int(BR_ERR_X509_BAD_BOOLEAN): "Decoding error: BOOLEAN value has invalid length.",
        Int(BR_ERR_X509_OVERFLOW): "Decoding error: value is off-limits.",
        Int(BR_ERR_X509_BAD_DN): "Invalid distinguished name.",
        Int(BR_ERR_X509_BAD_TIME): "Invalid date/time representation.",
        Int(BR_ERR_X509_UNSUPPORTED): "Certificate contains unsupported features that cannot be ignored.",
        Int(BR_ERR_X509_LIMIT_EXCEEDED): "Key or signature size exceeds internal limits.",
        Int(BR_ERR_X509_WRONG_KEY_TYPE): "Key type does not match that which was expected.",
        Int(BR_ERR_X509_BAD_SIGNATURE): "Signature is invalid.",
        Int(BR_ERR_X509_TIME_UNKNOWN): "Validation time is unknown.",
        Int(BR_ERR_X509_EXPIRED): "Certificate is expired or not yet valid.",
        Int(BR_ERR_X509_DN_MISMATCH): "Issuer/Subject DN mismatch in the chain.",
        Int(BR_ERR_X509_BAD_SERVER_NAME): "Expected server name was not found in the chain.",
        Int(BR_ERR_X509_CRITICAL_EXTENSION): "Unknown critical extension in certificate.",
        Int(BR_ERR_X509_NOT_CA): "Not a CA, or path length constraint violation.",
        Int(BR_ERR_X509_FORBIDDEN_KEY_USAGE): "Key Usage extension prohibits intended usage.",
        Int(BR_ERR_X509_WEAK_PUBLIC_KEY): "Public key found in certificate is too small.",
        Int(BR_ERR_X509_NOT_TRUSTED): "Chain could not be linked to a trust anchor.",
    ]

    static func errorText(_ code: Int) -> String { errorTexts[code] ?? "Unknown error code." }
}

extension SecureClient {
    /// `WiFiClientSecure::probeMaxFragmentLength(ip, port, len)` (cpp:1482-1634): a plain
    /// TCP connection, a hand-made TLS 1.2 ClientHello with the core's suites and a
    /// max_fragment_length extension, and a look at the ServerHello's extensions; then
    /// the core's user_cancelled and close_notify alerts (`_SendAbort`, cpp:1453-1470).
    /// True when the server echoed the extension. The ClientHello buffer is charged
    /// while it exists (`new (std::nothrow)`, cpp:1522).
    public static func probeMaxFragmentLength(network: Network, address: UInt32, port: UInt16, length: Int) -> Bool {
        let mfl: UInt8
        switch length {
        case 512: mfl = 1
        case 1024: mfl = 2
        case 2048: mfl = 3
        case 4096: mfl = 4
        default: return false
        }
        var suitesPointer: UnsafePointer<UInt16>?
        let count = cbr_client_suites(&suitesPointer)
        let suites = Array(UnsafeBufferPointer(start: suitesPointer, count: count))
        var hello: [UInt8] = [0x16, 0x03, 0x03, 0x00, 0, 0x01, 0x00, 0x00, 0, 0x03, 0x03]
        hello += [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]
        hello += [0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]
        hello += [0x00]
        hello += [UInt8(count * 2 >> 8), UInt8(count * 2 & 0xff)]
        for s in suites { hello += [UInt8(s >> 8), UInt8(s & 0xff)] }
        hello += [0x01, 0x00, 0x00, 26 + 14 + 6 + 5]
        hello += [0x00, 0x0d, 0x00, 0x16, 0x00, 0x14, 0x04, 0x03, 0x03, 0x03, 0x05, 0x03, 0x06, 0x03, 0x02, 0x03]
        hello += [0x04, 0x01, 0x03, 0x01, 0x05, 0x01, 0x06, 0x01, 0x02, 0x01]
        hello += [0x00, 0x0a, 0x00, 0x0a, 0x00, 0x08, 0x00, 0x17, 0x00, 0x18, 0x00, 0x19, 0x00, 0x1d]
        hello += [0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, 0x00, 0x01, 0x00, 0x01, mfl]
        let total = hello.count
        hello[3] = UInt8((total - 5) >> 8)
        hello[4] = UInt8((total - 5) & 0xff)
        hello[7] = UInt8((total - 9) >> 8)
        hello[8] = UInt8((total - 9) & 0xff)
        let heap = network.board.heap
        guard let charge = heap.allocate(total, owner: "clientHello") else { return false }
        let probe = TCPClient(network: network)
        defer { probe.release() }
        guard (try? probe.connect(address: address, port: port)) == true, probe.connected else {
            heap.free(charge)
            return false
        }
        let sent = probe.write(hello)
        heap.free(charge)
        guard probe.connected, sent == total else { return false }
        // Stream::readBytes: waits up to the stream timeout for each byte (timedRead)
        func readBytes(_ n: Int) -> [UInt8] {
            var out: [UInt8] = []
            let clock = network.board.clock, loop = network.board.loop
            var deadline = clock.micros + probe.timeoutMillis * 1000
            while out.count < n {
                let got = probe.read(max: n - out.count)
                if !got.isEmpty {
                    out += got
                    deadline = clock.micros + probe.timeoutMillis * 1000
                    continue
                }
                guard probe.tcpState == .established, !loop.isStopping, clock.micros < deadline else { break }
                loop.espDelay(deadline - clock.micros) { probe.available == 0 && probe.tcpState == .established }
            }
            return out
        }
        func sendAbort(_ supports: Bool) -> Bool {
            if probe.connected {
                _ = probe.write([0x15, 0x03, 0x03, 0x00, 0x02, 1, 90])
                _ = probe.write([0x15, 0x03, 0x03, 0x00, 0x02, 1, 0])
            }
            return supports
        }
        let frag = readBytes(5)
        guard probe.connected, frag.count == 5, frag[0] == 0x16, frag[1] == 0x03, frag[2] == 0x03 else { return sendAbort(false) }
        var fragLen = Int(frag[3]) << 8 | Int(frag[4])
        guard fragLen >= 4 + 2 + 32 + 1 + 2 + 1 else { return sendAbort(false) }
        let hand = readBytes(4)
        fragLen -= hand.count
        guard hand.count == 4, hand[0] == 2 else { return sendAbort(false) }
        var handLen = Int(hand[1]) << 16 | Int(hand[2]) << 8 | Int(hand[3])
        guard handLen == fragLen else { return sendAbort(false) }
        let version = readBytes(2)
        handLen -= version.count
        guard version == [0x03, 0x03] else { return sendAbort(false) }
        let random = readBytes(32)
        handLen -= random.count
        guard random.count == 32 else { return sendAbort(false) }
        let sessionLen = readBytes(1)
        handLen -= sessionLen.count
        guard sessionLen.count == 1, sessionLen[0] <= 32 else { return sendAbort(false) }
        if sessionLen[0] > 0 {
            let id = readBytes(Int(sessionLen[0]))
            handLen -= id.count
            guard id.count == Int(sessionLen[0]) else { return sendAbort(false) }
        }
        let cipher = readBytes(2)
        handLen -= cipher.count
        guard cipher.count == 2 else { return sendAbort(false) }
        let comp = readBytes(1)
        handLen -= comp.count
        guard comp == [0] else { return sendAbort(false) }
        let ext = readBytes(2)
        handLen -= ext.count
        guard ext.count == 2, Int(ext[0]) << 8 | Int(ext[1]) != 0 else { return sendAbort(false) }
        while handLen > 0 {
            let type = readBytes(2)
            handLen -= 2
            guard type.count == 2, handLen > 0 else { return sendAbort(false) }
            let lenBytes = readBytes(2)
            handLen -= 2
            guard lenBytes.count == 2 else { return sendAbort(false) }
            let extLen = Int(lenBytes[0]) << 8 | Int(lenBytes[1])
            guard handLen > 0, extLen <= 32, extLen <= handLen else { return sendAbort(false) }
            if type == [0x00, 0x01] { return sendAbort(extLen == 1) }
            let junk = readBytes(extLen)
            handLen -= extLen
            guard junk.count == extLen else { return sendAbort(false) }
        }
        return sendAbort(false)
    }
}
