import Foundation
import XCTest

/// The world's visitors and the run's end, as a user sees them on the command line.
final class WorldCLITests: EspluaTestCase {
    /// In virtual time visitors bind their source ports from a fixed sequence, so
    /// two runs write the same bytes (lwIP and slirp already run on board time).
    func testPcapsAreByteIdenticalRunToRunInVirtualTime() throws {
        var pcaps: [Data] = []
        for i in 0..<2 {
            let path = FileManager.default.temporaryDirectory.appendingPathComponent("same-\(UUID().uuidString)-\(i).pcap").path
            let r = try esplua(["run", "sketches/abort_vs_stop.lua", "--time", "virtual", "--for", "20s", "--pcap", path])
            XCTAssertEqual(r.status, 0, r.stderr)
            pcaps.append(try Data(contentsOf: URL(fileURLWithPath: path)))
            try? FileManager.default.removeItem(atPath: path)
        }
        XCTAssertGreaterThan(pcaps[0].count, 1000)
        XCTAssertEqual(pcaps[0], pcaps[1])
    }

    /// The abort_vs_stop lesson's visitor on port 81 meets `client:abort()`: an RST.
    func testTheAbortLessonsVisitorReportsTheReset() throws {
        let r = try esplua(["run", "sketches/abort_vs_stop.lua", "--time", "virtual", "--for", "20s"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let visit81 = r.stderr.split(separator: "\n").first { $0.contains("(tcp :81)") } ?? ""
        XCTAssertTrue(visit81.contains("the device reset the connection"), String(visit81))
    }

    func testWorldNoneRunsWithoutTheFileBesideTheSketch() throws {
        let r = try esplua(["run", "sketches/abort_vs_stop.lua", "--time", "virtual", "--for", "10s", "--world", "none"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertFalse(r.stderr.contains("world: visitor"), r.stderr)
    }

    /// Ctrl-C ends the run as --for does: the --netstat table, then exit 130.
    func testCtrlCPrintsTheNetstatTable() throws {
        let exe = ["debug", "release"].map { Self.root.appendingPathComponent(".build/\($0)/esplua") }
            .first { FileManager.default.isExecutableFile(atPath: $0.path) }
        let p = Process()
        p.executableURL = try XCTUnwrap(exe)
        p.arguments = ["run", "sketches/blink.lua", "--netstat"]
        p.currentDirectoryURL = Self.root
        let err = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = err
        p.standardInput = FileHandle.nullDevice
        try p.run()
        Thread.sleep(forTimeInterval: 1.5)
        kill(p.processIdentifier, SIGINT)
        let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 130)
        XCTAssertTrue(text.contains("Proto Local"), text)
    }
}
