import BoardCore
import BoardNet
import BoardTesting
import XCTest

@testable import ArduinoLua

/// Visitors say what they saw: an RST as a reset, what they received, and they
/// can stay connected for a while.
final class WorldVisitorTests: XCTestCase {
    static let server = """
        local server = WiFiServer(80)
        function setup()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          server:begin()
        end
        local clients = {}
        local last = 0
        function loop()
          local c = server:accept()
          if c then
            c:print("hello\\r\\n")
            if MODE == "abort" then c:abort() else clients[#clients + 1] = c end
          end
          if millis() - last >= 1000 then
            last = millis()
            for _, k in ipairs(clients) do k:print("tick\\r\\n") end
          end
          delay(10)
        end
        """

    /// `client:abort()` is `tcp_abort` (ClientContext.h, abort()): an RST. slirp
    /// closes the visitor's socket for it; the visitor still reports the reset.
    func testAVisitorReportsTheDeviceResetTheConnection() throws {
        let world = #"""
            { "accessPoints": [ { "ssid": "classroom", "password": "esp8266rocks" } ],
              "visitors": [ { "port": 80, "at": "5s", "send": "hi" } ] }
            """#
        let run = try SketchHarness.run(source: "MODE = 'abort'\n" + Self.server, for: seconds(8), world: world)
        defer { run.finish() }
        let visit = try XCTUnwrap(run.device.network.visitReports.first, run.log.joined())
        XCTAssertEqual(visit.ending, .deviceReset, "\(visit)")
        XCTAssertTrue(visit.description.contains("the device reset the connection"), "\(visit)")
    }

    func testAVisitorStaysConnectedAndItsLogShowsWhatItReceived() throws {
        let world = #"""
            { "accessPoints": [ { "ssid": "classroom", "password": "esp8266rocks" } ],
              "visitors": [ { "port": 80, "at": "5s", "send": "hi", "stay": "3s" } ] }
            """#
        let run = try SketchHarness.run(source: "MODE = 'keep'\n" + Self.server, for: seconds(12), world: world)
        defer { run.finish() }
        let visit = try XCTUnwrap(run.device.network.visitReports.first, run.log.joined())
        XCTAssertEqual(visit.ending, .visitorClosed, "\(visit)")
        XCTAssertEqual(visit.endedAt - visit.startedAt, 3_000_000, "\(visit)")
        XCTAssertEqual(String(decoding: visit.received, as: UTF8.self), "hello\r\n" + String(repeating: "tick\r\n", count: 3), "\(visit)")
        XCTAssertTrue(run.log.contains { $0.contains(#"received "hello\r\ntick\r\ntick\r\ntick\r\n""#) }, run.log.joined(separator: "\n"))
    }

    /// `--world none`: no world, even with a world file beside the sketch.
    func testWorldNoneIgnoresTheFileBesideTheSketch() throws {
        let world = #"{ "visitors": [ { "port": 80, "at": "1s", "send": "hi" } ] }"#
        let run = try SketchHarness.run(
            source: "function setup() end\nfunction loop() delay(100) end", for: seconds(3), world: world,
            configure: { $0.worldPath = "none" })
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertTrue(run.device.network.visitReports.isEmpty)
    }
}
