import CLua
import XCTest

@testable import LuaRuntime

/// The C fast paths against the Swift bindings they stand for: the same results and
/// the same errors, word for word.
final class LuaFastFunctionTests: XCTestCase {
    /// A pin block laid out as `LuaPinBlock` says (BoardCore's `Pins.storage`; PinsTests
    /// checks that side against the same numbers).
    final class PinBlock {
        let bytes = UnsafeMutableRawPointer.allocate(byteCount: LuaPinBlock.size, alignment: 8)
        /// (pin, level) of every change announced by the slow path.
        var heard: [(Int, Bool)] = []
        var slowCalls = 0

        init() {
            bytes.initializeMemory(as: UInt8.self, repeating: 0, count: LuaPinBlock.size)
            for p in 0..<LuaPinBlock.pinCount { self[LuaPinBlock.external, p] = 2 }
        }
        deinit { bytes.deallocate() }

        subscript(row: Int, pin: Int) -> UInt8 {
            get { bytes.load(fromByteOffset: row + pin, as: UInt8.self) }
            set { bytes.storeBytes(of: newValue, toByteOffset: row + pin, as: UInt8.self) }
        }

        /// Pins.level
        func level(_ p: Int) -> Bool {
            let out = self[LuaPinBlock.output, p] != 0, ext = self[LuaPinBlock.external, p]
            switch self[LuaPinBlock.mode, p] {
            case 1: return out
            case 3: return out && (ext == 2 ? true : ext != 0)
            case 2: return ext == 2 ? true : ext != 0
            default: return ext == 2 ? false : ext != 0
            }
        }

        /// Pins.check, with Pins.PinError's words.
        func check(_ pin: Int) throws(LuaError) {
            guard (0..<17).contains(pin) else { throw .argument(1, "GPIO\(pin) does not exist (valid pins are 0-16)") }
            guard !(6...11).contains(pin) else { throw .argument(1, "GPIO\(pin) is wired to the flash chip (GPIO6-11 cannot be used)") }
        }

        /// Pins.write: stops PWM, stores, announces a change to whoever listens.
        func write(_ pin: Int, _ high: Bool) throws(LuaError) {
            try check(pin)
            let before = level(pin)
            self[LuaPinBlock.slow, pin] &= ~LuaPinBlock.pwmBit
            self[LuaPinBlock.output, pin] = high ? 1 : 0
            if self[LuaPinBlock.slow, pin] & LuaPinBlock.listenedBit != 0, level(pin) != before { heard.append((pin, level(pin))) }
        }

        /// The Swift digitalWrite binding as GPIO+Lua.swift has it.
        var swiftWrite: LuaFunction {
            { [unowned self] call throws(LuaError) in
                self.slowCalls += 1
                let pin = try call.integer(1)
                let level: Bool
                switch call.type(2) {
                case LUA_TBOOLEAN: level = call.boolean(2)
                default: level = try call.integer(2) != 0
                }
                try self.write(pin, level)
                return 0
            }
        }

        /// The Swift digitalRead binding.
        var swiftRead: LuaFunction {
            { [unowned self] call throws(LuaError) in
                let pin = try call.integer(1)
                try self.check(pin)
                call.push(self.level(pin) ? 1 : 0)
                return 1
            }
        }
    }

    static let argumentMatrix = """
        local cases = { {20, 1}, {-1, 1}, {6, 1}, {11, 0}, {17, 1}, {2, "x"}, {2, nil}, {"2", 1}, {"2.0", 1}, {2.5, 1},
          {2.0, 1}, {true, 1}, {false, 0}, {2, true}, {2, false}, {2, 1.5}, {2, 2}, {2, -1}, {20, "x"}, {"x", 1},
          {{}, 1}, {2, {}}, {1e100, 1}, {math.maxinteger, 1}, {math.mininteger, 1}, {16, 1}, {0, 1}, {5, "1"} }
        local out = {}
        local function try(f, ...) local ok, e = pcall(f, ...); out[#out + 1] = tostring(ok) .. " " .. tostring(e) end
        for _, a in ipairs(cases) do
          try(function() digitalWrite(a[1], a[2]) end)
          try(digitalWrite, a[1], a[2])
          try(function() return digitalRead(a[1]) end)
          try(digitalRead, a[1])
          out[#out + 1] = tostring(digitalRead(2)) .. tostring(digitalRead(5))
        end
        try(function() digitalWrite(2) end); try(function() digitalWrite() end); try(function() digitalRead() end)
        try(digitalWrite, 2); try(digitalRead)
        return table.concat(out, "\\n")
        """

