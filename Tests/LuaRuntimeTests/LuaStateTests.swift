import CLua
import XCTest

@testable import LuaRuntime

final class LuaStateTests: XCTestCase {
    func testArgumentErrorsUseLuasWordingAndTheCallersLine() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        state.setGlobal("twice") { call throws(LuaError) in
            call.push(try call.integer(1) * 2); return 1
        }
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
        state.setGlobal("pause") { call in
            calls += 1; return LuaCall.yield
        }
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
        state.onInstructions = { n in
            instructions += n; return instructions > 100_000
        }
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
        state.setGlobal("make") { call in
            call.pushObject(Thing(), class: "Thing"); return 1
        }
        XCTAssertNil(state.run("for i = 1, 10 do local t = make() end collectgarbage()", name: "gc.lua"))
        XCTAssertEqual(released, 10)
        XCTAssertEqual(state.liveObjects.count, 0)
    }
}

/// Function kinds and the activity word the board's run loop reads for idle detection.
final class LuaFunctionKindTests: XCTestCase {
    func testAnActiveCallSetsTheBitAndAPollDoesNot() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        state.setGlobal("act") { _ in 0 }
        state.setGlobal("look", kind: .poll) { _ in 0 }
        state.setGlobal("found", kind: .poll) { call in
            call.markActive(); return 0
        }
        XCTAssertEqual(state.activity.pointee, 0)
        XCTAssertNil(state.run("look() look()", name: "poll.lua"))
        XCTAssertEqual(state.activity.pointee, 0)
        XCTAssertNil(state.run("local a = act; a()", name: "active.lua"))
        XCTAssertEqual(state.activity.pointee, LuaState.activeBit)
        state.activity.pointee = 0
        XCTAssertNil(state.run("found()", name: "found.lua"))
        XCTAssertEqual(state.activity.pointee, LuaState.activeBit)
        state.activity.pointee = 0
        state.markActive()
        XCTAssertEqual(state.activity.pointee, LuaState.activeBit)
    }

    func testTheBitsAreDistinctAndMatchTheCSide() {
        XCTAssertEqual([LuaState.activeBit, LuaState.readMillisBit, LuaState.readMicrosBit], [1, 2, 4])
    }

    func testTheActivityWordCanBeTheRunLoops() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        let word = UnsafeMutablePointer<UInt32>.allocate(capacity: 1)
        defer { word.deallocate() }
        word.pointee = 0x100
        state.activity = word
        state.setGlobal("act") { _ in 0 }
        XCTAssertNil(state.run("act()", name: "a.lua"))
        XCTAssertEqual(word.pointee, 0x100 | LuaState.activeBit)
    }

    func testLibrariesAndClassesNameTheirPolls() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        final class Thing {}
        state.setLibrary("Lib", [("peek", { _ in 0 }), ("poke", { _ in 0 })], polls: ["peek"])
        state.defineClass("Thing", methods: [("available", { _ in 0 }), ("write", { _ in 0 })], polls: ["available"])
        state.setGlobal("make", kind: .poll) { call in
            call.pushObject(Thing(), class: "Thing"); return 1
        }
        XCTAssertNil(state.run("local t = make(); Lib.peek(); t:available(); tostring(t)", name: "polls.lua"))
        XCTAssertEqual(state.activity.pointee, 0)
        XCTAssertNil(state.run("Lib.poke()", name: "poke.lua"))
        XCTAssertEqual(state.activity.pointee, LuaState.activeBit)
        state.activity.pointee = 0
        XCTAssertNil(state.run("make():write()", name: "write.lua"))
        XCTAssertEqual(state.activity.pointee, LuaState.activeBit)
    }

    func testCurrentThreadIsTheCallersWhileASwiftFunctionRuns() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        var seen: [OpaquePointer?] = []
        state.setGlobal("where") { call in
            seen.append(call.state.currentThread)
            XCTAssertEqual(call.state.currentThread, call.L)
            return 0
        }
        XCTAssertNil(state.currentThread)
        try state.load(Array("where(); coroutine.wrap(function() where() end)(); where()".utf8), name: "co.lua")
        let thread = LuaThread(state: state)
        XCTAssertEqual(thread.resume(), .finished)
        XCTAssertEqual(seen.count, 3)
        XCTAssertEqual(seen[0], thread.co)
        XCTAssertNotEqual(seen[1], thread.co, "the inner coroutine")
        XCTAssertEqual(seen[2], thread.co)
        XCTAssertNil(state.currentThread, "restored once no Swift function runs")
    }

    func testTheHostCanCallLuaOnAGivenThread() throws {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        XCTAssertNil(state.run("function twice(x) return 2 * x end", name: "f.lua"))
        let call = LuaCall(thread: state.L, state: state)
        state.getGlobal("twice")
        call.push(21)
        XCTAssertNil(call.protectedCall(nargs: 1, nresults: 1))
        XCTAssertEqual(state.string(at: -1), "42")
        state.setTop(0)
    }
}

/// Userdata objects: the block holds the Swift object; classes are told apart by metatable.
final class LuaObjectTests: XCTestCase {
    final class Thing { let n: Int; init(_ n: Int) { self.n = n } }
    final class Other {}

    func makeState(released: @escaping (Int) -> Void) throws -> LuaState {
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        state.defineClass(
            "Thing",
            methods: [
                (
                    "n",
                    { call throws(LuaError) in
                        call.push(try call.object(1, Thing.self, class: "Thing").n); return 1
                    }
                )
            ], onCollect: { released(($0 as! Thing).n) })
        state.defineClass("Other", methods: [])
        state.setGlobal("make") { call throws(LuaError) in
            call.pushObject(Thing(try call.integer(1)), class: "Thing"); return 1
        }
        state.setGlobal("other") { call in
            call.pushObject(Other(), class: "Other"); return 1
        }
        return state
    }

