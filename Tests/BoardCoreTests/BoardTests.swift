import XCTest

@testable import BoardCore

final class BoardTests: XCTestCase {
    func makeBoard(_ mode: TimeMode = .virtual) -> (Board, () -> String) {
        var config = BoardConfig()
        config.timeMode = mode
        final class Box { var out: [UInt8] = [] }
        let box = Box()
        let board = Board(config: config) { box.out.append(contentsOf: $0) }
        board.boot(reason: .powerOn)
        return (board, { String(decoding: box.out, as: UTF8.self) })
    }

    func testVirtualTimeJumpsToTheNextTimer() {
        let (board, _) = makeBoard()
        var fired: [UInt64] = []
        board.timers.schedule(at: 500_000) { fired.append(board.clock.micros) }
        board.timers.schedule(at: 200_000) { fired.append(board.clock.micros) }
        board.loop.espDelay(1_000_000 - board.clock.micros)
        XCTAssertEqual(fired, [200_000, 500_000])
        XCTAssertEqual(board.clock.micros, 1_000_000)
        XCTAssertEqual(board.millis, 1000)
    }

    func testMillisRestartsAtZeroOnReboot() {
        let (board, _) = makeBoard()
        board.loop.espDelay(5_000_000 - board.clock.micros)
        XCTAssertEqual(board.millis, 5000)
        var released = false
        board.onReboot { released = true }
        board.boot(reason: .softWatchdog)
        XCTAssertTrue(released)
        XCTAssertEqual(board.millis, 0)
        XCTAssertEqual(board.resetReason.description, "Software Watchdog")
    }

    func testSoftWatchdogBitesAfter3200ms() {
        let (board, _) = makeBoard()
        XCTAssertNil(board.spendCPU(micros: 3_199_999))
        XCTAssertEqual(board.spendCPU(micros: 1), .softWatchdog)
    }

    func testFeedingKeepsTheDogQuiet() {
        let (board, _) = makeBoard()
        for _ in 0..<10 {
            XCTAssertNil(board.spendCPU(micros: 3_000_000))
            board.feedWatchdog()
        }
    }

    func testHardwareWatchdogBitesWhenSoftIsDisabled() {
        let (board, _) = makeBoard()
        board.watchdog.disableSoft()
        XCTAssertNil(board.spendCPU(micros: 7_999_999))
        XCTAssertEqual(board.spendCPU(micros: 1), .hardwareWatchdog)
    }

    func testResetReasonStringsMatchTheCore() {
        XCTAssertEqual(ResetReason.powerOn.description, "Power On")
        XCTAssertEqual(ResetReason.exception.description, "Exception")
        XCTAssertEqual(ResetReason.softWatchdog.description, "Software Watchdog")
        XCTAssertEqual(ResetReason.softRestart.description, "Software/System restart")
        XCTAssertEqual(ResetReason.hardwareWatchdog.romCause, 4)
        XCTAssertEqual(ResetReason.softWatchdog.romCause, 2)
    }

    func testSoftWatchdogDumpHasTheCoreShape() {
        let text = Postmortem.dump(.softWatchdog)
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        XCTAssertTrue(lines.contains("--------------- CUT HERE FOR EXCEPTION DECODER ---------------"))
        XCTAssertTrue(lines.contains("Soft WDT reset"))
        XCTAssertTrue(lines.contains("Exception (4):"))
        XCTAssertTrue(lines.contains(">>>stack>>>"))
        XCTAssertTrue(lines.contains("ctx: cont"))
        XCTAssertTrue(lines.contains { $0.hasPrefix("sp: ") && $0.hasSuffix("offset: 0160") })
        XCTAssertTrue(lines.contains("<<<stack<<<"))
    }

    func testOOMDumpNamesTheFailedAllocation() {
        let text = Postmortem.dump(.outOfMemory(size: 4096))
        XCTAssertTrue(text.hasPrefix("User exception (panic/abort/assert)\n"))
        XCTAssertTrue(text.contains("Unhandled C++ exception: OOM"))
        XCTAssertTrue(text.contains("(4096)"))
    }
}
