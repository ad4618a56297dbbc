import ArduinoLua
import BoardTesting
import XCTest

/// HTTPClient against the core's code (libraries/ESP8266HTTPClient/src at core 3.1.2+:
/// ESP8266HTTPClient.cpp, ESP8266HTTPClient.h), fetching from services of the world file.
final class HTTPClientTests: XCTestCase {
    func run(_ body: String, services: [String], for duration: Double = 20) throws -> SketchRun {
        let sketch = """
            function setup()
              WiFi.begin("net", "password")
              while WiFi.status() ~= WL_CONNECTED do delay(100) end
              \(body)
            end
            function loop() delay(1000) end
            """
        let world = #"{ "services": [ "# + services.joined(separator: ", ") + " ] }"
        return try SketchHarness.run(source: sketch, for: seconds(duration), world: world)
    }

    func service(_ name: String, port: Int, reply: String, address: String = "10.0.2.100") -> String {
        let escaped = reply.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\r", with: "\\r")
            .replacingOccurrences(of: "\n", with: "\\n")
        return #"{ "name": "\#(name)", "address": "\#(address)", "port": \#(port), "reply": "\#(escaped)" }"#
    }

    // sendRequest (cpp:443-541), handleHeaderResponse (cpp:880-989), getString (cpp:634-652)
    func testGETReturnsTheCodeTheSizeAndTheBody() throws {
        let r = try run(
            """
            local http = HTTPClient()
            print(http:begin(WiFiClient(), "http://api.world/data?x=1"))
            local code = http:GET()
            print(code, http:getSize(), http:getString())
            http:end_()
            """,
            services: [service("api.world", port: 80, reply: "HTTP/1.1 200 OK\r\nContent-Length: 11\r\nConnection: close\r\n\r\nhello world")])
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\n200\t11\thello world\n")
    }

    // The request as the core writes it (sendHeader, cpp:817-874: Host, User-Agent
    // ESP8266HTTPClient, Accept-Encoding, Connection keep-alive, then the added headers
    // with Content-Length, cpp:463): an echo service sends it back, and the answer that
    // does not start with HTTP/1. is HTTPC_ERROR_NO_HTTP_SERVER (cpp:973-976)
    func testTheRequestHeaderIsTheCoresAndAnEchoIsNoHTTPServer() throws {
        let r = try run(
            """
            local http = HTTPClient()
            http:begin(WiFiClient(), "http://echo.world:7/path")
            http:collectHeaders("Host", "User-Agent", "Accept-Encoding", "Connection", "X-Test", "Content-Length")
            http:addHeader("X-Test", "1")
            http:addHeader("X-Test", "2")            -- replaces
            http:addHeader("Connection", "close")    -- ignored: the client's own
            local code = http:POST("abc")
            print(code, http:errorToString(code))
            for i = 0, http:headers() - 1 do print(http:headerName(i) .. "=" .. http:header(i)) end
            """,
            services: [service("echo.world", port: 7, reply: "echo")])
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript,
            """
            -7\tno HTTP server
            Host=echo.world:7
            User-Agent=ESP8266HTTPClient
            Accept-Encoding=identity;q=1,chunked;q=0.1,*;q=0
            Connection=keep-alive
            X-Test=2
            Content-Length=3

            """)
    }

    // connect fails: HTTPC_ERROR_CONNECTION_FAILED (cpp:459-461), errorToString (cpp:659-687)
    func testARefusedPortIsConnectionFailed() throws {
        let r = try run(
            """
            local http = HTTPClient()
            http:begin(WiFiClient(), "http://10.0.2.2:9/")
            local code = http:GET()
            print(code, code == HTTPC_ERROR_CONNECTION_FAILED, HTTPClient.errorToString(code))
            print(http:begin(WiFiClient(), "ftp://x/"), HTTPClient.errorToString(HTTPC_ERROR_READ_TIMEOUT))
            """, services: [])
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "-1\ttrue\tconnection failed\nfalse\tread Timeout\n")
    }

    // Transfer-Encoding: chunked (writeToStream, ESP8266HTTPClient.h:315-364): the size
    // becomes the sum of the chunks; an encoding other than chunked is HTTPC_ERROR_ENCODING
    func testChunkedBodiesAreJoinedAndOtherEncodingsRefused() throws {
        let chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        let r = try run(
            """
            local http = HTTPClient()
            http:begin(WiFiClient(), "http://a.world/")
            print(http:GET(), http:getSize(), http:getString(), http:getSize())
            http:end_()
            http:begin(WiFiClient(), "http://b.world/")
            print(http:GET())
            """,
            services: [
                service("a.world", port: 80, reply: chunked),
                service("b.world", port: 80, reply: "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", address: "10.0.2.101"),
            ])
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "200\t-1\thello world\t11\n-9\n")
    }

    // The payload is a String on the heap (getString reserves Content-Length, cpp:640-649)
    // until end() (clear, cpp:55-62); with "Connection: close" end() stops the client
    // (disconnect, cpp:208-236): the board closes first, and only its TIME_WAIT stays
    func testThePayloadCostsHeapUntilEnd() throws {
        let body = String(repeating: "x", count: 2000)
        let r = try run(
            """
            local before = ESP.getFreeHeap()
            local http = HTTPClient()
            http:begin(WiFiClient(), "http://api.world/")
            http:GET()
            local s = http:getString()
            print(#s, before - ESP.getFreeHeap() >= 2000)
            http:end_()
            delay(1000)
            print(before - ESP.getFreeHeap(), #lwip.pcbs())
            tcpCleanup()
            delay(500)
            print(before - ESP.getFreeHeap())
            """,
            services: [service("api.world", port: 80, reply: "HTTP/1.1 200 OK\r\nContent-Length: 2000\r\nConnection: close\r\n\r\n" + body)])
        defer { r.finish() }
        // the board closed first: a TIME_WAIT pcb (192 B) and lwIP's TCP timer (24 B)
        XCTAssertEqual(r.transcript, "2000\ttrue\n216\t1\n0\n")
    }
}

