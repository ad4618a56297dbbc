// Metadata commits (SPEC.md "Directories / Metadata pairs", "0x5xx
// LFS2_TYPE_CRC", "0x5ff LFS2_TYPE_FCRC"): appending a commit to a pair's
// log, compacting a full log into the pair's other block, splitting a pair
// that outgrows half a block, relocating a worn pair (block_cycles) and
// expanding the superblock pair.

extension LittleFS {
    // MARK: - Commits

    /// Builds the byte image of one commit (SPEC.md "Metadata tags": tags are
    /// XOR-chained, stored big-endian; CRC covers tags and data).
    struct CommitWriter {
        var buf: [UInt8] = []
        let base: Int
        var ptag: UInt32
        var crc: UInt32 = 0xFFFF_FFFF
        init(base: Int, ptag: UInt32) { self.base = base; self.ptag = ptag; buf.reserveCapacity(256) }
        var off: Int { base + buf.count }
        mutating func raw(_ bytes: [UInt8]) { buf += bytes; crc = CRC32.update(crc, bytes) }
        mutating func add(_ tag: Tag, _ data: [UInt8]) {
            let t = tag.raw & 0x7FFF_FFFF
            raw(be32(t ^ ptag))
            if !data.isEmpty { raw(data) }
            ptag = t
        }
    }

    /// Close a commit with (optional FCRC and) a CRC tag padded to the next
    /// program unit. Returns (end offset, etag for the next commit).
    func finishCommit(_ w: inout CommitWriter, block: UInt32) throws -> (Int, UInt32) {
        let noff = alignUp(min(w.off + 20, bs), prog)
        var eperturb: UInt8 = 0xFF
        if noff <= bs - prog {
            // Choose the valid-bit polarity from what is actually in the next
            // commit's first byte, so an unwritten next commit reads invalid.
            let next = try devReadBytes(block, noff, prog)
            eperturb = next[0]
            if diskMinor >= 1 {
                let fcrc = CRC32.update(0xFFFF_FFFF, next)
                w.add(Tag(type: TagType.fcrc, id: 0x3FF, size: 8), le32(UInt32(prog)) + le32(fcrc))
            }
        }
        let chunk: UInt16 = (eperturb & 0x80) == 0 ? 1 : 0
        let ntag = Tag(type: TagType.crc + chunk, id: 0x3FF, size: noff - (w.off + 4))
        w.raw(be32(ntag.raw ^ w.ptag))
        w.buf += le32(w.crc)
        while w.off < noff { w.buf.append(0xFF) }
        return (noff, ntag.raw ^ (UInt32(chunk) << 31))
    }

    /// Commit attributes to a metadata pair and carry out everything the
    /// commit implies: dropping an emptied pair, and, when the pair was
    /// relocated for wear leveling, updating its parent and predecessor.
    /// Returns false if the pair was dropped from its directory.
    @discardableResult
    func commit(_ dir: inout MDir, _ attrs: [Attr]) throws -> Bool {
        let r = try orphaningCommit(&dir, attrs)
        if r.orphaned {
            // A nested relocation left the metadata list out of sync.
            try deorphan(fullOrphans: false)
        }
        return !r.dropped
    }

