import BoardTesting
import Foundation
import XCTest

/// `make soak-lab` in miniature: three hello_server boards in an `esplua lab`,
/// visited through the gateway's forwards at random intervals for 10 s of real
/// time. No board may crash or go, every visit must get its page; the CPU and
/// PSS figures must be there (their values belong to the benchmark, not here).
final class LabSoakTests: EspluaTestCase {
    func testAShortLabSoakWithVisitorsCrashesNoBoard() throws {
        let report = try LabSoak.run(
            esplua: Self.root.appendingPathComponent(".build/debug/esplua").path,
            sketch: Self.root.appendingPathComponent("sketches/hello_server.lua").path, boards: 3, seconds: 10,
            basePort: 30_000 + Int(getpid() % 300) * 100, meanGapMillis: 200)
        XCTAssertEqual(report.problems, [])
        XCTAssertEqual(report.crashes, [])
        XCTAssertEqual(report.boardsAlive, 3)
        XCTAssertEqual(report.failedVisits, [])
        XCTAssertGreaterThan(report.visits, 10)
        XCTAssertEqual(report.boardPSSKiB.count, 3)
        XCTAssertTrue(report.boardPSSKiB.allSatisfy { $0 > 0 }, "\(report.boardPSSKiB)")
        XCTAssertGreaterThan(report.cpuPercent, 0)
    }
}
