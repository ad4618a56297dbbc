import BoardCore
import BoardTesting
import XCTest

@testable import ArduinoLua

/// The built-in Parts plugin (plugins/Parts/parts.c, plain C against ABI 1.2), loaded
/// from the build folder as `esplua run` loads it, on a board in virtual time.
final class PartsTests: XCTestCase {
    func run(_ source: String, wiring: String, for duration: UInt64) throws -> SketchRun {
        try SketchHarness.run(source: source, for: duration, files: ["sketch.wiring.json": wiring])
    }

    func testAButtonsScheduledPressesAreCountedByAnInterruptWhileLoopComputes() throws {
        // the interrupt runs between two Lua instructions (ISR.swift), not at the next yield:
        // loop() never yields for 0.6 s of board time and still sees every press when it ends
        let r = try run(
            """
            local presses, at = 0, {}
            function setup()
              pinMode(D3, INPUT_PULLUP)
              attachInterrupt(digitalPinToInterrupt(D3), function()
                presses = presses + 1
                at[#at + 1] = millis()
              end, FALLING)
            end
            function loop()
              local x = 0
              for i = 1, 5000000 do x = x + i % 7 end
              print(presses, table.concat(at, " "))
              delay(2000)
            end
            """,
            wiring: #"{ "parts": [ { "name": "btn", "part": "button", "pin": 0, "presses": "100ms 200ms 300ms 400ms", "hold": "30ms" } ] }"#,
            for: seconds(1.5))
        defer { r.finish() }
        XCTAssertEqual(r.transcript.split(separator: "\n").first, "4\t100 200 300 400", r.transcript + r.log.joined())
        XCTAssertEqual(r.device.plugins.part(named: "btn")?.get("presses"), 4)
        XCTAssertEqual(r.device.plugins.part(named: "btn")?.get("pressed"), 0)
    }

