import ArduinoLua
import BoardTesting
import XCTest

/// ESP8266WiFiMulti (libraries/ESP8266WiFi/src/ESP8266WiFiMulti.cpp, core 3.1.2),
/// WiFi.config (ESP8266WiFiSTA.cpp:280-340, LwipIntf.cpp:61-96), broadcastIP
/// (l.542-548) and the reconnect policy (l.443-453).
final class WiFiExtrasTests: XCTestCase {
    let world = """
        { "accessPoints": [ { "ssid": "home", "password": "homepass1", "channel": 1, "rssi": -70 },
                            { "ssid": "office", "password": "officepass", "channel": 6, "rssi": -40 },
                            { "ssid": "cafe", "channel": 11, "rssi": -30 } ],
          "services": [ { "name": "echo.world", "port": 7, "reply": "echo" } ] }
        """

    func run(_ body: String, for duration: Double = 30, prepare: @escaping (Device) -> Void = { _ in }) throws -> SketchRun {
        try SketchHarness.run(
            source: "function setup()\n\(body)\nend\nfunction loop() delay(1000) end\n", for: seconds(duration), world: world,
            prepare: prepare)
    }

    // connectWiFiMulti (cpp:258-352): the known networks of the scan, strongest first
    func testRunJoinsTheStrongestKnownNetwork() throws {
        let r = try run(
            """
            local multi = ESP8266WiFiMulti()
            print(multi:addAP("home", "homepass1"), multi:addAP("office", "officepass"), multi:addAP("", "x"))
            print(multi:run() == WL_CONNECTED, WiFi.SSID(), WiFi.RSSI(), millis() < 5000)
            print(multi:run() == WL_CONNECTED)   -- already connected: returned at once
            """)
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\ttrue\tfalse\ntrue\toffice\t-40\ttrue\ntrue\n")
    }

    // a known network that refuses (wrong passphrase) is waited for until the connect
    // timeout (waitWiFiConnect waits through WL_WRONG_PASSWORD), then the next one
    func testAWrongPassphraseFallsBackToTheNextAfterTheTimeout() throws {
        let r = try run(
            """
            local multi = ESP8266WiFiMulti()
            multi:addAP("office", "wrong-pass")
            multi:addAP("home", "homepass1")
            local t = millis()
            print(multi:run(3000) == WL_CONNECTED, WiFi.SSID(), millis() - t)
            """)
        defer { r.finish() }
        let parts = r.transcript.dropLast().split(separator: "\t")
        XCTAssertEqual(parts.prefix(2), ["true", "home"], r.transcript)
        // the scan (1.68 s), office's full 3 s, home's association (1.5 s), then DHCP
        let ms = try XCTUnwrap(Int(parts.last ?? ""))
        XCTAssertGreaterThanOrEqual(ms, 1680 + 3000 + 1500)
        XCTAssertLessThan(ms, 1680 + 3000 + 1500 + 2000)
    }

    func testRunWithNoKnownNetworkFails() throws {
        let r = try run(
            """
            local multi = ESP8266WiFiMulti()
            multi:addAP("elsewhere", "password12")
            print(multi:run(1000) == WL_CONNECT_FAILED, WiFi.status() ~= WL_CONNECTED)
            """)
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\ttrue\n")
    }

