import FoundationEssentials

/// The board's SPI flash chip, with NOR rules: erase sets a 4 KiB sector to 0xFF,
/// programming can only clear bits (1 -> 0). Optionally backed by an image file
/// that is written back on `sync()` (at the end of a run and on reboot), so a
/// file system survives runs. A test can cut the power at the n-th program or
/// erase operation: that one and all later ones fail, as after a brown-out.
///
/// Storage is sparse: one buffer per 4 KiB sector, allocated when the sector is
/// first programmed; a sector without one (never programmed, or erased since)
/// reads as 0xFF. A blank board therefore costs almost no memory.
public final class Flash {
    public static let sectorSize = 4096
    public let size: Int
    /// One entry per sector; nil reads as erased (all 0xFF).
    private var sectors: [[UInt8]?]
    private let path: String?
    /// Program/erase operations so far.
    public private(set) var operations = 0
    /// When set, operation number `cutAt` (0-based) and every later one fail.
    public var cutAt: Int?
    public private(set) var dirty = false

    public enum FlashError: Error, CustomStringConvertible, Equatable {
        case wrongSize(String, Int, Int)
        case unreadable(String)
        public var description: String {
            switch self {
            case .wrongSize(let p, let found, let expected):
                return "flash image '\(p)' is \(found) bytes, not the board's \(expected) (4 MB): "
                    + "give a whole flash image, or a new file name to start with a blank flash"
            case .unreadable(let p): return "cannot read the flash image '\(p)'"
            }
        }
    }

    /// A blank chip (all 0xFF), or the image at `path` (created blank if missing).
    public init(size: Int = 4 * 1024 * 1024, path: String? = nil) throws(FlashError) {
        self.size = size
        self.path = path
        sectors = Array(repeating: nil, count: (size + Flash.sectorSize - 1) / Flash.sectorSize)
        if let path, FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
            guard data.count == size else { throw .wrongSize(path, data.count, size) }
            data.withUnsafeBytes { raw in
                for s in sectors.indices {
                    let start = s * Flash.sectorSize
                    let part = raw[start..<min(start + Flash.sectorSize, size)]
                    guard part.contains(where: { $0 != 0xFF }) else { continue }
                    var sector = [UInt8](repeating: 0xFF, count: Flash.sectorSize)
                    sector.withUnsafeMutableBytes { $0.copyMemory(from: UnsafeRawBufferPointer(rebasing: part)) }
                    sectors[s] = sector
                }
            }
        } else {
            dirty = path != nil
        }
    }

    /// Sectors that hold a buffer (programmed since their last erase).
    public var sectorsInUse: Int { sectors.reduce(0) { $0 + ($1 == nil ? 0 : 1) } }

    private func powered() -> Bool {
        defer { operations += 1 }
        if let c = cutAt, operations >= c { return false }
        return true
    }

    public func read(_ address: Int, count: Int) -> [UInt8]? {
        guard address >= 0, count >= 0, address + count <= size else { return nil }
        var out = [UInt8](repeating: 0xFF, count: count)
        out.withUnsafeMutableBytes { dst in
            var done = 0
            while done < count {
                let a = address + done
                let s = a / Flash.sectorSize, offset = a % Flash.sectorSize
                let n = min(Flash.sectorSize - offset, count - done)
                if let sector = sectors[s] {
                    sector.withUnsafeBytes { src in
                        UnsafeMutableRawBufferPointer(rebasing: dst[done..<(done + n)])
                            .copyMemory(from: UnsafeRawBufferPointer(rebasing: src[offset..<(offset + n)]))
                    }
                }
                done += n
            }
        }
        return out
    }

    /// The whole chip as one array of `size` bytes (what `sync()` writes).
    public func image() -> [UInt8] {
        read(0, count: size)!
    }

    /// Clears bits; a 0 -> 1 change is impossible on NOR flash and is refused.
    @discardableResult
    public func program(_ address: Int, _ data: [UInt8]) -> Bool {
        guard address >= 0, address + data.count <= size, powered() else { return false }
        var done = 0
        while done < data.count {
            let a = address + done
            let s = a / Flash.sectorSize, offset = a % Flash.sectorSize
            let n = min(Flash.sectorSize - offset, data.count - done)
            if sectors[s] == nil { sectors[s] = [UInt8](repeating: 0xFF, count: Flash.sectorSize) }
            for i in 0..<n { sectors[s]![offset + i] &= data[done + i] }
            done += n
        }
        dirty = true
        return true
    }

    @discardableResult
    public func eraseSector(_ address: Int) -> Bool {
        guard address >= 0, address % Flash.sectorSize == 0, address + Flash.sectorSize <= size, powered() else { return false }
        sectors[address / Flash.sectorSize] = nil
        dirty = true
        return true
    }

    /// Writes the image back to its file, if it has one and changed.
    public func sync() {
        guard dirty, let path else { return }
        FileManager.default.createFile(atPath: path, contents: Data(image()))
        dirty = false
    }
}