    /// Commit, then fix up drops and relocations (which may cascade: a
    /// parent updated because its child moved may itself relocate).
    /// `orphaned` reports a half-orphan left for `deorphan` to repair.
    func orphaningCommit(_ dir: inout MDir, _ attrs: [Attr]) throws -> (dropped: Bool, orphaned: Bool) {
        let old = dir
        var ns = dir.state
        var hasDelete = false
        for a in attrs {
            ns.apply(a.tag, a.data[...])
            if a.type == TagType.delete { hasDelete = true }
        }

        // An emptied pair in the middle of a directory chain is unlinked
        // instead of committed (its predecessor takes over its tail).
        if hasDelete && ns.entries.isEmpty, let pred = try findPred(dir.pair), pred.split {
            fixupHandles(old: old.pair, attrs: attrs, newDir: nil)
            gdelta = gdelta ^ dir.state.gdelta
            var p = pred
            let r = try orphaningCommit(&p, [Attr(TagType.tail + (dir.split ? 1 : 0), 0x3FF, dir.tail.bytes)])
            for l in locs where l.isDir && l.pair.sameAs(old.pair) {
                l.pair = dir.tail; l.id = 0
                if !dir.split { l.atEnd = true }
            }
            return (true, r.orphaned)
        }

        let relocatedFrom = try relocatingCommit(&dir, ns, attrs)
        fixupHandles(old: old.pair, attrs: attrs, newDir: dir)
        guard let from = relocatedFrom else { return (false, false) }
        return (false, try fixRelocation(from: from, to: dir))
    }

    /// Write the commit: append if the block has room, otherwise compact
    /// (splitting if needed). Returns the old pair if it was relocated.
    func relocatingCommit(_ dir: inout MDir, _ ns: MState, _ attrs: [Attr]) throws -> MPair? {
        var ns = ns
        let pending = (gstate ^ gdisk ^ gdelta).diskForm
        if dir.erased {
            var w = CommitWriter(base: dir.off, ptag: dir.etag)
            for a in attrs { w.add(a.tag, a.data) }
            var newDelta = ns.gdelta
            if !pending.isZero {
                newDelta = ns.gdelta ^ pending
                w.add(Tag(type: TagType.moveState, id: 0x3FF, size: 12), newDelta.bytes)
            }
            if w.off <= bs - 8 {
                let block = dir.pair.b0
                let (noff, etag) = try finishCommit(&w, block: block)
                try devProgram(block, dir.off, w.buf[...])
                ns.gdelta = newDelta
                dir.state = ns
                dir.off = noff
                dir.etag = etag
                gdisk = gstate
                gdelta = GState()
                dir.hiddenId = gdisk.hasMove(in: dir.pair) ? gdisk.moveId : nil
                return nil
            }
        }
        let from = try splittingCompact(&dir, ns)
        dir.hiddenId = gdisk.hasMove(in: dir.pair) ? gdisk.moveId : nil
        return from
    }

    /// After `ldir` was relocated away from `lpair`, point its parent's
    /// dir-struct and its predecessor's tail at the new blocks. The parent is
    /// updated first with the orphan flag set, so a power loss in between
    /// leaves a half-orphan that `deorphan` repairs. Returns true if a
    /// cascade left such a half-orphan behind.
    func fixRelocation(from lpairIn: MPair, to ldirIn: MDir) throws -> Bool {
        var lpair = lpairIn
        var ldir = ldirIn
        var orphaned = false
        var rounds = 0
        while true {
            rounds += 1
            if rounds > 4 * blockCount { throw LFSError.corrupt("relocation does not terminate") }
            if lpair.sameAs(root) { root = ldir.pair }
            for l in locs {
                if l.pair.sameAs(lpair) { l.pair = ldir.pair }
                if let h = l.head, h.sameAs(lpair) { l.head = ldir.pair }
            }
            var hasParent = false
            if let (pfound, pid, _) = try findParent(lpair) {
                hasParent = true
                var pdir = pfound
                gstate.addOrphans(1)
                var attrs: [Attr] = []
                var id = pid
                if gstate.hasMove(in: pdir.pair) {
                    // Finish a pending move here: relocation may outdate it.
                    let mid = gstate.moveId
                    gstate.prepareMove(id: nil, pair: .null)
                    attrs.append(Attr(TagType.delete, mid))
                    if mid < id { id -= 1 }
                }
                attrs.append(Attr(TagType.dirStruct, id, ldir.pair.bytes))
                let pold = pdir
                let r = try relocatingCommit(&pdir, applying(attrs, to: pdir.state), attrs)
                fixupHandles(old: pold.pair, attrs: attrs, newDir: pdir)
                if let rfrom = r {
                    lpair = rfrom
                    ldir = pdir
                    orphaned = true
                    continue
                }
            }
            if var pdir = try findPred(lpair) {
                if gstate.hasOrphans && hasParent { gstate.addOrphans(-1) }
                var attrs: [Attr] = []
                if gstate.hasMove(in: pdir.pair) {
                    attrs.append(Attr(TagType.delete, gstate.moveId))
                    gstate.prepareMove(id: nil, pair: .null)
                }
                attrs.append(Attr(TagType.tail + (pdir.split ? 1 : 0), 0x3FF, ldir.pair.bytes))
                let pold = pdir
                let r = try relocatingCommit(&pdir, applying(attrs, to: pdir.state), attrs)
                fixupHandles(old: pold.pair, attrs: attrs, newDir: pdir)
                if let rfrom = r {
                    lpair = rfrom
                    ldir = pdir
                    continue
                }
            }
            return orphaned
        }
    }

