// Path lookup and the namespace operations: stat, mkdir, remove, rename,
// user attributes and usage.

extension LittleFS {
    // MARK: - Path lookup

    struct Lookup {
        var dir: MDir
        /// Entry id if found, insertion id otherwise (0x3ff for the root).
        var id: Int
        var found: Bool
        var isRoot: Bool
        var name: [UInt8]
        var entry: MEntry? { found && !isRoot ? dir.entries[id] : nil }
    }

    func components(_ path: String) -> [[UInt8]] {
        var out: [[UInt8]] = []
        for part in path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            let p = Array(part)
            if p == [UInt8(ascii: ".")] { continue }
            if p == [UInt8(ascii: "."), UInt8(ascii: ".")] { if !out.isEmpty { out.removeLast() }; continue }
            out.append(p)
        }
        return out
    }

    /// Search one directory chain for `name` (entries are kept in littlefs
    /// order across the chain). Returns (pair, id, found).
    func searchDir(head: MPair, name: [UInt8]) throws -> (MDir, Int, Bool) {
        var d = try fetch(head)
        var hops = 0
        while true {
            for id in 0..<d.count where d.visible(id) {
                let c = compareNames(d.entries[id].name, name)
                if c == 0 { return (d, id, true) }
                if c > 0 { return (d, id, false) }
            }
            if !d.split { return (d, d.count, false) }
            hops += 1
            if hops > blockCount { throw LFSError.corrupt("cycle in directory chain") }
            d = try fetch(d.tail)
        }
    }

    func lookup(_ path: String) throws -> Lookup {
        let comps = components(path)
        if comps.isEmpty {
            return Lookup(dir: try fetch(root), id: 0x3FF, found: true, isRoot: true, name: [])
        }
        var head = root
        for (i, name) in comps.enumerated() {
            let (d, id, found) = try searchDir(head: head, name: name)
            if i == comps.count - 1 {
                return Lookup(dir: d, id: id, found: found, isRoot: false, name: name)
            }
            guard found else { throw LFSError.noEntry }
            let e = d.entries[id]
            guard e.isDir else { throw LFSError.notDirectory }
            guard let p = e.dirPair else { throw LFSError.corrupt("directory without dir-struct") }
            head = p
        }
        throw LFSError.noEntry
    }

    func info(of e: MEntry) -> LFSInfo {
        LFSInfo(name: String(decoding: e.name, as: UTF8.self), kind: e.isDir ? .directory : .file, size: e.isDir ? 0 : e.fileSize)
    }

    // MARK: - Namespace operations

    /// `lfs_stat`.
    public func stat(_ path: String) throws -> LFSInfo {
        try checkMounted()
        let l = try lookup(path)
        if l.isRoot { return LFSInfo(name: "/", kind: .directory, size: 0) }
        guard l.found, let e = l.entry else { throw LFSError.noEntry }
        // Like lfs_stat: the committed size (unsynced writes are not visible).
        return info(of: e)
    }

    public func exists(_ path: String) -> Bool { (try? stat(path)) != nil }

    /// `lfs_mkdir`.
    public func mkdir(_ path: String) throws {
        try makeConsistent()
        let l = try lookup(path)
        if l.found { throw LFSError.exists }
        guard l.name.count <= nameMax else { throw LFSError.nameTooLong }
        ckpointAlloc()
        var newDir = try allocDir()
        // Find the end of the parent's chain: the new pair is threaded in after it.
        var pred = l.dir
        var hops = 0
        while pred.split {
            pred = try fetch(pred.tail)
            hops += 1
            if hops > blockCount { throw LFSError.corrupt("cycle in directory chain") }
        }
        try commit(&newDir, [Attr(TagType.softTail, 0x3FF, pred.tail.bytes)])
        var cwd = l.dir
        if cwd.split {
            // Not the end of the list: link pred -> new dir first; the new dir is
            // an orphan until the parent entry is committed.
            gstate.addOrphans(1)
            try commit(&pred, [Attr(TagType.softTail, 0x3FF, newDir.pair.bytes)])
            gstate.addOrphans(-1)
            cwd = try fetch(cwd.pair)
        }
        var attrs = [
            Attr(TagType.create, l.id),
            Attr(TagType.dir, l.id, l.name),
            Attr(TagType.dirStruct, l.id, newDir.pair.bytes),
        ]
        if !cwd.split { attrs.append(Attr(TagType.softTail, 0x3FF, newDir.pair.bytes)) }
        try commit(&cwd, attrs)
    }

    /// `lfs_remove`: removes a file or an empty directory.
    public func remove(_ path: String) throws {
        try makeConsistent()
        let l = try lookup(path)
        if l.isRoot { throw LFSError.invalid("cannot remove root") }
        guard l.found, let e = l.entry else { throw LFSError.noEntry }
        var removedDir: MDir? = nil
        if e.isDir {
            guard let p = e.dirPair else { throw LFSError.corrupt("directory without dir-struct") }
            let d = try fetch(p)
            if d.entries.contains(where: { $0.isNamed }) || d.split { throw LFSError.notEmpty }
            removedDir = d
            gstate.addOrphans(1)
        }
        var dir = l.dir
        try commit(&dir, [Attr(TagType.delete, l.id)])
        if let rd = removedDir {
            gstate.addOrphans(-1)
            try dropFromList(rd)
        }
    }

    /// Unlink a (removed) directory's pair from the metadata list.
    func dropFromList(_ rd: MDir) throws {
        guard var pred = try findPred(rd.pair) else { return }
        gdelta = gdelta ^ rd.state.gdelta
        try commit(&pred, [Attr(TagType.tail + (rd.split ? 1 : 0), 0x3FF, rd.tail.bytes)])
    }

    /// `lfs_rename`: moves a file or directory, replacing an existing
    /// destination of the same kind (a directory destination must be empty).
    public func rename(_ from: String, _ to: String) throws {
        try makeConsistent()
        let src = try lookup(from)
        if src.isRoot { throw LFSError.invalid("cannot rename root") }
        guard src.found, let srcEntry = src.entry else { throw LFSError.noEntry }
        let fromC = components(from), toC = components(to)
        if srcEntry.isDir && toC.count > fromC.count && Array(toC[0..<fromC.count]) == fromC {
            throw LFSError.invalid("cannot move a directory into itself")
        }
        let dst = try lookup(to)
        if dst.isRoot { throw LFSError.invalid("cannot replace root") }
        let samePair = src.dir.pair.sameAs(dst.dir.pair)
        var replacedDir: MDir? = nil
        if dst.found, let de = dst.entry {
            if de.kind != srcEntry.kind { throw de.isDir ? LFSError.isDirectory : LFSError.notDirectory }
            if samePair && dst.id == src.id { return }
            if de.isDir {
                guard let p = de.dirPair else { throw LFSError.corrupt("directory without dir-struct") }
                let d = try fetch(p)
                if d.entries.contains(where: { $0.isNamed }) || d.split { throw LFSError.notEmpty }
                replacedDir = d
                gstate.addOrphans(1)
            }
        } else {
            guard dst.name.count <= nameMax else { throw LFSError.nameTooLong }
        }
        let newId = dst.id
        var oldIdInDst = src.id
        if !dst.found && samePair && newId <= src.id { oldIdInDst += 1 }
        if !samePair {
            // Record the move in gstate so a power loss between the two commits
            // resolves to the new location (SPEC.md "0x7ff LFS2_TYPE_MOVESTATE").
            gstate.prepareMove(id: src.id, pair: src.dir.pair)
        }
        var attrs: [Attr] = []
        if dst.found { attrs.append(Attr(TagType.delete, newId)) }
        attrs.append(Attr(TagType.create, newId))
        attrs.append(Attr(srcEntry.kind ?? TagType.reg, newId, dst.name))
        if let st = srcEntry.structType { attrs.append(Attr(st, newId, srcEntry.structData)) }
        for k in srcEntry.attrs.keys.sorted() { attrs.append(Attr(TagType.userAttr | UInt16(k), newId, srcEntry.attrs[k]!)) }
        if samePair { attrs.append(Attr(TagType.delete, oldIdInDst)) }
        var ddir = dst.dir
        // Re-fetch in case src and dst lookups returned stale copies.
        ddir = try fetch(ddir.pair)
        try commit(&ddir, attrs)
        if !samePair && gstate.hasMove {
            let moveId = gstate.moveId
            let movePair = gstate.pair
            gstate.prepareMove(id: nil, pair: .null)
            var sdir = try fetch(movePair)
            sdir.hiddenId = nil
            try commit(&sdir, [Attr(TagType.delete, moveId)])
        }
        if let rd = replacedDir {
            gstate.addOrphans(-1)
            try dropFromList(rd)
        }
    }

    // MARK: - User attributes

    /// `lfs_getattr`.
    public func getAttribute(_ path: String, type: UInt8) throws -> [UInt8] {
        try checkMounted()
        let l = try lookup(path)
        guard l.found else { throw LFSError.noEntry }
        let e: MEntry = l.isRoot ? (l.dir.entries.first ?? MEntry()) : l.entry!
        guard let v = e.attrs[type] else { throw LFSError.noAttribute }
        return v
    }

    /// `lfs_setattr`.
    public func setAttribute(_ path: String, type: UInt8, value: [UInt8]) throws {
        guard value.count <= attrMax else { throw LFSError.noSpace }
        try makeConsistent()
        let l = try lookup(path)
        guard l.found else { throw LFSError.noEntry }
        var d = l.dir
        try commit(&d, [Attr(TagType.userAttr | UInt16(type), l.isRoot ? 0 : l.id, value)])
    }

    /// `lfs_removeattr`.
    public func removeAttribute(_ path: String, type: UInt8) throws {
        try makeConsistent()
        let l = try lookup(path)
        guard l.found else { throw LFSError.noEntry }
        var d = l.dir
        try commit(&d, [Attr(TagType.userAttr | UInt16(type), l.isRoot ? 0 : l.id, deleted: true)])
    }

    // MARK: - Usage

    /// Number of blocks in use (littlefs `lfs_fs_size`): both blocks of every
    /// metadata pair, every CTZ block, and blocks held by open files.
    public func usedBlocks() throws -> Int {
        try checkMounted()
        return try usedBlocksRaw()
    }

    func usedBlocksRaw() throws -> Int {
        var n = 0
        try traverse { _ in n += 1 }
        return n
    }

    /// Run pending consistency repairs now (littlefs `lfs_fs_mkconsistent`).
    public func makeConsistentNow() throws { try makeConsistent() }
}
