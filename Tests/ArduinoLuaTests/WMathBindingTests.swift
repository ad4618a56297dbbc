import ArduinoLua
import BoardTesting
import XCTest

/// The WMath bindings: C `long` conversion of Lua numbers, constrain's macro, map's crash.
final class WMathBindingTests: XCTestCase {
    func testMapConstrainAndRandomFromLua() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  print(map(512, 0, 1023, 0, 255), map(2.9, 0, 10, 0, 100), constrain(300, 0, 255), constrain(7.5, 0, 10))
                  randomSeed(42); print(random(100), random(100), random(10, 20))
                  print(select(2, pcall(map, 1, 2, 2, 3, 4)))
                end
                function loop() delay(100) end
                """, for: seconds(0.1))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "128\t20\t255\t7.5\n54\t37\t17\nmap: in_min equals in_max (an integer division by zero on the board)\n")
    }
}
