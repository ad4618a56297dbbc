import XCTest

@testable import LittleFSCore

/// Corrupt / foreign images must produce errors, never traps; the device
/// model must catch NOR violations.
final class RobustnessTests: XCTestCase {
    func assertMountFails(_ dev: MemoryBlockDevice, _ what: String, file: StaticString = #filePath, line: UInt = #line) {
        do {
            _ = try LittleFS.mount(device: dev)
            XCTFail("mount of \(what) should fail", file: file, line: line)
        } catch let e as LFSError {
            switch e {
            case .corrupt, .invalid: break
            default: XCTFail("unexpected error \(e) for \(what)", file: file, line: line)
            }
        } catch {
            XCTFail("non-LFSError \(error) for \(what)", file: file, line: line)
        }
    }

    func testUnformattedAndGarbage() throws {
        assertMountFails(MemoryBlockDevice(blockSize: 8192, blockCount: 128), "erased flash")
        assertMountFails(MemoryBlockDevice(blockSize: 8192, blockCount: 128, fill: 0), "zeroed flash")
        var rng = SplitMix(seed: 5)
        for i in 0..<20 {
            let img = TestSupport.randomBytes(8192 * 16, &rng)
            assertMountFails(MemoryBlockDevice(blockSize: 8192, image: img), "garbage #\(i)")
        }
    }

    func testZeroedSuperblock() throws {
        let (dev, fs) = try TestSupport.newFS()
        try fs.writeFile("/x", [1, 2, 3])
        var img = dev.storage
        for i in 0..<(2 * 8192) { img[i] = 0 }
        assertMountFails(MemoryBlockDevice(blockSize: 8192, image: img), "zeroed superblock")
        // Only one block zeroed: the other copy still mounts.
        img = dev.storage
        let newest = try fs.fetch(.superblock).pair.b0
        for i in 0..<8192 { img[Int(newest) * 8192 + i] = 0 }
        let fs2 = try LittleFS.mount(device: MemoryBlockDevice(blockSize: 8192, image: img))
        _ = try fs2.listDirectory("/")
    }

    func testTruncatedAndMismatchedImages() throws {
        let (dev, fs) = try TestSupport.newFS()
        try fs.writeFile("/x", [UInt8](repeating: 9, count: 20000))
        // Truncated: fewer blocks than the superblock claims.
        assertMountFails(MemoryBlockDevice(blockSize: 8192, image: Array(dev.storage[0..<(8192 * 64)])), "truncated image")
        var cfg = LFSConfiguration.esp8266
        cfg.requireExactBlockCount = false
        XCTAssertThrowsError(try LittleFS.mount(device: MemoryBlockDevice(blockSize: 8192, image: Array(dev.storage[0..<(8192 * 64)])), config: cfg))
        // Only the superblock pair survives.
        assertMountFails(MemoryBlockDevice(blockSize: 8192, image: Array(dev.storage[0..<8192])), "one-block image")
        // Wrong block size.
        assertMountFails(MemoryBlockDevice(blockSize: 4096, image: dev.storage), "wrong block size")
        // Foreign magic.
        var img = dev.storage
        for b in 0..<2 { img.replaceSubrange((b * 8192 + 8)..<(b * 8192 + 16), with: Array("bigfsxyz".utf8)) }
        assertMountFails(MemoryBlockDevice(blockSize: 8192, image: img), "foreign magic (CRC now wrong)")
        // Larger-than-supported name_max (littlefs-python's default 255) is refused like littlefs does.
        let other = MemoryBlockDevice(blockSize: 8192, blockCount: 16)
        var big = LFSConfiguration.esp8266
        big.nameMax = 255
        try LittleFS.format(device: other, config: big)
        XCTAssertThrowsError(try LittleFS.mount(device: other)) { e in
            guard case .invalid = e as? LFSError else { return XCTFail("\(e)") }
        }
        XCTAssertNoThrow(try LittleFS.mount(device: other, config: big))
    }

