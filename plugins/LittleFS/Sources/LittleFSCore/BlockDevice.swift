// Block device abstraction used by the littlefs engine.
//
// The engine only ever programs bytes that it believes are erased, and only
// programs whole `progSize` units at `progSize`-aligned offsets. Erase sets a
// whole block to 0xFF (NOR flash semantics).

/// Errors raised by block devices themselves (not by the file system).
public enum BlockDeviceError: Error, Equatable, CustomStringConvertible {
    /// Address outside the device.
    case outOfRange(block: Int, offset: Int, length: Int)
    /// A program tried to turn a 0 bit back into 1 (NOR flash can only clear bits).
    case norViolation(block: Int, offset: Int, old: UInt8, new: UInt8)
    /// Simulated power loss: the operation was cut (possibly half-done) and
    /// the device refuses further operations until `powerRestore()`.
    case powerCut(operation: Int)
    /// Any other device failure.
    case failure(String)

    public var description: String {
        switch self {
        case let .outOfRange(b, o, l): return "block device: out of range access block \(b) offset \(o) length \(l)"
        case let .norViolation(b, o, old, new):
            return "block device: NOR violation at block \(b) offset \(o): 0x\(String(old, radix: 16)) -> 0x\(String(new, radix: 16))"
        case let .powerCut(n): return "block device: power cut at operation #\(n)"
        case let .failure(s): return "block device: \(s)"
        }
    }
}

public protocol BlockDevice: AnyObject {
    /// Logical (erase) block size in bytes.
    var blockSize: Int { get }
    /// Number of blocks.
    var blockCount: Int { get }
    func read(block: Int, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws
    func program(block: Int, offset: Int, _ data: UnsafeRawBufferPointer) throws
    func erase(block: Int) throws
    func sync() throws
}

extension BlockDevice {
    func readBytes(block: Int, offset: Int, count: Int) throws -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        try out.withUnsafeMutableBytes { try read(block: block, offset: offset, into: $0) }
        return out
    }
    func programBytes(block: Int, offset: Int, _ bytes: ArraySlice<UInt8>) throws {
        try bytes.withUnsafeBytes { try program(block: block, offset: offset, $0) }
    }
}

/// In-memory NOR flash. Enforces "program only clears bits", counts
/// operations and can simulate a power cut at the N-th program/erase.
public final class MemoryBlockDevice: BlockDevice {
    public let blockSize: Int
    public let blockCount: Int
    /// Raw contents (blockSize * blockCount bytes).
    public private(set) var storage: [UInt8]

    /// When true (default) a NOR violation throws; otherwise it is recorded
    /// in `norViolations` and the AND of old and new data is stored.
    public var strictNOR = true
    public private(set) var norViolations = 0

    /// Counters.
    public private(set) var readCount = 0
    public private(set) var programCount = 0
    public private(set) var eraseCount = 0
    /// Program + erase operations performed so far (the "op index" used for power cuts).
    public private(set) var mutatingOps = 0
    /// Per-block erase counters (wear).
    public private(set) var eraseCounts: [Int]

    /// How a cut operation is left behind.
    public enum CutMode: Sendable {
        /// The operation is not performed at all.
        case none
        /// A prefix of the operation is performed: for a program, the first
        /// `k` bytes; for an erase, the first `k` bytes become 0xFF. `k` is
        /// derived from the seed, strictly less than the operation length.
        case partial(seed: UInt64)
    }
    /// If set, the operation with this index (0-based count of program+erase
    /// operations) is cut and throws `powerCut`; every later operation also throws.
    public var cutAtOperation: Int? = nil
    public var cutMode: CutMode = .partial(seed: 1)
    public private(set) var poweredOff = false

    public init(blockSize: Int, blockCount: Int, fill: UInt8 = 0xFF) {
        precondition(blockSize > 0 && blockCount > 0)
        self.blockSize = blockSize
        self.blockCount = blockCount
        self.storage = [UInt8](repeating: fill, count: blockSize * blockCount)
        self.eraseCounts = [Int](repeating: 0, count: blockCount)
    }

    public init(blockSize: Int, image: [UInt8]) {
        precondition(blockSize > 0 && image.count % blockSize == 0 && !image.isEmpty)
        self.blockSize = blockSize
        self.blockCount = image.count / blockSize
        self.storage = image
        self.eraseCounts = [Int](repeating: 0, count: image.count / blockSize)
    }

    /// Turn the power back on after a simulated cut (clears `cutAtOperation`).
    public func powerRestore() {
        poweredOff = false
        cutAtOperation = nil
    }

    /// Replace the whole image (e.g. after a test corrupts it).
    public func setImage(_ image: [UInt8]) {
        precondition(image.count == storage.count)
        storage = image
    }

    private func check(_ block: Int, _ offset: Int, _ length: Int) throws {
        guard block >= 0, block < blockCount, offset >= 0, length >= 0, offset + length <= blockSize else {
            throw BlockDeviceError.outOfRange(block: block, offset: offset, length: length)
        }
    }

    private func cutLength(_ length: Int) -> Int {
        switch cutMode {
        case .none: return 0
        case .partial(let seed):
            guard length > 0 else { return 0 }
            var x = seed &+ UInt64(mutatingOps) &* 0x9E37_79B9_7F4A_7C15
            x ^= x >> 31; x = x &* 0xBF58_476D_1CE4_E5B9; x ^= x >> 29
            return Int(x % UInt64(length))
        }
    }

    /// Returns the number of bytes to perform, or nil for "whole op".
    private func beginMutation(length: Int) throws -> Int? {
        if poweredOff { throw BlockDeviceError.powerCut(operation: mutatingOps) }
        defer { mutatingOps += 1 }
        if let cut = cutAtOperation, cut == mutatingOps {
            poweredOff = true
            return cutLength(length)
        }
        return nil
    }

    public func read(block: Int, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        try check(block, offset, buffer.count)
        if poweredOff { throw BlockDeviceError.powerCut(operation: mutatingOps) }
        readCount += 1
        let base = block * blockSize + offset
        storage.withUnsafeBytes { src in
            buffer.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[base..<(base + buffer.count)]))
        }
    }

    public func program(block: Int, offset: Int, _ data: UnsafeRawBufferPointer) throws {
        try check(block, offset, data.count)
        let op = mutatingOps
        let limit = try beginMutation(length: data.count)
        programCount += 1
        let n = limit ?? data.count
        let base = block * blockSize + offset
        for i in 0..<n {
            let old = storage[base + i]
            let new = data[i]
            if old & new != new {
                norViolations += 1
                if strictNOR {
                    throw BlockDeviceError.norViolation(block: block, offset: offset + i, old: old, new: new)
                }
            }
            storage[base + i] = old & new
        }
        if limit != nil { throw BlockDeviceError.powerCut(operation: op) }
    }

    public func erase(block: Int) throws {
        try check(block, 0, blockSize)
        let op = mutatingOps
        let limit = try beginMutation(length: blockSize)
        eraseCount += 1
        eraseCounts[block] += 1
        let n = limit ?? blockSize
        let base = block * blockSize
        for i in 0..<n { storage[base + i] = 0xFF }
        if limit != nil { throw BlockDeviceError.powerCut(operation: op) }
    }

    public func sync() throws {
        if poweredOff { throw BlockDeviceError.powerCut(operation: mutatingOps) }
    }
}
