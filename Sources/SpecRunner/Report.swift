import BoardCore

/// What one spec file did against one sketch (one child process).
public struct SpecRun: Sendable {
    public var spec: String
    public var sketch: String?
    public var results: [SpecResult]

    public init(spec: String, sketch: String?, results: [SpecResult]) {
        self.spec = spec
        self.sketch = sketch
        self.results = results
    }
}

/// The line protocol between a worker (`esplua test --worker`) and its parent:
/// one line per test, tab-separated, with `\`, tab and newline escaped.
public enum WorkerProtocol {
    public static func line(_ r: SpecResult) -> String {
        "R\t\(r.status.rawValue)\t\(r.boardMicros)\t\(escape(r.name))\t\(escape(r.message))\n"
    }

    public static func parse(_ text: String) -> [SpecResult] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
            guard f.count == 5, f[0] == "R", let status = SpecResult.Status(rawValue: f[1]), let t = UInt64(f[2]) else { return nil }
            return SpecResult(name: unescape(f[3]), status: status, message: unescape(f[4]), boardMicros: t)
        }
    }

    static func escape(_ s: String) -> String {
        var out = ""
        for c in s {
            switch c {
            case "\\": out += "\\\\"
            case "\t": out += "\\t"
            case "\n": out += "\\n"
            default: out.append(c)
            }
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        var out = ""
        var escaped = false
        for c in s {
            if escaped {
                out.append(c == "t" ? "\t" : c == "n" ? "\n" : c)
                escaped = false
            } else if c == "\\" {
                escaped = true
            } else {
                out.append(c)
            }
        }
        return out
    }
}

/// The reports of a run: the listing with the summary table, TAP, JUnit XML.
/// Everything in them is board time or text, never wall time: the same run
/// gives the same bytes.
public enum SpecReport {
    static func sketchName(_ run: SpecRun) -> String { run.sketch ?? run.spec }

    /// Runs grouped by sketch, in the order they were given.
    static func groups(_ runs: [SpecRun]) -> [(sketch: String, runs: [SpecRun])] {
        var order: [String] = []
        var by: [String: [SpecRun]] = [:]
        for r in runs {
            let k = sketchName(r)
            if by[k] == nil { order.append(k) }
            by[k, default: []].append(r)
        }
        return order.map { ($0, by[$0]!) }
    }

    static func firstLine(_ s: String) -> String { String(s.split(separator: "\n", omittingEmptySubsequences: false).first ?? "") }

    /// The human listing: each test, failures with their message, then the table.
    public static func listing(_ runs: [SpecRun]) -> String {
        let specs = Set(runs.map(\.spec)).count
        var out = ""
        var rows: [(String, Int, Int, String)] = []
        var totals = (passed: 0, failed: 0, pending: 0)
        for (sketch, group) in groups(runs) {
            out += "\(sketch)\n"
            var passed = 0, failed = 0
            var first = ""
            for run in group {
                for r in run.results {
                    let name = specs > 1 ? "\(run.spec): \(r.name)" : r.name
                    switch r.status {
                    case .passed:
                        passed += 1
                        out += "  ok       \(name)\n"
                    case .pending:
                        totals.pending += 1
                        out += "  pending  \(name)\n"
                    case .failed:
                        failed += 1
                        if first.isEmpty { first = firstLine(r.message) }
                        out += "  FAILED   \(name)\n"
                        for l in r.message.split(separator: "\n", omittingEmptySubsequences: false) { out += "           \(l)\n" }
                    }
                }
            }
            totals.passed += passed
            totals.failed += failed
            rows.append((sketch, passed, failed, first))
        }
        out += "\n" + table(rows)
        out += "\(totals.passed) passed, \(totals.failed) failed" + (totals.pending > 0 ? ", \(totals.pending) pending" : "") + "\n"
        return out
    }