extension HTTPClientTests {
    /// A keep-alive HTTP/1.1 server on the host (Python's http.server), answering with
    /// the path and the client's port; returns it and its port.
    func hostServer() throws -> (Process, Int) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [
            "-c",
            """
            import http.server, sys
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = 'HTTP/1.1'
                def log_message(self, *a): pass
                def do_GET(self):
                    b = (self.path + ' ' + str(self.client_address[1])).encode()
                    self.send_response(200); self.send_header('Content-Length', str(len(b))); self.end_headers(); self.wfile.write(b)
            s = http.server.HTTPServer(('127.0.0.1', 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """,
        ]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = ""
        while !line.contains("\n") { line += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self) }
        return (p, Int(line.trimmingCharacters(in: .whitespacesAndNewlines))!)
    }

    // setReuse (default true, cpp:255-258): an HTTP/1.1 answer without "Connection: close"
    // leaves the connection open after end() (disconnect, cpp:218-219) and the next request
    // on the same HTTPClient goes out on it (connect, cpp:782-790); after setReuse(false)
    // connect() makes a new connection (WiFiClient::connect stops the old one first) and
    // end() stops it
    func testKeepAliveReusesTheConnectionUnlessSetReuseFalse() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("python3 is not installed") }
        let (server, port) = try hostServer()
        defer { server.terminate() }
        let sketch = """
            function setup()
              WiFi.begin("net", "password")
              while WiFi.status() ~= WL_CONNECTED do delay(100) end
              local http = HTTPClient()
              http:begin(WiFiClient(), "http://10.0.2.2:\(port)/a")
              print(http:GET(), http:getString():match("^/a"))
              local first = http:getString():match("%d+$")
              http:end_()
              print(http:connected())
              http:setURL("/b")
              print(http:GET(), http:getString():match("%d+$") == first)
              http:setReuse(false)
              http:setURL("/c")
              print(http:GET(), http:getString():match("%d+$") == first)
              http:end_()
              print(http:connected())
            end
            function loop() delay(1000) end
            """
        let r = try SketchHarness.run(source: sketch, for: seconds(5)) { $0.board.timeMode = .real }
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "200\t/a\ntrue\n200\ttrue\n200\tfalse\nfalse\n")
    }
}
