// On-disk primitives: tags, block pairs, global state (SPEC.md "Metadata
// tags", "Metadata types", "0x7ff LFS2_TYPE_MOVESTATE").

/// Block address value meaning "no block" (SPEC.md "Some quick notes").
let blockNull: UInt32 = 0xFFFF_FFFF

/// Tag type constants (the 11-bit type3 field; SPEC.md "Metadata types").
enum TagType {
    static let name: UInt16 = 0x000
    static let reg: UInt16 = 0x001
    static let dir: UInt16 = 0x002
    static let superblock: UInt16 = 0x0FF
    static let structBase: UInt16 = 0x200
    static let dirStruct: UInt16 = 0x200
    static let inlineStruct: UInt16 = 0x201
    static let ctzStruct: UInt16 = 0x202
    static let userAttr: UInt16 = 0x300
    static let splice: UInt16 = 0x400
    static let create: UInt16 = 0x401
    static let delete: UInt16 = 0x4FF
    static let crc: UInt16 = 0x500
    static let fcrc: UInt16 = 0x5FF
    static let tail: UInt16 = 0x600
    static let softTail: UInt16 = 0x600
    static let hardTail: UInt16 = 0x601
    static let gstate: UInt16 = 0x700
    static let moveState: UInt16 = 0x7FF
}

/// A 32-bit metadata tag: [valid:1][type:11][id:10][size:10] (SPEC.md "Metadata tags").
struct Tag: Equatable {
    var raw: UInt32

    init(raw: UInt32) { self.raw = raw }
    init(type: UInt16, id: Int, size: Int) {
        raw = (UInt32(type & 0x7FF) << 20) | (UInt32(id & 0x3FF) << 10) | UInt32(size & 0x3FF)
    }

    /// The valid bit is stored inverted: a tag is valid when bit 31 is clear.
    var isValid: Bool { raw & 0x8000_0000 == 0 }
    var type3: UInt16 { UInt16((raw >> 20) & 0x7FF) }
    var type1: UInt16 { UInt16((raw >> 20) & 0x700) }
    /// Type with the low 7 chunk bits masked (distinguishes CRC 0x500 from FCRC 0x5ff).
    var type2: UInt16 { UInt16((raw >> 20) & 0x780) }
    var chunk: UInt8 { UInt8((raw >> 20) & 0xFF) }
    var id: Int { Int((raw >> 10) & 0x3FF) }
    var size: Int { Int(raw & 0x3FF) }
    /// A size of 0x3ff marks a deleted (attribute) tag.
    var isDelete: Bool { size == 0x3FF }
    /// Length of the data that follows the tag on disk.
    var dataSize: Int { isDelete ? 0 : size }
    /// Tag plus data length.
    var diskSize: Int { 4 + dataSize }
}

/// A metadata-pair pointer (two block addresses).
struct MPair: Equatable, Hashable, CustomStringConvertible {
    var b0: UInt32
    var b1: UInt32
    init(_ b0: UInt32, _ b1: UInt32) { self.b0 = b0; self.b1 = b1 }

    static let null = MPair(blockNull, blockNull)
    static let superblock = MPair(0, 1)

    var isNull: Bool { b0 == blockNull || b1 == blockNull }
    /// Pairs refer to the same metadata pair if they share any block.
    func sameAs(_ o: MPair) -> Bool { b0 == o.b0 || b1 == o.b1 || b0 == o.b1 || b1 == o.b0 }
    /// Pairs are "in sync" if they hold the same two blocks, in either order.
    func inSync(_ o: MPair) -> Bool { (b0 == o.b0 && b1 == o.b1) || (b0 == o.b1 && b1 == o.b0) }
    var swapped: MPair { MPair(b1, b0) }
    var description: String { "{\(b0 == blockNull ? "-" : String(b0)), \(b1 == blockNull ? "-" : String(b1))}" }

    var bytes: [UInt8] { le32(b0) + le32(b1) }
    static func from(_ d: ArraySlice<UInt8>) -> MPair? {
        guard d.count >= 8 else { return nil }
        return MPair(readLE32(d, d.startIndex), readLE32(d, d.startIndex + 4))
    }
}

