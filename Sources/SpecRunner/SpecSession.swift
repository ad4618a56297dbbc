import ArduinoLua
import BoardCore
import BoardNet
import CLua
import FoundationEssentials
import LuaRuntime

/// One test's outcome.
public struct SpecResult: Sendable, Equatable {
    public enum Status: String, Sendable { case passed, failed, pending }
    public var name: String
    public var status: Status
    /// For a failure: `spec.lua:12: expected …, got …` (first line), then details.
    public var message: String
    /// Board time the test ran (µs), for reports.
    public var boardMicros: UInt64

    public init(name: String, status: Status, message: String = "", boardMicros: UInt64 = 0) {
        self.name = name
        self.status = status
        self.message = message
        self.boardMicros = boardMicros
    }
}

/// Runs one spec file (busted's vocabulary, `Prelude`) in a host-side Lua state,
/// test by test, each test's boards created with `board{}` and driven in board
/// time: the test runs in a coroutine that the board's loop resumes whenever the
/// condition it waits for holds (`SpecBoard`).
///
/// lwIP is process-global: one board at a time, so one session per process (the
/// CLI runs each spec × sketch in a child process).
public final class SpecSession {
    let specPath: String
    let sketchOverride: String?
    let pcapDirectory: String?
    private let lua: LuaState
    private var board: SpecBoard?
    private var boardSerial = 0
    private var thread: LuaThread?
    private var testIndex = 0
    private var testDone = false
    private var testResult: (ok: Bool, message: String)?

    /// - Parameters:
    ///   - specPath: the spec file.
    ///   - sketch: the sketch under test (`--sketch`), used by every `board{}`.
    ///   - pcapDirectory: where each test's pcap goes (`--pcap-dir`).
    public init(specPath: String, sketch: String?, pcapDirectory: String?) throws {
        self.specPath = specPath
        sketchOverride = sketch
        self.pcapDirectory = pcapDirectory
        guard let state = LuaState(memoryLimit: 1 << 30) else { throw SpecError("cannot create a Lua state") }
        lua = state
        // a host-side state: the whole standard library (io, os, debug), not the sketch's sandbox
        state.withGrace { luaL_openlibs(state.L) }
        let dir = Path.directory(of: specPath)
        _ = state.run("package.path = \(Lua.quote((dir.isEmpty ? "." : dir) + "/?.lua;")) .. package.path", name: "=esplua")
        // a spec's print() goes to stderr: stdout carries the results to the parent
        _ = state.run(
            "print = function(...) local t = table.pack(...); for i = 1, t.n do t[i] = tostring(t[i]) end; io.stderr:write(table.concat(t, '\\t', 1, t.n), '\\n') end",
            name: "=esplua")
        installPrimitives()
        if let err = state.run(Prelude.source, name: "=esplua") { throw SpecError("internal: the spec prelude: \(err)") }
    }

    /// Runs every test, calling `report` after each. A spec that does not load is
    /// one failed test named after the file.
    public func run(report: (SpecResult) -> Void) {
        guard let bytes = FileManager.default.contents(atPath: specPath) else {
            report(SpecResult(name: specPath, status: .failed, message: "\(specPath): cannot read the spec (no such file?)"))
            return
        }
        do { try lua.load(Array(bytes), name: specPath) } catch {
            switch error {
            case .syntax(let m), .memory(let m): report(SpecResult(name: specPath, status: .failed, message: m))
            }
            return
        }
        if let err = lua.protectedCall() {
            report(SpecResult(name: specPath, status: .failed, message: firstLines(err)))
            return
        }
        let L = lua.L
        lua_getglobal(L, "esplua")
        lua_getfield(L, -1, "tests")
        let count = Int(luaL_len(L, -1))
        var tests: [(name: String, pending: Bool)] = []
        for i in 1...max(count, 1) where i <= count {
            lua_rawgeti(L, -1, lua_Integer(i))
            lua_getfield(L, -1, "name")
            let name = lua.string(at: -1) ?? "test \(i)"
            lua_settop(L, -2)
            lua_getfield(L, -1, "pending")
            let pending = lua_toboolean(L, -1) != 0
            lua_settop(L, -3)
            tests.append((name, pending))
        }
        lua_settop(L, -3)
        for (i, t) in tests.enumerated() {
            if t.pending {
                report(SpecResult(name: t.name, status: .pending))
                continue
            }
            report(runTest(i + 1, name: t.name))
        }
    }

