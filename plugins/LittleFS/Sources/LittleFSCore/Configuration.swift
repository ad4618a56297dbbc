/// littlefs configuration. Defaults match the ESP8266 Arduino core's
/// LittleFS (libraries/LittleFS): read/prog/cache/lookahead 64 bytes,
/// block_cycles 16, LFS_NAME_MAX 32, file_max/attr_max library defaults,
/// disk version 2.0.
public struct LFSConfiguration: Sendable, Equatable {
    public var readSize = 64
    public var progSize = 64
    public var cacheSize = 64
    public var lookaheadSize = 64
    /// Metadata pairs are relocated after this many erase cycles (<= 0 disables).
    public var blockCycles = 16
    /// Longest name in bytes. littlefs accepts names of up to `nameMax` bytes
    /// (32 on the ESP8266). The Arduino layer documents "31 characters +
    /// terminating zero (char filename[32])"; enforcing that stricter limit
    /// is left to the caller.
    public var nameMax = 32
    public var fileMax = 2_147_483_647
    public var attrMax = 1022
    /// On-disk version written by `format` (0x00020000 = littlefs 2.0).
    /// 2.0 and 2.1 images are both mountable.
    public var diskVersion: UInt32 = 0x0002_0000
    /// Optional limit on simultaneously open files (the ESP8266 core allows
    /// 5); nil = unlimited. Exceeding it throws `.tooManyOpenFiles`.
    public var maxOpenFiles: Int? = nil
    /// Require the superblock's block_count to equal the device's (as the
    /// ESP8266 core, which passes a non-zero block_count). If false, the
    /// superblock value is used as long as it fits the device.
    public var requireExactBlockCount = true

    public init() {}

    /// ESP8266 core configuration.
    public static let esp8266 = LFSConfiguration()

    /// Logical block size the ESP8266 core uses for a LittleFS partition of
    /// `partitionBytes`: 8 KiB for partitions of 512 KiB or more, 4 KiB below.
    public static func esp8266BlockSize(partitionBytes: Int) -> Int {
        partitionBytes >= 512 * 1024 ? 8192 : 4096
    }

    /// Largest inline file for a given block size: littlefs's default
    /// inline_max = min(cache_size, attr_max, metadata_max/8) with
    /// metadata_max = block_size. (64 for the ESP8266 configuration.)
    public func inlineMax(blockSize: Int) -> Int {
        min(cacheSize, min(attrMax, blockSize / 8))
    }
}

/// Directory entry / stat information.
public struct LFSInfo: Equatable, Sendable {
    public enum Kind: Sendable { case file, directory }
    public var name: String
    public var kind: Kind
    /// File size in bytes (0 for directories).
    public var size: Int
    public var isDirectory: Bool { kind == .directory }
}

/// Open flags; raw values are littlefs's LFS_O_* values.
public struct LFSOpenFlags: OptionSet, Sendable {
    public let rawValue: Int
    public init(rawValue: Int) { self.rawValue = rawValue }
    public static let readOnly = LFSOpenFlags(rawValue: 1)
    public static let writeOnly = LFSOpenFlags(rawValue: 2)
    public static let readWrite: LFSOpenFlags = [.readOnly, .writeOnly]
    public static let create = LFSOpenFlags(rawValue: 0x0100)
    public static let exclusive = LFSOpenFlags(rawValue: 0x0200)
    public static let truncate = LFSOpenFlags(rawValue: 0x0400)
    public static let append = LFSOpenFlags(rawValue: 0x0800)

    var canRead: Bool { contains(.readOnly) }
    var canWrite: Bool { contains(.writeOnly) }

    /// fopen-style modes as the Arduino FS layer maps them: "r", "r+", "w",
    /// "w+", "a", "a+".
    public static func fopen(_ mode: String) -> LFSOpenFlags? {
        switch String(mode.filter { $0 != "b" }) {
        case "r": return .readOnly
        case "r+": return .readWrite
        case "w": return [.writeOnly, .create, .truncate]
        case "w+": return [.readWrite, .create, .truncate]
        case "a": return [.writeOnly, .create, .append]
        case "a+": return [.readWrite, .create, .append]
        default: return nil
        }
    }
}

public enum LFSWhence: Sendable { case set, current, end }
