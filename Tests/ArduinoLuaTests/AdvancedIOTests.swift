import BoardCore
import BoardTesting
import XCTest

@testable import ArduinoLua

/// pulseIn, shiftOut/shiftIn, tone and micros64 through a sketch, against the core's
/// code (3.1.2): core_esp8266_wiring_pulse.cpp, core_esp8266_wiring_shift.cpp, Tone.cpp.
final class AdvancedIOTests: XCTestCase {
    func testPulseInMeasuresAPartsPulseAndTimesOut() throws {
        // an ultrasonic sensor's echo: HIGH for 1750 µs from 200 ms (a hardware event, as a part's)
        let r = try SketchHarness.run(
            source: """
                function setup()
                  pinMode(D6, INPUT)
                  print(pulseIn(D6, HIGH))
                  local t0 = micros()
                  print(pulseIn(D6, HIGH, 20000), micros() - t0 >= 20000 and micros() - t0 < 20100)
                  print(pulseIn(D6, LOW, 20000))
                end
                function loop() delay(1000) end
                """, for: seconds(1),
            prepare: { d in
                d.board.timers.schedule(at: 200_000, hardware: true) { try? d.board.pins.drive(12, true) }
                d.board.timers.schedule(at: 201_750, hardware: true) { try? d.board.pins.drive(12, false) }
            })
        defer { r.finish() }
        // WAIT_FOR_PIN_STATE (l.29-35) for LOW, for HIGH, then counts until LOW again (l.46-50);
        // a pin that never changes: 0 once the timeout passed (l.31-32), with board time spent.
        // pulseIn(LOW) on a pin LOW all along: it waits for HIGH first (l.46), so it times out too
        XCTAssertEqual(r.transcript, "1750\n0\ttrue\n0\n", r.log.joined())
    }

    func testShiftOutClocksEachBitAfterSettingDataAndShiftInReadsAfterTheRise() throws {
        var bits: [Bool] = []
        let r = try SketchHarness.run(
            source: """
                function setup()
                  pinMode(D5, OUTPUT); pinMode(D7, OUTPUT)
                  shiftOut(D7, D5, MSBFIRST, 0xA5)
                  shiftOut(D7, D5, LSBFIRST, 0x3C)
                  pinMode(D6, INPUT)
                  print(shiftIn(D6, D5, MSBFIRST), shiftIn(D6, D5, LSBFIRST))
                end
                function loop() delay(1000) end
                """, for: seconds(0.2),
            prepare: { d in
                let pins = d.board.pins
                // a 74HC595 samples DS on each rising SH_CP; a 74HC165 shows the next bit of 0xB2 on Q7
                // (the first 16 rises are the two shiftOuts, the next 16 the two shiftIns)
                var rises = 0
                let serial: [Bool] = (0..<8).map { 0xB2 & (0x80 >> $0) != 0 }
                _ = pins.listen(pin: 14) { _, high in
                    guard high else { return }
                    if rises < 16 { bits.append(pins.currentLevel(13)) } else { try? pins.drive(12, serial[(rises - 16) % 8]) }
                    rises += 1
                }
            })
        defer { r.finish() }
        let msb = (0..<8).map { 0xA5 & (0x80 >> $0) != 0 }, lsb = (0..<8).map { 0x3C & (1 << $0) != 0 }
        XCTAssertEqual(bits, msb + lsb, "shiftOut l.49-57: data, then a HIGH-LOW clock")
        // shiftIn l.35-42: clock HIGH, then read: MSBFIRST reads 0xB2 as sent; LSBFIRST reverses it (0x4D)
        XCTAssertEqual(r.transcript, "178\t77\n", r.log.joined())
    }

    func testToneIsASquareWaveOnThePinAndNoToneStopsItLow() throws {
        var edges: [(Bool, UInt64)] = []
        let r = try SketchHarness.run(
            source: """
                function setup()
                  tone(D5, 2000)
                  local x = 0
                  for i = 1, 200000 do x = x + 1 end   -- computing: the wave goes on
                  delay(10)
                  noTone(D5)
                  print(digitalRead(D5))
                end
                function loop() delay(1000) end
                """, for: seconds(0.5),
            prepare: { d in
                let clock = d.board.clock, timers = d.board.timers
                _ = d.board.pins.listen(pin: 14) { _, high in edges.append((high, timers.firingDue ?? clock.micros)) }
            })
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "0\n")
        let rises = edges.filter(\.0).map(\.1)
        XCTAssertGreaterThan(rises.count, 50, "the wave ran while loop() computed and during delay")
        for (a, b) in zip(rises, rises.dropFirst()) { XCTAssertEqual(b - a, 500, "2 kHz: a rise every 40 000 cycles") }
        XCTAssertEqual(edges.last?.0, false)
    }

    func testMicros64DoesNotWrapWhereMicrosDoes() throws {
        // micros() is 32-bit and wraps after 2^32 µs (71.6 min); micros64() does not
        let r = try SketchHarness.run(
            source: """
                function setup()
                  delay(4300 * 1000)
                  print(micros64() > 0xFFFFFFFF, micros() < 0xFFFFFFFF, micros64() % 0x100000000 == micros())
                end
                function loop() delay(1000) end
                """, for: seconds(4400))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\ttrue\ttrue\n", r.log.joined())
    }
}
