// The littlefs engine: mount/format, metadata fetch and commit, allocator,
// global state and consistency repair, and the namespace operations.
// File and directory handles live in File.swift / Directory.swift.

/// Location of an open file or directory cursor inside a metadata pair.
/// The engine fixes these up whenever a commit shifts ids, splits a pair or
/// removes an entry (littlefs keeps the same "mlist" of open handles).
final class MLoc {
    var pair: MPair
    var id: Int
    let isDir: Bool
    /// The entry was removed while open.
    var detached = false
    /// Directory cursor ran off the end of its chain.
    var atEnd = false
    /// First pair of an open directory (for rewind).
    var head: MPair? = nil
    init(pair: MPair, id: Int, isDir: Bool) { self.pair = pair; self.id = id; self.isDir = isDir }
}

public final class LittleFS {
    let dev: BlockDevice
    public let config: LFSConfiguration
    let bs: Int
    public let blockCount: Int
    let prog: Int
    let inlineMax: Int
    var nameMax: Int
    var fileMax: Int
    var attrMax: Int

    /// Root directory's first pair (the last pair holding a superblock entry).
    var root: MPair = .superblock
    /// On-disk version of the mounted image.
    public private(set) var diskVersion: UInt32 = 0x0002_0000
    var diskMinor: Int { Int(diskVersion & 0xFFFF) }

    // Global state (SPEC.md "0x7xx LFS2_TYPE_GSTATE"): the desired state, the
    // state currently represented on disk, and deltas stolen from pairs that
    // were dropped from the metadata list and must be re-homed.
    var gstate = GState()
    var gdisk = GState()
    var gdelta = GState()
    /// A pending move or orphans must be resolved before the next write.
    var needsConsistency = false

    // Allocator state (lookahead window over the block address space).
    var lookStart = 0
    var lookSize = 0
    var lookNext = 0
    var ckpoint = 0
    var lookBits: [Bool] = []
    var seed: UInt32 = 0

    /// Statistics: metadata pairs moved for wear leveling, superblock expansions.
    public internal(set) var relocations = 0
    public internal(set) var superblockExpansions = 0

    /// Parsed metadata pairs, valid until the next program/erase.
    var mdirCache: [MPair: MDir] = [:]

    var locs: [MLoc] = []
    var openFiles: [LFSFile] = []
    var scratch: [UInt8]
    public private(set) var isMounted = false

    // MARK: - Creation

    init(device: BlockDevice, config: LFSConfiguration) throws {
        guard device.blockSize >= 128, device.blockCount >= 2 else {
            throw LFSError.invalid("block device too small (block size \(device.blockSize), count \(device.blockCount))")
        }
        guard config.progSize > 0, device.blockSize % config.progSize == 0,
            config.nameMax > 0, config.nameMax <= 1022, config.attrMax <= 1022
        else {
            throw LFSError.invalid("unsupported configuration")
        }
        dev = device
        self.config = config
        bs = device.blockSize
        blockCount = device.blockCount
        prog = config.progSize
        inlineMax = config.inlineMax(blockSize: device.blockSize)
        nameMax = config.nameMax
        fileMax = config.fileMax
        attrMax = config.attrMax
        scratch = [UInt8](repeating: 0, count: device.blockSize)
    }

    /// Format the device (littlefs `lfs_format`): writes the superblock /
    /// root metadata pair into blocks 0 and 1.
    public static func format(device: BlockDevice, config: LFSConfiguration = .esp8266) throws {
        let fs = try LittleFS(device: device, config: config)
        try fs.doFormat()
    }

    /// Mount an existing image (littlefs `lfs_mount`).
    public static func mount(device: BlockDevice, config: LFSConfiguration = .esp8266) throws -> LittleFS {
        let fs = try LittleFS(device: device, config: config)
        try fs.doMount()
        return fs
    }

    /// Release the file system. Open handles become unusable; like
    /// `lfs_unmount` nothing is written (close files first to persist them).
    public func unmount() {
        isMounted = false
        for f in openFiles { f.isOpen = false }
        openFiles.removeAll()
        locs.removeAll()
    }

    func checkMounted() throws {
        if !isMounted { throw LFSError.invalid("file system not mounted") }
    }

