import XCTest
import CLua
@testable import LuaRuntime

final class LuaStateTests: XCTestCase {
    func testArgumentErrorsUseLuasWordingAndTheCallersLine() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        state.setGlobal("twice") { call throws(LuaError) in call.push(try call.integer(1) * 2); return 1 }
        let err = state.run("local x = 1\nreturn twice('a')", name: "t.lua")
        XCTAssertEqual(err?.split(separator: "\n").first, "t.lua:2: bad argument #1 to 'twice' (number expected, got string)")
    }

    func testRuntimeErrorsCarryFileAndLine() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        state.setGlobal("fail") { _ throws(LuaError) in throw .runtime("no such thing") }
        let err = state.run("\n\nfail()", name: "s.lua")
        XCTAssertTrue(err?.hasPrefix("s.lua:3: no such thing") ?? false, err ?? "nil")
    }

    func testSyntaxErrorNamesFileAndLine() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        XCTAssertThrowsError(try state.load(Array("x = = 1".utf8), name: "bad.lua")) { error in
            guard case LuaState.LoadError.syntax(let m) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(m.hasPrefix("bad.lua:1:"), m)
        }
    }

    func testMemoryCapStopsARunawayAllocationAndTheStateSurvives() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 2 << 20))
        let err = state.run("local t = {} while true do t[#t+1] = string.rep('x', 4096) .. #t end", name: "bomb.lua")
        XCTAssertNotNil(err)
        XCTAssertTrue(state.outOfMemory)
        XCTAssertLessThanOrEqual(state.memoryUsed, 2 << 20)
        XCTAssertNil(state.run("collectgarbage() return 1 + 1", name: "after.lua"))
    }

    func testOneHugeAllocationIsRefusedWithoutTouchingTheHost() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        let err = state.run("local s = string.rep('x', 1 << 40)", name: "huge.lua")
        XCTAssertNotNil(err)
    }

    func testSwiftFunctionCanSuspendTheCoroutine() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        var calls = 0
        state.setGlobal("pause") { call in calls += 1; return LuaCall.yield }
        try state.load(Array("pause() pause() done = true".utf8), name: "co.lua")
        let thread = LuaThread(state: state)
        XCTAssertEqual(thread.resume(), .yielded)
        XCTAssertEqual(thread.resume(), .yielded)
        XCTAssertEqual(thread.resume(), .finished)
        XCTAssertEqual(calls, 2)
    }

    func testInstructionHookCanStopABusyLoop() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        var instructions = 0
        state.onInstructions = { n in instructions += n; return instructions > 100_000 }
        try state.load(Array("while true do end".utf8), name: "busy.lua")
        state.installHook(interval: 1000)
        let thread = LuaThread(state: state)
        XCTAssertEqual(thread.resume(), .yielded)
        XCTAssertGreaterThan(instructions, 100_000)
    }

    func testUserdataObjectsAreReleasedByTheCollector() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        final class Thing {}
        var released = 0
        state.defineClass("Thing", methods: [], onCollect: { _ in released += 1 })
        state.setGlobal("make") { call in call.pushObject(Thing(), class: "Thing"); return 1 }
        XCTAssertNil(state.run("for i = 1, 10 do local t = make() end collectgarbage()", name: "gc.lua"))
        XCTAssertEqual(released, 10)
        XCTAssertEqual(state.liveObjects.count, 0)
    }
}
