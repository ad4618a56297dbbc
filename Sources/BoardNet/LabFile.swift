import BoardCore

/// A lab file (`esplua lab LAB.json`): the boards, each a sketch with its own files
/// and an address on the lab's LAN, and the host's forwards to them by name.
/// Parsed from bytes, so a malformed file is a message naming the field (and the
/// parser can be fuzzed: Sources/FuzzTargets).
public struct LabFile: Sendable {
    public struct Board: Sendable, Equatable {
        public var name: String
        /// The sketch's path, relative paths taken from the lab file's folder.
        public var sketch: String
        /// Its `"ip"`, or 10.0.2.15 and up in the file's order (skipping the
        /// `"ip"`s): the DHCP lease reserved for its MAC, or its static address.
        public var address: String
        /// A static address (`"ip"`) rather than DHCP.
        public var isStatic: Bool
        /// Its `"mac"`, or 5C:CF:7F and the low three bytes of `address`.
        public var mac: [UInt8]
        /// `run` options for the board's own files: --wiring, --world, --flash.
        public var options: [String]
    }

    public var boards: [Board] = []
    /// Each host forward with the address of the board it reaches.
    public var forwards: [(forward: Forward, address: String)] = []
    /// Every board's link (`ideal` if none): a profile's name or its fields.
    public var link = LinkProfile.ideal
    /// The seed of the links' generators (board i gets seed + i): the same lab, the same air.
    public var seed: UInt64 = 0x8266
    /// Faults at board times, with the board each is for (nil: every board).
    public var faults: [(board: String?, fault: LinkFault)] = []
    /// Whether this lab runs its gateway (`"gateway": false`: a lab joined to
    /// another lab's LAN, whose gateway serves DHCP and DNS for both).
    public var gateway = true

    /// The `run` options for board `b`'s address and MAC on the LAN.
    public static func addressOptions(_ b: Board) -> [String] {
        ["--ip", b.isStatic ? b.address : "dhcp", "--mac", LANDHCP.macText(b.mac)]
    }

    /// The gateway's DHCP reservations: every DHCP board's MAC and address.
    public var reservations: [(mac: [UInt8], address: String)] {
        boards.filter { !$0.isStatic }.map { ($0.mac, $0.address) }
    }

    /// The `run` options that give board `name` (the i-th) its link, seed and faults.
    public func linkOptions(for name: String) -> [String] {
        guard let i = boards.firstIndex(where: { $0.name == name }) else { return [] }
        var options = ["--link", link.json, "--seed", String(seed &+ UInt64(i))]
        for f in faults where f.board == nil || f.board == name { options += ["--fault", f.fault.argument] }
        return options
    }

