import XCTest

@testable import LittleFSCore

/// Our images must read back identically in real littlefs (littlefs-python),
/// and images written by real littlefs must read back identically here.
final class InteropTests: XCTestCase {
    func checkOracle(_ dev: MemoryBlockDevice, _ fs: LittleFS, file: StaticString = #filePath, line: UInt = #line) throws {
        let ours = try TestSupport.tree(fs)
        let o = try Oracle.dump(dev.storage)
        XCTAssertTrue(o.ok, "littlefs failed to mount our image: \(o.error)", file: file, line: line)
        XCTAssertEqual(o.tree, ours, "tree differs (order, sizes or contents)", file: file, line: line)
        XCTAssertEqual(o.used, try fs.usedBlocks(), "lfs_fs_size differs", file: file, line: line)
        // And after a remount on our side.
        let fs2 = try LittleFS.mount(device: dev)
        XCTAssertEqual(try TestSupport.tree(fs2), ours, "remount differs", file: file, line: line)
    }

    func testEmpty() throws {
        let (dev, fs) = try TestSupport.newFS()
        try checkOracle(dev, fs)
        XCTAssertEqual(try fs.usedBlocks(), 2)
    }

    func testSmallInlineFile() throws {
        let (dev, fs) = try TestSupport.newFS()
        try fs.writeFile("/small.txt", Array("tiny".utf8))
        try fs.writeFile("/empty", [])
        try checkOracle(dev, fs)
    }

    func testLargeCTZFile() throws {
        let (dev, fs) = try TestSupport.newFS()
        var rng = SplitMix(seed: 42)
        let data = TestSupport.randomBytes(100 * 1024, &rng)
        try fs.writeFile("/big.bin", data)
        XCTAssertEqual(try fs.readFile("/big.bin"), data)
        try checkOracle(dev, fs)
        // Files exactly at block / pointer boundaries.
        for n in [8192, 8192 * 2 - 4, 8192 * 2 - 3, 8192 * 3 - 12, 8192 * 3 - 11, 65, 70_000] {
            let d = TestSupport.randomBytes(n, &rng)
            try fs.writeFile("/b\(n)", d)
            XCTAssertEqual(try fs.readFile("/b\(n)"), d, "size \(n)")
        }
        try checkOracle(dev, fs)
    }

    func testNestedDirs() throws {
        let (dev, fs) = try TestSupport.newFS()
        try fs.mkdir("/a")
        try fs.mkdir("/a/b")
        try fs.mkdir("/a/b/c")
        try fs.mkdir("/z")
        try fs.writeFile("/a/b/c/deep.txt", Array("deep".utf8))
        try fs.writeFile("/a/file", [UInt8](repeating: 1, count: 3000))
        try fs.mkdir("/m")
        try fs.writeFile("/m/x", [9])
        try checkOracle(dev, fs)
    }

    func testManySmallFilesSplitMetadata() throws {
        let (dev, fs) = try TestSupport.newFS()
        try fs.mkdir("/many")
        for i in 0..<200 {
            try fs.writeFile("/many/file\(i).txt", Array("content of file number \(i)".utf8))
        }
        try checkOracle(dev, fs)
        let list = try fs.listDirectory("/many")
        XCTAssertEqual(list.count, 200)
        // The directory must span several metadata pairs.
        let head = try fs.lookup("/many").entry!.dirPair!
        let d = try fs.fetch(head)
        XCTAssertTrue(d.split, "200 entries should force a metadata split")
        // Also many files in root.
        for i in 0..<120 { try fs.writeFile("/r\(i)", [UInt8(i)]) }
        try checkOracle(dev, fs)
    }

    func testRenamesAndRemoves() throws {
        let (dev, fs) = try TestSupport.newFS()
        try fs.mkdir("/d1")
        try fs.mkdir("/d2")
        try fs.writeFile("/d1/a", Array("aaa".utf8))
        try fs.writeFile("/d1/b", [UInt8](repeating: 2, count: 20000))
        try fs.writeFile("/c", Array("ccc".utf8))
        try fs.rename("/d1/a", "/d2/a2")  // across pairs
        try fs.rename("/c", "/c2")  // same pair
        try fs.rename("/d1/b", "/d2/a2")  // replace existing file
        try fs.rename("/d2", "/d3")  // rename a directory
        try fs.mkdir("/empty")
        try fs.rename("/d1", "/empty")  // replace an empty directory
        try fs.writeFile("/gone", [1])
        try fs.remove("/gone")
        try fs.mkdir("/gonedir")
        try fs.remove("/gonedir")
        XCTAssertThrowsError(try fs.remove("/d3")) { XCTAssertEqual($0 as? LFSError, .notEmpty) }
        try checkOracle(dev, fs)
        XCTAssertEqual(try fs.readFile("/d3/a2"), [UInt8](repeating: 2, count: 20000))
    }

