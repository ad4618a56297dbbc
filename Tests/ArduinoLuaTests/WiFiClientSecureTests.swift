import ArduinoLua
import BoardCore
import BoardNet
import BoardTesting
import Foundation
import XCTest

/// WiFiClientSecure against the core's BearSSL client (libraries/ESP8266WiFi/src/
/// WiFiClientSecureBearSSL.cpp and .h, cores/esp8266/StackThunk.cpp; line numbers
/// are of those files), fetching from a TLS service of the world file whose
/// certificates `openssl` makes for the test: a CA, and secure.world signed by it.
final class WiFiClientSecureTests: XCTestCase {
    /// The test's PKI, made once: a CA and secure.world's certificate and key.
    struct PKI {
        let dir: String
        var caPEM: String { (try? String(contentsOfFile: "\(dir)/ca.pem", encoding: .utf8)) ?? "" }
        var otherCAPEM: String { (try? String(contentsOfFile: "\(dir)/other.pem", encoding: .utf8)) ?? "" }
        /// `openssl x509 -fingerprint -sha1` of secure.world's certificate: the oracle for setFingerprint.
        let fingerprint: String
    }

    nonisolated(unsafe) static var pkiMade: PKI?

    static func openssl(_ args: [String], in dir: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
        p.arguments = args
        p.currentDirectoryURL = URL(fileURLWithPath: dir)
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else { throw XCTSkip("openssl \(args.first ?? "") failed") }
        return String(decoding: data, as: UTF8.self)
    }