    /// Every board's DNS names (`server`, `server.lab`) and address.
    public var hosts: [String: String] {
        var hosts: [String: String] = [:]
        for b in boards {
            hosts[b.name.lowercased()] = b.address
            hosts[b.name.lowercased() + ".lab"] = b.address
        }
        return hosts
    }

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Parses the JSON form; `folder` is the lab file's (for relative paths) and
    /// `readable` says whether a sketch file can be opened.
    public static func parse(_ data: [UInt8], folder: String, readable: (String) -> Bool) throws(Invalid) -> LabFile {
        func bad(_ why: String) -> Invalid { Invalid(description: why) }
        func relative(_ p: String) -> String { p.hasPrefix("/") ? p : Path.join(folder, p) }
        let value: Any
        do { value = try JSON.parse(data) } catch { throw bad("not valid JSON (\(error.description))") }
        guard let root = value as? [String: Any] else { throw bad("the lab must be a JSON object") }
        let known: Set = ["boards", "forwards", "link", "seed", "faults", "gateway", "comment"]
        if let k = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad("unknown key '\(k)' (expected boards, forwards, link, seed, faults, gateway)")
        }
        var lab = LabFile()
        if let g = root["gateway"] {
            guard let g = g as? Bool else { throw bad("gateway must be true or false") }
            lab.gateway = g
        }
        if let link = root["link"] {
            do { lab.link = try LinkProfile.parse(value: link) } catch { throw bad(error.description) }
        }
        if let seed = root["seed"] {
            guard !(seed is Bool), let n = JSON.integer(seed), n >= 0 else { throw bad("seed must be a whole number, like 1") }
            lab.seed = UInt64(n)
        }
        guard let items = root["boards"] as? [Any], !items.isEmpty else { throw bad("boards must be a non-empty array") }
        guard items.count <= 240 else { throw bad("at most 240 boards (10.0.2.15 to 10.0.2.254)") }
        // the static addresses first: the others are numbered around them
        var statics: [Int: UInt8] = [:]
        for (i, item) in items.enumerated() {
            guard let ip = (item as? [String: Any])?["ip"] else { continue }
            guard let text = ip as? String, let bits = ipBits(text) else {
                throw bad("boards[\(i)].ip must be an address like \"10.0.2.40\"")
            }
            let b = withUnsafeBytes(of: bits) { Array($0) }
            guard b[0] == 10, b[1] == 0, b[2] == 2, b[3] >= LANDHCP.firstHost, b[3] <= LANDHCP.lastHost else {
                throw bad("boards[\(i)].ip '\(text)' is outside the lab's LAN: expected 10.0.2.15 to 10.0.2.254")
            }
            guard !statics.values.contains(b[3]) else { throw bad("boards[\(i)].ip '\(text)' is another board's address too") }
            statics[i] = b[3]
        }
        var next = LANDHCP.firstHost
        for (i, item) in items.enumerated() {
            guard let b = item as? [String: Any], let name = b["name"] as? String, let sketch = b["sketch"] as? String else {
                throw bad("boards[\(i)] needs a name and a sketch")
            }
            guard !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" }) else {
                throw bad("boards[\(i)].name must be letters, digits and '-' (it is the board's DNS name)")
            }
            guard !lab.boards.contains(where: { $0.name == name }) else { throw bad("two boards are named '\(name)'") }
            let path = relative(sketch)
            guard readable(path) else { throw bad("boards[\(i)].sketch: cannot open '\(path)'") }
            var options: [String] = []
            for key in ["wiring", "world", "flash"] {
                guard let v = b[key] else { continue }
                guard let s = v as? String else { throw bad("boards[\(i)].\(key) must be a file name") }
                options += ["--\(key)", relative(s)]
            }
            let host: UInt8
            if let s = statics[i] {
                host = s
            } else {
                while statics.values.contains(next) { next += 1 }
                host = next
                next += 1
            }
            var mac: [UInt8] = [0x5C, 0xCF, 0x7F, 0, 2, host]
            if let m = b["mac"] {
                guard let text = m as? String, let bytes = LANDHCP.mac(parsing: text) else {
                    throw bad("boards[\(i)].mac (\(name)) must be six hex bytes like \"5C:CF:7F:12:34:56\"")
                }
                guard bytes[0] & 1 == 0 else { throw bad("boards[\(i)].mac (\(name)) '\(text)' is a multicast address: a board's MAC is unicast") }
                guard bytes != [0, 0, 0, 0, 0, 0] else { throw bad("boards[\(i)].mac (\(name)) must not be all zeros") }
                mac = bytes
            }
            if let other = lab.boards.first(where: { $0.mac == mac }) {
                throw bad("boards[\(i)].mac (\(name)) \(LANDHCP.macText(mac)) is \(other.name)'s MAC too")
            }
            lab.boards.append(
                Board(name: name, sketch: path, address: LANDHCP.text(host), isStatic: statics[i] != nil, mac: mac, options: options))
        }
        for (i, item) in ((root["forwards"] as? [Any]) ?? []).enumerated() {
            // [udp:][ADDR:]HOST:BOARD:PORT
            guard let text = item as? String else { throw bad("forwards[\(i)] must be a string like \"8080:server:80\"") }
            var parts = text.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
            guard parts.count >= 3, let board = lab.boards.first(where: { $0.name == parts[parts.count - 2] }) else {
                throw bad("forwards[\(i)] '\(text)': expected HOST:BOARD:PORT with a board's name, like 8080:server:80")
            }
            parts.remove(at: parts.count - 2)
            guard let f = Forward(parsing: parts.joined(separator: ":")) else {
                throw bad("forwards[\(i)] '\(text)': expected HOST:BOARD:PORT, like 8080:server:80")
            }
            lab.forwards.append((f, board.address))
        }
        if let faults = root["faults"] {
            guard let items = faults as? [Any] else { throw bad("faults must be an array, like [{\"at\":\"10s\",\"for\":\"5s\",\"ap\":\"down\"}]") }
            for (i, item) in items.enumerated() {
                let f: LinkFault
                do { f = try LinkFault.parse(value: item, field: "faults[\(i)]") } catch { throw bad(error.description) }
                var board: String?
                if let b = (item as? [String: Any])?["board"] {
                    guard let name = b as? String, lab.boards.contains(where: { $0.name == name }) else {
                        throw bad("faults[\(i)].board must name a board of the lab")
                    }
                    board = name
                }
                lab.faults.append((board, f))
            }
        }
        return lab
    }
}