    func testConfigSetsAStaticAddressInBothArgumentOrders() throws {
        let r = try run(
            """
            print(WiFi.config("10.0.2.50", "10.0.2.2", "255.255.255.0", "10.0.2.3"))
            WiFi.begin("office", "officepass")
            while WiFi.status() ~= WL_CONNECTED do delay(100) end
            print(WiFi.localIP(), WiFi.gatewayIP(), WiFi.subnetMask(), WiFi.dnsIP(), WiFi.broadcastIP())
            local c = WiFiClient()
            print(c:connect("echo.world", 7))
            c:print("static"); delay(200); print(c:readString())
            c:stop()
            -- Arduino's order: ip, dns, gateway (mask 255.255.255.0)
            print(WiFi.config("10.0.2.51", "10.0.2.3", "10.0.2.2"), WiFi.localIP(), WiFi.gatewayIP(), WiFi.subnetMask())
            -- the gateway outside the subnet
            print(WiFi.config("10.0.3.5", "10.0.2.2", "255.255.255.0"), pcall(WiFi.config, "ten"))
            """)
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript,
            """
            true
            10.0.2.50\t10.0.2.2\t255.255.255.0\t10.0.2.3\t10.0.2.255
            true
            static
            true\t10.0.2.51\t10.0.2.2\t255.255.255.0
            false\tfalse\tbad argument #1 to 'WiFi.config' (an IPv4 address like "10.0.2.50" expected, got 'ten')

            """)
        XCTAssertEqual(r.device.network.wifi.localIP, "10.0.2.51", "a refused config leaves the address as it was")
    }

    func testConfigWithZerosGoesBackToDHCP() throws {
        let r = try run(
            """
            WiFi.config("10.0.2.50", "10.0.2.2", "255.255.255.0")
            WiFi.begin("office", "officepass")
            while WiFi.status() ~= WL_CONNECTED do delay(100) end
            print(WiFi.localIP())
            print(WiFi.config("0.0.0.0", "0.0.0.0", "0.0.0.0"))
            local t = millis()
            while WiFi.localIP() ~= "10.0.2.15" and millis() - t < 5000 do delay(100) end
            print(WiFi.localIP())
            """)
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "10.0.2.50\ntrue\n10.0.2.15\n")
    }
}

/// Serial.setDebugOutput (HardwareSerial.h:200, uart_set_debug) and the ESP queries
/// of Esp.cpp / Esp-version.cpp that report fixed facts of the emulated board.
final class ESPExtrasTests: XCTestCase {
    func testSetDebugOutputShowsTheSDKsWiFiMessages() throws {
        for on in [true, false] {
            let r = try SketchHarness.run(
                source: """
                    function setup()
                      Serial.begin(115200)
                      Serial.setDebugOutput(\(on))
                      WiFi.begin("net", "password")
                      while WiFi.status() ~= WL_CONNECTED do delay(100) end
                      Serial.println("up")
                    end
                    function loop() delay(1000) end
                    """, for: seconds(10))
            defer { r.finish() }
            if on {
                XCTAssertTrue(r.transcript.hasPrefix("mode : sta(5c:cf:7f:97:f7:40)\n"), r.transcript)
                XCTAssertTrue(r.transcript.contains("\nconnected with net, channel 1\ndhcp client start...\n"), r.transcript)
                XCTAssertTrue(r.transcript.hasSuffix("ip:10.0.2.15,mask:255.255.255.0,gw:10.0.2.2\nup\r\n"), r.transcript)
            } else {
                XCTAssertEqual(r.transcript, "up\r\n")
            }
        }
    }

    func testVccVersionAndSizes() throws {
        let r = try SketchHarness.run(
            source: """
                print(ESP.getVcc(), ESP.getFullVersion())
                print(ESP.getFlashChipSize(), ESP.getFlashChipRealSize(), ESP.getSketchSize(), ESP.getFreeSketchSpace())
                function setup() end function loop() end
                """, for: seconds(0.1))
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript,
            "65535\tSDK:2.2.2-dev(38a443e)/Core:3.1.2=30102000/lwIP:STABLE-2_1_3_RELEASE/glue:1.2-65-g06164fb/BearSSL:b024386\n"
                + "4194304\t4194304\t300000\t1794048\n")
        let v = try SketchHarness.run(
            source: "ADC_MODE(ADC_VCC)\nprint(ESP.getVcc(), pcall(ADC_MODE, 7))\nfunction setup() end function loop() end", for: seconds(0.1))
        defer { v.finish() }
        XCTAssertEqual(v.transcript, "3379\tfalse\tbad argument #1 to 'ADC_MODE' (ADC_VCC or ADC_TOUT expected)\n")
    }
}
