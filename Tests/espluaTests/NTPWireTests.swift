import Foundation
import XCTest

/// The SNTP exchange on the wire, read back by tshark (an oracle outside esplua):
/// lwIP's client sends an NTP v4 client request (mode 3) to port 123 of the world's
/// NTP service, which answers as a stratum-1 server (mode 4) with its clock, epoch +
/// board time; the board's time() is then that clock.
final class NTPWireTests: EspluaTestCase {
    func testTheSNTPRequestAndTheAnswerDecodeAsNTP() throws {
        let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tshark else { throw XCTSkip("tshark is needed (make setup installs it)") }
        let sketch = try tempSketch(
            """
            function setup()
              WiFi.begin("net", "password1")
              while WiFi.status() ~= WL_CONNECTED do delay(100) end
              configTime(0, 0, "time.world")
              while time() < 1000000000 do delay(100) end
              print(time())
            end
            function loop() delay(1000) end
            """)
        let world = String(sketch.dropLast(4)) + ".world.json"
        try #"{ "services": [ { "name": "time.world", "protocol": "udp", "port": 123, "reply": "ntp", "epoch": 1700000000 } ] }"#
            .write(toFile: world, atomically: true, encoding: .utf8)
        let pcap = FileManager.default.temporaryDirectory.appendingPathComponent("ntp-\(UUID().uuidString).pcap").path
        defer {
            try? FileManager.default.removeItem(atPath: pcap)
            try? FileManager.default.removeItem(atPath: world)
        }
        let r = try esplua(["run", sketch, "--time", "virtual", "--for", "5s", "--pcap", pcap])
        XCTAssertEqual(r.status, 0, r.stderr)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tshark)
        p.arguments = [
            "-r", pcap, "-Y", "ntp", "-T", "fields", "-e", "ip.src", "-e", "udp.dstport", "-e", "ntp.flags.vn", "-e", "ntp.flags.mode",
            "-e", "ntp.stratum", "-e", "ntp.xmt",
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let rows = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
            .map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
        p.waitUntilExit()
        XCTAssertEqual(rows.count, 2, "\(rows)")
        guard rows.count == 2 else { return }
        // the request: v4, mode 3 (client), to port 123 (lwIP 2.1.3 sntp.c: SNTP_VERSION 4, SNTP_MODE_CLIENT)
        XCTAssertEqual(Array(rows[0].prefix(4)), ["10.0.2.15", "123", "4", "3"])
        // the answer: from the service, mode 4 (server), stratum 1, its clock 2023-11-14 22:13:20 UTC + board time
        XCTAssertEqual([rows[1][0], rows[1][2], rows[1][3], rows[1][4]], ["10.0.2.100", "4", "4", "1"])
        XCTAssertTrue(rows[1][5].hasPrefix("Nov 14, 2023 22:13:2"), rows[1][5])
        let printed = try XCTUnwrap(Int(r.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        XCTAssertTrue((1_700_000_001...1_700_000_005).contains(printed), "\(printed)")
    }
}
