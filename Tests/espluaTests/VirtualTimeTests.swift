import Foundation
import XCTest

/// Virtual time that is never silently wrong (issue 11): with programs on the
/// host as peers, board time waits for them; in a lab, the lockstep conductor
/// makes every board's time one deterministic schedule.
final class VirtualTimeTests: EspluaTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("vtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: work)
    }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// A Python HTTP server on 127.0.0.1 that answers each request after 300 ms
    /// (a slow host program); returns it and its port.
    func slowHostServer() throws -> (Process, Int) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("python3 is not installed") }
        try """
        import http.server, socketserver, sys, time
        class H(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"
            def do_GET(self):
                time.sleep(0.3)
                body = ("slow answer for " + self.path + " " + "x" * 2000 + " end\\n").encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *a): pass
        s = socketserver.TCPServer(("127.0.0.1", 0), H)
        print(s.server_address[1], flush=True)
        s.serve_forever()
        """.write(toFile: path("slow.py"), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [path("slow.py")]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = ""
        while !line.contains("\n") { line += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self) }
        return (p, Int(line.trimmingCharacters(in: .whitespacesAndNewlines))!)
    }

    /// A board in virtual time fetching from a host program that takes 300 ms to
    /// answer: the board's clock is held to the host's pace while the connection
    /// is open, so a read with the core's default timeout (1 s) gets the whole
    /// answer every time — without the hold the clock jumps past the timeout
    /// while the host is still thinking and the read comes back empty.
    func testAFetchFromASlowHostProgramGetsTheWholeAnswerInVirtualTime() throws {
        let (server, port) = try slowHostServer()
        defer { server.terminate() }
        try """
        function setup()
          Serial.begin(115200)
          WiFi.begin("net", "password")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          for i = 1, 3 do
            local c = WiFiClient()
            local t0 = millis()
            if c:connect("10.0.2.2", \(port)) then
              c:print("GET /req" .. i .. " HTTP/1.0\\r\\n\\r\\n")
              local page = c:readString()
              local waited = millis() - t0
              print(i, #page, page:match("slow answer for (%S+)"), page:match(" end\\n$") ~= nil, waited >= 300)
              c:stop()
            else
              print(i, "no connection")
            end
          end
        end
        function loop() delay(1000) end
        """.write(toFile: path("fetch.lua"), atomically: true, encoding: .utf8)
        for run in 1...2 {
            let r = try esplua(["run", path("fetch.lua"), "--time", "virtual", "--for", "20s"])
            XCTAssertEqual(r.status, 0, r.stderr)
            let lines = r.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 3, "run \(run): \(r.stdout)")
            for (i, line) in lines.enumerated() {
                let f = line.split(separator: "\t").map(String.init)
                XCTAssertEqual(f.count, 5, line)
                guard f.count == 5 else { continue }
                XCTAssertEqual(f[0], "\(i + 1)")
                XCTAssertGreaterThan(Int(f[1]) ?? 0, 2000, "run \(run): \(line)")
                XCTAssertEqual(Array(f[2...4]), ["/req\(i + 1)", "true", "true"], "run \(run): \(line)")
            }
        }
    }
}
