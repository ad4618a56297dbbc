import ArduinoLua
import BoardNet
import BoardTesting
import Foundation
import XCTest

/// WiFi.persistent and WiFi.begin() against the core (ESP8266WiFiGeneric.cpp:88, 398-400;
/// ESP8266WiFiSTA.cpp:185-201, 236-251): persistent is off at boot in core 3.x; with it on,
/// begin(ssid, pass) saves the station config in flash, and begin() joins with it.
final class WiFiPersistentTests: XCTestCase {
    static let sketch = """
        function setup()
          print(ESP.getResetReason(), WiFi.getPersistent())
          if ESP.getResetReason() == "Power On" then
            WiFi.begin("other", "password123")   -- persistent is off: kept in RAM only
            WiFi.persistent(true)
            WiFi.begin("classroom", "esp8266rocks")
            while WiFi.status() ~= WL_CONNECTED do delay(100) end
            ESP.restart()
          end
          WiFi.begin()
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          print("rejoined " .. WiFi.SSID())
        end
        function loop() delay(1000) end
        """

    func testBeginWithoutArgumentsRejoinsTheSavedNetworkAfterAReboot() throws {
        let r = try SketchHarness.run(source: Self.sketch, for: seconds(10), noReboot: false)
        defer { r.finish() }
        let lines = r.transcript.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.first, "Power On\tfalse")
        XCTAssertTrue(lines.contains("Software/System restart\tfalse"), r.transcript)  // off again after the reboot
        XCTAssertEqual(lines.last, "rejoined classroom")
    }

    // persistent(false), the default: nothing is saved, so another run's begin() finds nothing
    func testWithoutPersistentNothingIsSavedAcrossRuns() throws {
        let image = FileManager.default.temporaryDirectory.appendingPathComponent("wifi-\(UUID().uuidString).bin").path
        defer { try? FileManager.default.removeItem(atPath: image) }
        let first = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.begin("classroom", "esp8266rocks")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  print("joined")
                end
                function loop() delay(1000) end
                """, for: seconds(5), configure: { $0.flashPath = image })
        XCTAssertEqual(first.transcript, "joined\n")
        first.finish()
        let second = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.begin()
                  delay(8000)
                  print(WiFi.status() == WL_CONNECTED, WiFi.SSID())
                end
                function loop() delay(1000) end
                """, for: seconds(9), configure: { $0.flashPath = image })
        defer { second.finish() }
        XCTAssertEqual(second.transcript, "false\t\n")
    }
}

/// WiFi.softAPConfig (ESP8266WiFiAP.cpp:203-273): enables the soft-AP with the given
/// address; false for an address that is not IPv4; a reboot restores 192.168.4.1.
final class SoftAPConfigTests: XCTestCase {
    func testSoftAPConfigEnablesTheAPAtTheGivenAddress() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  print(ESP.getResetReason(), WiFi.getMode(), WiFi.softAPIP())
                  if ESP.getResetReason() ~= "Power On" then return end
                  print(WiFi.softAPConfig("10.1.1.1", "10.1.1.1", "255.255.255.0"), WiFi.getMode() == WIFI_AP, WiFi.softAPIP())
                  print(WiFi.softAP("esplua-ap", "password123"), WiFi.softAPIP())
                  print(WiFi.softAPConfig("10.1.1", "10.1.1.1", "255.255.255.0"), WiFi.softAPIP())
                  ESP.restart()
                end
                function loop() delay(1000) end
                """, for: seconds(1), noReboot: false)
        defer { r.finish() }
        let lines = r.transcript.split(separator: "\n").map(String.init)
        XCTAssertEqual(Array(lines.prefix(4)), ["Power On\t0\t0.0.0.0", "true\ttrue\t10.1.1.1", "true\t10.1.1.1", "false\t10.1.1.1"])
        XCTAssertTrue(lines.contains("Software/System restart\t0\t0.0.0.0"), r.transcript)
    }
}
