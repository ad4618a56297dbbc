import XCTest

@testable import LittleFSCore

final class APITests: XCTestCase {
    func XCTAssertLFSError(_ expected: LFSError, _ body: @autoclosure () throws -> Any, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try body(), file: file, line: line) { e in
            XCTAssertEqual(e as? LFSError, expected, file: file, line: line)
        }
    }

    func testErrors() throws {
        let (_, fs) = try TestSupport.newFS()
        try fs.mkdir("/d")
        try fs.writeFile("/d/f", [1])
        XCTAssertLFSError(.noEntry, try fs.open("/nope", flags: .readOnly))
        XCTAssertLFSError(.noEntry, try fs.open("/nodir/x", flags: [.writeOnly, .create]))
        XCTAssertLFSError(.isDirectory, try fs.open("/d", flags: .readOnly))
        XCTAssertLFSError(.isDirectory, try fs.open("/", flags: .readOnly))
        XCTAssertLFSError(.exists, try fs.open("/d/f", flags: [.writeOnly, .create, .exclusive]))
        XCTAssertLFSError(.exists, try fs.mkdir("/d"))
        XCTAssertLFSError(.exists, try fs.mkdir("/d/f"))
        XCTAssertLFSError(.noEntry, try fs.mkdir("/x/y"))
        XCTAssertLFSError(.notDirectory, try fs.stat("/d/f/g"))
        XCTAssertLFSError(.notEmpty, try fs.remove("/d"))
        XCTAssertLFSError(.noEntry, try fs.remove("/d/zz"))
        try fs.mkdir("/e")
        XCTAssertLFSError(.isDirectory, try fs.rename("/d/f", "/e"))
        XCTAssertLFSError(.notDirectory, try fs.rename("/e", "/d/f"))
        XCTAssertLFSError(.notEmpty, try fs.rename("/e", "/d"))
        XCTAssertLFSError(.invalid("cannot move a directory into itself"), try fs.rename("/d", "/d/sub"))
        XCTAssertLFSError(.notDirectory, try fs.openDir("/d/f"))
        let n32 = String(repeating: "n", count: 32), n33 = String(repeating: "n", count: 33)
        try fs.writeFile("/" + n32, [1])
        XCTAssertLFSError(.nameTooLong, try fs.writeFile("/" + n33, [1]))
        XCTAssertLFSError(.nameTooLong, try fs.mkdir("/" + n33))
        XCTAssertLFSError(.nameTooLong, try fs.rename("/d/f", "/" + n33))
        let r = try fs.open("/d/f", flags: .readOnly)
        XCTAssertLFSError(.badFileDescriptor, try r.write([1]))
        try r.close()
        XCTAssertLFSError(.badFileDescriptor, try r.read(count: 1))
        XCTAssertLFSError(.badFileDescriptor, try r.close())
        let w = try fs.open("/d/f", flags: .writeOnly)
        XCTAssertLFSError(.badFileDescriptor, try w.read(count: 1))
        try w.close()
        XCTAssertEqual(LFSError.noEntry.code, -2)
        XCTAssertEqual(LFSError.corrupt("").code, -84)
        // stat
        XCTAssertEqual(try fs.stat("/"), LFSInfo(name: "/", kind: .directory, size: 0))
        XCTAssertEqual(try fs.stat("/d/f"), LFSInfo(name: "f", kind: .file, size: 1))
        XCTAssertEqual(try fs.stat("/d/./../d/f"), LFSInfo(name: "f", kind: .file, size: 1))
        XCTAssertLFSError(.invalid("cannot remove root"), try fs.remove("/"))
    }

    func testDirectoryIteration() throws {
        let (_, fs) = try TestSupport.newFS()
        try fs.mkdir("/d")
        for n in ["b", "a", "abc", "ab", "c"] { try fs.writeFile("/d/" + n, Array(n.utf8)) }
        try fs.mkdir("/d/sub")
        let dir = try fs.openDir("/d")
        var names: [String] = []
        while let e = try dir.read() { names.append(e.name) }
        // "." and ".." first, then littlefs order (longer names sort before their prefixes).
        XCTAssertEqual(names, [".", "..", "abc", "ab", "a", "b", "c", "sub"])
        dir.rewind()
        XCTAssertEqual(try dir.read()?.name, ".")
        dir.close()
        let root = try fs.listDirectory("/")
        XCTAssertEqual(root.map(\.name), ["d"])
        XCTAssertEqual(try fs.listDirectory("/d").first { $0.name == "abc" }?.size, 3)
    }

    func testSeekTellTruncateAppend() throws {
        let (_, fs) = try TestSupport.newFS()
        let f = try fs.open("/f", mode: "w+")
        try f.write(Array("hello".utf8))
        XCTAssertEqual(f.tell(), 5)
        XCTAssertEqual(f.size, 5)
        try f.seek(10)
        try f.write(Array("X".utf8))
        XCTAssertEqual(f.size, 11)
        try f.seek(0)
        XCTAssertEqual(try f.readAll(), Array("hello".utf8) + [0, 0, 0, 0, 0] + Array("X".utf8))
        try f.seek(-1, whence: .end)
        XCTAssertEqual(try f.read(count: 5), Array("X".utf8))
        try f.truncate(3)
        XCTAssertEqual(f.size, 3)
        try f.close()
        XCTAssertEqual(try fs.readFile("/f"), Array("hel".utf8))
        let a = try fs.open("/f", mode: "a+")
        try a.seek(0)
        XCTAssertEqual(try a.read(count: 3), Array("hel".utf8))
        try a.seek(0)
        try a.write(Array("lo".utf8))  // append mode always writes at the end
        try a.close()
        XCTAssertEqual(try fs.readFile("/f"), Array("hello".utf8))
        // Large file: read/write across block boundaries at random positions.
        var rng = SplitMix(seed: 1)
        var model = TestSupport.randomBytes(50_000, &rng)
        let g = try fs.open("/g", flags: [.readWrite, .create])
        try g.write(model)
        for _ in 0..<30 {
            let off = Int(rng.next() % 60_000), n = Int(rng.next() % 9000)
            let d = TestSupport.randomBytes(n, &rng)
            try g.seek(off)
            try g.write(d)
            if model.count < off { model += [UInt8](repeating: 0, count: off - model.count) }
            if model.count < off + n { model += [UInt8](repeating: 0, count: off + n - model.count) }
            model.replaceSubrange(off..<(off + n), with: d)
            let roff = Int(rng.next() % UInt64(model.count))
            try g.seek(roff)
            XCTAssertEqual(try g.read(count: 3000), Array(model[roff..<min(model.count, roff + 3000)]))
        }
        try g.close()
        XCTAssertEqual(try fs.readFile("/g"), model)
        let o = try Oracle.dump(fs.dev is MemoryBlockDevice ? (fs.dev as! MemoryBlockDevice).storage : [])
        XCTAssertEqual(o.tree.first { $0.path == "/g" }?.data, model)
    }

    func testOpenHandlesSurviveSplitsAndRemoval() throws {
        let (dev, fs) = try TestSupport.newFS()
        try fs.mkdir("/d")
        let f = try fs.open("/d/m-open", flags: [.writeOnly, .create])
        try f.write(Array("first".utf8))
        try f.sync()
        // Create many entries around it: ids shift and the pair splits.
        for i in 0..<150 { try fs.writeFile("/d/a\(i)", [UInt8](repeating: UInt8(i), count: 30)) }
        for i in 0..<150 { try fs.writeFile("/d/z\(i)", [UInt8](repeating: UInt8(i), count: 30)) }
        for i in stride(from: 0, to: 150, by: 2) { try fs.remove("/d/a\(i)") }
        try f.write([UInt8](repeating: 7, count: 10000))
        try f.close()
        XCTAssertEqual(try fs.readFile("/d/m-open"), Array("first".utf8) + [UInt8](repeating: 7, count: 10000))
        // Writing to a removed file never resurrects it.
        let g = try fs.open("/d/z5", flags: .writeOnly)
        try fs.remove("/d/z5")
        try g.write([1, 2, 3])
        try g.close()
        XCTAssertFalse(fs.exists("/d/z5"))
        let o = try Oracle.dump(dev.storage)
        XCTAssertTrue(o.ok, o.error)
        XCTAssertEqual(o.tree, try TestSupport.tree(fs))
    }

    func testOpenFileLimitAndAttributes() throws {
        var cfg = LFSConfiguration.esp8266
        cfg.maxOpenFiles = 5
        let dev = MemoryBlockDevice(blockSize: 8192, blockCount: 32)
        try LittleFS.format(device: dev, config: cfg)
        let fs = try LittleFS.mount(device: dev, config: cfg)
        var files: [LFSFile] = []
        for i in 0..<5 { files.append(try fs.open("/f\(i)", flags: [.writeOnly, .create])) }
        XCTAssertLFSError(.tooManyOpenFiles, try fs.open("/f5", flags: [.writeOnly, .create]))
        try files[0].close()
        files[0] = try fs.open("/f5", flags: [.writeOnly, .create])
        for f in files { try f.close() }
        XCTAssertEqual(fs.openFileCount, 0)
        // User attributes (the ESP8266 core stores timestamps as attribute 't').
        try fs.setAttribute("/f1", type: UInt8(ascii: "t"), value: [1, 2, 3, 4])
        XCTAssertEqual(try fs.getAttribute("/f1", type: UInt8(ascii: "t")), [1, 2, 3, 4])
        XCTAssertLFSError(.noAttribute, try fs.getAttribute("/f1", type: 1))
        try fs.rename("/f1", "/g1")
        for i in 0..<200 { try fs.writeFile("/f2", [UInt8(i)]) }  // force compactions
        XCTAssertEqual(try fs.getAttribute("/g1", type: UInt8(ascii: "t")), [1, 2, 3, 4])
        try fs.removeAttribute("/g1", type: UInt8(ascii: "t"))
        XCTAssertLFSError(.noAttribute, try fs.getAttribute("/g1", type: UInt8(ascii: "t")))
    }

    func testNoSpaceIsRecoverable() throws {
        let (dev, fs) = try TestSupport.newFS(blocks: 16)
        var rng = SplitMix(seed: 2)
        var written: [String: [UInt8]] = [:]
        var sawNoSpace = false
        for i in 0..<40 {
            let d = TestSupport.randomBytes(9000, &rng)
            do { try fs.writeFile("/f\(i)", d); written["/f\(i)"] = d } catch LFSError.noSpace { sawNoSpace = true; break }
        }
        XCTAssertTrue(sawNoSpace)
        let fs2 = try LittleFS.mount(device: dev)
        for (p, d) in written { XCTAssertEqual(try fs2.readFile(p), d) }
        for p in written.keys.sorted().prefix(3) { try fs2.remove(p) }
        try fs2.writeFile("/again", [UInt8](repeating: 1, count: 9000))
        let o = try Oracle.dump(dev.storage)
        XCTAssertTrue(o.ok, o.error)
        XCTAssertEqual(o.tree, try TestSupport.tree(fs2))
    }
}
