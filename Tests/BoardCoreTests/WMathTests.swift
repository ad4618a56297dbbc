import BoardCore
import XCTest

/// map/random/randomSeed against the core's WMath.cpp (core 3.1.2+) and newlib's rand().
final class WMathTests: XCTestCase {
    // WMath.cpp:74-80: (delta * dividend + divisor / 2) / divisor + out_min, C's truncating division
    func testMapRoundsAsCore3Does() {
        XCTAssertEqual(WMath.map(512, 0, 1023, 0, 255), 128)  // 130560 + 511 = 131071 / 1023 = 128
        XCTAssertEqual(WMath.map(1023, 0, 1023, 0, 255), 255)
        XCTAssertEqual(WMath.map(5, 0, 10, 100, 0), 51)  // (-500 + 5) / 10 = -49 (toward zero) + 100
        XCTAssertEqual(WMath.map(-1, 0, 10, 0, 100), -9)  // (-100 + 5) / 10 = -95 / 10 = -9 (toward zero)
        XCTAssertNil(WMath.map(3, 2, 2, 0, 10), "in_min == in_max divides by zero")
        // 32-bit long arithmetic: the product wraps as on the board
        XCTAssertEqual(WMath.map(100_000, 0, 100_000, 0, 100_000), Int(Int32(truncatingIfNeeded: 100_000 * 100_000 + 50_000) / 100_000))
    }

    // randomSeed(s) then rand(): newlib's LCG (next = next * 6364136223846793005 + 1,
    // (next >> 32) & 0x7FFFFFFF), taken modulo (WMath.cpp:42-49); seeds computed with Python
    func testSeededRandomIsNewlibsRand() {
        var m = WMath()
        m.randomSeed(42)
        XCTAssertEqual([m.random(100), m.random(100), m.random(10, 20)], [54, 37, 17])
        m.randomSeed(0)  // ignored (WMath.cpp:36)
        var again = WMath()
        again.randomSeed(42)
        _ = again.random(100); _ = again.random(100); _ = again.random(10, 20)
        XCTAssertEqual(m.random(1000), again.random(1000))
    }

    func testBoundsAsTheCoreHandlesThem() {
        var m = WMath()
        XCTAssertEqual(m.random(0), 0)
        XCTAssertEqual(m.random(7, 7), 7)
        XCTAssertEqual(m.random(9, 3), 9)
        for _ in 0..<100 {
            XCTAssert((0..<6).contains(m.random(6)))
            XCTAssert((-3..<3).contains(m.random(-3, 3)))
        }
    }
}
