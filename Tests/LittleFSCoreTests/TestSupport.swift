import Foundation
import XCTest

@testable import LittleFSCore

/// One node of a file tree listing, in the shape oracle.py prints.
struct TreeNode: Equatable, CustomStringConvertible {
    var path: String
    var isDir: Bool
    var size: Int
    var data: [UInt8]
    var description: String { "\(isDir ? "D" : "F") \(path) \(size)" }
}

enum TestSupport {
    static let blockSize = 8192

    static func newFS(blocks: Int = 128, blockSize: Int = 8192) throws -> (MemoryBlockDevice, LittleFS) {
        let dev = MemoryBlockDevice(blockSize: blockSize, blockCount: blocks)
        try LittleFS.format(device: dev)
        let fs = try LittleFS.mount(device: dev)
        return (dev, fs)
    }

    /// Walk our file system, in directory order.
    static func tree(_ fs: LittleFS, _ path: String = "/") throws -> [TreeNode] {
        var out: [TreeNode] = []
        for e in try fs.listDirectory(path) {
            let full = (path == "/" ? "" : path) + "/" + e.name
            if e.isDirectory {
                out.append(TreeNode(path: full, isDir: true, size: 0, data: []))
                out += try tree(fs, full)
            } else {
                let data = try fs.readFile(full)
                XCTAssertEqual(data.count, e.size, "size of \(full)")
                out.append(TreeNode(path: full, isDir: false, size: e.size, data: data))
            }
        }
        return out
    }

    static func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }
    static func unhex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(s.count / 2)
        var it = s.utf8.makeIterator()
        func nib(_ c: UInt8) -> UInt8 { c <= 57 ? c - 48 : (c | 0x20) - 87 }
        while let a = it.next(), let b = it.next() { out.append(nib(a) << 4 | nib(b)) }
        return out
    }

    static func randomBytes(_ n: Int, _ rng: inout SplitMix) -> [UInt8] {
        (0..<n).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    }
}

/// Deterministic PRNG for reproducible tests.
struct SplitMix: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Runs Tests/LittleFSCoreTests/oracle.py with a Python that has littlefs-python.
enum Oracle {
    static let script: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("oracle.py").path
    }()

    /// Python interpreter: $LFS_ORACLE_PYTHON, the project venv, or python3.
    static let python: String? = {
        var candidates: [String] = []
        if let env = ProcessInfo.processInfo.environment["LFS_ORACLE_PYTHON"] { candidates.append(env) }
        let pkg = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        candidates.append(pkg.appendingPathComponent(".venv/bin/python").path)  // made by `make setup`
        candidates.append("/usr/bin/python3")
        for c in candidates where FileManager.default.isExecutableFile(atPath: c) {
            if let r = try? run(c, ["-c", "import littlefs"]), r.status == 0 { return c }
        }
        return nil
    }()

    static func run(_ exe: String, _ args: [String]) throws -> (status: Int32, out: Data, err: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        let out = Pipe()
        let errURL = tempURL("stderr-\(UUID().uuidString).txt")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: errURL)
        defer { try? errHandle.close(); try? FileManager.default.removeItem(at: errURL) }
        p.standardOutput = out
        p.standardError = errHandle
        try p.run()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let errData = (try? Data(contentsOf: errURL)) ?? Data()
        return (p.terminationStatus, outData, String(decoding: errData, as: UTF8.self))
    }

    static func requirePython(file: StaticString = #filePath, line: UInt = #line) throws -> String {
        guard let py = python else {
            XCTFail(
                """
                littlefs-python oracle not found: `make setup` installs it into .venv \
                (or set LFS_ORACLE_PYTHON to a python that can `import littlefs`).
                """, file: file, line: line)
            throw XCTSkip("no oracle")
        }
        return py
    }

    static func call(_ args: [String]) throws -> Any {
        let py = try requirePython()
        let r = try run(py, [script] + args)
        guard r.status == 0 else {
            XCTFail("oracle.py \(args.first ?? "") failed (\(r.status)): \(r.err)")
            throw LFSError.io("oracle failed")
        }
        return try JSONSerialization.jsonObject(with: r.out)
    }

    static func tempURL(_ name: String) -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lfs-swift-tests-\(getpid())")
        try? FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir.appendingPathComponent(name)
    }

    static func parseTree(_ obj: Any) throws -> (ok: Bool, tree: [TreeNode], used: Int, error: String) {
        guard let d = obj as? [String: Any] else { throw LFSError.io("bad oracle output") }
        guard (d["ok"] as? Bool) == true else { return (false, [], 0, d["error"] as? String ?? "?") }
        var nodes: [TreeNode] = []
        for n in d["tree"] as? [[String: Any]] ?? [] {
            let isDir = (n["type"] as? String) == "dir"
            nodes.append(
                TreeNode(
                    path: n["path"] as! String, isDir: isDir, size: n["size"] as! Int,
                    data: isDir ? [] : TestSupport.unhex(n["data"] as! String)))
        }
        return (true, nodes, d["used"] as? Int ?? -1, "")
    }

    /// Mount `image` with littlefs-python and list it.
    static func dump(_ image: [UInt8], blockSize: Int = 8192) throws -> (ok: Bool, tree: [TreeNode], used: Int, error: String) {
        let url = tempURL("img-\(UUID().uuidString).bin")
        try Data(image).write(to: url)
        defer { try? FileManager.default.removeItem(at: url) }
        return try parseTree(call(["dump", url.path, String(blockSize)]))
    }

    /// Dump many images in one Python process.
    static func dumpMany(
        _ images: [[UInt8]], blockSize: Int = 8192, repairFirst: Bool = false
    ) throws -> [(ok: Bool, tree: [TreeNode], used: Int, error: String)] {
        var paths: [URL] = []
        for (i, img) in images.enumerated() {
            let url = tempURL("many-\(i)-\(UUID().uuidString).bin")
            try Data(img).write(to: url)
            paths.append(url)
        }
        defer { for p in paths { try? FileManager.default.removeItem(at: p) } }
        let list = tempURL("list-\(UUID().uuidString).txt")
        try paths.map(\.path).joined(separator: "\n").write(to: list, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: list) }
        guard let arr = try call([repairFirst ? "dumpmany-fix" : "dumpmany", list.path, String(blockSize)]) as? [Any] else {
            throw LFSError.io("bad oracle output")
        }
        return try arr.map { try parseTree($0) }
    }

    /// Build an image with littlefs-python from a list of ops.
    static func build(ops: [[String]], blocks: Int = 128, blockSize: Int = 8192, diskVersion: UInt32 = 0x0002_0000) throws -> [UInt8] {
        let opsURL = tempURL("ops-\(UUID().uuidString).json")
        let out = tempURL("built-\(UUID().uuidString).bin")
        try JSONSerialization.data(withJSONObject: ops).write(to: opsURL)
        defer { try? FileManager.default.removeItem(at: opsURL); try? FileManager.default.removeItem(at: out) }
        _ = try call(["build", out.path, String(blockSize), String(blocks), "0x" + String(diskVersion, radix: 16), opsURL.path])
        return [UInt8](try Data(contentsOf: out))
    }
}