    /// Runs `source` with digitalWrite/digitalRead in C (fast) or in Swift; returns its result.
    func run(_ source: String, fast: Bool, pins: PinBlock, prepare: (PinBlock) -> Void = { _ in }) throws -> String {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        prepare(pins)
        if fast {
            state.setGlobal("digitalWrite", .digitalWrite(pins: pins.bytes, slowPath: pins.swiftWrite))
            state.setGlobal("digitalRead", .digitalRead(pins: pins.bytes))
        } else {
            state.setGlobal("digitalWrite", pins.swiftWrite)
            state.setGlobal("digitalRead", kind: .poll, pins.swiftRead)
        }
        try state.load(Array(source.utf8), name: "pins.lua")
        if let err = state.protectedCall(nresults: 1) { return "error: \(err)" }
        return state.string(at: -1) ?? "?"
    }

    func testDigitalWriteAndReadGiveTheSwiftBindingsResultsAndErrors() throws {
        for mode: UInt8 in [0, 1, 2, 3] {
            let setup: (PinBlock) -> Void = { p in
                p[LuaPinBlock.mode, 2] = mode; p[LuaPinBlock.mode, 5] = mode
            }
            let swift = try run(Self.argumentMatrix, fast: false, pins: PinBlock(), prepare: setup)
            let c = try run(Self.argumentMatrix, fast: true, pins: PinBlock(), prepare: setup)
            XCTAssertEqual(c, swift, "mode \(mode)")
            XCTAssertTrue(swift.contains("bad argument #1 to 'digitalWrite' (GPIO6 is wired to the flash chip (GPIO6-11 cannot be used))"), swift)
            XCTAssertTrue(swift.contains("pins.lua:9: bad argument #1 to 'digitalRead' (GPIO20 does not exist (valid pins are 0-16))"), swift)
            XCTAssertTrue(swift.contains("bad argument #2 to 'digitalWrite' (number expected, got string)"), swift)
            XCTAssertTrue(swift.contains("bad argument #1 to 'digitalWrite' (number has no integer representation)"), swift)
            XCTAssertTrue(swift.contains("bad argument #2 to 'digitalWrite' (number expected, got no value)"), swift)
        }
    }

    func testBooleanLevelsAndTheLevelAPinShows() throws {
        let pins = PinBlock()
        pins[LuaPinBlock.mode, 4] = 1  // OUTPUT
        pins[LuaPinBlock.mode, 5] = 3  // OUTPUT_OPEN_DRAIN, a part holds it LOW
        pins[LuaPinBlock.external, 5] = 0
        let out = try run(
            """
            local r = {}
            for _, v in ipairs({true, false, 1, 0, 7, -1}) do digitalWrite(4, v); digitalWrite(5, v); r[#r+1] = digitalRead(4) .. digitalRead(5) end
            return table.concat(r, " ")
            """, fast: true, pins: pins)
        XCTAssertEqual(out, "10 00 10 00 10 10")
        XCTAssertEqual(pins.slowCalls, 0, "nobody listens, no PWM: no Swift at all")
    }

    func testAListenerHearsEachChangeExactlyOnce() throws {
        let pins = PinBlock()
        pins[LuaPinBlock.mode, 2] = 1
        pins[LuaPinBlock.slow, 2] = LuaPinBlock.listenedBit
        let out = try run(
            """
            for _, v in ipairs({1, 1, true, 0, false, 0, 1, 5, 0}) do digitalWrite(2, v) end
            digitalWrite(4, 1); digitalWrite(4, 0)  -- nobody listens to GPIO4
            return digitalRead(2)
            """, fast: true, pins: pins)
        XCTAssertEqual(out, "0")
        XCTAssertEqual(pins.heard.map(\.1), [true, false, true, false])
        XCTAssertEqual(pins.heard.map(\.0), [2, 2, 2, 2])
        XCTAssertEqual(pins.slowCalls, 4, "Swift runs for the changes only")
    }

