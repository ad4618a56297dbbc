import BoardCore

/// The raw peer of packetdrill-style scripts (`b:tcp[[ … ]]`): a host on the
/// board's link (10.0.2.50) that exists only in the script. It answers the
/// board's ARP for its address and takes every frame the board sends it; its
/// own segments enter as `injectFrame` commands. Called from lwIP's output: it
/// only records and posts, never calls back into lwIP.
final class RawPeer {
    static let address: [UInt8] = [10, 0, 2, 50]
    static let mac: [UInt8] = [0x02, 0x50, 0x44, 0x52, 0x49, 0x4c]
    /// The board's MAC, learned from its first frame.
    var boardMAC: [UInt8] = [0x5c, 0xcf, 0x7f, 0, 0, 0]
    var boardIP: [UInt8] = [10, 0, 2, 15]

    func take(_ frame: UnsafeRawBufferPointer, board: SpecBoard) -> Bool {
        guard frame.count >= 42 else { return false }
        boardMAC = Array(frame[6..<12])
        // ARP request for our address: answer it
        if frame[12] == 0x08, frame[13] == 0x06, frame[21] == 1, Array(frame[38..<42]) == RawPeer.address {
            boardIP = Array(frame[28..<32])
            var reply = boardMAC + RawPeer.mac + [0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2]
            reply += RawPeer.mac + RawPeer.address + boardMAC + boardIP
            board.device.board.loop.inbox.post(.injectFrame(reply))
            return true
        }
        guard frame[12] == 0x08, frame[13] == 0x00, Array(frame[30..<34]) == RawPeer.address else { return false }
        if let s = Segment(frame: frame, outbound: true, time: board.now) { board.script?.received.append(s) }
        return true
    }

    /// An Ethernet/IPv4/TCP frame from the peer to the board.
    func frame(sourcePort: UInt16, destinationPort: UInt16, seq: UInt32, ack: UInt32, flags: UInt8, window: UInt16, options: [UInt8], payload: Int) -> [UInt8] {
        var tcp: [UInt8] = []
        func be16(_ v: UInt16, _ into: inout [UInt8]) { into += [UInt8(v >> 8), UInt8(v & 0xff)] }
        func be32(_ v: UInt32, _ into: inout [UInt8]) { be16(UInt16(v >> 16), &into); be16(UInt16(v & 0xffff), &into) }
        var opts = options
        while opts.count % 4 != 0 { opts.append(0) }  // EOL padding
        be16(sourcePort, &tcp); be16(destinationPort, &tcp)
        be32(seq, &tcp); be32(ack, &tcp)
        tcp.append(UInt8((20 + opts.count) / 4) << 4)
        tcp.append(flags)
        be16(window, &tcp)
        tcp += [0, 0, 0, 0]  // checksum, urgent
        tcp += opts
        tcp += [UInt8](repeating: 0x78, count: payload)  // 'x'
        var pseudo = RawPeer.address + boardIP + [0, 6]
        be16(UInt16(tcp.count), &pseudo)
        let sum = checksum(pseudo + tcp)
        tcp[16] = UInt8(sum >> 8); tcp[17] = UInt8(sum & 0xff)
        var ip: [UInt8] = [0x45, 0]
        be16(UInt16(20 + tcp.count), &ip)
        ip += [0, 0, 0x40, 0, 64, 6, 0, 0] + RawPeer.address + boardIP
        let ipSum = checksum(ip)
        ip[10] = UInt8(ipSum >> 8); ip[11] = UInt8(ipSum & 0xff)
        return boardMAC + RawPeer.mac + [0x08, 0x00] + ip + tcp
    }

    private func checksum(_ bytes: [UInt8]) -> UInt16 {
        var sum: UInt32 = 0
        var i = 0
        while i + 1 < bytes.count { sum += UInt32(bytes[i]) << 8 | UInt32(bytes[i + 1]); i += 2 }
        if i < bytes.count { sum += UInt32(bytes[i]) << 8 }
        while sum >> 16 != 0 { sum = (sum & 0xffff) + (sum >> 16) }
        return ~UInt16(sum)
    }
}

/// A packetdrill-style script in progress: `<` lines are injected from the raw
/// peer at their board times, `>` lines must match what the board sends (the
/// fields a line gives are checked; its time within `tolerance`). Sequence
/// numbers are relative, as in packetdrill: the peer's to its ISN (0), the
/// board's to the ISN of its SYN-ACK. A line may name the peer's port
/// (`<:40002 S …`) to open several connections; the default is 40001.
final class TCPScript {
    struct Line {
        let number: Int
        let text: String
        let relative: Bool
        let seconds: Double
        let inbound: Bool
        let peerPort: UInt16
        let flags: UInt8
        let start: UInt32
        let length: Int
        let ack: UInt32?
        let window: UInt16?
        let options: String?
    }