    func testAppendAndOverwrite() throws {
        let (dev, fs) = try TestSupport.newFS()
        var model: [UInt8] = []
        var rng = SplitMix(seed: 7)
        for n in [10, 50, 10, 3000, 9000, 1, 20000] {
            let d = TestSupport.randomBytes(n, &rng)
            try fs.appendFile("/log", d)
            model += d
            XCTAssertEqual(try fs.readFile("/log"), model)
        }
        try checkOracle(dev, fs)
        // Overwrite in the middle, then truncate.
        let f = try fs.open("/log", flags: .readWrite)
        try f.seek(5000)
        let patch = TestSupport.randomBytes(12000, &rng)
        try f.write(patch)
        model.replaceSubrange(5000..<17000, with: patch)
        try f.truncate(30000)
        model = Array(model[0..<30000])
        try f.close()
        XCTAssertEqual(try fs.readFile("/log"), model)
        try checkOracle(dev, fs)
        // Truncate to inline size and grow again with zeros.
        let g = try fs.open("/log", flags: .readWrite)
        try g.truncate(40)
        try g.truncate(100)
        try g.close()
        XCTAssertEqual(try fs.readFile("/log"), Array(model[0..<40]) + [UInt8](repeating: 0, count: 60))
        try fs.writeFile("/log", Array("overwritten".utf8))
        try checkOracle(dev, fs)
    }

    // MARK: littlefs-written images

    func opsWorkload(seed: UInt64) -> (ops: [[String]], expected: [String: [UInt8]], dirs: Set<String>) {
        var rng = SplitMix(seed: seed)
        var ops: [[String]] = [["mkdir", "/dir"], ["mkdir", "/dir/sub"], ["mkdir", "/other"]]
        var files: [String: [UInt8]] = [:]
        for i in 0..<60 {
            let p = ["/", "/dir/", "/dir/sub/", "/other/"][i % 4] + "f\(i)"
            let n = [0, 5, 64, 65, 300, 9000, 40000][Int(rng.next() % 7)]
            let d = TestSupport.randomBytes(n, &rng)
            ops.append(["write", p, TestSupport.hex(d)])
            files[p] = d
        }
        ops.append(["append", "/f0", TestSupport.hex([1, 2, 3])]); files["/f0"]! += [1, 2, 3]
        ops.append(["rename", "/f4", "/other/renamed"]); files["/other/renamed"] = files.removeValue(forKey: "/f4")
        ops.append(["remove", "/dir/f1"]); files["/dir/f1"] = nil
        return (ops, files, ["/dir", "/dir/sub", "/other"])
    }

    func checkTheirImage(diskVersion: UInt32) throws {
        let w = opsWorkload(seed: UInt64(diskVersion))
        let image = try Oracle.build(ops: w.ops, diskVersion: diskVersion)
        let dev = MemoryBlockDevice(blockSize: 8192, image: image)
        let fs = try LittleFS.mount(device: dev)
        XCTAssertEqual(fs.diskVersion, diskVersion)
        let ours = try TestSupport.tree(fs)
        var files: [String: [UInt8]] = [:]
        var dirs = Set<String>()
        for n in ours { if n.isDir { dirs.insert(n.path) } else { files[n.path] = n.data } }
        XCTAssertEqual(files, w.expected)
        XCTAssertEqual(dirs, w.dirs)
        let o = try Oracle.dump(image)
        XCTAssertEqual(o.tree, ours, "listing order/contents differ from littlefs's own view")
        XCTAssertEqual(o.used, try fs.usedBlocks())
        // Now modify their image and hand it back.
        try fs.writeFile("/dir/added", [UInt8](repeating: 0xAB, count: 5000))
        try fs.appendFile("/f0", [4, 5, 6])
        try fs.rename("/other/renamed", "/dir/sub/moved")
        try fs.remove("/dir/f5")
        for i in 0..<40 { try fs.writeFile("/other/n\(i)", [UInt8(i)]) }
        try checkOracle(dev, fs)
    }

    func testReadLittlefsImageV20() throws { try checkTheirImage(diskVersion: 0x0002_0000) }
    func testReadLittlefsImageV21() throws { try checkTheirImage(diskVersion: 0x0002_0001) }
}
