import ArduinoLua
import BoardNet
import BoardTesting
import Foundation
import XCTest

/// Network time as the core does it (cores/esp8266/time.cpp): `configTime` starts
/// lwIP's SNTP client (Debian's lwIP 2.1.3 apps/sntp/sntp.c, with the core's options:
/// tools/sdk/lwip2/include/lwipopts.h:3618-3653), which asks the world's NTP service;
/// until it answers `time()` counts from the epoch at boot (time.cpp:127-135).
final class NetworkTimeTests: XCTestCase {
    static let epoch = 1_700_000_000
    let world = """
        { "accessPoints": [ { "ssid": "net", "password": "password1" } ],
          "services": [ { "name": "time.world", "protocol": "udp", "port": 123, "reply": "ntp", "epoch": 1700000000 },
                        { "name": "echo.world", "protocol": "udp", "port": 7, "reply": "echo" },
                        { "name": "log.world", "address": "10.0.2.101", "protocol": "udp", "port": 514, "reply": "syslog" } ] }
        """

    func testTimeIsZeroUntilSNTPAnswersThenTheServicesClock() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  print("boot", time(), millis())
                  WiFi.begin("net", "password1")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  configTime(3600, 0, "time.world")
                  print("before", time() < 100, sntp_getservername(0))
                  while time() < 1000000000 do delay(100) end
                  local sec, usec = gettimeofday()
                  print("synced", sec, millis(), sntp_getserver(0), sntp_getreachability(0))
                  local tm = localtime()
                  print(tm.tm_hour - gmtime().tm_hour, strftime("%Z %z"))
                end
                function loop() delay(1000) end
                """, for: seconds(30), world: world)
        defer { r.finish() }
        let lines = r.transcript.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(lines.count, 4, r.transcript)
        // at boot: 0 s since 1970 (micros64() + timeshift64 with no shift)
        XCTAssertEqual(lines[0], ["boot", "0", "60"])
        XCTAssertEqual(lines[1], ["before", "true", "time.world"])
        // the service's clock is epoch + board time; the board's millis() runs 60 ms
        // (the boot) behind board time, and lwIP's answer lands within a poll of 100 ms
        let synced = try XCTUnwrap(Int(lines[2][1])), ms = try XCTUnwrap(Int(lines[2][2]))
        XCTAssertGreaterThanOrEqual(synced, Self.epoch + (ms + 60) / 1000 - 1)
        XCTAssertLessThanOrEqual(synced, Self.epoch + (ms + 60) / 1000)
        XCTAssertEqual(lines[2][3], "10.0.2.100")  // resolved by lwIP's DNS through the world's DNS
        XCTAssertEqual(lines[2][4], "1")  // one poll, answered
        // configTime(3600, 0): a fixed offset named GMT (time.cpp:180-199)
        XCTAssertEqual(lines[3], ["1", "GMT +0100"])
    }

    // The NTP request and answer are real frames: the answer is the world's NTP server's.
    func testSNTPPollsAgainAfterTheUpdateDelay() throws {
        let r = try SketchHarness.run(
            source: """
                local sets = 0
                function setup()
                  settimeofday_cb(function(sntp) sets = sets + 1; print("set", sntp, millis() // 1000) end)
                  WiFi.begin("net", "password1")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  configTime("CET-1CEST,M3.5.0,M10.5.0/3", "time.world")
                end
                function loop() delay(1000) end
                """, for: seconds(3700), world: world)
        defer { r.finish() }
        // SNTP_UPDATE_DELAY is the core's weak default, 1 hour (lwipopts.h:3633)
        let lines = r.transcript.split(separator: "\n")
        XCTAssertEqual(lines.count, 2, r.transcript)
        XCTAssertTrue(lines.allSatisfy { $0.hasPrefix("set\ttrue\t") })
        let t0 = Int(lines[0].split(separator: "\t")[2])!, t1 = Int(lines[1].split(separator: "\t")[2])!
        XCTAssertEqual(t1 - t0, 3600)
    }

    func testTheWorldsUDPEchoAndSyslogServices() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.begin("net", "password1")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  local udp = WiFiUDP()
                  udp:begin(4000)
                  udp:beginPacket("echo.world", 7); udp:write("ping"); udp:endPacket()
                  local t = millis()
                  while udp:parsePacket() == 0 and millis() - t < 1000 do delay(10) end
                  print(udp:read(udp:available()), udp:remoteIP(), udp:remotePort())
                  udp:beginPacket("log.world", 514); udp:write("<14>esp: hello\\n"); udp:endPacket()
                  delay(10)
                end
                function loop() delay(1000) end
                """, for: seconds(10), world: world)
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "ping\t10.0.2.100\t7\n")
        XCTAssertEqual(r.device.network.syslogLines, ["log.world: <14>esp: hello"])
        XCTAssertTrue(r.log.contains("esplua: world: syslog log.world: <14>esp: hello"), "\(r.log)")
    }

    // TZ.h's strings (cores/esp8266/TZ.h:461, 177, and Kolkata's half hour), by IANA or macro name
    func testTZNamesTheCoresZones() throws {
        let r = try SketchHarness.run(
            source: """
                print(TZ("Europe/London"), TZ("TZ_America_New_York"), TZ("Asia/Kolkata"), TZ("America/Port-au-Prince"))
                setTZ(TZ("Asia/Kolkata"))
                print(strftime("%H:%M %Z", 0), getenv("TZ"), pcall(TZ, "Mars/Olympus"))
                function setup() end function loop() end
                """, for: seconds(0.1))
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript,
            "GMT0BST,M3.5.0/1,M10.5.0\tEST5EDT,M3.2.0,M11.1.0\tIST-5:30\tEST5EDT,M3.2.0,M11.1.0\n"
                + "05:30 IST\tIST-5:30\tfalse\tbad argument #1 to 'TZ' (a zone of the core's TZ.h expected, like \"Europe/London\", got 'Mars/Olympus')\n")
    }

    func testUDPServicesInTheWorldFileAreChecked() throws {
        func error(_ json: String) -> String {
            do { _ = try World(json: Data(json.utf8)); return "" } catch { return error.description }
        }
        XCTAssertEqual(
            error(#"{ "services": [ { "protocol": "udp", "port": 123, "reply": "time" } ] }"#),
            "world: services[0].reply must be ntp, echo or syslog for a UDP service")
        XCTAssertEqual(
            error(#"{ "services": [ { "protocol": "sctp", "port": 9 } ] }"#), "world: services[0].protocol must be tcp or udp")
        XCTAssertEqual(
            error(#"{ "services": [ { "protocol": "udp", "port": 123, "reply": "ntp", "epoch": -1 } ] }"#),
            "world: services[0].epoch must be a Unix time (0 to 2^32-1)")
        let w = try World(json: Data(#"{ "services": [ { "name": "Time.World", "protocol": "udp", "port": 123, "reply": "ntp" } ] }"#.utf8))
        XCTAssertEqual(w.udpServices.map(\.kind), [.ntp])
        XCTAssertEqual(w.services, [])
        XCTAssertEqual(w.hosts["time.world"], "10.0.2.100")
    }

    func testConfigTimeArgumentsAreChecked() throws {
        let r = try SketchHarness.run(source: "configTime({}) function setup() end function loop() end", for: seconds(1))
        defer { r.finish() }
        guard case .loadFailed(let m) = r.outcome else { return XCTFail("\(r.outcome)") }
        XCTAssertTrue(m.contains("bad argument #1 to 'configTime'"), m)
    }
}
