import BoardNet

/// A TCP segment (BoardNet's decoder) with the fields a packetdrill line names:
/// flags, seq, ack, win, payload length, options in packetdrill's spelling.
struct Segment: Equatable {
    /// Sent by the board (packetdrill's `>`); false: sent to it (`<`).
    var outbound: Bool
    var time: UInt64
    var source: String
    var sourcePort: UInt16
    var destination: String
    var destinationPort: UInt16
    var flags: UInt8
    var seq: UInt32
    var ack: UInt32
    var window: UInt16
    var length: Int
    var mss: Int?
    /// Options in packetdrill's spelling: `mss 536,nop,nop,sackOK`.
    var options: String

    static let fin: UInt8 = 0x01, syn: UInt8 = 0x02, rst: UInt8 = 0x04, psh: UInt8 = 0x08, ackFlag: UInt8 = 0x10

    init?(frame: UnsafeRawBufferPointer, outbound: Bool, time: UInt64) {
        guard let t = TCPSegment(frame: frame, outbound: outbound, time: time) else { return nil }
        self.outbound = outbound
        self.time = time
        source = t.source
        destination = t.destination
        sourcePort = t.sourcePort
        destinationPort = t.destinationPort
        seq = t.seq
        ack = t.ackNumber
        flags = t.flags
        window = t.window
        length = t.payload
        // options, as packetdrill prints them
        let o = t.options
        func u16(_ i: Int) -> UInt16 { UInt16(o[i]) << 8 | UInt16(o[i + 1]) }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) << 16 | UInt32(u16(i + 2)) }
        var parts: [String] = []
        var i = 0
        while i < o.count {
            let kind = o[i]
            if kind == 0 { parts.append("eol"); break }
            if kind == 1 { parts.append("nop"); i += 1; continue }
            guard i + 1 < o.count else { break }
            let len = Int(o[i + 1])
            guard len >= 2, i + len <= o.count else { break }
            switch kind {
            case 2 where len == 4:
                mss = Int(u16(i + 2))
                parts.append("mss \(mss!)")
            case 3 where len == 3: parts.append("wscale \(o[i + 2])")
            case 4: parts.append("sackOK")
            case 8 where len == 10: parts.append("TS val \(u32(i + 2)) ecr \(u32(i + 6))")
            default: parts.append("opt\(kind)")
            }
            i += len
        }
        options = parts.joined(separator: ",")
    }

    /// packetdrill's flag letters: `S`, `S.`, `F.`, `P.`, `R`, `R.` …
    var flagText: String { Segment.flagText(flags) }

    static func flagText(_ flags: UInt8) -> String {
        var s = ""
        if flags & syn != 0 { s += "S" }
        if flags & fin != 0 { s += "F" }
        if flags & rst != 0 { s += "R" }
        if flags & psh != 0 { s += "P" }
        if flags & ackFlag != 0 { s += "." }
        return s
    }
}