    let lines: [Line]
    let location: String
    let boardPort: UInt16
    let tolerance: UInt64
    private let start: UInt64
    private var index = 0
    /// Board time of the previous line's event (the base of `+` times).
    private var last: UInt64
    /// Segments the board sent the peer, not matched yet.
    var received: [Segment] = []
    private var boardISN: [UInt16: UInt32] = [:]
    var done: Bool { index >= lines.count }
    var deadline: UInt64 { .max - 1 }

    init(_ text: String, start: UInt64, where location: String, port: UInt16, tolerance: UInt64) throws {
        self.location = location
        self.start = start
        last = start
        boardPort = port
        self.tolerance = tolerance
        var parsed: [Line] = []
        for (n, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            var t = trim(raw)
            if let hash = t.firstIndex(of: "/"), t[hash...].hasPrefix("//") { t = trim(t[..<hash]) }
            if t.isEmpty { continue }
            parsed.append(try TCPScript.parse(t, number: n + 1))
        }
        guard !parsed.isEmpty else { throw SpecError("b:tcp: an empty script") }
        lines = parsed
    }

    /// `0.100 < S 0:0(0) win 65535 <mss 1460>`, `+0 > S. 0:0(0) ack 1 win 2144 <mss 536>`.
    static func parse(_ text: String, number: Int) throws -> Line {
        func bad(_ why: String) -> SpecError { SpecError("b:tcp line \(number) '\(text)': \(why)") }
        var rest = Substring(text)
        var optionText: String?
        // options: the last `<…>`, after the START:END(LEN) field
        if rest.hasSuffix(">"), let open = rest.lastIndex(of: "<"), rest[..<open].contains(")") {
            optionText = String(rest[rest.index(after: open)..<rest.index(before: rest.endIndex)])
            rest = rest[..<open]
        }
        let words = rest.split(separator: " ").map(String.init)
        guard words.count >= 4 else { throw bad("expected TIME </> FLAGS START:END(LEN) …") }
        var time = words[0]
        let relative = time.hasPrefix("+")
        if relative { time.removeFirst() }
        guard let seconds = Double(time), seconds >= 0 else { throw bad("bad time '\(words[0])'") }
        var direction = Substring(words[1])
        guard direction.first == "<" || direction.first == ">" else { throw bad("expected < or > after the time") }
        let inbound = direction.first == "<"
        direction.removeFirst()
        var peerPort: UInt16 = 40001
        if direction.first == ":" {
            guard let p = UInt16(direction.dropFirst()) else { throw bad("bad peer port '\(words[1])'") }
            peerPort = p
        }
        var flags: UInt8 = 0
        for c in words[2] {
            switch c {
            case "S": flags |= Segment.syn
            case "F": flags |= Segment.fin
            case "R": flags |= Segment.rst
            case "P": flags |= Segment.psh
            case ".": flags |= Segment.ackFlag
            default: throw bad("unknown flag '\(c)'")
            }
        }
        // START:END(LEN)
        let range = words[3]
        guard let colon = range.firstIndex(of: ":"), let paren = range.firstIndex(of: "("), range.hasSuffix(")"),
            let s = UInt32(range[..<colon]), let len = Int(range[range.index(after: paren)..<range.index(before: range.endIndex)])
        else { throw bad("expected START:END(LEN), like 1:11(10)") }
        var ack: UInt32?
        var window: UInt16?
        var i = 4
        while i < words.count {
            switch words[i] {
            case "ack":
                guard i + 1 < words.count, let a = UInt32(words[i + 1]) else { throw bad("ack needs a number") }
                ack = a
                i += 2
            case "win":
                guard i + 1 < words.count, let w = UInt16(words[i + 1]) else { throw bad("win needs a number") }
                window = w
                i += 2
            default: throw bad("unknown field '\(words[i])'")
            }
        }
        let options = optionText.map { $0.split(separator: ",").map { trim($0) }.joined(separator: ",") }
        return Line(
            number: number, text: text, relative: relative, seconds: seconds, inbound: inbound, peerPort: peerPort, flags: flags, start: s,
            length: len, ack: ack, window: window, options: options)
    }

    private func time(of line: Line) -> UInt64 {
        let offset = UInt64(line.seconds * 1_000_000)
        return (line.relative ? last : start) + offset
    }

    /// When the script next needs the board's attention.
    var nextInjection: UInt64? {
        guard index < lines.count else { return nil }
        let line = lines[index]
        return line.inbound ? time(of: line) : time(of: line) + tolerance + 1
    }

