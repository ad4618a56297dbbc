import Foundation
import XCTest

/// `esplua test`: specs in busted's vocabulary against sketches, as a teacher runs them.
final class SpecTests: EspluaTestCase {
    /// A folder of its own for a test's files.
    func tempFolder() throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("spec-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    func source(_ sketch: String) throws -> String {
        try String(contentsOf: Self.root.appendingPathComponent("sketches/\(sketch)"), encoding: .utf8)
    }

    /// hello_server.lua with its clients kept in a table and never stopped.
    func leakyHelloServer() throws -> String {
        let good = try source("hello_server.lua")
        let leaky = good.replacingOccurrences(of: "  client:stop()\n", with: "  leaked = leaked or {}; leaked[#leaked + 1] = client\n")
        XCTAssertNotEqual(good, leaky)
        return leaky
    }

    // MARK: the lessons' own specs

    func testEveryLessonSpecPasses() throws {
        let specs = try FileManager.default.contentsOfDirectory(atPath: Self.root.appendingPathComponent("sketches").path)
            .filter { $0.hasSuffix(".spec.lua") }.sorted().map { "sketches/\($0)" }
        XCTAssertGreaterThanOrEqual(specs.count, 4)
        let r = try esplua(["test"] + specs + ["-j", "2"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.contains(" 0 failed"), r.stdout)
    }

    func testHelloServerSpecFailsALeakyCopyNamingTheHeapAndTheSpecLine() throws {
        let dir = try tempFolder()
        let leaky = dir.appendingPathComponent("leaky.lua")
        try leakyHelloServer().write(to: leaky, atomically: true, encoding: .utf8)
        let r = try esplua(["test", "sketches/hello_server.spec.lua", "--sketch", leaky.path])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        // the spec's line, the heap figure expected and the one the board had
        let spec = try source("hello_server.spec.lua").components(separatedBy: "\n")
        let line = try XCTUnwrap(spec.firstIndex { $0.contains("\"free heap 30 s after 20 requests\"") }) + 1
        let pattern = "sketches/hello_server.spec.lua:\(line): free heap 30 s after 20 requests: expected at least [0-9]+, got [0-9]+"
        XCTAssertNotNil(r.stdout.range(of: pattern, options: .regularExpression), r.stdout)
    }

    // MARK: grading

    /// Ten copies, three broken three ways, two at a time: the right seven pass, the
    /// report validates against the JUnit schema, and a second run says the same bytes.
    func testGradingTenCopiesFailsExactlyTheThreeBrokenOnes() throws {
        let dir = try tempFolder()
        let good = try source("hello_server.lua")
        for i in 1...10 {
            var text = good
            switch i {
            case 4: text = good.replacingOccurrences(of: "function loop()", with: "function loop(")  // a syntax error
            case 7: text = good.replacingOccurrences(of: "  local client = server:accept()", with: "  while true do end")  // never yields
            case 9: text = try leakyHelloServer()
            default: break
            }
            try text.write(to: dir.appendingPathComponent(String(format: "student%02d.lua", i)), atomically: true, encoding: .utf8)
        }
        let junit = dir.appendingPathComponent("grades.xml").path
        let args = ["test", "sketches/hello_server.spec.lua", "--sketch", dir.path + "/*.lua", "-j", "2"]
        let start = Date()
        let r = try esplua(args + ["--junit", junit], timeout: 600)
        print("grading 10 copies with -j 2: \(String(format: "%.1f", Date().timeIntervalSince(start))) s wall")
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        for i in 1...10 {
            let name = String(format: "student%02d.lua", i)
            let row = try XCTUnwrap(r.stdout.components(separatedBy: "\n").first { $0.hasPrefix(dir.path + "/" + name + " ") && $0.contains("|") }, r.stdout)
            let cells = row.components(separatedBy: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            if [4, 7, 9].contains(i) {
                XCTAssertEqual(cells[1], "0", row)
                XCTAssertNotEqual(cells[2], "0", row)
            } else {
                XCTAssertEqual(cells[2], "0", row)
            }
        }
        XCTAssertTrue(r.stdout.contains("the sketch did not load"), r.stdout)
        // the JUnit report validates (xmllint, Debian's libxml2-utils)
        let lint = Process()
        lint.executableURL = URL(fileURLWithPath: "/usr/bin/xmllint")
        lint.arguments = ["--noout", "--schema", Self.root.appendingPathComponent("Tests/espluaTests/schema/junit.xsd").path, junit]
        try lint.run()
        lint.waitUntilExit()
        XCTAssertEqual(lint.terminationStatus, 0, "the JUnit report does not validate")
        let xml = try String(contentsOfFile: junit, encoding: .utf8)
        XCTAssertEqual(xml.components(separatedBy: "<testsuite ").count - 1, 10)
        // deterministic: the same run prints the same bytes
        let again = try esplua(args + ["--junit", junit + ".2"], timeout: 600)
        XCTAssertEqual(again.stdout, r.stdout)
        XCTAssertEqual(try String(contentsOfFile: junit + ".2", encoding: .utf8), xml)
    }

    // MARK: the vocabulary

    func testAssertionsReportTheSpecLineExpectedAndGot() throws {
        let dir = try tempFolder()
        let spec = dir.appendingPathComponent("words.spec.lua")
        try """
        describe("words", function()
          local order = {}
          before_each(function() order[#order + 1] = "before" end)
          after_each(function() order[#order + 1] = "after" end)
          it("equal", function() assert.are.equal(1, 2) end)
          it("same", function() assert.are.same({ a = 1 }, { a = 1 }) end)
          it("same fails", function() assert.are.same({ 1, 2 }, { 1, 3 }) end)
          it("has_error", function() assert.has_error(function() error("boom") end, "boom") end)
          it("is_true", function() assert.is_true(false) end)
          it("truthy and not", function() assert.truthy(1); assert.is_not.equal(1, 2); assert.is_false(false) end)
          it("hooks ran around each test", function()
            assert.are.same({ "before", "after", "before", "after", "before", "after", "before", "after", "before", "after", "before", "after", "before" }, order)
          end)
          pending("later")
        end)
        """.write(to: spec, atomically: true, encoding: .utf8)
        let r = try esplua(["test", spec.path, "--tap"])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(r.stdout.hasPrefix("TAP version 13\n1..8\n"), r.stdout)
        // Lua shortens long chunk names from the left (LUA_IDSIZE): match the file's name
        XCTAssertTrue(r.stdout.contains("words.spec.lua:5: expected 1, got 2"), r.stdout)
        XCTAssertTrue(r.stdout.contains("ok 2 - "), r.stdout)
        XCTAssertTrue(r.stdout.contains("words.spec.lua:7: expected {1, 2}, got {1, 3}"), r.stdout)
        XCTAssertTrue(r.stdout.contains("ok 4 - "), r.stdout)
        XCTAssertTrue(r.stdout.contains("words.spec.lua:9: expected true, got false"), r.stdout)
        XCTAssertTrue(r.stdout.contains("ok 6 - "), r.stdout)
        XCTAssertTrue(r.stdout.contains("ok 7 - "), r.stdout)
        XCTAssertTrue(r.stdout.contains("ok 8 - \(spec.path): words later # SKIP pending"), r.stdout)
    }

    func testASketchThatNeverPrintsTimesOutShowingTheLastSerialLines() throws {
        let dir = try tempFolder()
        let sketch = dir.appendingPathComponent("quiet.lua")
        try "function setup() Serial.println('hello') end\nfunction loop() delay(100) end\n".write(to: sketch, atomically: true, encoding: .utf8)
        let spec = dir.appendingPathComponent("quiet.spec.lua")
        try "it('waits', function() local b = board{ sketch = 'quiet.lua' }; b:waitSerial('ready', '3s') end)\n"
            .write(to: spec, atomically: true, encoding: .utf8)
        let r = try esplua(["test", spec.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stdout.contains("quiet.spec.lua:1: no \"ready\" on Serial within 3 s"), r.stdout)
        XCTAssertTrue(r.stdout.contains("| hello"), r.stdout)
    }

    func testASketchInAResetLoopFailsItsTestsAndNotTheRun() throws {
        let dir = try tempFolder()
        // setup() fills the Lua VM until it runs out: an OOM crash, a reboot, again
        try "function setup() local t = {}; while true do t[#t + 1] = string.rep('x', 100) .. #t end end\nfunction loop() end\n"
            .write(to: dir.appendingPathComponent("hog.lua"), atomically: true, encoding: .utf8)
        let spec = dir.appendingPathComponent("hog.spec.lua")
        try """
        it('boots', function() local b = board{ sketch = 'hog.lua', luaMemory = '256K' }; b:waitSerial('ready', '2s') end)
        it('runs on', function() assert.are.equal(2, 1 + 1) end)
        """.write(to: spec, atomically: true, encoding: .utf8)
        let r = try esplua(["test", spec.path])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        // the same crash at three boots before loop() returned: esplua stops the board (a crash loop)
        XCTAssertTrue(r.stdout.contains("hog.spec.lua:1: the board crashed at every boot"), r.stdout)
        XCTAssertTrue(r.stdout.contains("out of memory"), r.stdout)
        XCTAssertTrue(r.stdout.contains("  ok       runs on"), r.stdout)
    }

    func testASegmentScriptNamesTheLineAndWhatTheBoardSent() throws {
        let dir = try tempFolder()
        let spec = dir.appendingPathComponent("wrong.spec.lua")
        try """
        it('expects a wider window', function()
          local b = board{ sketch = '\(Self.root.path)/sketches/hello_server.lua' }
          b:waitSerial('HTTP server', '10s')
          b:tcp[[
        0   < S 0:0(0) win 65535 <mss 1460>
        +0  > S. 0:0(0) ack 1 win 4096 <mss 536>
        ]]
        end)
        """.write(to: spec, atomically: true, encoding: .utf8)
        let r = try esplua(["test", spec.path])
        XCTAssertEqual(r.status, 1, r.stdout + r.stderr)
        XCTAssertTrue(
            r.stdout.contains(
                "wrong.spec.lua:4: line 2: expected `+0  > S. 0:0(0) ack 1 win 4096 <mss 536>`, the board sent `> S. 0:0(0) ack 1 win 2144 <mss 536>` at 0.000 s: win 2144, not 4096"
            ), r.stdout)
    }

    func testTheSameSpecGivesTheSameOutputAndPcaps() throws {
        let dir = try tempFolder()
        let args = ["test", "sketches/tcp_segments.spec.lua", "sketches/abort_vs_stop.spec.lua", "-j", "2", "--pcap-dir"]
        let first = try esplua(args + [dir.appendingPathComponent("1").path])
        let second = try esplua(args + [dir.appendingPathComponent("2").path])
        XCTAssertEqual(first.status, 0, first.stdout)
        XCTAssertEqual(first.stdout, second.stdout)
        let pcaps = try FileManager.default.contentsOfDirectory(atPath: dir.appendingPathComponent("1").path).sorted()
        XCTAssertEqual(pcaps.count, 8, "\(pcaps)")
        for p in pcaps {
            let a = try Data(contentsOf: dir.appendingPathComponent("1/\(p)"))
            let b = try Data(contentsOf: dir.appendingPathComponent("2/\(p)"))
            XCTAssertEqual(a, b, p)
            XCTAssertGreaterThan(a.count, 24, p)
        }
    }

    func testUsageErrorsExitWithTwo() throws {
        XCTAssertEqual(try esplua(["test"]).status, 2)
        XCTAssertEqual(try esplua(["test", "sketches/nope.spec.lua"]).status, 2)
        XCTAssertEqual(try esplua(["test", "sketches/hello_server.spec.lua", "--sketch", "nowhere/*.lua"]).status, 2)
    }
}
