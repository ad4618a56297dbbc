/// A TCP segment decoded from an Ethernet II / IPv4 frame, with the fields a
/// packetdrill line names: flags, seq, ack, win, payload length, options.
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
        guard frame.count >= 54, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4, frame[23] == 6 else { return nil }
        let ihl = Int(frame[14] & 0x0f) * 4
        let total = Int(frame[16]) << 8 | Int(frame[17])
        let tcp = 14 + ihl
        guard frame.count >= tcp + 20 else { return nil }
        func u16(_ i: Int) -> UInt16 { UInt16(frame[i]) << 8 | UInt16(frame[i + 1]) }
        func u32(_ i: Int) -> UInt32 { UInt32(u16(i)) << 16 | UInt32(u16(i + 2)) }
        let dataOffset = Int(frame[tcp + 12] >> 4) * 4
        self.outbound = outbound
        self.time = time
        source = "\(frame[26]).\(frame[27]).\(frame[28]).\(frame[29])"
        destination = "\(frame[30]).\(frame[31]).\(frame[32]).\(frame[33])"
        sourcePort = u16(tcp)
        destinationPort = u16(tcp + 2)
        seq = u32(tcp + 4)
        ack = u32(tcp + 8)
        flags = frame[tcp + 13]
        window = u16(tcp + 14)
        length = max(0, total - ihl - dataOffset)
        // options, as packetdrill prints them
        var parts: [String] = []
        var i = tcp + 20
        let end = min(tcp + dataOffset, frame.count)
        while i < end {
            let kind = frame[i]
            if kind == 0 { parts.append("eol"); break }
            if kind == 1 { parts.append("nop"); i += 1; continue }
            guard i + 1 < end else { break }
            let len = Int(frame[i + 1])
            guard len >= 2, i + len <= end else { break }
            switch kind {
            case 2 where len == 4:
                mss = Int(u16(i + 2))
                parts.append("mss \(mss!)")
            case 3 where len == 3: parts.append("wscale \(frame[i + 2])")
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
