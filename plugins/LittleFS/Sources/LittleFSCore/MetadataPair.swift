// Metadata pairs: parsing the commit log of a block into an in-memory
// directory model (SPEC.md "Directories / Metadata pairs", "Metadata tags").
//
// Instead of re-scanning the log for each lookup, a fetched pair is replayed
// once, front to back, into an array of entries indexed by id. CREATE/DELETE
// tags behave as insertion/removal in that array, exactly as SPEC.md
// describes ("similar to insertion into an imaginary array of files").

/// One id inside a metadata pair.
struct MEntry: Equatable {
    /// Name-tag type (chunk of a 0x0xx tag): 0x01 file, 0x02 dir, 0xff
    /// superblock. `nil` while only a CREATE has been seen.
    var kind: UInt16? = nil
    var name: [UInt8] = []
    /// Struct tag type (0x200 dir, 0x201 inline, 0x202 ctz) or nil.
    var structType: UInt16? = nil
    var structData: [UInt8] = []
    /// User attributes, by 8-bit type.
    var attrs: [UInt8: [UInt8]] = [:]

    var isFile: Bool { kind == TagType.reg }
    var isDir: Bool { kind == TagType.dir }
    /// Ordinary directory member (file or dir) — what lookups and listings see.
    var isNamed: Bool { kind == TagType.reg || kind == TagType.dir }

    var dirPair: MPair? { structType == TagType.dirStruct ? MPair.from(structData[...]) : nil }
    var ctz: (head: UInt32, size: Int)? {
        guard structType == TagType.ctzStruct, structData.count >= 8 else { return nil }
        return (readLE32(structData, 0), Int(readLE32(structData, 4)))
    }
    var fileSize: Int {
        if let c = ctz { return c.size }
        if structType == TagType.inlineStruct { return structData.count }
        return 0
    }

    /// Bytes this entry occupies in a compacted commit (tags + data).
    var compactedSize: Int {
        var s = 4 + name.count
        if structType != nil { s += 4 + structData.count }
        for (_, v) in attrs { s += 4 + v.count }
        return s
    }

    /// The tags that describe this entry in a compacted block, name first
    /// (SPEC.md: "the name tag must precede any other tags associated with the id").
    func tags(id: Int) -> [(Tag, [UInt8])] {
        var out: [(Tag, [UInt8])] = []
        out.append((Tag(type: kind ?? TagType.reg, id: id, size: name.count), name))
        if let st = structType { out.append((Tag(type: st, id: id, size: structData.count), structData)) }
        for k in attrs.keys.sorted() {
            let v = attrs[k]!
            out.append((Tag(type: TagType.userAttr | UInt16(k), id: id, size: v.count), v))
        }
        return out
    }
}

/// Logical attribute handed to a commit.
struct Attr {
    var type: UInt16
    var id: Int
    var data: [UInt8]
    /// Encode with size 0x3ff (attribute deletion).
    var deleted = false

    init(_ type: UInt16, _ id: Int, _ data: [UInt8] = [], deleted: Bool = false) {
        self.type = type; self.id = id; self.data = data; self.deleted = deleted
    }
    var tag: Tag { Tag(type: type, id: id, size: deleted ? 0x3FF : data.count) }
}

/// Decoded directory-level state of a metadata pair.
struct MState: Equatable {
    var entries: [MEntry] = []
    var tail: MPair = .null
    /// Tail is a hard tail: the next pair continues this directory.
    var split = false
    /// This pair's latest gstate delta.
    var gdelta = GState()

    /// Apply one tag. Unknown or malformed tags are ignored, as littlefs does.
    mutating func apply(_ tag: Tag, _ data: ArraySlice<UInt8>) {
        let id = tag.id
        switch tag.type1 {
        case TagType.name:
            guard id < 0x3FF else { return }
            ensure(id)
            entries[id].kind = tag.type3
            entries[id].name = Array(data)
        case TagType.structBase:
            guard id < 0x3FF else { return }
            ensure(id)
            entries[id].structType = tag.type3
            entries[id].structData = Array(data)
        case TagType.userAttr:
            guard id < 0x3FF else { return }
            ensure(id)
            if tag.isDelete { entries[id].attrs[tag.chunk] = nil } else { entries[id].attrs[tag.chunk] = Array(data) }
        case TagType.splice:
            if tag.type3 == TagType.create {
                guard id < 0x3FF else { return }
                if id <= entries.count { entries.insert(MEntry(), at: id) } else { ensure(id) }
            } else if tag.type3 == TagType.delete {
                if id < entries.count { entries.remove(at: id) }
            }
        case TagType.tail:
            if let p = MPair.from(data) { tail = p; split = (tag.chunk & 1) != 0 }
        case TagType.gstate:
            if tag.type3 == TagType.moveState, let g = GState.from(data) { gdelta = g }
        default:
            break
        }
    }

