import Foundation
import XCTest

/// `esplua check`, `esplua api` and the end of a crash loop, as a user runs them.
final class CheckTests: EspluaTestCase {
    func testCheckPrintsOneLinePerMistakeWithFileAndLineAndExits1() throws {
        let path = try tempSketch(
            """
            local server = WiFiServer(80)
            function setup()
              WiFi.setSleepMode(0)
              pinmode(LED_BUILTIN, OUTPUT)
              server.begin()
              Serial:println("ready")
            end
            function loop() end
            """)
        let r = try esplua(["check", path])
        XCTAssertEqual(r.status, 1, r.stderr)
        let lines = r.stdout.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, r.stdout)
        XCTAssertTrue(lines[0].hasPrefix("\(path):3:3: WiFi.setSleepMode is in the ESP8266 core but not in esplua (yet)"), lines[0])
        XCTAssertTrue(lines[1].hasPrefix("\(path):4:3: esplua has no pinmode; it has pinMode"), lines[1])
        XCTAssertTrue(lines[2].hasPrefix("\(path):5:3: use a colon: server:begin(...)"), lines[2])
        XCTAssertTrue(lines[3].hasPrefix("\(path):6:3: use a dot: Serial.println(...)"), lines[3])
        XCTAssertEqual(r.stderr, "")
    }

    func testCheckIsQuietOnEveryExampleSketch() throws {
        let dir = Self.root.appendingPathComponent("sketches")
        let sketches = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".lua") && !$0.hasSuffix(".spec.lua") }.sorted()
        XCTAssertGreaterThan(sketches.count, 5)
        let r = try esplua(["check"] + sketches.map { "sketches/\($0)" })
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr, "")
    }

    func testCheckReportsASyntaxErrorWithItsLine() throws {
        let path = try tempSketch("function setup()\n  Serial.println(\"x\"\nend\nfunction loop() end\n")
        let r = try esplua(["check", path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.hasPrefix("\(path):3:1: "), r.stdout)
    }

    func testApiLualsWritesAnnotationsEditorsLoad() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("luals-\(UUID().uuidString)")
        let r = try esplua(["api", "--luals", dir.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let text = try String(contentsOf: dir.appendingPathComponent("esplua.lua"), encoding: .utf8)
        XCTAssertTrue(text.hasPrefix("---@meta"))
        XCTAssertTrue(text.contains("function WiFiClient:connect(host, port) end"))
        XCTAssertTrue(text.contains("function Serial.println(x, base) end"))
        XCTAssertTrue(text.contains("WiFiServer[\"end\"] = function(self) end"))
    }

    // MARK: crash loops

    /// A missing function in setup(): a board reboots forever; esplua ends by itself
    /// with exit 1, at most three dumps, and one line saying why and how to go on.
    func testACrashInSetupEndsByItselfInVirtualAndRealTime() throws {
        let path = try tempSketch("function setup()\n  Serial.println('boot')\n  WiFi.setSleepMode(0)\nend\nfunction loop() end\n")
        for mode in ["virtual", "real"] {
            let r = try esplua(["run", path, "--time", mode, "--for", "60s"])
            XCTAssertEqual(r.status, 1, mode)
            XCTAssertLessThanOrEqual(r.stdout.components(separatedBy: ">>>stack>>>").count - 1, 3, mode)
            let last = r.stderr.split(separator: "\n").last.map(String.init) ?? ""
            XCTAssertTrue(last.hasPrefix("esplua: \(path):3: WiFi.setSleepMode is in the ESP8266 core"), last)
            XCTAssertTrue(last.contains("the same crash at each of 3 boots"), last)
            XCTAssertTrue(last.contains("--reboot-forever"), last)
        }
    }

    func testAnErrorInTheMainChunkIsOneMessageAndNoDump() throws {
        let path = try tempSketch("local led = LED_BUILTN + 1\nfunction setup() end\nfunction loop() end\n")
        let r = try esplua(["run", path, "--time", "virtual", "--for", "10s"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stdout, "")
        XCTAssertEqual(r.stderr.split(separator: "\n").count, 1, r.stderr)
        XCTAssertTrue(
            r.stderr.hasPrefix(
                "esplua: \(path):1: attempt to perform arithmetic on a nil value (global 'LED_BUILTN'): esplua has no LED_BUILTN; it has LED_BUILTIN"), r.stderr
        )
    }
}