    func applying(_ attrs: [Attr], to st: MState) -> MState {
        var ns = st
        for a in attrs { ns.apply(a.tag, a.data[...]) }
        return ns
    }

    /// True if compacting this pair now should move it to a new block
    /// (littlefs relocates metadata every block_cycles erases; the modulus
    /// is forced odd so the two blocks of a pair alternate).
    func isTired(_ dir: MDir) -> Bool {
        guard config.blockCycles > 0 else { return false }
        return (dir.rev &+ 1) % UInt32((config.blockCycles + 1) | 1) == 0
    }

    /// Compact `ns` into `dir`'s other block. If the result would exceed half
    /// a block (or 255 ids), the tail end is split off into new pairs first.
    /// A tired superblock pair {0, 1} is expanded instead: its entries move to
    /// a new root pair and {0, 1} keeps only the superblock entry.
    /// Returns the old pair if the final compaction relocated.
    func splittingCompact(_ dir: inout MDir, _ ns: MState) throws -> MPair? {
        let entries = ns.entries
        var end = entries.count
        var tail = ns.tail
        var split = ns.split
        let limit = min(bs - 40, alignUp(bs / 2, prog))
        while true {
            var s = 0
            while end - s > 1 {
                var size = 0
                for i in s..<end { size += entries[i].compactedSize }
                if end - s < 0xFF && size <= limit { break }
                s += (end - s) / 2
            }
            if s == 0 { break }
            var nd = try allocDir()
            _ = try compact(&nd, entries[s..<end], tail: tail, split: split, baseDelta: GState(), carryGlobal: false)
            tail = nd.pair
            split = true
            end = s
        }
        if isTired(dir) && dir.pair.sameAs(.superblock) && end > 1 {
            // Only expand while the file system is less than ~7/8 full: an
            // expanded superblock chain is never reclaimed.
            let used = try usedBlocksRaw()
            if blockCount - used > blockCount / 8 {
                do {
                    var nd = try allocDir()
                    _ = try compact(&nd, entries[0..<end], tail: tail, split: split, baseDelta: GState(), carryGlobal: false)
                    if dir.pair.sameAs(root) { root = nd.pair }
                    superblockExpansions += 1
                    tail = nd.pair
                    split = true
                    end = 1
                } catch LFSError.noSpace {
                    // Not fatal: compact in place.
                }
            }
        }
        return try compact(&dir, entries[0..<end], tail: tail, split: split, baseDelta: ns.gdelta)
    }

