// Walks of the threaded metadata list and power-loss repair: finishing an
// interrupted rename (move state) and removing orphaned / re-syncing
// half-orphaned metadata pairs (SPEC.md "0x6xx LFS2_TYPE_TAIL", "0x7ff
// LFS2_TYPE_MOVESTATE").

extension LittleFS {
    // MARK: - Metadata list walks

    /// Visit every metadata pair in the threaded list starting at {0, 1}.
    func forEachMDir(_ body: (MDir) throws -> Bool) throws {
        var tail = MPair.superblock
        var n = 0
        while !tail.isNull {
            n += 1
            if n > blockCount { throw LFSError.corrupt("cycle in metadata list") }
            let d = try fetch(tail)
            if try !body(d) { return }
            tail = d.tail
        }
    }

    /// The pair whose tail points at `pair` (littlefs `lfs_fs_pred`).
    func findPred(_ pair: MPair) throws -> MDir? {
        var found: MDir? = nil
        try forEachMDir { d in
            if d.tail.sameAs(pair) { found = d; return false }
            return true
        }
        return found
    }

    /// The directory entry whose dir-struct points at `pair` (littlefs `lfs_fs_parent`).
    func findParent(_ pair: MPair) throws -> (MDir, Int, MPair)? {
        var found: (MDir, Int, MPair)? = nil
        try forEachMDir { d in
            for (i, e) in d.entries.enumerated() {
                if let p = e.dirPair, p.sameAs(pair) { found = (d, i, p); return false }
            }
            return true
        }
        return found
    }

    // MARK: - Consistency (pending moves and orphans)

    /// Finish an interrupted rename and remove orphaned metadata pairs
    /// (littlefs `lfs_fs_forceconsistency`). Runs before the first write
    /// after mounting.
    func makeConsistent() throws {
        try checkMounted()
        guard needsConsistency else { return }
        if gdisk.hasMove {
            var d = try fetch(gdisk.pair)
            let id = gdisk.moveId
            gstate.prepareMove(id: nil, pair: .null)
            d.hiddenId = nil
            if id < d.count {
                try commit(&d, [Attr(TagType.delete, id)])
            }
        }
        if gstate.hasOrphans {
            try deorphan(fullOrphans: true)
        }
        needsConsistency = false
    }

    /// `fullOrphans` is false when repairing after a relocation cascade:
    /// then only out-of-sync pointers are fixed, as unreferenced pairs may be
    /// intentional (e.g. a directory being created).
    func deorphan(fullOrphans: Bool) throws {
        // Pass 0 fixes half-orphans (list out of sync with the parent's
        // pointer), pass 1 removes full orphans (pairs no directory references).
        var pass = 0
        var guardCount = 0
        while pass < 2 {
            var more = false
            var pdir: MDir? = nil
            var ptail = MPair.superblock
            var psplit = true
            while !ptail.isNull {
                guardCount += 1
                if guardCount > 4 * blockCount + 16 { throw LFSError.corrupt("cannot repair metadata list") }
                let d = try fetch(ptail)
                if !psplit, var pd = pdir {
                    let parent = try findParent(d.pair)
                    if pass == 0, let (_, _, ppair) = parent, !ppair.inSync(d.pair) {
                        var attrs: [Attr] = []
                        if gstate.hasMove(in: pd.pair) {
                            attrs.append(Attr(TagType.delete, gstate.moveId))
                            gstate.prepareMove(id: nil, pair: .null)
                        }
                        attrs.append(Attr(TagType.softTail, 0x3FF, ppair.bytes))
                        if try orphaningCommit(&pd, attrs).orphaned { more = true }
                        pdir = pd; ptail = pd.tail; psplit = pd.split
                        continue
                    }
                    if pass == 1 && parent == nil && fullOrphans {
                        gdelta = gdelta ^ d.state.gdelta
                        if try orphaningCommit(&pd, [Attr(TagType.tail + (d.split ? 1 : 0), 0x3FF, d.tail.bytes)]).orphaned { more = true }
                        pdir = pd; ptail = pd.tail; psplit = pd.split
                        continue
                    }
                }
                pdir = d; ptail = d.tail; psplit = d.split
            }
            pass = more ? 0 : pass + 1
        }
        gstate.addOrphans(-gstate.orphanCount)
    }
}
