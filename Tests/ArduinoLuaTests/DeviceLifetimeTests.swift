import BoardCore
import BoardTesting
import XCTest

@testable import ArduinoLua

/// A device that is shut down and dropped leaves nothing behind: no board, no sketch
/// context, no Lua state kept alive by a closure that holds what holds it. (The frame
/// fuzzer boots a board per input and LeakSanitizer found one: the Ticker binding's
/// closure held the Lua state that held it, and through it the whole board.)
final class DeviceLifetimeTests: XCTestCase {
    func testAShutDownDeviceIsFreedWithEverythingItHeld() throws {
        weak var device: Device?
        weak var board: Board?
        weak var context: SketchContext?
        do {
            // a sketch that touches every library with state of its own
            let run = try SketchHarness.run(
                source: """
                    local t = Ticker()
                    local server = ESP8266WebServer(80)
                    local http = HTTPClient()
                    function setup()
                      WiFi.onStationModeGotIP(function() end)
                      WiFi.begin("esplua-net", "password123")
                      t:attach_ms(10, function() end)
                      EEPROM.begin(16)
                      server:on("/", function() server:send(200, "text/plain", "hi") end)
                      server:begin()
                    end
                    function loop() server:handleClient() delay(5) end
                    """, for: seconds(3))
            device = run.device
            board = run.device.board
            context = run.device.context
            XCTAssertEqual(run.outcome, .finished, run.log.joined(separator: "\n"))
            run.finish()
        }
        XCTAssertNil(device, "the device")
        XCTAssertNil(context, "the sketch context")
        XCTAssertNil(board, "the board")
    }
}
