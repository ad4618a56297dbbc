import XCTest

@testable import BoardCore

/// A board under a lab's conductor (`BoardLoop.grant`): it never runs past its
/// horizon without reporting, it reports its next event, and a board that
/// keeps the CPU past the horizon reports at once.
final class TimeGrantTests: XCTestCase {
    /// Grants `step` µs at a time, recording every report.
    final class Conductor: TimeGrant {
        var horizon: UInt64 = 0
        var reports: [(now: UInt64, next: UInt64)] = []
        let step: UInt64
        var stopAfter = Int.max
        init(step: UInt64) { self.step = step }
        func sync(now: UInt64, next: UInt64) -> Bool {
            reports.append((now, next))
            if reports.count >= stopAfter { return false }
            // the conductor's next window starts at the board's next event
            horizon = max(next, horizon) + step
            return true
        }
    }

    func makeBoard() -> Board {
        var config = BoardConfig()
        config.timeMode = .virtual
        let board = Board(config: config) { _ in }
        board.boot(reason: .powerOn)
        return board
    }

    func testAnIdleBoardStopsAtEachHorizonAndReportsItsNextEvent() {
        let board = makeBoard()
        let conductor = Conductor(step: 50)
        board.loop.grant = conductor
        var fired: [UInt64] = []
        let start = board.clock.micros
        board.timers.schedule(at: start + 200_000) { fired.append(board.clock.micros) }
        board.loop.espDelay(500_000)
        XCTAssertEqual(fired, [start + 200_000])
        XCTAssertEqual(board.clock.micros, start + 500_000)
        // every report is at a horizon, and idle stretches are one report each: the
        // timer, then the end of the delay (not 10,000 windows of 50 µs)
        XCTAssertLessThan(conductor.reports.count, 10, "\(conductor.reports)")
        XCTAssertTrue(conductor.reports.contains { $0.next == start + 200_000 }, "\(conductor.reports)")
        XCTAssertTrue(conductor.reports.contains { $0.next == start + 500_000 }, "\(conductor.reports)")
        for (a, b) in zip(conductor.reports, conductor.reports.dropFirst()) { XCTAssertLessThanOrEqual(a.now, b.now) }
    }

    func testABoardThatKeepsTheCPUPastItsHorizonReportsBeforeItsNextPass() {
        let board = makeBoard()
        let conductor = Conductor(step: 50)
        board.loop.grant = conductor
        conductor.horizon = board.clock.micros + 50
        board.clock.spend(1000)  // a long stretch of Lua
        board.loop.backgroundPass()
        XCTAssertEqual(conductor.reports.count, 1)
        XCTAssertEqual(conductor.reports[0].now, conductor.reports[0].next, "busy: its next event is now")
        XCTAssertGreaterThan(conductor.horizon, board.clock.micros)
    }

    func testTheRunEndsWhenTheConductorGoesAway() {
        let board = makeBoard()
        let conductor = Conductor(step: 50)
        conductor.stopAfter = 2  // the first report (a new board), then the one at its first horizon
        board.loop.grant = conductor
        board.loop.espDelay(10_000_000)
        XCTAssertTrue(board.loop.isStopping)
        XCTAssertEqual(conductor.reports.count, 2)
        XCTAssertLessThan(board.clock.micros, 10_000_000)
    }
}
