import FoundationEssentials

/// The board's SPI flash chip, with NOR rules: erase sets a 4 KiB sector to 0xFF,
/// programming can only clear bits (1 -> 0). Optionally backed by an image file
/// that is written back on `sync()` (at the end of a run and on reboot), so a
/// file system survives runs. A test can cut the power at the n-th program or
/// erase operation: that one and all later ones fail, as after a brown-out.
public final class Flash {
    public static let sectorSize = 4096
    public let size: Int
    public private(set) var bytes: [UInt8]
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
            case .wrongSize(let p, let found, let expected): return "flash image '\(p)' is \(found) bytes; the board's flash is \(expected)"
            case .unreadable(let p): return "cannot read the flash image '\(p)'"
            }
        }
    }

    /// A blank chip (all 0xFF), or the image at `path` (created blank if missing).
    public init(size: Int = 4 * 1024 * 1024, path: String? = nil) throws(FlashError) {
        self.size = size
        self.path = path
        if let path, FileManager.default.fileExists(atPath: path) {
            guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
            guard data.count == size else { throw .wrongSize(path, data.count, size) }
            bytes = Array(data)
        } else {
            bytes = [UInt8](repeating: 0xFF, count: size)
            dirty = path != nil
        }
    }

    private func powered() -> Bool {
        defer { operations += 1 }
        if let c = cutAt, operations >= c { return false }
        return true
    }

    public func read(_ address: Int, count: Int) -> [UInt8]? {
        guard address >= 0, count >= 0, address + count <= size else { return nil }
        return Array(bytes[address..<(address + count)])
    }

    /// Clears bits; a 0 -> 1 change is impossible on NOR flash and is refused.
    @discardableResult
    public func program(_ address: Int, _ data: [UInt8]) -> Bool {
        guard address >= 0, address + data.count <= size, powered() else { return false }
        for (i, b) in data.enumerated() { bytes[address + i] &= b }
        dirty = true
        return true
    }

    @discardableResult
    public func eraseSector(_ address: Int) -> Bool {
        guard address >= 0, address % Flash.sectorSize == 0, address + Flash.sectorSize <= size, powered() else { return false }
        for i in address..<(address + Flash.sectorSize) { bytes[i] = 0xFF }
        dirty = true
        return true
    }

    /// Writes the image back to its file, if it has one and changed.
    public func sync() {
        guard dirty, let path else { return }
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        dirty = false
    }
}
