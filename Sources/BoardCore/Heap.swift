/// The emulated ESP8266 DRAM heap, with umm_malloc's accounting.
///
/// umm_malloc (the core's allocator) works in 8-byte blocks: an allocation of n
/// bytes takes `1 + ceil((n - 4) / 8)` blocks (a 4-byte header shares the first
/// block), so a 184-byte `tcp_pcb` costs 24 blocks = 192 bytes. Placement is best
/// fit (the core's default, `UMM_BEST_FIT`), which makes `maxFreeBlockSize` and
/// `fragmentation` meaningful. Nothing is stored: the heap only accounts.
///
/// Mirrors `ESP.getFreeHeap()` (`umm_free_heap_size`), `ESP.getMaxFreeBlockSize()`
/// (`umm_max_block_size`) and `ESP.getHeapFragmentation()` (Esp-frag.cpp).
public final class Heap {
    public static let blockSize = 8

    /// A live allocation.
    public struct Allocation: Sendable {
        public let start: Int
        public let blocks: Int
        public let requested: Int
        public let owner: String
    }

    /// Total heap size in bytes (whole blocks).
    public private(set) var capacity: Int
    private var freeRuns: [(start: Int, count: Int)]  // sorted by start, coalesced
    private var live: [Int32: Allocation] = [:]
    private var nextHandle: Int32 = 0
    /// The last allocation that failed (size), as umm's `umm_last_fail_alloc_size`.
    public private(set) var lastFailedSize: Int?
    public private(set) var failures = 0
    /// Counts every change of the free runs (an allocation, a free, a reset): a reader
    /// that saw the same count needs not sum the runs again (the loop's heap sample).
    public private(set) var changes = 0

    public init(capacity bytes: Int) {
        let blocks = bytes / Heap.blockSize
        self.capacity = blocks * Heap.blockSize
        self.freeRuns = blocks > 0 ? [(0, blocks)] : []
    }

    /// Blocks umm_malloc uses for a request of `n` bytes.
    public static func blocks(for n: Int) -> Int {
        n <= 4 ? 1 : 1 + (n - 4 + 7) / 8
    }

    /// Bytes of heap a request of `n` bytes really costs.
    public static func cost(of n: Int) -> Int { blocks(for: n) * blockSize }

    /// Allocates `bytes`; nil when no free run is large enough (the core's malloc returns NULL).
    public func allocate(_ bytes: Int, owner: String = "") -> Int32? {
        let need = Heap.blocks(for: bytes)
        var best: Int?
        for (i, run) in freeRuns.enumerated() where run.count >= need {
            if best == nil || run.count < freeRuns[best!].count { best = i }
            if run.count == need { break }
        }
        guard let index = best else {
            lastFailedSize = bytes
            failures += 1
            return nil
        }
        let start = freeRuns[index].start
        if freeRuns[index].count == need {
            freeRuns.remove(at: index)
        } else {
            freeRuns[index] = (start + need, freeRuns[index].count - need)
        }
        changes &+= 1
        let handle = nextHandle
        nextHandle = nextHandle == Int32.max ? 0 : nextHandle + 1
        live[handle] = Allocation(start: start, blocks: need, requested: bytes, owner: owner)
        return handle
    }

    /// Frees an allocation made by `allocate`. Unknown handles are ignored.
    public func free(_ handle: Int32) {
        guard let a = live.removeValue(forKey: handle) else { return }
        changes &+= 1
        insertFree(start: a.start, count: a.blocks)
    }

    private func insertFree(start: Int, count: Int) {
        var lo = 0, hi = freeRuns.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if freeRuns[mid].start < start { lo = mid + 1 } else { hi = mid }
        }
        freeRuns.insert((start, count), at: lo)
        // coalesce with the next, then the previous run
        if lo + 1 < freeRuns.count, freeRuns[lo].start + freeRuns[lo].count == freeRuns[lo + 1].start {
            freeRuns[lo].count += freeRuns[lo + 1].count
            freeRuns.remove(at: lo + 1)
        }
        if lo > 0, freeRuns[lo - 1].start + freeRuns[lo - 1].count == freeRuns[lo].start {
            freeRuns[lo - 1].count += freeRuns[lo].count
            freeRuns.remove(at: lo)
        }
    }

    /// `ESP.getFreeHeap()`: free blocks × 8.
    public var freeBytes: Int { freeRuns.reduce(0) { $0 + $1.count } * Heap.blockSize }
    public var usedBytes: Int { capacity - freeBytes }

    /// `ESP.getMaxFreeBlockSize()`: the largest contiguous free run, in bytes.
    /// (No array built: the loop reads it after every pass that changed the heap while the
    /// page or a trace watches `.heap`.)
    public var maxFreeBlockSize: Int { freeRuns.reduce(0) { max($0, $1.count) } * Heap.blockSize }

    /// `ESP.getHeapFragmentation()`: `100 - sqrt(Σ run²) * 100 / Σ run`, in percent.
    public var fragmentation: Int {
        let total = freeRuns.reduce(0) { $0 + $1.count }
        guard total > 0 else { return 0 }
        let squares = freeRuns.reduce(0.0) { $0 + Double($1.count) * Double($1.count) }
        return 100 - Int((squares.squareRoot() * 100).rounded(.down)) / total
    }

    public var liveAllocations: [Allocation] { Array(live.values) }
    public var liveCount: Int { live.count }

    /// Grows or shrinks the heap so that `freeBytes == free` (used once at
    /// power-on to calibrate to a measured board). Requires the tail to be free when shrinking.
    public func calibrate(freeBytes target: Int) {
        let delta = (target - freeBytes) / Heap.blockSize
        let endBlock = capacity / Heap.blockSize
        if delta > 0 {
            insertFree(start: endBlock, count: delta)
        } else if delta < 0, let last = freeRuns.last, last.start + last.count == endBlock, last.count >= -delta {
            if last.count == -delta { freeRuns.removeLast() } else { freeRuns[freeRuns.count - 1].count += delta }
        } else if delta < 0 {
            return
        }
        capacity += delta * Heap.blockSize
        changes &+= 1
    }

    /// Forgets every allocation (power cycle / reboot).
    public func reset() {
        live.removeAll()
        changes &+= 1
        let blocks = capacity / Heap.blockSize
        freeRuns = blocks > 0 ? [(0, blocks)] : []
        lastFailedSize = nil
    }
}