    func testABouncingButtonRunsAFallingHandlerOncePerContactBreakAndMake() throws {
        // bounce 2: at the press the contact closes, opens, closes, opens, closes (3 falls);
        // at the release it opens, closes, opens, closes, opens (2 falls): 5 in all,
        // the reason a sketch debounces
        let r = try run(
            """
            local falls = 0
            function setup()
              pinMode(D3, INPUT_PULLUP)
              attachInterrupt(D3, function() falls = falls + 1 end, FALLING)
              delay(1000)
              print(falls, digitalRead(D3))
            end
            function loop() delay(1000) end
            """,
            wiring: #"{ "parts": [ { "name": "btn", "part": "button", "pin": 0, "presses": "0.5s", "bounce": 2 } ] }"#,
            for: seconds(1.2))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "5\t1\n", r.log.joined())
    }

    func testTheButtonIsAlsoPressedFromItsControl() throws {
        let r = try run(
            """
            function setup() pinMode(D3, INPUT_PULLUP); print(digitalRead(D3)); delay(1500); print(digitalRead(D3)) end
            function loop() delay(1000) end
            """,
            wiring: #"{ "parts": [ { "name": "btn", "part": "button", "pin": 0 } ], "schedule": [ { "at": "1s", "set": "btn.pressed", "value": 1 } ] }"#,
            for: seconds(2))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "1\n0\n", r.log.joined())
    }

    func testAPressFromThePageReachesTheHandlerWhileLoopComputes() throws {
        // the page posts {"control": "btn.pressed", "value": 1} to the board's inbox; here
        // it is posted at 1 s of board time, while loop() spins for 3 s without a yield
        let r = try SketchHarness.run(
            source: """
                local at
                function setup()
                  pinMode(D3, INPUT_PULLUP)
                  attachInterrupt(D3, function() at = millis() end, FALLING)
                end
                local reported = false
                function loop()
                  local t0 = millis()
                  while millis() - t0 < 3000 do end
                  if at and not reported then print(at); reported = true end
                  delay(10)
                end
                """, for: seconds(4), files: ["sketch.wiring.json": #"{ "parts": [ { "name": "btn", "part": "button", "pin": 0 } ] }"#],
            prepare: { d in
                let inbox = d.board.loop.inbox
                d.board.timers.schedule(at: 1_000_000, hardware: true) {
                    inbox.post(.setControl(part: "btn", control: "pressed", value: 1))
                }
            })
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "1000\n", r.log.joined())
    }

    func testAJumperLoopsAnOutputBackToAnInterruptPin() throws {
        // the sketch's own write on D1 reaches D2 through the wire; D2's handler runs
        // before the statement after the write, as an ISR interrupts the code
        let r = try run(
            """
            local hits = 0
            function setup()
              pinMode(D1, OUTPUT); pinMode(D2, INPUT)
              attachInterrupt(D2, function() hits = hits + 1 end, CHANGE)
              digitalWrite(D1, HIGH); local a = hits
              digitalWrite(D1, LOW); local b = hits
              print(a, b, digitalRead(D2))
            end
            function loop() delay(1000) end
            """,
            wiring: #"{ "parts": [ { "name": "wire", "part": "jumper", "from": 5, "to": 4 } ] }"#, for: seconds(0.2))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "1\t2\t0\n", r.log.joined())
    }

    func testTheBuzzerReportsTheFrequencyOfTone() throws {
        var heard: [Double] = []
        let r = try SketchHarness.run(
            source: """
                function setup()
                  tone(D5, 440); delay(100)
                  tone(D5, 1000, 200); delay(100)
                  delay(300)
                end
                function loop() delay(1000) end
                """, for: seconds(0.6), files: ["sketch.wiring.json": #"{ "parts": [ { "name": "bz", "part": "buzzer", "pin": 14 } ] }"#],
            prepare: { d in
                for at: UInt64 in [90_000, 190_000, 450_000] {
                    d.board.timers.schedule(at: at + d.options.bootMicros) { heard.append(d.plugins.part(named: "bz")?.get("frequency") ?? -1) }
                }
            })
        defer { r.finish() }
        XCTAssertEqual(heard.count, 3, r.log.joined())
        XCTAssertEqual(heard.first ?? 0, 440, accuracy: 0.5, "440 Hz: 181 818 cycles a period at 80 MHz (Tone.cpp l.54)")
        XCTAssertEqual(heard.dropFirst().first ?? 0, 1000, accuracy: 0.5)
        XCTAssertEqual(heard.last, 0, "silent once the 200 ms tone ended")
    }

    func testAPotentiometerOnA0MovesAnalogRead() throws {
        let r = try run(
            """
            function setup()
              for i = 1, 3 do print(analogRead(A0)); delay(1000) end
            end
            function loop() delay(1000) end
            """,
            wiring: #"""
                { "parts": [ { "name": "pot", "part": "potentiometer", "controls": { "position": 0.25 } } ],
                  "schedule": [ { "at": "0.5s", "set": "pot.position", "value": 1 }, { "at": "1.5s", "set": "pot.position", "value": 0.5 } ] }
                """#,
            for: seconds(3.2))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "256\n1023\n512\n", r.log.joined())
    }

    func testAnLDROnA0FollowsTheLight() throws {
        // GL5528-like: 10 kΩ at 10 lux, gamma 0.7, over a 10 kΩ resistor to GND:
        // 1023 · 10k / (10k + 10k · (lux/10)^-0.7): 10 lux → 511.5, 100 lux → 852.8, 1000 lux → 983.8
        let r = try run(
            """
            function setup()
              for i = 1, 4 do print(analogRead(A0)); delay(1000) end
            end
            function loop() delay(1000) end
            """,
            wiring: #"""
                { "parts": [ { "name": "ldr", "part": "ldr" } ],
                  "schedule": [ { "at": "0.5s", "set": "ldr.lux", "value": 10 }, { "at": "1.5s", "set": "ldr.lux", "value": 100 },
                                { "at": "2.5s", "set": "ldr.lux", "value": 1000 } ] }
                """#,
            for: seconds(4.2))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "0\n512\n853\n984\n", r.log.joined())
    }

    func testAUARTEchoAnswersTheSketchsSerialLines() throws {
        let r = try run(
            """
            function setup()
              Serial.begin(115200)
              Serial.println("hello")
              delay(50)
              local got = Serial.readStringUntil("\\n")
              Serial.println("got [" .. got .. "]")
            end
            function loop() delay(1000) end
            """,
            wiring: #"{ "parts": [ { "name": "peer", "part": "uart-echo", "prefix": "ok ", "delay": "5ms" } ] }"#,
            for: seconds(1))
        defer { r.finish() }
        XCTAssertTrue(r.transcript.hasPrefix("hello\r\ngot [ok hello\r]\r\n"), r.transcript + r.log.joined())
    }

    func testAGPSSendsNMEASentencesWithTheirChecksums() throws {
        let r = try run(
            """
            function setup()
              Serial.begin(9600)
              delay(1500)
              local line = Serial.readStringUntil("\\n")
              print(line)
            end
            function loop() delay(1000) end
            """,
            wiring: #"{ "parts": [ { "name": "gps", "part": "gps", "controls": { "latitude": 48.1173, "longitude": 11.5167 } } ] }"#,
            for: seconds(2))
        defer { r.finish() }
        let line = r.transcript.split(separator: "\n").first.map(String.init) ?? ""
        XCTAssertTrue(line.hasPrefix("$GPRMC,000001.00,A,4807.0380,N,01131.0020,E,"), line)
        // NMEA 0183: the checksum is the XOR of the characters between $ and *
        guard let star = line.firstIndex(of: "*") else { return XCTFail(line) }
        let body = line[line.index(after: line.startIndex)..<star]
        let sum = body.utf8.reduce(UInt8(0)) { $0 ^ $1 }
        XCTAssertEqual(String(line[line.index(after: star)...].prefix(2)), String(format: "%02X", sum))
    }
}