    func pki() throws -> PKI {
        if let p = Self.pkiMade { return p }
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl") else { throw XCTSkip("openssl is not installed") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-pki-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let ca = ["-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]
        _ = try Self.openssl(
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem", "-days", "3650", "-set_serial", "1", "-subj",
                "/CN=esplua test CA",
            ] + ca,
            in: dir)
        _ = try Self.openssl(
            [
                "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "other.key", "-out", "other.pem", "-days", "3650", "-set_serial", "1", "-subj",
                "/CN=another CA",
            ] + ca,
            in: dir)
        _ = try Self.openssl(["req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=secure.world"], in: dir)
        try "subjectAltName=DNS:secure.world\n".write(toFile: "\(dir)/ext.cnf", atomically: true, encoding: .utf8)
        _ = try Self.openssl(
            [
                "x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-set_serial", "2", "-days", "3650", "-out", "server.pem", "-extfile",
                "ext.cnf",
            ],
            in: dir)
        let fp = try Self.openssl(["x509", "-in", "server.pem", "-noout", "-fingerprint", "-sha1"], in: dir)
        let p = PKI(dir: dir, fingerprint: String(fp.split(separator: "=").last!.trimmingCharacters(in: .whitespacesAndNewlines)))
        Self.pkiMade = p
        return p
    }

    static let page = "HTTP/1.1 200 OK\\r\\nContent-Length: 5\\r\\nConnection: close\\r\\n\\r\\nhello"

    /// Runs `body` in `setup()` after WiFi is up, with secure.world (TLS, the test's
    /// certificate) and `extra` services in the world.
    func run(_ body: String, extra: [String] = [], globals: String = "", for duration: Double = 30) throws -> SketchRun {
        let pki = try pki()
        let sketch = """
            CA = [[\(pki.caPEM)]]
            OTHER_CA = [[\(pki.otherCAPEM)]]
            FINGERPRINT = "\(pki.fingerprint)"
            \(globals)
            function setup()
              WiFi.begin("net", "password")
              while WiFi.status() ~= WL_CONNECTED do delay(100) end
              \(body)
            end
            function loop() delay(1000) end
            """
        let secure =
            #"{ "name": "secure.world", "port": 443, "reply": "\#(Self.page)", "tls": { "cert": "\#(pki.dir)/server.pem", "key": "\#(pki.dir)/server.key" } }"#
        let world = #"{ "services": [ "# + ([secure] + extra).joined(separator: ", ") + " ] }"
        return try SketchHarness.run(source: sketch, for: seconds(duration), world: world)
    }

    /// umm_malloc's cost of an allocation of n bytes (reference §5: 1 + ceil((n-4)/8) blocks of 8 B).
    func cost(_ n: Int) -> Int { Heap.cost(of: n) }

    /// What `new WiFiClientSecure()` takes: the context object with its control block,
    /// and the 6200 B second stack for the first one (StackThunk.cpp:53, 67).
    var objectCost: Int { cost(6200) + cost(SecureClient.HeapCost.context) + cost(16) }
    /// What `_connectSSL` keeps once connected (cpp:1130-1134): br_ssl_client_context
    /// (make_shared), the two I/O buffers with their shared_ptr control blocks.
    func sessionCost(input: Int, output: Int) -> Int { cost(3408 + 12) + cost(input) + cost(16) + cost(output) + cost(16) }

    // The default buffers: setBufferSizes(16384, 512) in _clear() (cpp:85) → 16709 and 597
    // (cpp:178-192); the heap before, with the object, connected, after stop() and after
    // the object is gone (back to the byte: ~WiFiClientSecureCtx, cpp:114-122, and
    // stack_thunk_del_ref, StackThunk.cpp:82-96). Besides the session, the connection
    // costs what a WiFiClient's does: ClientContext 56, tcp_pcb 192, lwIP's TCP timer 24.
    func testAnHTTPSGetCostsTheCoresBuffersAndGivesThemBack() throws {
        let r = try run(
            """
            local before = ESP.getFreeHeap()
            local client = WiFiClientSecure()
            local object = ESP.getFreeHeap()
            client:setInsecure()
            print(client:connect("secure.world", 443))
            local during = ESP.getFreeHeap()
            client:print("GET / HTTP/1.1\\r\\nHost: secure.world\\r\\n\\r\\n")
            print(client:readStringUntil("\\n"))
            print(before - object, object - during)
            client:stop()
            client = nil
            delay(1000)  -- lwIP's TCP timer stops once no pcb is left
            print(ESP.getFreeHeap() - before)
            """)
        defer { r.finish() }
        let (input, output) = (16384 + 325, 512 + 85)
        let session = sessionCost(input: input, output: output)
        XCTAssertEqual(r.transcript, "true\nHTTP/1.1 200 OK\r\n\(objectCost)\t\(session + 272)\n0\n")
        // 6440 B for the object, 20800 B for the session: over half of the 50656 B free at setup()
        XCTAssertEqual(objectCost + session, 27240)
    }

    // While connected the heap holds the core's allocations at their sizes (cpp:1130-1134,
    // StackThunk.cpp:67); the X.509 context goes after the handshake (cpp:1205-1207)
    func testTheLiveAllocationsAreTheCoresSizes() throws {
        let r = try run(
            """
            client = WiFiClientSecure()
            client:setInsecure()
            print(client:connect("secure.world", 443))
            """)
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\n")
        let live = r.device.board.heap.liveAllocations
        func sizes(_ owner: String) -> [Int] { live.filter { $0.owner == owner }.map(\.requested).sorted() }
        XCTAssertEqual(sizes("BearSSL stack"), [6200])
        XCTAssertEqual(sizes("_iobuf_in"), [16, 16709])
        XCTAssertEqual(sizes("_iobuf_out"), [16, 597])
        XCTAssertEqual(sizes("br_ssl_client_context"), [3420])
        XCTAssertEqual(sizes("x509 context"), [])
    }

    // setBufferSizes(512, 512) → 837 in, 597 out (cpp:178-192): the session costs 15872 B
    // less than the default. BearSSL asks for the largest fragment that fits both buffers
    // (ssl_engine.c, br_ssl_engine_set_buffers_bidi), so with the core's 597 B output
    // buffer even the default session asks for 512; the world service honours
    // max_fragment_length: probeMaxFragmentLength (cpp:1482-1634) and getMFLNStatus say true
    func testSetBufferSizes512NeedsMFLNAndSavesTheHeap() throws {
        let r = try run(
            """
            local client = WiFiClientSecure()
            client:setInsecure()
            client:setBufferSizes(512, 512)
            local object = ESP.getFreeHeap()
            print(client:connect("secure.world", 443), client:getMFLNStatus())
            print(object - ESP.getFreeHeap())
            client:print("GET / HTTP/1.1\\r\\nHost: secure.world\\r\\n\\r\\n")
            print(client:readStringUntil("\\n"))
            client:stop()
            print(WiFiClientSecure.probeMaxFragmentLength("secure.world", 443, 512), client:probeMaxFragmentLength("secure.world", 443, 4096))
            print(WiFiClientSecure.probeMaxFragmentLength("secure.world", 443, 500))
            local default = WiFiClientSecure()
            default:setInsecure()
            print(default:connect("secure.world", 443), default:getMFLNStatus())
            """)
        defer { r.finish() }
        let session = sessionCost(input: 512 + 325, output: 512 + 85)
        XCTAssertEqual(session, 5200 - 272)
        XCTAssertEqual(sessionCost(input: 16709, output: 597) - session, 15872)
        // only 512, 1024, 2048, 4096 can be asked for (cpp:1519-1525)
        XCTAssertEqual(r.transcript, "true\ttrue\n\(session + 272)\nHTTP/1.1 200 OK\r\ntrue\ttrue\nfalse\ntrue\ttrue\n")
    }

    // setFingerprint (cpp:627-661) against openssl's SHA-1 of the certificate; a wrong one
    // fails the handshake in the core's insecure X.509 class (cpp:735-765): connect()
    // returns false and getLastSSLError says why (cpp:1347-1434); a malformed string is refused
    func testSetFingerprintRightAndWrong() throws {
        let r = try run(
            """
            local good = WiFiClientSecure()
            print(good:setFingerprint(FINGERPRINT))
            print(good:connect("secure.world", 443))
            good:stop()
            local bad = WiFiClientSecure()
            print(bad:setFingerprint("00 11 22 33 44 55 66 77 88 99 aa bb cc dd ee ff 00 11 22 33"))
            print(bad:connect("secure.world", 443), bad:connected())
            print(bad:getLastSSLError())
            print(bad:setFingerprint("00:11"), bad:setFingerprint(FINGERPRINT .. ":00"), bad:setFingerprint(FINGERPRINT:gsub("%x", "g", 1)))
            """)
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript,
            "true\ntrue\ntrue\nfalse\tfalse\n62\tChain could not be linked to a trust anchor.\nfalse\tfalse\tfalse\n")
    }

    // setTrustAnchors: br_x509_minimal (cpp:1096-1117) with the test CA accepts secure.world;
    // another CA, or no anchor and no other setting, is BR_ERR_X509_NOT_TRUSTED
    func testSetTrustAnchorsWithTheTestCA() throws {
        let r = try run(
            """
            local ok = WiFiClientSecure()
            print(ok:setTrustAnchors(CA), ok:connect("secure.world", 443))
            ok:print("GET / HTTP/1.1\\r\\nHost: secure.world\\r\\n\\r\\n")
            print(ok:readString())
            ok:stop()  -- two sessions do not fit beside each other
            local other = WiFiClientSecure()
            print(other:setTrustAnchors(OTHER_CA), other:connect("secure.world", 443), (other:getLastSSLError()))
            other:stop()  -- a failed handshake keeps its buffers until stop() (cpp:1125-1212)
            local none = WiFiClientSecure()
            print(none:connect("secure.world", 443), (none:getLastSSLError()))
            print(none:setTrustAnchors("not a certificate"))
            """)
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript,
            "true\ttrue\nHTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello\ntrue\tfalse\t62\nfalse\t62\nfalse\n")
    }

    // A heap that cannot hold the 16709 B input buffer: _alloc_iobuf is new (std::nothrow)
    // (cpp:1114-1124), so connect() returns false with _oom_err, getLastSSLError -1000
    // (cpp:1355-1357, 1367), and the board goes on; a 30 KB page held by an HTTPClient
    // (its String, ESP8266HTTPClient.cpp:640-649) takes the room; after end() TLS fits
    func testAHeapTooSmallFailsTheConnectCleanly() throws {
        let body = String(repeating: "x", count: 30000)
        let r = try run(
            """
            local http = HTTPClient()
            http:begin(WiFiClient(), "http://big.world/")
            print(http:GET(), #http:getString())
            local client = WiFiClientSecure()
            client:setInsecure()
            print(client:connect("secure.world", 443), client:connected())
            print(client:getLastSSLError())
            http:end_()
            print(client:connect("secure.world", 443))
            """,
            extra: [
                #"{ "name": "big.world", "address": "10.0.2.101", "port": 80, "reply": "HTTP/1.1 200 OK\r\nContent-Length: 30000\r\nConnection: close\r\n\r\n\#(body)" }"#
            ])
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "200\t30000\nfalse\tfalse\n-1000\tUnable to allocate memory for SSL structures and buffers.\ntrue\n")
    }

    // HTTPClient over a WiFiClientSecure: begin(client, "https://…") (cpp:72-91), port 443
    func testHTTPClientFetchesOverTLS() throws {
        let r = try run(
            """
            local client = WiFiClientSecure()
            client:setInsecure()
            local http = HTTPClient()
            print(http:begin(client, "https://secure.world/"))
            print(http:GET(), http:getString())
            http:end_()
            """)
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\n200\thello\n")
    }

    // The world file's TLS services: {} (a certificate made at start), or both cert and
    // key; a half-given pair, a non-object and a missing file are one clear sentence each
    func testTheWorldFileDeclaresTLSServices() throws {
        let ok = try World(json: Data(#"{ "services": [ { "name": "s.world", "port": 443, "tls": {} } ] }"#.utf8))
        XCTAssertEqual(ok.services.first?.tls, World.TLS(cert: nil, key: nil))
        XCTAssertThrowsError(try World(json: Data(#"{ "services": [ { "port": 443, "tls": { "cert": "c.pem" } } ] }"#.utf8))) {
            XCTAssertEqual("\($0)", "world: services[0].tls needs both cert and key, or neither")
        }
        XCTAssertThrowsError(try World(json: Data(#"{ "services": [ { "port": 443, "tls": true } ] }"#.utf8))) {
            XCTAssertEqual("\($0)", "world: services[0].tls must be an object ({} or cert and key)")
        }
        let world = #"{ "services": [ { "name": "s.world", "port": 443, "tls": { "cert": "missing.pem", "key": "missing.key" } } ] }"#
        XCTAssertThrowsError(try SketchHarness.run(source: "function setup() end function loop() end", for: seconds(1), world: world)) {
            XCTAssertTrue("\($0)".contains("cannot read the TLS certificate"), "\($0)")
            XCTAssertTrue("\($0)".contains("missing.pem"), "\($0)")
        }
    }

    // Two default sessions: the second gets its buffers but leaves ~1.8 KB, too little for
    // lwIP's pbufs of the server's flight, so its handshake times out (15 s, cpp:73); a third
    // connect() crashes: make_shared<br_ssl_client_context> (cpp:1130) is the core's
    // operator new, which aborts on OOM (reference §5, abi.cpp). After the reset nothing of
    // TLS is left on the heap.
    func testAThirdSessionCrashesTheBoardAndTheResetGivesTheHeapBack() throws {
        let r = try run(
            """
            a = WiFiClientSecure(); a:setInsecure(); print(a:connect("secure.world", 443))
            b = WiFiClientSecure(); b:setInsecure(); print(b:connect("secure.world", 443), ESP.getFreeHeap() < 2048)
            c = WiFiClientSecure(); c:setInsecure(); print(c:connect("secure.world", 443))
            """, for: 40)
        defer { r.finish() }
        XCTAssertTrue(r.transcript.hasPrefix("true\nfalse\ttrue\nUser exception (panic/abort/assert)"), r.transcript)
        XCTAssertTrue(r.transcript.contains("Unhandled C++ exception: OOM"), r.transcript)
        XCTAssertTrue(r.transcript.contains("(3420)\n"), r.transcript)
        let tls: Set = ["BearSSL stack", "WiFiClientSecureCtx", "br_ssl_client_context", "_iobuf_in", "_iobuf_out", "x509 context"]
        XCTAssertEqual(r.device.board.heap.liveAllocations.filter { tls.contains($0.owner) }.count, 0)
    }

    // The BearSSL contexts are charged at their size on a 32-bit target: clang compiles
    // BearSSL's own headers for armv7 (ILP32, 8-byte uint64_t alignment, as Xtensa) and
    // asserts sizeof against the charges (HeapCost); the core's insecure context is its
    // struct (cpp:665-674) over BearSSL 0.6's decoder
    func testBearSSLContextsAreChargedAtTheir32BitSizes() throws {
        let clang = ["/opt/swift/usr/bin/clang", "/usr/bin/clang"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let clang, FileManager.default.fileExists(atPath: "/usr/include/bearssl.h") else { throw XCTSkip("clang or bearssl.h missing") }
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-sizeof-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: "\(dir)/inc", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // only BearSSL's headers and a string.h stub: the host's libc headers are not for armv7
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/inc/bearssl.h", withDestinationPath: "/usr/include/bearssl.h")
        try FileManager.default.createSymbolicLink(atPath: "\(dir)/inc/bearssl", withDestinationPath: "/usr/include/bearssl")
        try "#include <stddef.h>\nvoid *memcpy(void *, const void *, size_t); void *memset(void *, int, size_t); size_t strlen(const char *);\n"
            .write(toFile: "\(dir)/inc/string.h", atomically: true, encoding: .utf8)
        let cost = SecureClient.HeapCost.self
        try """
        #include <bearssl.h>
        #include <stdbool.h>
        struct br_x509_insecure_context {
            const br_x509_class *vtable; bool done_cert; const uint8_t *match_fingerprint; br_sha1_context sha1_cert;
            bool allow_self_signed; br_sha256_context sha256_subject; br_sha256_context sha256_issuer; br_x509_decoder_context ctx;
        };
        _Static_assert(sizeof(br_ssl_client_context) + 12 == \(cost.clientContext), "br_ssl_client_context");
        _Static_assert(sizeof(br_x509_minimal_context) + 12 == \(cost.x509Minimal), "br_x509_minimal_context");
        _Static_assert(sizeof(struct br_x509_insecure_context) + 12 == \(cost.x509Insecure), "br_x509_insecure_context");
        _Static_assert(sizeof(void *) == 4, "32-bit");
        """.write(toFile: "\(dir)/sizes.c", atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: clang)
        p.arguments = ["--target=armv7-none-eabi", "-ffreestanding", "-nostdinc", "-isystem", "\(dir)/inc", "-fsyntax-only", "\(dir)/sizes.c"]
        // clang's own stddef.h, stdint.h, stdbool.h
        let resource = Process()
        resource.executableURL = URL(fileURLWithPath: clang)
        resource.arguments = ["-print-resource-dir"]
        let out = Pipe()
        resource.standardOutput = out
        try resource.run()
        resource.waitUntilExit()
        let res = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        p.arguments! += ["-isystem", "\(res)/include"]
        let err = Pipe()
        p.standardError = err
        try p.run()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
    }
}
