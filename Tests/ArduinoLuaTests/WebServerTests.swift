import ArduinoLua
import BoardNet
import BoardTesting
import XCTest

/// ESP8266WebServer against the core's code (libraries/ESP8266WebServer/src at core
/// 3.1.2+: ESP8266WebServer-impl.h, Parsing-impl.h, RequestHandlersImpl.h): the bytes
/// a client receives, when the board closes, and what stays on its heap.
final class WebServerTests: XCTestCase {
    /// Runs `sketch` with `visitors` (world-file JSON objects) and returns the run and the visits.
    func serve(_ sketch: String, visitors: [String], for duration: Double) throws -> (SketchRun, [VisitReport]) {
        final class Box: @unchecked Sendable { var visits: [VisitReport] = [] }
        let box = Box()
        let world = #"{ "visitors": [ "# + visitors.joined(separator: ", ") + " ] }"
        let r = try SketchHarness.run(
            source: sketch, for: seconds(duration), world: world,
            prepare: { d in
                d.network.onVisit = { box.visits.append($0) }
            })
        return (r, box.visits.sorted { $0.startedAt < $1.startedAt })
    }

    func visitor(_ request: String, at: String, close: String = "after-device", count: Int = 1, every: String = "1s") -> String {
        let escaped = request.replacingOccurrences(of: "\"", with: "\\\"").replacingOccurrences(of: "\r", with: "\\r").replacingOccurrences(
            of: "\n", with: "\\n")
        return #"{ "port": 80, "at": "\#(at)", "every": "\#(every)", "count": \#(count), "send": "\#(escaped)", "close": "\#(close)" }"#
    }

    static let connect = """
        WiFi.begin("net", "password")
        while WiFi.status() ~= WL_CONNECTED do delay(100) end
        """

    static let routes = """
        local server = ESP8266WebServer(80)
        function setup()
          \(connect)
          server:on("/", function() server:send(200, "text/plain", "hello from esp8266!\\r\\n") end)
          server:on("/hello", HTTP_GET, function()
            server:send(200, "text/plain", "Hello, " .. server:arg("name") .. " (" .. server:args() .. " args)")
          end)
          server:on("/hello", HTTP_POST, function()
            server:send(201, "text/plain", "posted " .. server:arg("name") .. "; plain=" .. server:arg("plain"))
          end)
          server:on("/json", HTTP_POST, function() server:send(200, "application/json", server:arg("plain")) end)
          server:begin()
          print("heap " .. ESP.getFreeHeap())
        end
        function loop() server:handleClient() end
        """

    func response(_ v: VisitReport) -> String { String(decoding: v.received, as: UTF8.self) }

    // _prepareHeader (impl.h:517-555) and send (impl.h:579-589): status line with the
    // request's HTTP version, Content-Type first, Content-Length, Connection.
    func testARouteAnswersWithTheCoresHeaders() throws {
        let (r, visits) = try serve(
            Self.routes, visitors: [visitor("GET / HTTP/1.0\r\nHost: esp\r\n\r\n", at: "5s")], for: 10)
        defer { r.finish() }
        XCTAssertEqual(visits.count, 1)
        XCTAssertEqual(
            response(visits[0]),
            "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 21\r\nConnection: close\r\n\r\nhello from esp8266!\r\n")
    }

    // Parsing-impl.h:266-322 (arguments, urlDecode :511-540), :116-189 (POST bodies:
    // a urlencoded form joins the query; any body is also the argument "plain")
    func testArgumentsFormsAndPlainBodies() throws {
        let (r, visits) = try serve(
            Self.routes,
            visitors: [
                visitor("GET /hello?name=Ada%20L&x=1&&y HTTP/1.0\r\n\r\n", at: "5s"),
                visitor(
                    "POST /hello HTTP/1.0\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 10\r\n\r\nname=Bob+B",
                    at: "10s"),
                visitor("POST /json HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n{\"a\": 1}\n", at: "15s"),
            ], for: 20)
        defer { r.finish() }
        let bodies = visits.map { response($0).components(separatedBy: "\r\n\r\n").last! }
        XCTAssertEqual(bodies, ["Hello, Ada L (3 args)", "posted Bob B; plain=name=Bob+B", "{\"a\": 1}\n"])
        XCTAssertTrue(response(visits[1]).hasPrefix("HTTP/1.0 201 Created\r\n"))
    }

    // _handleRequest (impl.h:791-798): no handler and no onNotFound: 404 "Not found: <uri>" as text/html;
    // a handler for another method does not match (RequestHandlersImpl.h:45)
    func testAnUnknownURIGetsTheCores404() throws {
        let (r, visits) = try serve(
            Self.routes,
            visitors: [visitor("GET /nowhere?a=1 HTTP/1.0\r\n\r\n", at: "5s"), visitor("DELETE /hello HTTP/1.0\r\n\r\n", at: "8s")],
            for: 12)
        defer { r.finish() }
        XCTAssertEqual(
            response(visits[0]),
            "HTTP/1.0 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 19\r\nConnection: close\r\n\r\nNot found: /nowhere")
        XCTAssertTrue(response(visits[1]).hasPrefix("HTTP/1.0 404 Not Found\r\n"))
    }

