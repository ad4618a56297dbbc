// CTZ skip-lists (SPEC.md "0x202 LFS2_TYPE_CTZSTRUCT", DESIGN.md "CTZ
// skip-lists"). Block n of a file (n >= 1) starts with ctz(n)+1 little-endian
// pointers; pointer i points at block n - 2^i. Block 0 has no pointers.
// The file is referenced by its last block ("head") and its size.

extension LittleFS {
    /// Number of pointers at the start of block `n`.
    @inline(__always) func ctzPointers(_ n: Int) -> Int { n == 0 ? 0 : n.trailingZeroBitCount + 1 }

    /// File offset at which block `n`'s data begins:
    /// n*B - 4*(2(n-1) - popcount(n-1)) for n >= 1 (sum of the capacities of
    /// blocks 0..<n, where block k holds B - 4*(ctz(k)+1) bytes).
    @inline(__always) func ctzStart(_ n: Int) -> Int {
        n == 0 ? 0 : n * bs - 4 * (2 * (n - 1) - (n - 1).nonzeroBitCount)
    }

    /// Block index and in-block offset of file position `pos`.
    func ctzLocate(_ pos: Int) -> (index: Int, off: Int) {
        var n = pos / bs
        while ctzStart(n + 1) <= pos { n += 1 }
        return (n, pos - ctzStart(n) + 4 * ctzPointers(n))
    }

    /// Find the block holding file position `pos` in the list (head, size).
    func ctzFind(head: UInt32, size: Int, pos: Int) throws -> (block: UInt32, off: Int) {
        guard size > 0 else { throw LFSError.corrupt("seek in empty ctz list") }
        var current = ctzLocate(size - 1).index
        let (target, off) = ctzLocate(pos)
        var block = head
        var steps = 0
        while current > target {
            // Largest power-of-two jump that does not overshoot.
            let diff = current - target
            let skip = min(current.trailingZeroBitCount, Int.bitWidth - 1 - diff.leadingZeroBitCount)
            block = try devRead32(block, 4 * skip)
            current -= 1 << skip
            steps += 1
            if steps > 64 + blockCount { throw LFSError.corrupt("ctz list loop") }
        }
        return (block, off)
    }

    /// Visit every block of a CTZ list by following pointer 0.
    func ctzTraverse(head: UInt32, size: Int, _ cb: (UInt32) -> Void, firstBlockPointers: ((Int) -> UInt32)? = nil) throws {
        guard size > 0 else { return }
        var index = ctzLocate(size - 1).index
        var block = head
        var first = true
        while true {
            guard Int(block) < blockCount else { throw LFSError.corrupt("ctz pointer out of range") }
            cb(block)
            if index == 0 { break }
            if first, let p = firstBlockPointers { block = p(0) } else { block = try devRead32(block, 0) }
            first = false
            index -= 1
        }
    }

    /// Start a new block to continue a file whose first `size` bytes are in
    /// the list ending at `head` (`head` is the block holding byte size-1).
    /// Returns the new block and its initial contents: either a copy of the
    /// partially filled last block, or the skip-list pointers of a fresh block.
    func ctzExtend(head: UInt32, size: Int) throws -> (block: UInt32, buffer: [UInt8], off: Int) {
        let nb = try alloc()
        try devErase(nb)
        var buf = [UInt8](repeating: 0xFF, count: bs)
        if size == 0 { return (nb, buf, 0) }
        let (index, o) = ctzLocate(size - 1)
        let used = o + 1
        if used != bs {
            // Last block is partial: copy it (copy-on-write, never reprogram).
            let old = try devReadBytes(head, 0, used)
            buf.replaceSubrange(0..<used, with: old)
            return (nb, buf, used)
        }
        let n = index + 1
        let count = ctzPointers(n)
        var ptr = head
        for i in 0..<count {
            buf.replaceSubrange((4 * i)..<(4 * i + 4), with: le32(ptr))
            if i != count - 1 { ptr = try devRead32(ptr, 4 * i) }
        }
        return (nb, buf, 4 * count)
    }
}