    private func firstLines(_ traceback: String) -> String {
        // the message, without Lua's traceback
        if let r = find(Array("\nstack traceback:".utf8), in: Array(traceback.utf8), from: 0) {
            return String(decoding: Array(traceback.utf8)[..<r.lowerBound], as: UTF8.self)
        }
        return traceback
    }

    private func runTest(_ i: Int, name: String) -> SpecResult {
        testIndex = i
        testDone = false
        testResult = nil
        do { try lua.load(Array("esplua.run(\(i))".utf8), name: "=esplua") } catch { return SpecResult(name: name, status: .failed, message: "internal") }
        thread = LuaThread(state: lua)
        var boardTime: UInt64 = 0
        resumeTest()
        while !testDone {
            // the test waits for a board that is not running yet: run it; the test
            // goes on inside the board's loop, and the run ends when the test does
            guard let b = board, b.wait != nil, !b.started else {
                finishTest(false, "the test yielded outside a board's wait (coroutine.yield in a spec?)")
                break
            }
            b.started = true
            let outcome = b.device.run()
            if testDone { break }
            var why: String
            switch outcome {
            case .loadFailed(let m): why = "the sketch did not load: \(m)"
            case .crashed(let c): why = "the board crashed (\(c.summary)) and was not rebooted"
            case .crashLoop(let line): why = "the board crashed at every boot: \(line)"
            case .finished:
                let loop = b.reboots.suffix(max(0, b.resets.count - b.resetsAtWait))
                if let last = loop.last {
                    why = "the board was in a reset loop past the wait (\(loop.count) resets, the last: \(last.reason)\(last.crash.map { ", \($0)" } ?? ""))"
                } else {
                    why = "the board ran no background work for \(Time.text(SpecBoard.grace)) of board time past the wait"
                }
                why += "; last lines:\n\(b.lastLines(5))"
            }
            finishTest(false, "\(b.waitWhere): \(why)")
        }
        thread = nil
        if let b = board {
            boardTime = b.now
            b.shutdown()
            board = nil
        }
        let (ok, message) = testResult ?? (false, "internal: no result")
        return SpecResult(name: name, status: ok ? .passed : .failed, message: ok ? "" : message, boardMicros: boardTime)
    }

    private func finishTest(_ ok: Bool, _ message: String) {
        if testResult == nil { testResult = (ok, message) }
        testDone = true
        board?.device.board.loop.requestStop()
    }

    /// Resumes the test's coroutine until its next wait or its end.
    private func resumeTest() {
        guard let thread else { return }
        switch thread.resume() {
        case .finished:
            finishTest(testResult?.ok ?? false, testResult?.message ?? "internal: the test ended without a result")
        case .failed(let message, _):
            finishTest(false, firstLines(message))
        case .yielded:
            if board?.wait == nil && board?.started == true {
                finishTest(false, "the test yielded outside a board's wait (coroutine.yield in a spec?)")
            }
        }
    }

    // MARK: primitives (the `esplua` table the prelude builds on)

    private func currentBoard(_ call: LuaCall) -> SpecBoard? {
        guard let id = call.integerIfAny(1), let b = board, Int(id) == boardSerial else { return nil }
        return b
    }

    private func duration(_ call: LuaCall, _ i: Int32) -> UInt64? {
        if let n = call.numberIfAny(i), lua_type(call.L, i) == LUA_TNUMBER { return n >= 0 ? UInt64(n * 1_000_000) : nil }
        guard let s = try? call.string(i) else { return nil }
        return parseDurationMicros(s)
    }

    private func fail(_ call: LuaCall, _ message: String) -> Int32 {
        call.pushNil()
        call.push(message)
        return 2
    }