    private func doFormat() throws {
        diskVersion = config.diskVersion
        guard diskVersion >> 16 == 2, diskVersion & 0xFFFF <= 1 else { throw LFSError.invalid("unsupported disk version") }
        // Allocator starts at block 0 for a fresh format, so the root pair is {0, 1}.
        lookStart = 0; lookNext = 0; lookSize = min(8 * config.lookaheadSize, blockCount)
        lookBits = [Bool](repeating: false, count: lookSize)
        ckpoint = blockCount
        var dir = try allocDir()
        let sb =
            le32(diskVersion) + le32(UInt32(bs)) + le32(UInt32(blockCount))
            + le32(UInt32(nameMax)) + le32(UInt32(fileMax)) + le32(UInt32(attrMax))
        isMounted = true
        defer { isMounted = false }
        try commit(
            &dir,
            [
                Attr(TagType.create, 0),
                Attr(TagType.superblock, 0, Array("littlefs".utf8)),
                Attr(TagType.inlineStruct, 0, sb),
            ])
        // Force a second compaction so both blocks of the pair carry the new
        // superblock (an older file system could otherwise still be found).
        dir.erased = false
        try commit(&dir, [])
        _ = try fetch(.superblock)
        try sync()
    }

    private func doMount() throws {
        var tail = MPair.superblock
        var seen = Set<MPair>()
        var foundSuperblock = false
        gdisk = GState()
        seed = 0
        while !tail.isNull {
            if seen.contains(tail) || seen.count > blockCount { throw LFSError.corrupt("cycle in metadata list") }
            seen.insert(tail)
            let dir = try fetch(tail)
            seed = CRC32.update(seed, le32(dir.lastCRC))
            if dir.count > 0, dir.entries[0].kind == TagType.superblock {
                guard dir.entries[0].name == Array("littlefs".utf8) else {
                    throw LFSError.corrupt("bad superblock magic")
                }
                try checkSuperblock(dir.entries[0])
                root = dir.pair
                foundSuperblock = true
            }
            gdisk = gdisk ^ dir.state.gdelta
            tail = dir.tail
        }
        guard foundSuperblock else { throw LFSError.invalid("no littlefs superblock found") }
        // On disk only the orphan flag (bit 31) survives; give it a count of one.
        gstate = gdisk
        if gstate.tag & 0x8000_0000 != 0 && gstate.orphanCount == 0 { gstate.tag += 1 }
        gdisk = gstate
        needsConsistency = gstate.hasMove || gstate.hasOrphans
        lookStart = Int(seed % UInt32(blockCount))
        lookSize = 0; lookNext = 0; ckpoint = blockCount
        isMounted = true
    }

    private func checkSuperblock(_ e: MEntry) throws {
        guard e.structType == TagType.inlineStruct else { throw LFSError.corrupt("superblock has no inline struct") }
        var d = e.structData
        if d.count < 24 { d += [UInt8](repeating: 0, count: 24 - d.count) }
        let version = readLE32(d, 0)
        let major = version >> 16, minor = version & 0xFFFF
        guard major == 2, minor <= 1 else {
            throw LFSError.invalid("unsupported disk version \(major).\(minor)")
        }
        let sbBlockSize = Int(readLE32(d, 4)), sbCount = Int(readLE32(d, 8))
        let sbName = Int(readLE32(d, 12)), sbFile = Int(readLE32(d, 16)), sbAttr = Int(readLE32(d, 20))
        guard sbBlockSize == bs else { throw LFSError.invalid("block size mismatch (image \(sbBlockSize), device \(bs))") }
        if config.requireExactBlockCount {
            guard sbCount == blockCount else { throw LFSError.invalid("block count mismatch (image \(sbCount), device \(blockCount))") }
        } else {
            guard sbCount >= 2, sbCount <= blockCount else { throw LFSError.invalid("block count \(sbCount) does not fit device") }
        }
        if sbName != 0 {
            guard sbName <= config.nameMax else { throw LFSError.invalid("unsupported name_max \(sbName) > \(config.nameMax)") }
            nameMax = sbName
        }
        if sbFile != 0 {
            guard sbFile <= config.fileMax else { throw LFSError.invalid("unsupported file_max \(sbFile)") }
            fileMax = sbFile
        }
        if sbAttr != 0 {
            guard sbAttr <= config.attrMax else { throw LFSError.invalid("unsupported attr_max \(sbAttr)") }
            attrMax = sbAttr
        }
        diskVersion = version
    }

