import ArduinoLua
import BoardCore
import BoardTesting
import XCTest

@testable import BoardUI

/// The feed on a running board (virtual time, a host clock of the test's own):
/// one message per interval of host time, carrying what happened meanwhile.
final class UIFeedTests: XCTestCase {
    final class Collected: @unchecked Sendable { var messages: [String] = []; var hostNanos: UInt64 = 0 }

    func testOneMessagePerIntervalOfHostTimeWithSerialPinsAndHeap() throws {
        let collected = Collected()
        var feed: UIFeed?
        let run = try SketchHarness.run(
            source: """
                function setup() Serial.begin(115200); pinMode(LED_BUILTIN, OUTPUT) end
                function loop() digitalWrite(LED_BUILTIN, LOW); Serial.println("tick " .. millis()); delay(100) end
                """, for: seconds(1),
            prepare: { device in
                // host time moves 50 ms per pass the feed sees: a message every 2 passes
                // (a sketch in delay(100) makes a few passes a delay: an idle board sleeps)
                feed = UIFeed(
                    board: device.board, network: device.network,
                    hostNanos: {
                        collected.hostNanos += 50_000_000
                        return collected.hostNanos
                    }, deliver: { collected.messages.append($0) })
            })
        defer { run.finish() }
        feed?.flush()
        let messages = try collected.messages.map { try XCTUnwrap(try JSON.parse(Array($0.utf8)) as? [String: Any]) }
        XCTAssertGreaterThan(messages.count, 1)
        let console = messages.flatMap { ($0["console"] as? [[String: Any]]) ?? [] }
        XCTAssertEqual(console.first?["mark"] as? String, "reset", "the boot is marked first")
        let text = console.filter { $0["mark"] == nil }.compactMap { $0["text"] as? String }.joined()
        XCTAssertTrue(text.hasPrefix("tick "), text)
        XCTAssertEqual(text.components(separatedBy: "tick ").count - 1, run.transcript.components(separatedBy: "tick ").count - 1, "every line, once")
        let pins = try XCTUnwrap(messages.compactMap { $0["pins"] as? [[Any]] }.last)
        XCTAssertEqual(pins.count, 17)
        XCTAssertEqual(JSON.integer(pins[2][0]), 1, "LED_BUILTIN is an output")
        XCTAssertEqual(JSON.integer(pins[2][1]), 0, "driven LOW: lit")
        XCTAssertLessThan(messages.filter { $0["pins"] != nil }.count, messages.count / 2, "the pins go only when they changed")
        let heap = messages.flatMap { ($0["heap"] as? [Any]) ?? [] }
        XCTAssertFalse(heap.isEmpty)
    }
}