    // handleClient (impl.h:458-476): after the response the board waits HTTP_MAX_CLOSE_WAIT
    // (2000 ms) for the client to close; a client that waits for the board instead is
    // closed then (tcp_close: FIN), and the board's pcb ends in TIME_WAIT.
    func testTheBoardClosesAfterTwoSecondsWhenTheClientWaitsForIt() throws {
        let sketch = Self.routes.replacingOccurrences(
            of: "function loop() server:handleClient() end",
            with: """
                local reported = false
                function loop()
                  server:handleClient()
                  if millis() > 9000 and not reported then
                    reported = true
                    for _, p in ipairs(lwip.pcbs()) do print(p.state .. " " .. p.localPort) end
                  end
                end
                """)
        let (r, visits) = try serve(sketch, visitors: [visitor("GET / HTTP/1.0\r\n\r\n", at: "5s")], for: 10)
        defer { r.finish() }
        XCTAssertEqual(visits.first?.ending, .deviceClosed)
        let held = Double(visits[0].endedAt - visits[0].startedAt) / 1e6
        XCTAssertEqual(held, 2.0, accuracy: 0.05, "HTTP_MAX_CLOSE_WAIT")
        XCTAssertTrue(r.transcript.contains("TIME_WAIT 80"), r.transcript)
        XCTAssertTrue(r.transcript.contains("LISTEN 80"), r.transcript)
    }

    // HTTP/1.1 keeps the connection (Parsing-impl.h:100): a second request on it is
    // served (impl.h:404-406, 463-465); the response says keep-alive, timeout=2000 (:546-549)
    func testHTTP11KeepsTheConnectionForTheNextRequest() throws {
        let two = "GET /hello?name=a HTTP/1.1\r\nHost: esp\r\n\r\nGET /hello?name=b HTTP/1.1\r\nHost: esp\r\n\r\n"
        let (r, visits) = try serve(Self.routes, visitors: [visitor(two, at: "5s")], for: 10)
        defer { r.finish() }
        let text = response(visits[0])
        XCTAssertEqual(text.components(separatedBy: "HTTP/1.1 200 OK\r\n").count - 1, 2, text)
        XCTAssertTrue(text.contains("Connection: keep-alive\r\nKeep-Alive: timeout=2000\r\n\r\nHello, a (1 args)"), text)
        XCTAssertTrue(text.hasSuffix("Hello, b (1 args)"), text)
    }

