import XCTest

@testable import LittleFSCore

/// In-memory reference model of a file tree.
struct FSModel: Equatable, CustomStringConvertible {
    var files: [String: [UInt8]] = [:]
    var dirs: Set<String> = []

    init() {}
    init(tree: [TreeNode]) {
        for n in tree { if n.isDir { dirs.insert(n.path) } else { files[n.path] = n.data } }
    }

    var description: String {
        let f = files.keys.sorted().map { "\($0)(\(files[$0]!.count))" }
        return "dirs=\(dirs.sorted()) files=\(f)"
    }

    static func parent(_ p: String) -> String {
        guard let i = p.lastIndex(of: "/"), i != p.startIndex else { return "/" }
        return String(p[..<i])
    }
    func exists(_ p: String) -> Bool { files[p] != nil || dirs.contains(p) }
    func parentExists(_ p: String) -> Bool { let d = FSModel.parent(p); return d == "/" || dirs.contains(d) }
    func children(_ d: String) -> [String] {
        let pre = d + "/"
        return (Array(files.keys) + Array(dirs)).filter { $0.hasPrefix(pre) }
    }
    func isEmptyDir(_ d: String) -> Bool { children(d).isEmpty }

    mutating func rename(_ a: String, _ b: String) {
        if let f = files.removeValue(forKey: a) { files[b] = f; return }
        dirs.remove(b)
        dirs.remove(a); dirs.insert(b)
        let pre = a + "/"
        for k in Array(files.keys) where k.hasPrefix(pre) { files[b + k.dropFirst(a.count)] = files.removeValue(forKey: k) }
        for k in Array(dirs) where k.hasPrefix(pre) { dirs.remove(k); dirs.insert(b + k.dropFirst(a.count)) }
    }
}

/// A file-system operation used by the workload-driven tests.
enum FSOp: CustomStringConvertible {
    case write(String, [UInt8])  // open(w) + write + close
    case writeChunked(String, [UInt8], Int)  // several writes, one close
    case append(String, [UInt8])
    case mkdir(String)
    case remove(String)
    case rename(String, String)
    case patch(String, Int, [UInt8])  // open r+, seek, write, close
    case truncate(String, Int)

    var description: String {
        switch self {
        case let .write(p, d): return "write \(p) \(d.count)"
        case let .writeChunked(p, d, c): return "writeChunked \(p) \(d.count)/\(c)"
        case let .append(p, d): return "append \(p) \(d.count)"
        case let .mkdir(p): return "mkdir \(p)"
        case let .remove(p): return "remove \(p)"
        case let .rename(a, b): return "rename \(a) -> \(b)"
        case let .patch(p, o, d): return "patch \(p) @\(o) \(d.count)"
        case let .truncate(p, n): return "truncate \(p) \(n)"
        }
    }

    func apply(_ fs: LittleFS) throws {
        switch self {
        case let .write(p, d): try fs.writeFile(p, d)
        case let .writeChunked(p, d, c):
            let f = try fs.open(p, flags: [.writeOnly, .create, .truncate])
            var i = 0
            while i < d.count { let n = min(c, d.count - i); try f.write(Array(d[i..<(i + n)])); i += n }
            try f.close()
        case let .append(p, d): try fs.appendFile(p, d)
        case let .mkdir(p): try fs.mkdir(p)
        case let .remove(p): try fs.remove(p)
        case let .rename(a, b): try fs.rename(a, b)
        case let .patch(p, o, d):
            let f = try fs.open(p, flags: .readWrite)
            try f.seek(o)
            try f.write(d)
            try f.close()
        case let .truncate(p, n):
            let f = try fs.open(p, flags: .readWrite)
            try f.truncate(n)
            try f.close()
        }
    }

    /// Model after a successful op.
    func apply(_ m: FSModel) -> FSModel {
        var m = m
        switch self {
        case let .write(p, d), let .writeChunked(p, d, _): m.files[p] = d
        case let .append(p, d): m.files[p, default: []] += d
        case let .mkdir(p): m.dirs.insert(p)
        case let .remove(p): m.files[p] = nil; m.dirs.remove(p)
        case let .rename(a, b): m.rename(a, b)
        case let .patch(p, o, d):
            var f = m.files[p]!
            if f.count < o { f += [UInt8](repeating: 0, count: o - f.count) }
            let end = o + d.count
            if f.count < end { f += [UInt8](repeating: 0, count: end - f.count) }
            f.replaceSubrange(o..<end, with: d)
            m.files[p] = f
        case let .truncate(p, n):
            var f = m.files[p]!
            if n < f.count { f = Array(f[0..<n]) } else { f += [UInt8](repeating: 0, count: n - f.count) }
            m.files[p] = f
        }
        return m
    }

    /// States allowed on disk if power is lost while this op runs.
    func allowedAfterCut(_ before: FSModel) -> [FSModel] {
        var out = [before, apply(before)]
        switch self {
        case let .write(p, _), let .writeChunked(p, _, _), let .append(p, _):
            if before.files[p] == nil { var m = before; m.files[p] = []; out.append(m) }
        default: break
        }
        return out
    }
}
