import BoardCore
import BoardTesting
import LuaRuntime
import XCTest

@testable import ArduinoLua

/// A sketch probing the sandbox ends the way a board would end it (a crash dump and,
/// here, `--no-reboot`'s exit) or with a Lua error, and the host is untouched:
/// no host file read or written, no program run, no hang the watchdog cannot see.
final class SandboxTests: XCTestCase {
    /// Runs `body` inside `setup()` and returns the run (virtual time, no reboot).
    private func probe(_ body: String, for duration: Double = 10) throws -> SketchRun {
        try SketchHarness.run(
            source: """
                function setup()
                \(body)
                end
                function loop() delay(1000) end
                """, for: seconds(duration))
    }

    func testTheHostLibrariesAreNotThere() throws {
        let run = try probe(
            """
            print(io, os, debug, dofile, loadfile, package.loadlib, package.cpath)
            """)
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertTrue(run.transcript.hasPrefix("nil\tnil\tnil\tnil\tnil\tnil\t\n"), run.transcript)
    }

    func testRequireFindsNothingOutsideTheSketchFolder() throws {
        // Lua's file searcher turns every '.' of a module name into '/', so "../" cannot climb;
        // an absolute name stays under the sketch's folder; the plugin searcher matches by name only
        let run = try probe(
            """
            for _, name in ipairs{ "../../../../etc/passwd", "/etc/passwd", "x/../../etc/hostname",
                                   "../../usr/lib/x86_64-linux-gnu/libc" } do
              local ok, err = pcall(require, name)
              print(ok, (err:match("^module '[^']*' not found") ~= nil))
            end
            """)
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertEqual(run.transcript, String(repeating: "false\ttrue\n", count: 4))
    }

    func testBytecodeCannotBeLoaded() throws {
        // string.dump works (it only makes a string) but no loader takes binary chunks
        let run = try probe(
            """
            local bin = string.dump(function() return 42 end)
            print(type(bin), load(bin))
            print(load(bin, "x", "b"))
            """)
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertEqual(
            run.transcript,
            "string\tnil\tattempt to load a binary chunk (mode is 't')\n"
                + "nil\tattempt to load a binary chunk (mode is 't')\n")
    }

    func testAFinalizerCannotHangTheHost() throws {
        // Lua runs __gc with hooks off (lgc.c GCTM: allowhook = 0): a looping finalizer would spin
        // the host forever, out of the watchdog's reach. The sandbox refuses __gc with a reason.
        let run = try probe(
            """
            local ok, err = pcall(setmetatable, {}, { __gc = function() while true do end end })
            print(ok, err)
            print(pcall(setmetatable, {}, { __gc = false }))
            print(getmetatable(setmetatable({}, { __index = {} })) ~= nil)
            collectgarbage()
            """)
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        let lines = run.transcript.split(separator: "\n")
        XCTAssertEqual(lines.count, 3, run.transcript)
        XCTAssertTrue(lines[0].hasPrefix("false\t") && lines[0].contains("__gc finalizers are not available"), run.transcript)
        XCTAssertTrue(lines[1].hasPrefix("false\t"), run.transcript)
        XCTAssertEqual(lines[2], "true")
    }

    func testACoroutineDoesNotDodgeTheWatchdog() throws {
        // the hook is per thread, and lua_newthread copies it: a busy coroutine is a busy loop
        for body in [
            "coroutine.wrap(function() while true do end end)()",
            "local co = coroutine.create(function() while true do coroutine.yield() end end) "
                + "while true do coroutine.resume(co) end",
        ] {
            let run = try probe(body)
            defer { run.finish() }
            XCTAssertEqual(run.outcome, .crashed(.softWatchdog), body)
            XCTAssertTrue(run.transcript.contains("Soft WDT reset"), body)
        }
    }

    /// A pattern match runs in C, out of the instruction hook's sight: one that
    /// backtracks for seconds keeps the CPU as a busy loop does, and the soft
    /// watchdog bites at ~3.2 s of board time (clua_strlib.c charges its steps), even
    /// when the sketch retries it under pcall. Without the charge each match would end
    /// after minutes of host time and setup() return: the run would finish.
    func testABacktrackingPatternDoesNotDodgeTheWatchdog() throws {
        XCTAssertTrue(LuaState.patternMatchesAreCharged, "make setup fetches lstrlib.c (Sources/CLuaShim/upstream)")
        for body in [
            "local s = ('a'):rep(30) print(s:find(('a?'):rep(30) .. ('a'):rep(30)))",
            "local s = ('a'):rep(4000) while true do pcall(string.gsub, s, '.-.-.-b', '') end",
        ] {
            let run = try probe(body)
            defer { run.finish() }
            XCTAssertEqual(run.outcome, .crashed(.softWatchdog), body)
            XCTAssertTrue(run.transcript.contains("Soft WDT reset"), "\(body): \(run.transcript)")
            XCTAssertLessThan(run.device.board.uptimeMicros, seconds(3.5), body)
        }
        // ordinary matching is untouched
        let run = try probe("print(('hello world'):find('o w'), ('k=v; a=b'):gsub('(%w+)=(%w+)', '%2=%1'), ('x'):rep(3):match('^(x+)$'))")
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertTrue(run.transcript.hasPrefix("5\tv=k; b=a\txxx\n"), run.transcript)
    }

    func testDeepRecursionAndHugeStringsCrashTheBoardNotTheHost() throws {
        for body in [
            "local function f(n) return 1 + f(n + 1) end f(1)",
            "local s = string.rep('x', 1e10)",
            "local s = string.rep('x', 100) for i = 1, 40 do s = s .. s end",
            "collectgarbage('stop') local t = {} for i = 1, 1e9 do t[i] = {} end",
            "local t = {} for i = 1, 1e8 do t[#t + 1] = tostring(i) end",
        ] {
            let run = try probe(body)
            defer { run.finish() }
            guard case .crashed(let crash) = run.outcome else {
                XCTFail("\(body): \(run.outcome)")
                continue
            }
            // a Lua error is an exception dump; the VM's memory cap is the core's OOM panic
            switch crash {
            case .outOfMemory, .panic, .exception: break
            default: XCTFail("\(body): \(crash)")
            }
            XCTAssertTrue(run.transcript.contains("CUT HERE FOR EXCEPTION DECODER"), body)
            XCTAssertLessThan(run.device.board.uptimeMicros, seconds(3.3), body)
        }
    }

    func testTheStringMetatableIsTheSketchsOwn() throws {
        // a sketch may change its own string metatable; the next boot (a fresh VM) has Lua's
        let run = try SketchHarness.run(
            source: """
                function setup()
                  print(("x"):upper(), ESP.getResetReason())
                  getmetatable("").__index = function() return function() return "hijacked" end end
                  print(("x"):upper())
                  error("reboot")
                end
                function loop() delay(1000) end
                """, for: seconds(2), noReboot: false)
        defer { run.finish() }
        XCTAssertTrue(run.transcript.hasPrefix("X\tPower On\nhijacked\n"), run.transcript)
        XCTAssertTrue(run.transcript.contains("X\tException\n"), run.transcript)
    }
}
