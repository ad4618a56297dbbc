import ArgumentParser
import BoardCore
import Foundation
import SpecRunner

/// `esplua test SPEC.lua… [--sketch GLOB]…`: runs specs (busted's vocabulary) that
/// drive boards in board time; with several sketches, grades each one.
///
/// Every spec file × sketch runs in a child process (`--worker`): lwIP is
/// process-global, and a sketch that hangs, crashes or exhausts memory then fails
/// its own tests and never the run. The parent collects, in the order given.
struct Test: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run spec files (describe/it/assert, board{…}) against sketches; with several --sketch, grade each one.")

    @Argument(help: "Spec files: Lua in busted's vocabulary, driving boards with board{…}.")
    var specs: [String] = []

    @Option(
        name: .customLong("sketch"),
        help: ArgumentHelp("The sketch(es) under test, used by every board{} (a glob, quoted: 'class/*.lua'). Repeatable.", valueName: "GLOB"))
    var sketchPatterns: [String] = []

    @Option(name: .customShort("j"), help: "Spec runs in parallel (separate processes).")
    var jobs: Int = 1

    @Option(name: .customLong("junit"), help: ArgumentHelp("Write a JUnit XML report: one testsuite per sketch.", valueName: "FILE"))
    var junit: String?

    @Flag(name: .customLong("tap"), help: "Print TAP (version 13) instead of the listing and table.")
    var tap = false

    @Option(name: .customLong("pcap-dir"), help: ArgumentHelp("Write each test's frames to DIR/<sketch>.<spec>.<test>.pcap.", valueName: "DIR"))
    var pcapDir: String?

    @Option(name: .customLong("timeout"), help: ArgumentHelp("Wall-clock seconds one spec × sketch may take before it is killed.", valueName: "SECONDS"))
    var timeout: Double = 120

    @Flag(name: .customLong("worker"), help: .hidden)
    var worker = false

    private var sketches: [String] {
        sketchPatterns.flatMap { pattern -> [String] in
            let matches = expandGlob(pattern)
            return matches.isEmpty ? [pattern] : matches
        }
    }

    func validate() throws {
        guard !specs.isEmpty else { throw ValidationError("no spec given: esplua test SPEC.lua [--sketch GLOB]…") }
        for s in specs where !FileManager.default.isReadableFile(atPath: s) {
            throw ValidationError("cannot open the spec '\(s)': no such file")
        }
        for p in sketchPatterns where expandGlob(p).isEmpty && !FileManager.default.isReadableFile(atPath: p) {
            throw ValidationError("--sketch '\(p)' matches no file")
        }
        guard jobs >= 1 else { throw ValidationError("-j must be at least 1, not \(jobs)") }
        guard timeout > 0 else { throw ValidationError("--timeout must be positive") }
        if worker && (specs.count != 1 || sketches.count > 1) { throw ValidationError("--worker runs one spec against at most one sketch") }
    }

    func run() throws {
        if worker { runWorker(); return }
        if let dir = pcapDir { try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        let plan: [(spec: String, sketch: String?)] =
            sketches.isEmpty ? specs.map { ($0, nil) } : sketches.flatMap { sketch in specs.map { ($0, Optional(sketch)) } }
        let runs = runAll(plan)
        if tap {
            print(SpecReport.tap(runs), terminator: "")
        } else {
            print(SpecReport.listing(runs), terminator: "")
        }
        if let junit {
            do { try SpecReport.junit(runs).write(toFile: junit, atomically: true, encoding: .utf8) } catch {
                fail("esplua: cannot write the JUnit report '\(junit)': \(error)")
            }
        }
        let failed = runs.contains { $0.results.contains { $0.status == .failed } }
        if failed { throw ExitCode(1) }
    }

    /// The child: one spec against one sketch, one line per test on stdout.
    private func runWorker() {
        signal(SIGPIPE, SIG_IGN)
        let out = { (s: String) in
            var bytes = Array(s.utf8)
            _ = bytes.withUnsafeMutableBytes { write(1, $0.baseAddress, $0.count) }
        }
        do {
            let session = try SpecSession(specPath: specs[0], sketch: sketches.first, pcapDirectory: pcapDir)
            session.run { out(WorkerProtocol.line($0)) }
        } catch {
            out(WorkerProtocol.line(SpecResult(name: specs[0], status: .failed, message: "\(error)")))
        }
    }

    /// Runs every spec × sketch in a child process, `jobs` at a time; results in plan order.
    private func runAll(_ plan: [(spec: String, sketch: String?)]) -> [SpecRun] {
        final class Shared: @unchecked Sendable {
            let lock = NSLock()
            var next = 0
            var runs: [SpecRun?]
            init(_ n: Int) { runs = Array(repeating: nil, count: n) }
        }
        let shared = Shared(plan.count)
        let exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let (pcapDir, timeout) = (self.pcapDir, self.timeout)
        let group = DispatchGroup()
        for _ in 0..<min(jobs, plan.count) {
            group.enter()
            Thread.detachNewThread {
                while true {
                    shared.lock.lock()
                    let i = shared.next
                    shared.next += 1
                    shared.lock.unlock()
                    guard i < plan.count else { break }
                    let run = runChild(exe: exe, spec: plan[i].spec, sketch: plan[i].sketch, pcapDir: pcapDir, timeout: timeout)
                    shared.lock.lock()
                    shared.runs[i] = run
                    shared.lock.unlock()
                }
                group.leave()
            }
        }
        group.wait()
        return shared.runs.map { $0! }
    }
}

