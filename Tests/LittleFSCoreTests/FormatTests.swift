import XCTest

@testable import LittleFSCore

final class FormatTests: XCTestCase {
    func testSuperblockBytes() throws {
        let dev = MemoryBlockDevice(blockSize: 8192, blockCount: 128)
        try LittleFS.format(device: dev)
        let b0 = Array(dev.storage[0..<64])
        // Revision count 1 (little-endian), then the superblock name tag
        // 0x0ff00008 XOR 0xffffffff stored big-endian.
        XCTAssertEqual(Array(b0[0..<4]), [1, 0, 0, 0])
        XCTAssertEqual(Array(b0[4..<8]), [0xF0, 0x0F, 0xFF, 0xF7])
        XCTAssertEqual(Array(b0[8..<16]), Array("littlefs".utf8))
        // Inline-struct tag 0x20100018 XOR previous tag 0x0ff00008.
        let t = readBE32(b0, 16) ^ 0x0FF0_0008
        XCTAssertEqual(t, 0x2010_0018)
        XCTAssertEqual(readLE32(b0, 20), 0x0002_0000, "disk version 2.0")
        XCTAssertEqual(readLE32(b0, 24), 8192, "block size")
        XCTAssertEqual(readLE32(b0, 28), 128, "block count")
        XCTAssertEqual(readLE32(b0, 32), 32, "name max")
        XCTAssertEqual(readLE32(b0, 36), 0x7FFF_FFFF, "file max")
        XCTAssertEqual(readLE32(b0, 40), 1022, "attr max")
        // Block 1 holds the newer copy (revision 2).
        XCTAssertEqual(Array(dev.storage[8192..<8196]), [2, 0, 0, 0])
        XCTAssertEqual(Array(dev.storage[8196..<8208]), Array(b0[4..<16]))
    }

    func testFormatIsByteIdenticalToLittlefs() throws {
        let dev = MemoryBlockDevice(blockSize: 8192, blockCount: 128)
        try LittleFS.format(device: dev)
        let theirs = try Oracle.build(ops: [])
        XCTAssertEqual(theirs.count, dev.storage.count)
        XCTAssertEqual(Array(dev.storage[0..<16384]), Array(theirs[0..<16384]), "blocks 0 and 1 differ from littlefs's format")
        XCTAssertEqual(dev.storage, theirs)
    }

    func testFormat4KBlocksAndMountChecks() throws {
        XCTAssertEqual(LFSConfiguration.esp8266BlockSize(partitionBytes: 1 << 20), 8192)
        XCTAssertEqual(LFSConfiguration.esp8266BlockSize(partitionBytes: 256 << 10), 4096)
        let dev = MemoryBlockDevice(blockSize: 4096, blockCount: 64)
        try LittleFS.format(device: dev)
        let fs = try LittleFS.mount(device: dev)
        try fs.writeFile("/a", [1, 2, 3])
        XCTAssertEqual(try fs.readFile("/a"), [1, 2, 3])
        let o = try Oracle.dump(dev.storage, blockSize: 4096)
        XCTAssertTrue(o.ok, o.error)
        XCTAssertEqual(o.tree, try TestSupport.tree(fs))
    }

    func testInlineThresholdMatchesLittlefs() throws {
        let (dev, fs) = try TestSupport.newFS()
        XCTAssertEqual(fs.inlineMax, 64)
        try fs.writeFile("/s64", [UInt8](repeating: 7, count: 64))
        XCTAssertEqual(try fs.usedBlocks(), 2, "64-byte file must stay inline")
        try fs.writeFile("/s65", [UInt8](repeating: 7, count: 65))
        XCTAssertEqual(try fs.usedBlocks(), 3, "65-byte file needs a CTZ block")
        let theirs = try Oracle.build(ops: [
            ["write", "/s64", String(repeating: "07", count: 64)],
            ["write", "/s65", String(repeating: "07", count: 65)],
        ])
        let o = try Oracle.dump(theirs)
        XCTAssertEqual(o.used, 3)
        let o2 = try Oracle.dump(dev.storage)
        XCTAssertEqual(o2.used, 3)
    }
}