/// Global state (SPEC.md "0x7xx LFS2_TYPE_GSTATE" / "0x7ff LFS2_TYPE_MOVESTATE").
/// The tag word holds: bit 31 = orphans/sync flag, type = 0x4ff for a pending
/// move (0 otherwise), id = moved id. In RAM the size field counts orphans;
/// it is never written to disk.
struct GState: Equatable {
    var tag: UInt32 = 0
    var pair = MPair(0, 0)

    static func ^ (a: GState, b: GState) -> GState {
        GState(tag: a.tag ^ b.tag, pair: MPair(a.pair.b0 ^ b.pair.b0, a.pair.b1 ^ b.pair.b1))
    }
    var isZero: Bool { tag == 0 && pair.b0 == 0 && pair.b1 == 0 }
    var hasMove: Bool { (tag >> 20) & 0x700 != 0 }
    var moveId: Int { Int((tag >> 10) & 0x3FF) }
    func hasMove(in p: MPair) -> Bool { hasMove && pair.sameAs(p) }
    var orphanCount: Int { Int(tag & 0x1FF) }
    var hasOrphans: Bool { orphanCount != 0 }
    /// What would be persisted: in-RAM orphan count removed.
    var diskForm: GState { GState(tag: tag & ~0x3FF, pair: pair) }

    mutating func prepareMove(id: Int?, pair p: MPair) {
        tag &= ~(UInt32(0x7FF) << 20 | UInt32(0x3FF) << 10)
        if let id {
            tag |= Tag(type: TagType.delete, id: id, size: 0).raw
            pair = p
        } else {
            pair = MPair(0, 0)
        }
    }
    mutating func addOrphans(_ n: Int) {
        let count = max(0, min(0x1FF, orphanCount + n))
        tag = (tag & ~0x1FF) | UInt32(count)
        tag = (tag & 0x7FFF_FFFF) | (count != 0 ? 0x8000_0000 : 0)
    }

    var bytes: [UInt8] { le32(tag) + le32(pair.b0) + le32(pair.b1) }
    static func from(_ d: ArraySlice<UInt8>) -> GState? {
        guard d.count >= 12 else { return nil }
        let s = d.startIndex
        return GState(tag: readLE32(d, s), pair: MPair(readLE32(d, s + 4), readLE32(d, s + 8)))
    }
}

@inline(__always) func le32(_ v: UInt32) -> [UInt8] {
    [UInt8(v & 0xFF), UInt8((v >> 8) & 0xFF), UInt8((v >> 16) & 0xFF), UInt8(v >> 24)]
}
@inline(__always) func be32(_ v: UInt32) -> [UInt8] {
    [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)]
}
@inline(__always) func readLE32<C: RandomAccessCollection>(_ d: C, _ i: C.Index) -> UInt32 where C.Element == UInt8, C.Index == Int {
    UInt32(d[i]) | UInt32(d[i + 1]) << 8 | UInt32(d[i + 2]) << 16 | UInt32(d[i + 3]) << 24
}
@inline(__always) func readBE32<C: RandomAccessCollection>(_ d: C, _ i: C.Index) -> UInt32 where C.Element == UInt8, C.Index == Int {
    UInt32(d[i]) << 24 | UInt32(d[i + 1]) << 16 | UInt32(d[i + 2]) << 8 | UInt32(d[i + 3])
}
@inline(__always) func alignUp(_ v: Int, _ a: Int) -> Int { (v + a - 1) / a * a }

/// Sequence comparison of revision counts (SPEC.md: "Sequence comparison
/// must be used to avoid issues with integer overflow").
@inline(__always) func revisionNewer(_ a: UInt32, than b: UInt32) -> Bool { Int32(bitPattern: a &- b) > 0 }

/// littlefs's directory ordering. Names are compared bytewise over their
/// common prefix; when one is a prefix of the other the *longer* name sorts
/// first (this is what real littlefs produces: "abc" < "ab" < "a").
/// Returns <0 if `stored` sorts before `name`, 0 if equal, >0 after.
func compareNames(_ stored: [UInt8], _ name: [UInt8]) -> Int {
    let n = min(stored.count, name.count)
    for i in 0..<n where stored[i] != name[i] {
        return stored[i] < name[i] ? -1 : 1
    }
    if stored.count == name.count { return 0 }
    return stored.count > name.count ? -1 : 1
}
