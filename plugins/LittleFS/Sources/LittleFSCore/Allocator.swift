// Block allocator (DESIGN.md "The block allocator"): a lookahead bitmap
// covering a window of the block address space is filled by traversing the
// whole file system; free blocks are handed out from it, and the window
// moves forward when exhausted. A checkpoint counter bounds how many blocks
// may be examined since the last point where no allocation was in flight, so
// a block allocated during an operation is never handed out twice and a full
// disk is reported as noSpace instead of looping forever.

extension LittleFS {
    /// Mark a point where every allocated block is reachable (from disk or
    /// from an open file).
    func ckpointAlloc() { ckpoint = blockCount }

    func alloc() throws -> UInt32 {
        while true {
            while lookNext < lookSize {
                if !lookBits[lookNext] {
                    let block = (lookStart + lookNext) % blockCount
                    lookBits[lookNext] = true
                    lookNext += 1
                    ckpoint -= 1
                    return UInt32(block)
                }
                lookNext += 1
                ckpoint -= 1
            }
            if ckpoint <= 0 { throw LFSError.noSpace }
            try scanLookahead()
        }
    }

    private func scanLookahead() throws {
        lookStart = (lookStart + lookNext) % blockCount
        lookNext = 0
        lookSize = min(8 * config.lookaheadSize, ckpoint, blockCount)
        lookBits = [Bool](repeating: false, count: lookSize)
        let start = lookStart, size = lookSize, count = blockCount
        try traverse { b in
            let rel = (Int(b) + count - start) % count
            if rel < size { lookBits[rel] = true }
        }
    }

    /// Visit every block in use: metadata pairs (both blocks), CTZ file
    /// blocks, and blocks owned by open files (dirty or being written).
    func traverse(_ cb: (UInt32) -> Void) throws {
        try forEachMDir { d in
            cb(d.pair.b0); cb(d.pair.b1)
            for e in d.entries {
                if let c = e.ctz { try ctzTraverse(head: c.head, size: c.size, cb) }
            }
            return true
        }
        for f in openFiles where f.isOpen {
            try f.traverseOwnedBlocks(cb)
        }
    }
}
