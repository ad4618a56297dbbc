import XCTest

@testable import LittleFSCore

/// Seeded random operation sequences applied to the engine and to a
/// dictionary model; the result must match, survive a remount, and read back
/// identically in real littlefs.
final class DifferentialTests: XCTestCase {
    var lastRelocations = 0

    func runSeed(
        _ seed: UInt64, ops count: Int = 500, blockSize: Int = 8192, blocks: Int = 128,
        config: LFSConfiguration = .esp8266
    ) throws {
        var rng = SplitMix(seed: seed)
        let dev = MemoryBlockDevice(blockSize: blockSize, blockCount: blocks)
        try LittleFS.format(device: dev, config: config)
        let fs0 = try LittleFS.mount(device: dev, config: config)
        var fs = fs0
        var m = FSModel()
        let dirPool = ["/d0", "/d1", "/d0/e0", "/d1/e1", "/d2"]
        func rnd(_ n: Int) -> Int { Int(rng.next() % UInt64(n)) }
        func randomDir() -> String { rnd(3) == 0 ? "" : dirPool[rnd(dirPool.count)] }
        func randomPath() -> String { randomDir() + "/f\(rnd(12))" }
        func randomData() -> [UInt8] {
            let n: Int
            switch rnd(10) {
            case 0..<4: n = rnd(65)
            case 4..<7: n = rnd(600)
            case 7..<9: n = rnd(9000)
            default: n = rnd(40000)
            }
            return TestSupport.randomBytes(n, &rng)
        }
        var executed = 0
        var relocations = 0
        for step in 0..<count {
            let total = m.files.values.reduce(0) { $0 + $1.count }
            var op: FSOp
            let kind = total > 350_000 ? 3 : rnd(12)
            switch kind {
            case 0, 1: op = .write(randomPath(), randomData())
            case 2: op = .append(randomPath(), randomData())
            case 3:  // remove a file (or try a dir)
                if let k = m.files.keys.sorted().randomElement(using: &rng), rnd(4) != 0 { op = .remove(k) } else { op = .remove(dirPool[rnd(dirPool.count)]) }
            case 4: op = .mkdir(dirPool[rnd(dirPool.count)])
            case 5, 6:
                let src = m.files.keys.sorted().randomElement(using: &rng) ?? randomPath()
                op = .rename(src, rnd(5) == 0 ? (m.files.keys.sorted().randomElement(using: &rng) ?? randomPath()) : randomPath())
            case 7:
                let a = dirPool[rnd(dirPool.count)], b = dirPool[rnd(dirPool.count)]
                op = .rename(a, b)
            case 8:
                guard let k = m.files.keys.sorted().randomElement(using: &rng) else { continue }
                op = .patch(k, rnd(m.files[k]!.count + 100), TestSupport.randomBytes(rnd(12000), &rng))
            case 9:
                guard let k = m.files.keys.sorted().randomElement(using: &rng) else { continue }
                op = .truncate(k, rnd(m.files[k]!.count * 2 + 10))
            case 10: op = .writeChunked(randomPath(), randomData(), 1 + rnd(3000))
            default:
                // read-back check of a random file
                if let k = m.files.keys.sorted().randomElement(using: &rng) {
                    XCTAssertEqual(try fs.readFile(k), m.files[k], "seed \(seed) step \(step) read \(k)")
                }
                continue
            }
            // Expected outcome from the model.
            var expectError = false
            switch op {
            case let .write(p, _), let .writeChunked(p, _, _), let .append(p, _):
                expectError = !m.parentExists(p) || m.dirs.contains(p)
            case let .remove(p):
                expectError = !m.exists(p) || (m.dirs.contains(p) && !m.isEmptyDir(p))
            case let .mkdir(p):
                expectError = m.exists(p) || !m.parentExists(p)
            case let .rename(a, b):
                if !m.exists(a) || !m.parentExists(b) {
                    expectError = true
                } else if a == b {
                    expectError = false
                } else if m.dirs.contains(a) && (b.hasPrefix(a + "/")) {
                    expectError = true
                } else if m.exists(b) {
                    if m.dirs.contains(a) != m.dirs.contains(b) { expectError = true } else if m.dirs.contains(b) && !m.isEmptyDir(b) { expectError = true }
                }
            case .patch, .truncate: expectError = false
            }
            do {
                try op.apply(fs)
                XCTAssertFalse(expectError, "seed \(seed) step \(step): \(op) should have failed")
                m = op.apply(m)
            } catch let e as LFSError {
                XCTAssertTrue(expectError, "seed \(seed) step \(step): \(op) failed: \(e)")
                if case .noSpace = e { XCTFail("unexpected noSpace") }
                if case .corrupt = e { XCTFail("corrupt: \(e)"); return }
                if case .io = e { XCTFail("io: \(e)"); return }
            }
            executed += 1
            if step % 50 == 49 {
                XCTAssertEqual(FSModel(tree: try TestSupport.tree(fs)), m, "seed \(seed) step \(step)")
                if rnd(2) == 0 { relocations += fs.relocations; fs = try LittleFS.mount(device: dev, config: config) }
            }
        }
        XCTAssertGreaterThan(executed, count / 2)
        lastRelocations = relocations + fs.relocations
        print(
            "seed \(seed) (\(blockSize)-byte blocks): relocations \(relocations + fs.relocations), \(executed) ops executed, final \(m.files.count) files / \(m.dirs.count) dirs, \(m.files.values.reduce(0) { $0 + $1.count }) bytes, device ops \(dev.mutatingOps)"
        )
        let ours = try TestSupport.tree(fs)
        XCTAssertEqual(FSModel(tree: ours), m, "seed \(seed) final")
        let remounted = try LittleFS.mount(device: dev, config: config)
        XCTAssertEqual(try TestSupport.tree(remounted), ours)
        let o = try Oracle.dump(dev.storage, blockSize: blockSize)
        XCTAssertTrue(o.ok, o.error)
        XCTAssertEqual(o.tree, ours, "seed \(seed): littlefs sees a different tree")
        XCTAssertEqual(o.used, try remounted.usedBlocks())
        XCTAssertEqual(dev.norViolations, 0)
    }

    func testSeed1() throws { try runSeed(1) }
    func testSeed2() throws { try runSeed(2) }
    func testSeed3() throws { try runSeed(3) }
    func testSeed4() throws { try runSeed(0xDEAD_BEEF) }

    /// Small blocks and block_cycles 2: constant splits, relocations and
    /// superblock expansion under random operations.
    func testSeedSmallBlocksRelocating() throws {
        var cfg = LFSConfiguration.esp8266
        cfg.blockCycles = 2
        try runSeed(77, ops: 1500, blockSize: 1024, blocks: 1024, config: cfg)
        XCTAssertGreaterThan(lastRelocations, 20)
    }
}
