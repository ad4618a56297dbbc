import XCTest

@testable import LittleFSCore

/// Metadata relocation every block_cycles erases, and superblock expansion.
final class WearTests: XCTestCase {
    func testMetadataPairsRelocate() throws {
        let dev = MemoryBlockDevice(blockSize: 4096, blockCount: 64)
        try LittleFS.format(device: dev)
        var fs = try LittleFS.mount(device: dev)
        try fs.mkdir("/cfg")
        try fs.mkdir("/cfg/deep")
        let firstPair = try fs.lookup("/cfg/deep").entry!.dirPair!
        var pairsSeen = Set<UInt32>()
        var rng = SplitMix(seed: 8)
        var last: [UInt8] = []
        for i in 0..<3000 {
            last = TestSupport.randomBytes(20 + Int(rng.next() % 40), &rng)
            try fs.writeFile("/cfg/deep/settings.json", last)
            if i % 50 == 0 {
                let p = try fs.lookup("/cfg/deep").entry!.dirPair!
                pairsSeen.insert(p.b0); pairsSeen.insert(p.b1)
            }
            if i % 500 == 499 { fs = try LittleFS.mount(device: dev) }
        }
        let nowPair = try fs.lookup("/cfg/deep").entry!.dirPair!
        XCTAssertFalse(nowPair.inSync(firstPair), "directory pair should have been relocated")
        XCTAssertGreaterThan(pairsSeen.count, 4)
        XCTAssertEqual(try fs.readFile("/cfg/deep/settings.json"), last)
        XCTAssertTrue(fs.root.sameAs(.superblock))
        for i in 0..<1500 { try fs.writeFile("/rootfile", [UInt8(i % 256), 1, 2, 3]) }
        // Superblock pair was expanded: the root moved off {0, 1}.
        XCTAssertFalse(fs.root.sameAs(.superblock), "root should have moved off the superblock pair")
        // Wear is spread: no metadata block erased far more than the rest.
        let maxErase = dev.eraseCounts.max()!
        let worn = dev.eraseCounts.filter { $0 > 0 }.count
        print("wear: \(dev.eraseCount) erases over \(worn) blocks, max \(maxErase) on one block")
        XCTAssertLessThan(maxErase, 300)
        let o = try Oracle.dump(dev.storage, blockSize: 4096)
        XCTAssertTrue(o.ok, o.error)
        XCTAssertEqual(o.tree, try TestSupport.tree(fs))
        XCTAssertEqual(o.used, try fs.usedBlocks())
        let fs2 = try LittleFS.mount(device: dev)
        XCTAssertTrue(fs2.root.inSync(fs.root))
        XCTAssertEqual(try TestSupport.tree(fs2), try TestSupport.tree(fs))
        XCTAssertEqual(dev.norViolations, 0)
    }

    func testLittlefsImageWithExpandedSuperblock() throws {
        // Real littlefs expands its superblock after enough root compactions.
        var ops: [[String]] = []
        for i in 0..<1500 { ops.append(["write", "/cfg", TestSupport.hex([UInt8](repeating: UInt8(i % 256), count: 40))]) }
        ops.append(["mkdir", "/d"])
        ops.append(["write", "/d/x", "0102"])
        let image = try Oracle.build(ops: ops, blocks: 32, blockSize: 4096)
        let dev = MemoryBlockDevice(blockSize: 4096, image: image)
        let fs = try LittleFS.mount(device: dev)
        XCTAssertFalse(fs.root.sameAs(.superblock), "littlefs should have expanded the superblock")
        XCTAssertEqual(try fs.readFile("/cfg"), [UInt8](repeating: UInt8(1499 % 256), count: 40))
        XCTAssertEqual(try fs.readFile("/d/x"), [1, 2])
        for i in 0..<300 { try fs.writeFile("/cfg", [UInt8(i % 256)]) }
        try fs.writeFile("/d/y", [3])
        let o = try Oracle.dump(dev.storage, blockSize: 4096)
        XCTAssertTrue(o.ok, o.error)
        XCTAssertEqual(o.tree, try TestSupport.tree(fs))
    }
}