    func testAWriteStopsPWMThroughSwift() throws {
        let pins = PinBlock()
        pins[LuaPinBlock.mode, 4] = 1
        pins[LuaPinBlock.output, 4] = 1
        pins[LuaPinBlock.slow, 4] = LuaPinBlock.pwmBit
        XCTAssertEqual(try run("digitalWrite(4, 1); digitalWrite(4, 1); return digitalRead(4)", fast: true, pins: pins), "1")
        XCTAssertEqual(pins.slowCalls, 1)
        XCTAssertEqual(pins[LuaPinBlock.slow, 4], 0)
    }

    func testDigitalWriteIsActiveAndDigitalReadIsAPoll() throws {
        let pins = PinBlock()
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        state.setGlobal("digitalWrite", .digitalWrite(pins: pins.bytes, slowPath: pins.swiftWrite))
        state.setGlobal("digitalRead", .digitalRead(pins: pins.bytes))
        XCTAssertNil(state.run("digitalRead(2)", name: "r.lua"))
        XCTAssertEqual(state.activity.pointee, 0)
        XCTAssertNil(state.run("digitalWrite(2, 1)", name: "w.lua"))
        XCTAssertEqual(state.activity.pointee, LuaState.activeBit)
    }

    func testThePinBlockLayout() {
        XCTAssertEqual(LuaPinBlock.pinCount, 17)
        XCTAssertEqual(
            [LuaPinBlock.mode, LuaPinBlock.output, LuaPinBlock.external, LuaPinBlock.slow, LuaPinBlock.size],
            [0, 17, 34, 51, 68])
        XCTAssertEqual([LuaPinBlock.listenedBit, LuaPinBlock.pwmBit], [1, 2])
    }

    // MARK: millis, micros

    func clockState(_ words: UnsafeMutablePointer<UInt64>) throws -> LuaState {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        state.setGlobal("millis", .millis(clock: words))
        state.setGlobal("micros", .micros(clock: words))
        return state
    }

    func testMillisAndMicrosReadTheBoardsTimeSinceBoot() throws {
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: 4)
        defer { words.deallocate() }
        words.initialize(repeating: 0, count: 4)
        words[0] = 5_000_000_123_456  // board time µs
        words[3] = 1_000_000  // booted at 1 s
        let state = try clockState(words)
        let uptime: UInt64 = 5_000_000_123_456 - 1_000_000
        XCTAssertNil(state.run("m = millis()", name: "m.lua"))
        XCTAssertEqual(state.activity.pointee, LuaState.readMillisBit)
        XCTAssertNil(state.run("u = micros(); assert(math.type(m) == 'integer' and math.type(u) == 'integer')", name: "u.lua"))
        XCTAssertEqual(state.activity.pointee, LuaState.readMillisBit | LuaState.readMicrosBit)
        state.getGlobal("m")
        XCTAssertEqual(state.string(at: -1), String(UInt32(truncatingIfNeeded: uptime / 1000)), "32 bits, as the core's")
        state.getGlobal("u")
        XCTAssertEqual(state.string(at: -1), String(UInt32(truncatingIfNeeded: uptime)))
        XCTAssertEqual(words[0], 5_000_000_123_456, "virtual time: micros() does not touch the clock")
    }

    func testMicrosInRealTimeRefreshesTheClockNeverBackwards() throws {
        let words = UnsafeMutablePointer<UInt64>.allocate(capacity: 4)
        defer { words.deallocate() }
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        let nowNanos = UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
        words[0] = 0; words[1] = nowNanos - 2_000_000_000; words[2] = 1; words[3] = 500_000  // started 2 s ago, booted at 0.5 s
        let state = try clockState(words)
        XCTAssertNil(state.run("u = micros(); m = millis()", name: "u.lua"))
        XCTAssertGreaterThanOrEqual(words[0], 2_000_000)
        XCTAssertLessThan(words[0], 60_000_000)
        state.getGlobal("u")
        let u = try XCTUnwrap(Int(state.string(at: -1) ?? ""))
        XCTAssertEqual(UInt64(u), words[0] - 500_000)
        words[0] = 1 << 40  // ahead of the wall clock: kept
        XCTAssertNil(state.run("u = micros()", name: "u2.lua"))
        XCTAssertEqual(words[0], 1 << 40)
    }
}