    /// Erase the pair's older block (or, when tired, a newly allocated one)
    /// and write the given entries into it as a single commit with an
    /// incremented revision; the pair then swaps. Returns the old pair if the
    /// pair was relocated.
    ///
    /// Pending global-state changes are only written by the compaction that
    /// makes the change visible (`carryGlobal`): pairs split off first are
    /// reachable only through the main pair's new tail, which — if the main
    /// pair relocates — is not on the metadata list until its predecessor is
    /// updated, so a delta stored there could be lost on power failure.
    func compact(
        _ dir: inout MDir, _ entries: ArraySlice<MEntry>, tail: MPair, split: Bool, baseDelta: GState,
        carryGlobal: Bool = true
    ) throws -> MPair? {
        let rev = dir.rev &+ 1
        var target = dir.pair.b1
        var relocated = false
        if isTired(dir) && !dir.pair.sameAs(.superblock) {
            do {
                target = try alloc()
                relocated = true
                relocations += 1
            } catch LFSError.noSpace {
                // Wear leveling is best effort.
            }
        }
        try devErase(target)
        var w = CommitWriter(base: 0, ptag: 0xFFFF_FFFF)
        w.raw(le32(rev))
        var id = 0
        for e in entries {
            for (t, d) in e.tags(id: id) { w.add(t, d) }
            id += 1
            if w.off > bs - 8 { throw LFSError.noSpace }
        }
        if !tail.isNull {
            w.add(Tag(type: TagType.tail + (split ? 1 : 0), id: 0x3FF, size: 8), tail.bytes)
        }
        // A relocated pair is not yet referenced; the pending global change is
        // written by the parent/predecessor commits that follow.
        let pending = !carryGlobal ? GState() : (relocated ? gdelta : (gstate ^ gdisk ^ gdelta)).diskForm
        let newDelta = baseDelta ^ pending
        if !newDelta.isZero {
            w.add(Tag(type: TagType.moveState, id: 0x3FF, size: 12), newDelta.bytes)
        }
        if w.off > bs - 8 { throw LFSError.noSpace }
        let (noff, etag) = try finishCommit(&w, block: target)
        try devProgram(target, 0, w.buf[...])
        let old = dir.pair
        dir = MDir(
            pair: MPair(target, dir.pair.b0), rev: rev, off: noff, etag: etag, erased: true,
            state: MState(entries: Array(entries), tail: tail, split: split, gdelta: newDelta),
            lastCRC: 0)
        if carryGlobal {
            if !relocated { gdisk = gstate }
            gdelta = GState()
        }
        return relocated ? old : nil
    }

    /// Allocate a fresh metadata pair (not yet written). Its revision
    /// continues from whatever the block held, aligned so that wear-leveling
    /// relocation does not trigger immediately.
    func allocDir() throws -> MDir {
        let b1 = try alloc()
        let b0 = try alloc()
        var rev = (try? devRead32(b0, 0)) ?? 0
        if config.blockCycles > 0 {
            let m = UInt32((config.blockCycles + 1) | 1)
            let t = rev &+ (m - 1)
            rev = t - (t % m)
        }
        return MDir(pair: MPair(b0, b1), rev: rev, off: 4, etag: 0xFFFF_FFFF, erased: false, state: MState())
    }

    /// Keep open handles pointing at the right (pair, id) after a commit.
    func fixupHandles(old: MPair, attrs: [Attr], newDir: MDir?) {
        for l in locs where !l.detached && l.pair.sameAs(old) {
            for a in attrs {
                if a.type == TagType.delete {
                    if l.id == a.id && !l.isDir {
                        l.detached = true
                    } else if l.id > a.id {
                        l.id -= 1
                    }
                } else if a.type == TagType.create, l.id >= a.id {
                    l.id += 1
                }
            }
            guard !l.detached, let nd = newDir else { continue }
            l.pair = nd.pair
            var d = nd
            while l.id >= d.count && d.split {
                // Entries split into a new root (superblock expansion) keep
                // their ids: the new root repeats the superblock entry at id 0.
                if !d.tail.sameAs(root) { l.id -= d.count }
                guard let next = try? fetch(d.tail) else { break }
                d = next
                l.pair = d.pair
            }
        }
    }
}