    private func field(_ call: LuaCall, _ key: String) -> String? {
        lua_getfield(call.L, 1, key)
        defer { lua_settop(call.L, -2) }
        return lua_type(call.L, -1) == LUA_TNIL ? nil : LuaState.stringValue(call.L, -1)
    }

    private func resolve(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        let dir = Path.directory(of: specPath)
        return dir.isEmpty ? path : Path.join(dir, path)
    }

    /// "16M", "512K", "1048576" → bytes.
    static func bytes(_ text: String) -> Int? {
        let scale: [Character: Int] = ["K": 1024, "M": 1024 * 1024]
        if let last = text.uppercased().last, let s = scale[last] { return Int(text.dropLast()).map { $0 * s } }
        return Int(text)
    }

    private func installPrimitives() {
        let gone = "this board is gone (a test has one board at a time)"
        var fns: [(String, LuaFunction)] = []
        fns.append(
            (
                "newBoard",
                { [unowned self] call in
                    guard lua_type(call.L, 1) == LUA_TTABLE else { return fail(call, "board{…} expects a table of options") }
                    if board != nil { return fail(call, "a test has one board at a time (lwIP is process-global)") }
                    let sketch = sketchOverride ?? field(call, "sketch").map(resolve)
                    guard let sketch else { return fail(call, "board{}: no sketch (give sketch = \"…\" or --sketch)") }
                    guard FileManager.default.isReadableFile(atPath: sketch) else { return fail(call, "board{}: cannot open the sketch '\(sketch)'") }
                    var options = DeviceOptions(sketchPath: sketch)
                    let time = field(call, "time") ?? "virtual"
                    guard let mode = TimeMode(rawValue: time) else { return fail(call, "board{}: time must be \"virtual\" or \"real\", not '\(time)'") }
                    options.board.timeMode = mode
                    if let w = field(call, "world") {
                        options.worldPath = resolve(w)
                        guard FileManager.default.isReadableFile(atPath: options.worldPath!) else {
                            return fail(call, "board{}: cannot open the world file '\(options.worldPath!)'")
                        }
                    }
                    if let w = field(call, "wiring") { options.wiringPath = resolve(w) }
                    if let t = field(call, "timewaitLimit"), let n = UInt32(t) { options.network.timewaitLimit = n }
                    if field(call, "noReboot") == "true" { options.noReboot = true }
                    if let m = field(call, "luaMemory") {
                        guard let bytes = SpecSession.bytes(m) else {
                            return fail(call, "board{}: luaMemory must be bytes like \"1M\" or \"512K\", not '\(m)'")
                        }
                        options.luaMemoryLimit = bytes
                    }
                    var pcapPath: String?
                    if let dir = pcapDirectory {
                        let base = { (p: String) in String(p.split(separator: "/").last ?? "").replacing(".lua", with: "") }
                        pcapPath = Path.join(dir, "\(base(sketch)).\(base(specPath)).\(testIndex).pcap")
                    }
                    do {
                        let b = try SpecBoard(options: options, pcapPath: pcapPath)
                        b.resume = { [unowned self] in self.resumeTest() }
                        board = b
                        boardSerial += 1
                        call.push(boardSerial)
                        return 1
                    } catch {
                        return fail(call, "board{}: \(error)")
                    }
                }
            ))
        fns.append(
            (
                "waitFor",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    guard let d = duration(call, 2) else { return fail(call, "b:run(duration): a duration like \"2s\" or \"500ms\" expected") }
                    b.begin(.until(b.now + d), at: (try? call.string(3)) ?? "?")
                    call.push(true)
                    return 1
                }
            ))
        fns.append(
            (
                "waitSerial",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    guard let text = try? call.string(2) else { return fail(call, "b:waitSerial(text, timeout): text expected") }
                    guard let d = duration(call, 3) else { return fail(call, "b:waitSerial(text, timeout): a duration like \"10s\" expected") }
                    b.begin(.serial(needle: Array(text.utf8), text: text, timeout: d, deadline: b.now + d), at: (try? call.string(4)) ?? "?")
                    call.push(true)
                    return 1
                }
            ))
        fns.append(
            (
                "waitResult",
                { [unowned self] call in
                    guard let b = board else { call.push(false); call.push(gone); return 2 }
                    let (ok, value) = b.waitOutcome
                    call.push(ok)
                    switch value {
                    case .none: call.pushNil()
                    case .bytes(let bytes): call.push(bytes: bytes)
                    case .bool(let v): call.push(v)
                    case .text(let t): call.push(t)
                    }
                    return 2
                }
            ))
        fns.append(
            (
                "query",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    let what = (try? call.string(2)) ?? ""
                    let device = b.device
                    switch what {
                    case "serial": call.push(bytes: b.serial)
                    case "sendSerial":
                        guard let bytes = try? call.bytes(3) else { return fail(call, "b:sendSerial(text): text expected") }
                        device.board.loop.inbox.post(.serialInput(bytes))
                        call.push(true)
                    case "freeHeap": call.push(device.board.heap.freeBytes)
                    case "maxFreeBlock": call.push(device.board.heap.maxFreeBlockSize)
                    case "millis": call.push(Int(b.now / 1000))
                    case "pin":
                        guard let n = call.integerIfAny(3), (0...17).contains(n) else { return fail(call, "b:pin(n): a GPIO number 0-17 expected") }
                        call.push(device.board.pins.currentLevel(Int(n)) ? 1 : 0)
                    case "resets":
                        call.newTable(arrayCapacity: b.reboots.count)
                        for (i, r) in b.reboots.enumerated() {
                            call.newTable(arrayCapacity: 0)
                            call.setField("reason", r.reason)
                            call.setField("at", Int(r.at / 1000))
                            if let c = r.crash { call.setField("crash", c) }
                            call.setIndex(i + 1)
                        }
                    case "pcbs":
                        LwIPBindings.pushPCBTable(device.network.pcbTable(), call)
                    case "frames":
                        call.newTable(arrayCapacity: b.segments.count)
                        for (i, s) in b.segments.enumerated() {
                            call.newTable(arrayCapacity: 0)
                            call.setField("dir", s.outbound ? ">" : "<")
                            call.setField("at", Int(s.time / 1000))
                            call.setField("src", s.source)
                            call.setField("sport", Int(s.sourcePort))
                            call.setField("dst", s.destination)
                            call.setField("dport", Int(s.destinationPort))
                            call.setField("flags", s.flagText)
                            call.setField("seq", Int(s.seq))
                            call.setField("ack", Int(s.ack))
                            call.setField("win", Int(s.window))
                            call.setField("len", s.length)
                            if let m = s.mss { call.setField("mss", m) }
                            call.setField("options", s.options)
                            call.setIndex(i + 1)
                        }
                    case "setControl":
                        guard let part = try? call.string(3), let control = try? call.string(4), let v = call.numberIfAny(5) else {
                            return fail(call, "part:set(control, value): a control name and a number expected")
                        }
                        device.board.loop.inbox.post(.setControl(part: part, control: control, value: v))
                        call.push(true)
                    default: return fail(call, "internal: no query '\(what)'")
                    }
                    return 1
                }
            ))
        fns.append(
            (
                "connect",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    guard let port = call.integerIfAny(2), (1...65535).contains(port) else { return fail(call, "b:connect(port): a port number expected") }
                    do { call.push(try b.connect(port: UInt16(port), udp: false)) } catch { return fail(call, "\(error)") }
                    return 1
                }
            ))
        fns.append(
            (
                "udp",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    guard let port = call.integerIfAny(2), (1...65535).contains(port) else { return fail(call, "b:udp(port): a port number expected") }
                    do { call.push(try b.connect(port: UInt16(port), udp: true)) } catch { return fail(call, "\(error)") }
                    return 1
                }
            ))
        fns.append(
            (
                "clientDo",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    guard let i = call.integerIfAny(2), b.peers.indices.contains(Int(i)) else { return fail(call, "no such client") }
                    let p = b.peers[Int(i)]
                    switch (try? call.string(3)) ?? "" {
                    case "send":
                        guard let bytes = try? call.bytes(4) else { return fail(call, "send(data): a string expected") }
                        guard p.fd >= 0 else { return fail(call, "send: the connection is closed") }
                        p.send(bytes)
                        call.push(true)
                    case "close": p.closeWrite(); call.push(true)
                    case "reset": p.reset(); call.push(true)
                    case "closed":
                        if let how = p.ended { call.push(how) } else { call.push(false) }
                    default: return fail(call, "internal")
                    }
                    return 1
                }
            ))
        fns.append(
            (
                "receive",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    guard let i = call.integerIfAny(2), b.peers.indices.contains(Int(i)) else { return fail(call, "no such client") }
                    let p = b.peers[Int(i)]
                    let what: SpecBoard.Receive
                    if p.udp {
                        what = .datagram
                    } else if lua_type(call.L, 3) == LUA_TNUMBER, let n = call.integerIfAny(3), n >= 0 {
                        what = .count(Int(n))
                    } else if lua_type(call.L, 3) == LUA_TSTRING, let s = try? call.bytes(3) {
                        what = .text(s)
                    } else {
                        what = .all
                    }
                    guard let d = duration(call, 4) else { return fail(call, "receive(what, timeout): a duration like \"5s\" expected") }
                    b.begin(.receive(peer: Int(i), what: what, timeout: d, deadline: b.now + d), at: (try? call.string(5)) ?? "?")
                    call.push(true)
                    return 1
                }
            ))
        fns.append(
            (
                "waitClosed",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    guard let i = call.integerIfAny(2), b.peers.indices.contains(Int(i)) else { return fail(call, "no such client") }
                    guard let d = duration(call, 3) else { return fail(call, "closed(timeout): a duration like \"5s\" expected") }
                    b.begin(.closed(peer: Int(i), timeout: d, deadline: b.now + d), at: (try? call.string(4)) ?? "?")
                    call.push(true)
                    return 1
                }
            ))
        fns.append(
            (
                "tcpScript",
                { [unowned self] call in
                    guard let b = currentBoard(call) else { return fail(call, gone) }
                    guard let text = try? call.string(2) else { return fail(call, "b:tcp(script): a script string expected") }
                    let port = call.integerIfAny(4) ?? 80
                    guard (1...65535).contains(port) else { return fail(call, "b:tcp(script, {port = …}): a port number expected") }
                    let tolerance = lua_type(call.L, 5) <= LUA_TNIL ? 50_000 : duration(call, 5)
                    guard let tolerance else { return fail(call, "b:tcp(script, {tolerance = …}): a duration like \"50ms\" expected") }
                    do {
                        let script = try TCPScript(
                            text, start: b.now, where: (try? call.string(3)) ?? "?", port: UInt16(port), tolerance: tolerance)
                        b.script = script
                        b.begin(.script(deadline: script.deadline), at: script.location)
                    } catch { return fail(call, "\(error)") }
                    call.push(true)
                    return 1
                }
            ))
        fns.append(
            (
                "report",
                { [unowned self] call in
                    let ok = call.boolean(1)
                    testResult = (ok, ok ? "" : ((try? call.string(2)) ?? "failed"))
                    return 0
                }
            ))
        lua.setLibrary("esplua", fns)
    }
}

extension LuaState {
    /// The string or number at `index` of thread `L` (numbers and booleans as text).
    static func stringValue(_ L: OpaquePointer, _ index: Int32) -> String? {
        switch lua_type(L, index) {
        case LUA_TBOOLEAN: return lua_toboolean(L, index) != 0 ? "true" : "false"
        case LUA_TSTRING, LUA_TNUMBER:
            var len = 0
            guard let p = lua_tolstring(L, index, &len) else { return nil }
            return String(decoding: UnsafeRawBufferPointer(start: p, count: len), as: UTF8.self)
        default: return nil
        }
    }
}