    func testRandomCorruptionNeverTraps() throws {
        let (dev, fs) = try TestSupport.newFS(blocks: 64)
        var rng = SplitMix(seed: 11)
        try fs.mkdir("/d")
        for i in 0..<30 { try fs.writeFile("/d/f\(i)", TestSupport.randomBytes(Int(rng.next() % 12000), &rng)) }
        let good = dev.storage
        var mounted = 0, failed = 0
        for trial in 0..<150 {
            var img = good
            let flips = 1 + Int(rng.next() % 40)
            for _ in 0..<flips {
                let pos = Int(rng.next() % UInt64(img.count))
                img[pos] = UInt8(truncatingIfNeeded: rng.next())
            }
            if trial % 10 == 0 {
                // Smash a whole random block.
                let b = Int(rng.next() % 64)
                for i in 0..<8192 { img[b * 8192 + i] = UInt8(truncatingIfNeeded: rng.next()) }
            }
            let d = MemoryBlockDevice(blockSize: 8192, image: img)
            do {
                let f = try LittleFS.mount(device: d)
                mounted += 1
                // Walk everything; errors are fine, traps are not.
                if let list = try? f.listDirectory("/d") {
                    for e in list where !e.isDirectory && e.size < 1 << 20 { _ = try? f.readFile("/d/" + e.name) }
                }
                _ = try? f.usedBlocks()
                _ = try? f.writeFile("/new", [1, 2, 3])
                _ = try? f.mkdir("/nd")
                _ = try? f.remove("/d/f3")
            } catch is LFSError {
                failed += 1
            }
        }
        XCTAssertEqual(mounted + failed, 150)
        print("corruption: \(mounted) corrupted images mounted, \(failed) refused, none trapped")
    }

    func testNORViolationDetected() throws {
        let dev = MemoryBlockDevice(blockSize: 256, blockCount: 4)
        try [UInt8](repeating: 0x0F, count: 4).withUnsafeBytes { try dev.program(block: 1, offset: 0, $0) }
        // Clearing more bits is fine.
        try [UInt8](repeating: 0x01, count: 4).withUnsafeBytes { try dev.program(block: 1, offset: 0, $0) }
        // Setting a bit back to 1 is not.
        XCTAssertThrowsError(try [UInt8](repeating: 0x03, count: 4).withUnsafeBytes { try dev.program(block: 1, offset: 0, $0) }) { e in
            guard case .norViolation = e as? BlockDeviceError else { return XCTFail("\(e)") }
        }
        try dev.erase(block: 1)
        try [UInt8](repeating: 0x03, count: 4).withUnsafeBytes { try dev.program(block: 1, offset: 0, $0) }
        // Non-strict mode counts violations.
        dev.strictNOR = false
        try [UInt8](repeating: 0xFF, count: 4).withUnsafeBytes { try dev.program(block: 1, offset: 0, $0) }
        XCTAssertEqual(dev.norViolations, 5)
    }

    func testEngineNeverViolatesNOR() throws {
        // A long mixed workload on a non-strict device: every violation is counted.
        let dev = MemoryBlockDevice(blockSize: 4096, blockCount: 64)
        dev.strictNOR = false
        try LittleFS.format(device: dev)
        var fs = try LittleFS.mount(device: dev)
        var rng = SplitMix(seed: 3)
        for i in 0..<400 {
            let p = "/f\(i % 23)"
            switch i % 5 {
            case 0, 1: try fs.writeFile(p, TestSupport.randomBytes(Int(rng.next() % 7000), &rng))
            case 2: try fs.appendFile(p, TestSupport.randomBytes(Int(rng.next() % 300), &rng))
            case 3: if fs.exists(p) { try fs.rename(p, "/r\(i % 7)") }
            default: if fs.exists("/r\(i % 7)") { try fs.remove("/r\(i % 7)") }
            }
            if i % 97 == 0 { fs = try LittleFS.mount(device: dev) }
        }
        XCTAssertEqual(dev.norViolations, 0)
        XCTAssertGreaterThan(dev.eraseCount, 50)
    }

    func testPowerCutModes() throws {
        let dev = MemoryBlockDevice(blockSize: 256, blockCount: 4)
        dev.cutMode = .partial(seed: 9)
        dev.cutAtOperation = 1
        try [UInt8](repeating: 0, count: 8).withUnsafeBytes { try dev.program(block: 0, offset: 0, $0) }
        XCTAssertThrowsError(try [UInt8](repeating: 0, count: 200).withUnsafeBytes { try dev.program(block: 1, offset: 0, $0) })
        let written = dev.storage[256..<456].filter { $0 == 0 }.count
        XCTAssertLessThan(written, 200, "cut program must be partial")
        XCTAssertThrowsError(try dev.erase(block: 2), "device stays dead after a cut")
        dev.powerRestore()
        XCTAssertNoThrow(try dev.erase(block: 2))
    }
}