    // MARK: - Device wrappers (map device errors to LFSError.io)

    func devRead(_ block: UInt32, _ off: Int, _ buf: UnsafeMutableRawBufferPointer) throws {
        guard Int(block) < blockCount, off >= 0, off + buf.count <= bs else {
            throw LFSError.corrupt("block address \(block) out of range")
        }
        do { try dev.read(block: Int(block), offset: off, into: buf) } catch let e as LFSError { throw e } catch { throw LFSError.io("\(error)") }
    }
    func devReadBytes(_ block: UInt32, _ off: Int, _ count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try devRead(block, off, $0) }
        return out
    }
    func devRead32(_ block: UInt32, _ off: Int) throws -> UInt32 {
        var v: UInt32 = 0
        try withUnsafeMutableBytes(of: &v) { try devRead(block, off, $0) }
        return UInt32(littleEndian: v)
    }
    func devProgram(_ block: UInt32, _ off: Int, _ data: ArraySlice<UInt8>) throws {
        mdirCache.removeAll(keepingCapacity: true)
        guard Int(block) < blockCount else { throw LFSError.corrupt("block address \(block) out of range") }
        do { try data.withUnsafeBytes { try dev.program(block: Int(block), offset: off, $0) } } catch { throw LFSError.io("\(error)") }
    }
    func devErase(_ block: UInt32) throws {
        mdirCache.removeAll(keepingCapacity: true)
        guard Int(block) < blockCount else { throw LFSError.corrupt("block address \(block) out of range") }
        do { try dev.erase(block: Int(block)) } catch { throw LFSError.io("\(error)") }
    }
    func sync() throws {
        do { try dev.sync() } catch { throw LFSError.io("\(error)") }
    }

    // MARK: - Fetch

    /// Read a metadata pair: pick the block with the newest revision that
    /// holds a valid commit (SPEC.md "Metadata block fields", "Revision count").
    func fetch(_ pair: MPair) throws -> MDir {
        guard Int(pair.b0) < blockCount, Int(pair.b1) < blockCount else {
            throw LFSError.corrupt("metadata pair \(pair) out of range")
        }
        let key = pair.b0 <= pair.b1 ? pair : pair.swapped
        if var cached = mdirCache[key] {
            cached.hiddenId = gdisk.hasMove(in: cached.pair) ? gdisk.moveId : nil
            return cached
        }
        let dir = try fetchUncached(pair)
        mdirCache[key] = dir
        return dir
    }

    private func fetchUncached(_ pair: MPair) throws -> MDir {
        let revs = [try devRead32(pair.b0, 0), try devRead32(pair.b1, 0)]
        let order = revisionNewer(revs[1], than: revs[0]) ? [1, 0] : [0, 1]
        for i in order {
            let block = i == 0 ? pair.b0 : pair.b1
            try scratch.withUnsafeMutableBytes { try devRead(block, 0, $0) }
            let parsed = scratch.withUnsafeBytes { parseMetadataBlock($0) }
            guard let p = parsed else { continue }
            var erased = false
            if p.maybeErased && p.off % prog == 0 {
                if let f = p.fcrc {
                    // SPEC.md "0x5ff LFS2_TYPE_FCRC": next commit area must still
                    // checksum like it did when erased.
                    if f.size >= 0, p.off + f.size <= bs {
                        erased = CRC32.update(0xFFFF_FFFF, scratch[p.off..<(p.off + f.size)]) == f.crc
                    }
                } else {
                    // lfs2.0 images have no FCRC: an invalid tag after a commit
                    // means erased space.
                    erased = diskMinor == 0
                }
            }
            var dir = MDir(
                pair: i == 0 ? pair : pair.swapped, rev: revs[i], off: p.off, etag: p.etag,
                erased: erased, state: p.state, lastCRC: p.lastCRC)
            if gdisk.hasMove(in: dir.pair) { dir.hiddenId = gdisk.moveId }
            return dir
        }
        throw LFSError.corrupt("metadata pair \(pair) has no valid commit")
    }
}