    /// Moves the script on at board time `now`; returns a failure message, or nil.
    func step(board: SpecBoard, now: UInt64) -> String? {
        while index < lines.count {
            let line = lines[index]
            let t = time(of: line)
            if line.inbound {
                if let s = received.first { return unexpected(s, before: line) }
                guard now >= t else { return nil }
                let options = (try? TCPScript.encode(options: line.options ?? "")) ?? []
                let frame = board.raw.frame(
                    sourcePort: line.peerPort, destinationPort: boardPort, seq: line.start,
                    ack: line.ack.map { $0 &+ (boardISN[line.peerPort] ?? 0) } ?? 0, flags: line.flags, window: line.window ?? 65535,
                    options: options, payload: line.length)
                board.device.board.loop.inbox.post(.injectFrame(frame))
                last = now
                index += 1
                continue
            }
            guard let s = received.first else {
                if now > t + tolerance {
                    return "line \(line.number): expected `\(line.text)` at \(Time.text(t - start)), the board sent nothing by \(Time.text(now - start))"
                }
                return nil
            }
            received.removeFirst()
            if let why = mismatch(line, s) {
                return "line \(line.number): expected `\(line.text)`, the board sent `\(describe(s))` at \(Time.text(s.time - start)): \(why)"
            }
            let early = s.time + tolerance < t, late = s.time > t + tolerance
            if early || late {
                return "line \(line.number): `\(line.text)` expected at \(Time.text(t - start)), the board sent it at \(Time.text(s.time - start))"
            }
            last = s.time
            index += 1
        }
        if let s = received.first { return unexpected(s, before: nil) }
        return nil
    }

    private func unexpected(_ s: Segment, before line: Line?) -> String {
        "the board sent `\(describe(s))` at \(Time.text(s.time - start)), which the script does not expect"
            + (line.map { " (next: line \($0.number) `\($0.text)`)" } ?? "")
    }

    /// A segment in packetdrill's notation, relative to the ISNs.
    func describe(_ s: Segment) -> String {
        let isn = boardISN[s.destinationPort] ?? s.seq
        let rel = s.seq &- isn
        var out = "> \(s.flagText) \(rel):\(rel &+ UInt32(s.length))(\(s.length))"
        if s.flags & Segment.ackFlag != 0 { out += " ack \(s.ack)" }
        out += " win \(s.window)"
        if !s.options.isEmpty { out += " <\(s.options)>" }
        return out
    }

    private func mismatch(_ line: Line, _ s: Segment) -> String? {
        if s.destinationPort != line.peerPort { return "to port \(s.destinationPort), not \(line.peerPort)" }
        if s.flags != line.flags { return "flags \(s.flagText), not \(Segment.flagText(line.flags))" }
        if s.flags & Segment.syn != 0 && boardISN[line.peerPort] == nil { boardISN[line.peerPort] = s.seq &- line.start }
        let isn = boardISN[line.peerPort] ?? 0
        if s.seq &- isn != line.start { return "seq \(s.seq &- isn), not \(line.start)" }
        if s.length != line.length { return "length \(s.length), not \(line.length)" }
        if let a = line.ack, s.ack != a { return "ack \(s.ack), not \(a)" }  // the peer's ISN is 0
        if let w = line.window, s.window != w { return "win \(s.window), not \(w)" }
        if let o = line.options, o != s.options { return "options <\(s.options)>, not <\(o)>" }
        return nil
    }

    /// `mss 1460,nop,wscale 7,sackOK` → TCP option bytes.
    static func encode(options: String) throws -> [UInt8] {
        var out: [UInt8] = []
        for o in options.split(separator: ",").map({ trim($0) }) where !o.isEmpty {
            let w = o.split(separator: " ")
            switch w[0] {
            case "nop": out.append(1)
            case "eol": out.append(0)
            case "sackOK": out += [4, 2]
            case "mss":
                guard w.count == 2, let v = UInt16(w[1]) else { throw SpecError("bad option '\(o)'") }
                out += [2, 4, UInt8(v >> 8), UInt8(v & 0xff)]
            case "wscale":
                guard w.count == 2, let v = UInt8(w[1]) else { throw SpecError("bad option '\(o)'") }
                out += [3, 3, v]
            default: throw SpecError("unknown option '\(o)'")
            }
        }
        return out
    }
}

/// `text` without spaces and tabs at either end.
func trim<S: StringProtocol>(_ text: S) -> String {
    String(text.drop { $0 == " " || $0 == "\t" }.reversed().drop { $0 == " " || $0 == "\t" || $0 == "\r" }.reversed())
}