    static func table(_ rows: [(String, Int, Int, String)]) -> String {
        let width = max(6, rows.map(\.0.count).max() ?? 0)
        func pad(_ s: String, _ n: Int) -> String { s + String(repeating: " ", count: max(0, n - s.count)) }
        func lpad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
        var out = "\(pad("sketch", width)) | passed | failed | first failure\n"
        out += String(repeating: "-", count: width) + "-|--------|--------|--------------\n"
        for (s, p, f, first) in rows {
            let shown = first.count > 100 ? String(first.prefix(99)) + "…" : first
            out += "\(pad(s, width)) | \(lpad(String(p), 6)) | \(lpad(String(f), 6)) |" + (shown.isEmpty ? "\n" : " \(shown)\n")
        }
        return out
    }

    /// TAP version 13: one line per test, failures with a YAML block.
    public static func tap(_ runs: [SpecRun]) -> String {
        let all = groups(runs).flatMap { g in g.runs.flatMap { run in run.results.map { (run.sketch, run.spec, $0) } } }
        var out = "TAP version 13\n1..\(all.count)\n"
        for (i, (sketch, spec, r)) in all.enumerated() {
            let name = ((sketch.map { "\($0): " } ?? "") + "\(spec): \(r.name)").replacing("#", with: "\\#")
            switch r.status {
            case .passed: out += "ok \(i + 1) - \(name)\n"
            case .pending: out += "ok \(i + 1) - \(name) # SKIP pending\n"
            case .failed:
                out += "not ok \(i + 1) - \(name)\n  ---\n  message: |\n"
                for l in r.message.split(separator: "\n", omittingEmptySubsequences: false) { out += "    \(l)\n" }
                out += "  ...\n"
            }
        }
        return out
    }

    /// JUnit XML: one testsuite per sketch, one testcase per test (classname: the spec).
    public static func junit(_ runs: [SpecRun]) -> String {
        func x(_ s: String) -> String {
            var out = ""
            for u in s.unicodeScalars {
                switch u {
                case "&": out += "&amp;"
                case "<": out += "&lt;"
                case ">": out += "&gt;"
                case "\"": out += "&quot;"
                case "\n": out += "&#10;"
                case "\t": out += "&#9;"
                default:
                    // XML 1.0 allows no other control characters
                    if u.value < 0x20 { out += "?" } else { out.unicodeScalars.append(u) }
                }
            }
            return out
        }
        func seconds(_ us: UInt64) -> String { Format.fixed(Double(us) / 1_000_000, decimals: 3) }
        let gs = groups(runs)
        let all = gs.flatMap { $0.runs.flatMap(\.results) }
        var out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        out += "<testsuites name=\"esplua test\" tests=\"\(all.count)\" failures=\"\(all.filter { $0.status == .failed }.count)\">\n"
        for (i, g) in gs.enumerated() {
            let results = g.runs.flatMap { run in run.results.map { (run.spec, $0) } }
            let failures = results.filter { $0.1.status == .failed }.count
            let skipped = results.filter { $0.1.status == .pending }.count
            let time = results.reduce(UInt64(0)) { $0 + $1.1.boardMicros }
            out +=
                "  <testsuite name=\"\(x(g.sketch))\" id=\"\(i)\" package=\"esplua\" hostname=\"esplua\" timestamp=\"1970-01-01T00:00:00\" tests=\"\(results.count)\" failures=\"\(failures)\" errors=\"0\" skipped=\"\(skipped)\" time=\"\(seconds(time))\">\n"
            for (spec, r) in results {
                out += "    <testcase name=\"\(x(r.name))\" classname=\"\(x(spec))\" time=\"\(seconds(r.boardMicros))\""
                switch r.status {
                case .passed: out += "/>\n"
                case .pending: out += ">\n      <skipped/>\n    </testcase>\n"
                case .failed:
                    out += ">\n      <failure message=\"\(x(firstLine(r.message)))\" type=\"assertion\">\(x(r.message))</failure>\n    </testcase>\n"
                }
            }
            out += "    <system-out/>\n    <system-err/>\n  </testsuite>\n"
        }
        out += "</testsuites>\n"
        return out
    }
}