    private mutating func ensure(_ id: Int) {
        while entries.count <= id { entries.append(MEntry()) }
    }
}

/// A fetched metadata pair.
struct MDir {
    /// pair.b0 is the block holding the newest valid revision.
    var pair: MPair
    var rev: UInt32
    /// End of the last valid commit in pair.b0.
    var off: Int
    /// Tag-chain value to XOR the next commit's first tag with.
    var etag: UInt32
    /// The space after `off` is known to be erased: appending is allowed.
    var erased: Bool
    var state: MState
    /// Id hidden by a pending move recorded in the on-disk gstate ("synthetic move").
    var hiddenId: Int? = nil
    /// CRC of the last commit (feeds the allocator seed).
    var lastCRC: UInt32 = 0

    var entries: [MEntry] { state.entries }
    var count: Int { state.entries.count }
    var tail: MPair { state.tail }
    var split: Bool { state.split }

    func visible(_ id: Int) -> Bool { id < count && id != hiddenId && state.entries[id].isNamed }
}

/// Result of replaying one block.
struct ParsedBlock {
    var state: MState
    var off: Int
    var etag: UInt32
    var maybeErased: Bool
    var fcrc: (size: Int, crc: UInt32)?
    var lastCRC: UInt32
}

/// Replay the commit log of one metadata block. Returns nil if the block
/// holds no valid commit. Only commits whose CRC matches are applied.
func parseMetadataBlock(_ buf: UnsafeRawBufferPointer) -> ParsedBlock? {
    let bs = buf.count
    guard bs >= 16 else { return nil }
    var crc = CRC32.update(0xFFFF_FFFF, UnsafeRawBufferPointer(rebasing: buf[0..<4]))
    var ptag: UInt32 = 0xFFFF_FFFF
    var off = 4
    var state = MState()
    var pending: [(Tag, Range<Int>)] = []
    var pendingFcrc: (size: Int, crc: UInt32)? = nil
    var best: ParsedBlock? = nil
    var prevWasCRC = false
    var maybeErased = false

    while off + 4 <= bs {
        let word = UInt32(buf[off]) << 24 | UInt32(buf[off + 1]) << 16 | UInt32(buf[off + 2]) << 8 | UInt32(buf[off + 3])
        let tag = Tag(raw: word ^ ptag)
        if !tag.isValid {
            // Next commit not (validly) programmed: if we stopped right after
            // a CRC, the rest of the block may still be erased.
            maybeErased = prevWasCRC
            break
        }
        let dsize = tag.diskSize
        if off + dsize > bs { break }
        crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: buf[off..<(off + 4)]))
        ptag = tag.raw
        if tag.type2 == TagType.crc {
            // SPEC.md "0x5xx LFS2_TYPE_CRC": CRC over everything since the
            // previous CRC tag, including this tag.
            // (a deleted tag's size 0x3ff has no data on disk: the CRC must still fit in the block)
            guard tag.size >= 4, off + 8 <= bs else { break }
            let stored = UInt32(buf[off + 4]) | UInt32(buf[off + 5]) << 8 | UInt32(buf[off + 6]) << 16 | UInt32(buf[off + 7]) << 24
            if stored != crc { break }
            for (t, r) in pending {
                state.apply(t, Array(UnsafeRawBufferPointer(rebasing: buf[r]))[...])
            }
            pending.removeAll(keepingCapacity: true)
            // The chunk's low bit gives the expected valid bit of the next commit.
            ptag ^= UInt32(tag.chunk & 1) << 31
            off += dsize
            best = ParsedBlock(state: state, off: off, etag: ptag, maybeErased: false, fcrc: pendingFcrc, lastCRC: crc)
            pendingFcrc = nil
            crc = 0xFFFF_FFFF
            prevWasCRC = true
            continue
        }
        if dsize > 4 {
            crc = CRC32.update(crc, UnsafeRawBufferPointer(rebasing: buf[(off + 4)..<(off + dsize)]))
        }
        if tag.type3 == TagType.fcrc {
            if tag.size >= 8, off + 12 <= bs {
                let s = Int(UInt32(buf[off + 4]) | UInt32(buf[off + 5]) << 8 | UInt32(buf[off + 6]) << 16 | UInt32(buf[off + 7]) << 24)
                let c = UInt32(buf[off + 8]) | UInt32(buf[off + 9]) << 8 | UInt32(buf[off + 10]) << 16 | UInt32(buf[off + 11]) << 24
                pendingFcrc = (s, c)
            }
        } else {
            pending.append((tag, (off + 4)..<(off + dsize)))
        }
        off += dsize
        prevWasCRC = false
    }
    if best != nil { best!.maybeErased = maybeErased && best!.off == off }
    return best
}