/// Runs `esplua test --worker SPEC [--sketch S]` and reads its results; a child
/// that dies or overruns `timeout` (wall clock) adds one failure saying so.
private func runChild(exe: URL, spec: String, sketch: String?, pcapDir: String?, timeout: Double) -> SpecRun {
    let p = Process()
    p.executableURL = exe
    var args = ["test", "--worker", spec]
    if let sketch { args += ["--sketch", sketch] }
    if let pcapDir { args += ["--pcap-dir", pcapDir] }
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    var run = SpecRun(spec: spec, sketch: sketch, results: [])
    do { try p.run() } catch {
        run.results = [SpecResult(name: spec, status: .failed, message: "cannot start the test process: \(error)")]
        return run
    }
    final class Flag: @unchecked Sendable { var timedOut = false }
    let flag = Flag()
    let pid = p.processIdentifier
    let killer = DispatchWorkItem {
        flag.timedOut = true
        kill(pid, SIGKILL)
    }
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout, execute: killer)
    final class Box: @unchecked Sendable { var data = Data() }
    let errBox = Box()
    let errDone = DispatchSemaphore(value: 0)
    Thread.detachNewThread {
        errBox.data = err.fileHandleForReading.readDataToEndOfFile()
        errDone.signal()
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    killer.cancel()
    errDone.wait()
    run.results = WorkerProtocol.parse(String(decoding: data, as: UTF8.self))
    // what the spec printed (and the child's own messages) reach the user's stderr
    if !errBox.data.isEmpty {
        stderrLock.lock()
        FileHandle.standardError.write(errBox.data)
        stderrLock.unlock()
    }
    let clean = p.terminationReason == .exit && p.terminationStatus == 0
    if !clean || flag.timedOut {
        let why: String
        if flag.timedOut {
            why = "killed after \(Format.fixed(timeout, decimals: 0)) s of wall time (--timeout)"
        } else if p.terminationReason == .uncaughtSignal {
            why = "died of signal \(p.terminationStatus)"
        } else {
            why = "exited with status \(p.terminationStatus)"
        }
        let stderr = String(decoding: errBox.data, as: UTF8.self).split(separator: "\n").suffix(3).joined(separator: "\n")
        run.results.append(
            SpecResult(
                name: "\(spec) (the rest)", status: .failed,
                message: "\(spec): the test process \(why) after \(run.results.count) tests" + (stderr.isEmpty ? "" : "\n\(stderr)")))
    }
    return run
}

private let stderrLock = NSLock()

/// Files matching a shell glob, sorted; empty when none (or no wildcard matched).
func expandGlob(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard glob(pattern, 0, nil, &g) == 0 else { return [] }
    return (0..<Int(g.gl_pathc)).compactMap { g.gl_pathv[$0].map { String(cString: $0) } }.sorted()
}