    // sendContent with CONTENT_LENGTH_UNKNOWN (impl.h:529-538, 604-623, 810-814):
    // HTTP/1.1 gets chunks and a last empty chunk; HTTP/1.0 gets neither length nor chunks
    func testAPageOfUnknownLengthIsChunkedForHTTP11Only() throws {
        let sketch = """
            local server = ESP8266WebServer(80)
            function setup()
              \(Self.connect)
              server:on("/count", function()
                server:setContentLength(CONTENT_LENGTH_UNKNOWN)
                server:send(200, "text/plain", "")
                for i = 1, 2 do server:sendContent("line " .. i .. "\\n") end
              end)
              server:begin()
            end
            function loop() server:handleClient() end
            """
        let (r, visits) = try serve(
            sketch, visitors: [visitor("GET /count HTTP/1.1\r\n\r\n", at: "5s"), visitor("GET /count HTTP/1.0\r\n\r\n", at: "10s")],
            for: 15)
        defer { r.finish() }
        XCTAssertEqual(
            response(visits[0]),
            "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nAccept-Ranges: none\r\nTransfer-Encoding: chunked\r\n"
                + "Connection: keep-alive\r\nKeep-Alive: timeout=2000\r\n\r\n7\r\nline 1\n\r\n7\r\nline 2\n\r\n0\r\n\r\n")
        XCTAssertEqual(response(visits[1]), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\nline 1\nline 2\n")
    }

    // authenticate (impl.h:98-132, Basic) and requestAuthentication (:215-230); collectHeaders
    // (:713-734) keeps Authorization and If-None-Match besides the sketch's keys
    func testBasicAuthenticationAndCollectedHeaders() throws {
        let sketch = """
            local server = ESP8266WebServer(80)
            function setup()
              \(Self.connect)
              server:collectHeaders("User-Agent")
              server:on("/secret", function()
                if not server:authenticate("admin", "esp8266") then return server:requestAuthentication() end
                server:send(200, "text/plain", "42 for " .. server:header("user-agent") .. " " .. server:headers())
              end)
              server:begin()
            end
            function loop() server:handleClient() end
            """
        let (r, visits) = try serve(
            sketch,
            visitors: [
                visitor("GET /secret HTTP/1.0\r\n\r\n", at: "5s"),
                visitor("GET /secret HTTP/1.0\r\nAuthorization: Basic YWRtaW46ZXNwODI2Ng==\r\nUser-Agent: t\r\n\r\n", at: "8s"),
            ], for: 12)
        defer { r.finish() }
        XCTAssertEqual(
            response(visits[0]),
            "HTTP/1.0 401 Unauthorized\r\nContent-Type: text/html\r\nWWW-Authenticate: Basic realm=\"Login Required\"\r\n"
                + "Content-Length: 0\r\nConnection: close\r\n\r\n")
        XCTAssertTrue(response(visits[1]).hasSuffix("\r\n\r\n42 for t 3"), response(visits[1]))
    }

    // streamFile (ESP8266WebServer.h:261-268, impl.h:647-657) and serveStatic's directory
    // handler (RequestHandlersImpl.h:138-208: index.htm, then index.html; Cache-Control)
    func testFilesFromLittleFSAreStreamedAndServedStatically() throws {
        let page = String(repeating: "<p>esp8266</p>\n", count: 200)  // 3000 B: several segments
        let sketch = """
            local LittleFS = require("LittleFS")
            local server = ESP8266WebServer(80)
            function setup()
              \(Self.connect)
              LittleFS.begin()
              local f = LittleFS.open("/www/index.html", "w"); f:print(string.rep("<p>esp8266</p>\\n", 200)); f:close()
              f = LittleFS.open("/www/style.css", "w"); f:print("p { color: red }"); f:close()
              -- first: the directory handler below takes every URI under "/" (the first
              -- handler that canHandle is the one, Parsing-impl.h:108-112)
              server:on("/raw", function()
                local file = LittleFS.open("/www/style.css", "r")
                server:streamFile(file, "text/plain")
                file:close()
              end)
              server:serveStatic("/", LittleFS, "/www/", "max-age=60")
              server:begin()
            end
            function loop() server:handleClient() end
            """
        let (r, visits) = try serve(
            sketch,
            visitors: [
                visitor("GET / HTTP/1.0\r\n\r\n", at: "5s"), visitor("GET /style.css HTTP/1.0\r\n\r\n", at: "8s"),
                visitor("GET /raw HTTP/1.0\r\n\r\n", at: "11s"), visitor("GET /none.txt HTTP/1.0\r\n\r\n", at: "14s"),
            ], for: 17)
        defer { r.finish() }
        XCTAssertEqual(
            response(visits[0]),
            "HTTP/1.0 200 OK\r\nContent-Type: text/html\r\nCache-Control: max-age=60\r\nContent-Length: 3000\r\nConnection: close\r\n\r\n"
                + page)
        XCTAssertEqual(
            response(visits[1]),
            "HTTP/1.0 200 OK\r\nContent-Type: text/css\r\nCache-Control: max-age=60\r\nContent-Length: 16\r\nConnection: close\r\n\r\np { color: red }")
        XCTAssertEqual(
            response(visits[2]), "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 16\r\nConnection: close\r\n\r\np { color: red }")
        XCTAssertTrue(response(visits[3]).hasPrefix("HTTP/1.0 404 Not Found\r\n"))
    }

    // What a request costs, and that it all comes back: handlers are `new`ed once
    // (impl.h:244), the arguments array and the URI per request (Parsing-impl.h:274,
    // impl.h:803-806). Each visitor waits for the board to close; the board drops a
    // client as soon as another one waits (impl.h:460), so each connection ends in
    // TIME_WAIT (at most 5 kept), which tcpCleanup() gives back.
    func testTheHeapComesBackToItsBaselineAfter100Requests() throws {
        let sketch = Self.routes.replacingOccurrences(
            of: "function loop() server:handleClient() end",
            with: """
                function loop()
                  server:handleClient()
                  if millis() > 110000 and not done then
                    done = true
                    print("TIME_WAIT " .. tcpCleanup())
                    delay(500)  -- lwIP's TCP timer stops at its next tick (24 B)
                    print("rest " .. ESP.getFreeHeap() .. " " .. #lwip.pcbs())
                  end
                end
                """)
        let (r, visits) = try serve(
            sketch, visitors: [visitor("GET /hello?name=n&k=v HTTP/1.1\r\n\r\n", at: "5s", count: 100, every: "1s")],
            for: 111)
        defer { r.finish() }
        XCTAssertEqual(visits.count, 100)
        XCTAssertEqual(visits.filter { response($0).hasSuffix("Hello, n (2 args)") }.count, 100)
        let baseline = Int(r.transcript.components(separatedBy: "heap ")[1].prefix { $0.isNumber })!
        let rest = r.transcript.components(separatedBy: "rest ")[1].split(separator: " ")
        XCTAssertEqual(rest[1].prefix { $0.isNumber }, "1", "only the listener is left")
        XCTAssertTrue(r.transcript.contains("TIME_WAIT 5"), r.transcript)
        XCTAssertEqual(Int(rest[0])!, baseline, r.transcript)
    }
}
