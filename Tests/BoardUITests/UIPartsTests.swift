import ArduinoLua
import BoardCore
import BoardTesting
import Foundation
import XCTest

@testable import BoardUI

/// What the page learns of the wiring's parts in its `hello` (no browser): each part
/// with the pins it is wired to and its controls' kinds, units and ranges as their
/// plugins declare them (ABI 1.2's `control_info`).
final class UIPartsTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The hello of a sketch of `sketches/`, its `parts` parsed.
    private func parts(_ sketch: String) throws -> [[String: Any]] {
        var hello = ""
        let r = try SketchHarness.run(
            path: Self.root.appendingPathComponent("sketches/\(sketch)").path, for: seconds(0.1),
            prepare: { hello = UISession.hello($0) })
        r.finish()
        let object = try XCTUnwrap(try JSONSerialization.jsonObject(with: Data(hello.utf8)) as? [String: Any])
        return try XCTUnwrap((object["hello"] as? [String: Any])?["parts"] as? [[String: Any]], hello)
    }

    private func control(_ part: [String: Any], _ name: String) -> [String: Any]? {
        (part["controls"] as? [[String: Any]])?.first { $0["name"] as? String == name }
    }

    func testServoButtonAndBuzzerComeWithTheirPinsAndControls() throws {
        let parts = try parts("sweep_hold.lua")
        XCTAssertEqual(parts.map { $0["name"] as? String }, ["servo", "button", "buzzer"])
        XCTAssertEqual(parts.map { ($0["wiring"] as? [String: String])?["pin"] }, ["2", "0", "14"])
        let angle = try XCTUnwrap(control(parts[0], "angle"))
        XCTAssertEqual(angle["kind"] as? String, "output")
        XCTAssertEqual(angle["unit"] as? String, "°")
        XCTAssertEqual([angle["min"] as? Double, angle["max"] as? Double], [0, 180])
        XCTAssertEqual(control(parts[1], "pressed")?["kind"] as? String, "button")
        XCTAssertEqual(control(parts[1], "presses")?["kind"] as? String, "output")
        XCTAssertEqual(control(parts[2], "frequency")?["unit"] as? String, "Hz")
    }

    func testASensorsControlsAreValuesOverItsRange() throws {
        let parts = try parts("i2c_bmp280.lua")
        XCTAssertEqual(parts.count, 1)
        XCTAssertEqual((parts[0]["wiring"] as? [String: String])?["address"], "0x76")
        let t = try XCTUnwrap(control(parts[0], "temperature")), p = try XCTUnwrap(control(parts[0], "pressure"))
        XCTAssertEqual([t["kind"] as? String, t["unit"] as? String, p["unit"] as? String], ["value", "°C", "hPa"])
        XCTAssertEqual([t["min"] as? Double, t["max"] as? Double, p["min"] as? Double, p["max"] as? Double], [-40, 85, 300, 1100])
    }

    func testAnLDRsSliderIsLogarithmic() throws {
        let r = try SketchHarness.run(
            source: "function setup() end\nfunction loop() delay(10) end", for: seconds(0.05),
            files: ["sketch.wiring.json": #"{ "parts": [ { "name": "light", "part": "ldr" } ] }"#])
        defer { r.finish() }
        let json = UISession.partsJSON(r.device.plugins.parts)
        XCTAssertTrue(json.contains(#""name":"lux","kind":"value","unit":"lx","min":0.1,"max":100000.0,"log":true"#), json)
    }
}
