import Foundation
import XCTest

/// WiFi.hostname on the wire: DHCP option 12 (LwipIntf.cpp:119-196 points every netif's
/// `hostname` at the SDK's buffer and renews a lease already started).
final class HostnameTests: EspluaTestCase {
    func testTheHostnameGoesOutInDHCPAndARenameRenewsTheLease() throws {
        let tshark = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }
        guard let tshark else { throw XCTSkip("tshark is needed (make setup installs it)") }
        let sketch = try tempSketch(
            """
            function setup()
              print(WiFi.hostname():match("^ESP%-%x%x%x%x%x%x$") ~= nil)
              print(WiFi.hostname("esplua-board"), WiFi.hostname("bad_name"), WiFi.hostname(""), WiFi.getHostname())
              WiFi.setHostname("esplua-board")
              WiFi.begin("net", "password123")
              while WiFi.status() ~= WL_CONNECTED do delay(100) end
              print(WiFi.hostname("renamed"))
              delay(500)
            end
            function loop() delay(1000) end
            """)
        let pcap = FileManager.default.temporaryDirectory.appendingPathComponent("hostname-\(UUID().uuidString).pcap").path
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        let r = try esplua(["run", sketch, "--time", "virtual", "--for", "4s", "--pcap", pcap])
        XCTAssertEqual(r.stdout, "true\ntrue\tfalse\tfalse\tbad_name\ntrue\n")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tshark)
        p.arguments = ["-r", pcap, "-Y", "dhcp", "-T", "fields", "-e", "dhcp.option.dhcp", "-e", "dhcp.option.hostname"]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let rows = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self).split(separator: "\n")
        p.waitUntilExit()
        // lwIP 2.1.3 names itself in REQUESTs (dhcp_select, dhcp_renew), not in the DISCOVER
        XCTAssertEqual(rows, ["1\t", "2\t", "3\tesplua-board", "5\t", "3\trenamed", "5\t"])
    }
}
