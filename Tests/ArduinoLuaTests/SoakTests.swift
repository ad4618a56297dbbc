import BoardCore
import BoardTesting
import Foundation
import XCTest

@testable import ArduinoLua

/// `make soak`'s short smoke (`make soak` runs 100,000): connections from an in-process
/// peer on the board's link, in virtual time, ending each of the four ways; afterwards
/// the heap and lwIP's allocations are back to the byte and no pcb is left
/// (lwIP's own unit tests end each test the same way: no pcb, no pbuf left).
final class SoakTests: XCTestCase {
    func testAThousandConnectionsLeaveNoTrace() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-soak-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        let path = dir.appendingPathComponent("soak.lua").path
        try SoakPeer.sketch.write(toFile: path, atomically: true, encoding: .utf8)
        let r = try SoakPeer.soak(connections: 1000, sketchPath: path)
        XCTAssertEqual(r.outcome, .finished)
        XCTAssertEqual(r.problems, [])
        for e in SoakPeer.Ending.allCases { XCTAssertEqual(r.finished[e], 250, "\(e)") }
        XCTAssertGreaterThan(r.heapBefore, 40_000)
        XCTAssertEqual(r.heapAfter, r.heapBefore, "heap not back to the baseline")
        XCTAssertEqual(r.lwipAfter, r.lwipBefore, "lwIP's allocations not back to the baseline")
        XCTAssertEqual(r.pcbsLeft, 0)
    }
}