    func testCloseThenCollectReleasesExactlyOnce() throws {
        var released: [Int] = []
        let state = try makeState { released.append($0) }
        XCTAssertNil(
            state.run(
                """
                do local t <close> = make(1) end
                local t2 = make(2); getmetatable(t2).__close(t2); getmetatable(t2).__gc(t2)
                t2 = nil
                for i = 3, 5 do make(i) end
                collectgarbage(); collectgarbage()
                """, name: "close.lua"))
        XCTAssertEqual(released.sorted(), [1, 2, 3, 4, 5])
        XCTAssertEqual(state.liveObjects.count, 0)
    }

    func testAClosedObjectSaysSo() throws {
        let state = try makeState { _ in }
        let err = state.run("local t = make(7); assert(t:n() == 7); getmetatable(t).__close(t); return t:n()", name: "c.lua")
        XCTAssertEqual(err?.split(separator: "\n").first, "c.lua:1: calling 'n' on bad self (Thing is closed)")
        XCTAssertEqual(state.liveObjects.count, 0)
    }

    func testTheWrongClassOrNoObjectIsAnArgumentError() throws {
        let state = try makeState { _ in }
        let n = "local n = getmetatable(make(1)).__index.n\n"
        XCTAssertEqual(
            state.run(n + "return n(other())", name: "w.lua")?.split(separator: "\n").first,
            "w.lua:2: bad argument #1 to 'n' (Thing expected, got userdata)")
        XCTAssertEqual(
            state.run(n + "return n({})", name: "w.lua")?.split(separator: "\n").first,
            "w.lua:2: bad argument #1 to 'n' (Thing expected, got table)")
        XCTAssertEqual(
            state.run(n + "return n()", name: "w.lua")?.split(separator: "\n").first,
            "w.lua:2: bad argument #1 to 'n' (Thing expected, got no value)")
        // the object checked last is remembered with its own class
        XCTAssertEqual(
            state.run(n + "local o = other(); tostring(o); return n(o)", name: "w.lua")?.split(separator: "\n").first,
            "w.lua:2: bad argument #1 to 'n' (Thing expected, got userdata)")
    }

    func testMethodsOnAlternatingObjectsAndAfterReleases() throws {
        var released: [Int] = []
        let state = try makeState { released.append($0) }
        XCTAssertNil(
            state.run(
                """
                local a, b = make(1), make(2)
                for i = 1, 3 do assert(a:n() == 1 and b:n() == 2 and a:n() == 1) end
                getmetatable(a).__close(a)
                assert(not pcall(a.n, a) and b:n() == 2)
                assert(select(2, pcall(a.n, a)):find("Thing is closed"))
                a, b = nil, nil
                collectgarbage()
                for i = 3, 50 do local t = make(i); assert(t:n() == i) end
                """, name: "alt.lua"))
        XCTAssertNil(state.run("collectgarbage()", name: "gc.lua"))
        XCTAssertEqual(released.sorted(), Array(1...50))
    }

    func testAClassDefinedAgainKeepsItsObjectsAndReleasesThemOnce() throws {
        var first = 0, second = 0
        let state = try XCTUnwrap(LuaState(memoryLimit: 1 << 20))
        state.defineClass(
            "Thing",
            methods: [
                (
                    "v",
                    { call in
                        call.push(1); return 1
                    }
                )
            ], onCollect: { _ in first += 1 })
        state.setGlobal("make") { call in
            call.pushObject(Thing(0), class: "Thing"); return 1
        }
        XCTAssertNil(state.run("old = make()", name: "a.lua"))
        state.defineClass(
            "Thing",
            methods: [
                (
                    "v",
                    { call in
                        call.push(2); return 1
                    }
                )
            ], onCollect: { _ in second += 1 })
        XCTAssertNil(state.run("assert(old:v() == 2 and make():v() == 2); old = nil; collectgarbage()", name: "b.lua"))
        XCTAssertEqual(first + second, 2)
        XCTAssertEqual(second, 2)
        XCTAssertEqual(state.liveObjects.count, 0)
    }

    func testASketchThatDeletesGCStillGetsRightAnswers() throws {
        let state = try makeState { _ in }
        XCTAssertNil(
            state.run(
                """
                local mt = getmetatable(make(0))
                mt.__gc = nil
                for round = 1, 20 do
                  local t = make(round); assert(t:n() == round)
                  t = nil; collectgarbage()
                  local o = other(); tostring(o)
                  local ok, e = pcall(mt.__index.n, o)
                  assert(not ok and e:find("Thing expected"), e)
                  local u = make(round + 100); assert(u:n() == round + 100)
                end
                """, name: "nogc.lua"))
    }

    func testLiveObjectsAndToString() throws {
        let state = try makeState { _ in }
        XCTAssertNil(state.run("a, b = make(1), make(2); s1, s2 = tostring(a), tostring(b); getmetatable(b).__close(b); s3 = tostring(b)", name: "t.lua"))
        XCTAssertEqual(state.liveObjects.count, 1)
        XCTAssertEqual((state.liveObjects.first as? Thing)?.n, 1)
        XCTAssertNil(state.run("assert(s1 == 'Thing (1)' and s2 == 'Thing (2)' and s3 == 'Thing (0)', s1 .. s2 .. s3)", name: "s.lua"))
    }

    func testTheStateGoingReleasesWhatIsLeft() throws {
        var released: [Int] = []
        do {
            let state = try makeState { released.append($0) }
            XCTAssertNil(state.run("keep = { make(1), make(2) }", name: "k.lua"))
            XCTAssertEqual(state.liveObjects.count, 2)
        }
        XCTAssertEqual(released.sorted(), [1, 2])
    }
}
