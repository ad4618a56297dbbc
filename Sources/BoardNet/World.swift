import BoardCore
import FoundationEssentials

/// The world around the board, from a JSON file (`--world FILE`, or
/// `<sketch>.world.json` beside the sketch): the access points the radio can
/// see, names the network's DNS answers, services the device can connect to,
/// and visitors that connect to the device. Without a world file any SSID and
/// password associate, a scan finds nothing, and no one visits.
///
/// ```json
/// { "accessPoints": [ { "ssid": "classroom", "password": "esp8266rocks", "channel": 6, "rssi": -52 } ],
///   "hosts":    { "api.example": "10.0.2.2" },
///   "services": [ { "name": "echo.world", "port": 7, "reply": "echo" },
///                 { "name": "secure.world", "port": 443, "reply": "HTTP/1.1 200 OK…", "tls": {} },
///                 { "name": "pool.ntp.org", "protocol": "udp", "port": 123, "reply": "ntp", "epoch": 1510592825 } ],
///   "visitors": [ { "port": 80, "at": "3s", "every": "1s", "count": 8,
///                   "send": "GET / HTTP/1.0\r\n\r\n", "close": "after-device" } ] }
/// ```
public struct World: Sendable, Equatable {
    public var accessPoints: [AccessPoint] = []
    /// Names the network's DNS server answers itself (besides the services' names).
    public var hosts: [String: String] = [:]
    public var services: [Service] = []
    /// UDP services (`"protocol": "udp"`): NTP, echo, a syslog sink.
    public var udpServices: [UDPService] = []
    public var visitors: [Visitor] = []
    /// mDNS responders on the board's link (`WorldMDNS`).
    public var mdns: [MDNSResponder] = []
    /// True when a file described the radio world: unknown SSIDs and wrong passwords then fail.
    public var describesAccessPoints = false

    public init() {}

    /// An access point the station can scan and join.
    public struct AccessPoint: Sendable, Equatable {
        public var ssid: String
        /// Empty: an open network.
        public var password: String
        public var channel: Int
        public var rssi: Int
        public var hidden: Bool
        public var bssid: [UInt8]

        /// `encryptionType(i)`: ENC_TYPE_NONE (7) for open networks, ENC_TYPE_CCMP (4, WPA2) otherwise.
        public var encryptionType: Int { password.isEmpty ? 7 : 4 }
        public var bssidString: String {
            bssid.map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined(separator: ":")
        }
    }

    /// A TCP service in the world the device can connect to (an echo server, a web API).
    public struct Service: Sendable, Equatable {
        public var name: String?
        public var address: String
        public var port: UInt16
        /// "echo" echoes every byte; any other text is sent once the device has spoken.
        public var reply: String
        /// Close after replying (FIN from the service). Echo services wait for the device.
        public var closeAfterReply: Bool
        /// Set: the service speaks TLS (BearSSL's server engine, in this process).
        public var tls: TLS? = nil
    }

    /// A TLS service's certificate chain and key (PEM files, relative to the world
    /// file). Without them esplua makes a self-signed RSA certificate for the
    /// service's name with `openssl` when the world starts.
    public struct TLS: Sendable, Equatable {
        public var cert: String?
        public var key: String?
        public init(cert: String? = nil, key: String? = nil) {
            self.cert = cert
            self.key = key
        }
    }

    /// A UDP service in the world, answered inside esplua (`WorldUDP`) as the
    /// world's DNS is: it is in the pcap, and deterministic in virtual time.
    public struct UDPService: Sendable, Equatable {
        public enum Kind: String, Sendable { case ntp, echo, syslog }
        public var name: String?
        public var address: String
        public var port: UInt16
        public var kind: Kind
        /// NTP: the Unix time it tells at board time 0 (its clock runs with board time).
        public var epoch: UInt64
    }

    /// A client on the host that visits the device: scripted, in board time.
    public struct Visitor: Sendable, Equatable {
        public enum Close: String, Sendable { case afterDevice = "after-device", afterReply = "after-reply", reset, never }
        public var udp: Bool
        public var port: UInt16
        public var at: UInt64
        public var every: UInt64
        public var count: Int
        public var send: [UInt8]
        public var close: Close
        /// A visit gives up (and closes) after this long.
        public var timeout: UInt64
        /// Stay connected this long (reading what the device sends), then close;
        /// nil: close as `close` says.
        public var stay: UInt64? = nil
    }

    /// A host on the link that answers mDNS queries for one DNS-SD service:
    /// `name.local` at `address`, instance `name._ipp._tcp.local` on `port`.
    public struct MDNSResponder: Sendable, Equatable {
        public var name: String
        /// `_service._proto`, e.g. `_ipp._tcp`.
        public var service: String
        public var port: UInt16
        public var address: String
        /// TXT items (`key=value`).
        public var txt: [String]
    }

    public static let defaultServiceAddress = "10.0.2.100"

    public enum LoadError: Error, CustomStringConvertible, Equatable {
        case unreadable(String)
        case invalid(String, String)
        public var description: String {
            switch self {
            case .unreadable(let path): return "cannot read the world file '\(path)'"
            case .invalid(let path, let why): return "\(path): \(why)"
            }
        }
    }

    public static func load(path: String) throws(LoadError) -> World {
        guard let data = FileManager.default.contents(atPath: path) else { throw .unreadable(path) }
        var world: World
        do { world = try World(parsing: data) } catch { throw .invalid(path, error.why) }
        // a TLS service's files are relative to the world file
        let dir = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        func resolve(_ p: String?) -> String? { p.map { $0.hasPrefix("/") ? $0 : dir + "/" + $0 } }
        for i in world.services.indices where world.services[i].tls != nil {
            world.services[i].tls!.cert = resolve(world.services[i].tls!.cert)
            world.services[i].tls!.key = resolve(world.services[i].tls!.key)
        }
        return world
    }

    struct Invalid: Error { let why: String }

    /// Parses the JSON form; errors name the field (`visitors[0].port: …`).
    public init(json: Data) throws(LoadError) {
        do { try self.init(parsing: json) } catch { throw .invalid("world", error.why) }
    }

    private init(parsing json: Data) throws(Invalid) {
        let value: Any
        do { value = try JSON.parse(Array(json)) } catch { throw Invalid(why: "not valid JSON (\(error.description))") }
        guard let root = value as? [String: Any] else { throw Invalid(why: "the world must be a JSON object") }
        let known: Set = ["accessPoints", "hosts", "services", "visitors", "mdns", "comment"]
        if let bad = root.keys.sorted().first(where: { !known.contains($0) }) {
            throw Invalid(why: "unknown key '\(bad)' (expected accessPoints, hosts, services, visitors, mdns)")
        }
        if let aps = root["accessPoints"] {
            describesAccessPoints = true
            for (i, item) in try Self.array(aps, "accessPoints").enumerated() {
                let f = Fields(item, "accessPoints[\(i)]")
                let ssid = try f.string("ssid")
                guard (1...32).contains(ssid.utf8.count) else { throw Invalid(why: "\(f.path).ssid must be 1 to 32 characters") }
                let password = try f.optionalString("password") ?? ""
                guard password.isEmpty || (8...64).contains(password.utf8.count) else {
                    throw Invalid(why: "\(f.path).password must be empty (open) or 8 to 64 characters")
                }
                let channel = try f.optionalInt("channel") ?? 1
                guard (1...14).contains(channel) else { throw Invalid(why: "\(f.path).channel must be 1 to 14") }
                let rssi = try f.optionalInt("rssi") ?? -60
                guard (-100...0).contains(rssi) else { throw Invalid(why: "\(f.path).rssi must be -100 to 0 dBm") }
                // a stable, locally administered BSSID derived from the SSID
                var h: UInt32 = 2166136261
                for b in ssid.utf8 { h = (h ^ UInt32(b)) &* 16777619 }
                let bssid: [UInt8] = [0x02, 0x1A, 0x11, UInt8(h >> 16 & 0xff), UInt8(h >> 8 & 0xff), UInt8(h & 0xff)]
                accessPoints.append(
                    AccessPoint(
                        ssid: ssid, password: password, channel: channel, rssi: rssi,
                        hidden: try f.optionalBool("hidden") ?? false, bssid: bssid))
            }
        }
        if let hosts = root["hosts"] {
            guard let map = hosts as? [String: Any] else { throw Invalid(why: "hosts must be an object of name: address") }
            for (name, value) in map {
                guard let addr = value as? String, ipBits(addr) != nil else {
                    throw Invalid(why: "hosts.\(name) must be a dotted IPv4 address")
                }
                self.hosts[name.lowercased()] = addr
            }
        }
        if let services = root["services"] {
            for (i, item) in try Self.array(services, "services").enumerated() {
                let f = Fields(item, "services[\(i)]")
                let address = try f.optionalString("address") ?? World.defaultServiceAddress
                guard let bits = ipBits(address), (UInt32(bigEndian: bits) & 0xFFFF_FF00) == 0x0A00_0200,
                    ![2, 3, 15].contains(UInt32(bigEndian: bits) & 0xff)
                else {
                    throw Invalid(why: "\(f.path).address must be in 10.0.2.0/24 and not 10.0.2.2, .3 or .15 (the host, DNS and the device)")
                }
                let proto = try f.optionalString("protocol") ?? "tcp"
                guard proto == "tcp" || proto == "udp" else { throw Invalid(why: "\(f.path).protocol must be tcp or udp") }
                if proto == "udp" {
                    let kindText = try f.optionalString("reply") ?? "echo"
                    guard let kind = UDPService.Kind(rawValue: kindText) else {
                        throw Invalid(why: "\(f.path).reply must be ntp, echo or syslog for a UDP service")
                    }
                    let epoch = try f.optionalInt("epoch") ?? 0
                    guard epoch >= 0, epoch < 1 << 32 else { throw Invalid(why: "\(f.path).epoch must be a Unix time (0 to 2^32-1)") }
                    let svc = UDPService(
                        name: try f.optionalString("name"), address: address, port: try f.port("port"), kind: kind, epoch: UInt64(epoch))
                    if let n = svc.name { self.hosts[n.lowercased()] = address }
                    udpServices.append(svc)
                    continue
                }
                let reply = try f.optionalString("reply") ?? "echo"
                var svc = Service(
                    name: try f.optionalString("name"), address: address, port: try f.port("port"),
                    reply: reply, closeAfterReply: try f.optionalBool("closeAfterReply") ?? (reply != "echo"))
                if let tls = f.dict["tls"] {
                    let t = Fields(tls, "\(f.path).tls")
                    guard tls is [String: Any] else { throw Invalid(why: "\(f.path).tls must be an object ({} or cert and key)") }
                    svc.tls = TLS(cert: try t.optionalString("cert"), key: try t.optionalString("key"))
                    guard (svc.tls!.cert == nil) == (svc.tls!.key == nil) else {
                        throw Invalid(why: "\(f.path).tls needs both cert and key, or neither")
                    }
                }
                if let n = svc.name { self.hosts[n.lowercased()] = address }
                self.services.append(svc)
            }
        }
        if let mdns = root["mdns"] {
            for (i, item) in try Self.array(mdns, "mdns").enumerated() {
                let f = Fields(item, "mdns[\(i)]")
                let name = try f.string("name")
                guard (1...63).contains(name.utf8.count), !name.contains(".") else {
                    throw Invalid(why: "\(f.path).name must be one label of 1 to 63 characters (\"printer\" for printer.local)")
                }
                let service = try f.string("service")
                let parts = service.split(separator: ".", omittingEmptySubsequences: false)
                guard parts.count == 2, parts.allSatisfy({ $0.hasPrefix("_") && $0.count > 1 }) else {
                    throw Invalid(why: "\(f.path).service must be like \"_ipp._tcp\"")
                }
                let address = try f.optionalString("address") ?? World.defaultServiceAddress
                guard ipBits(address) != nil else { throw Invalid(why: "\(f.path).address must be a dotted IPv4 address") }
                var txt: [String] = []
                if let t = f.dict["txt"] {
                    guard let items = t as? [Any], let strings = items as? [String] else {
                        throw Invalid(why: "\(f.path).txt must be an array of \"key=value\" strings")
                    }
                    txt = strings
                }
                self.mdns.append(MDNSResponder(name: name, service: service, port: try f.port("port"), address: address, txt: txt))
            }
        }
        if let visitors = root["visitors"] {
            for (i, item) in try Self.array(visitors, "visitors").enumerated() {
                let f = Fields(item, "visitors[\(i)]")
                let proto = try f.optionalString("protocol") ?? "tcp"
                guard proto == "tcp" || proto == "udp" else { throw Invalid(why: "\(f.path).protocol must be tcp or udp") }
                let closeText = try f.optionalString("close") ?? "after-device"
                guard let close = Visitor.Close(rawValue: closeText) else {
                    throw Invalid(why: "\(f.path).close must be after-device, after-reply, reset or never")
                }
                let count = try f.optionalInt("count") ?? 1
                guard count >= 1 else { throw Invalid(why: "\(f.path).count must be at least 1") }
                self.visitors.append(
                    Visitor(
                        udp: proto == "udp", port: try f.port("port"),
                        at: try f.optionalDuration("at") ?? 0,
                        every: try f.optionalDuration("every") ?? 1_000_000,
                        count: count, send: Array((try f.optionalString("send") ?? "").utf8),
                        close: close, timeout: try f.optionalDuration("timeout") ?? 10_000_000,
                        stay: try f.optionalDuration("stay")))
            }
        }
    }

    private static func array(_ value: Any, _ key: String) throws(Invalid) -> [Any] {
        guard let a = value as? [Any] else { throw Invalid(why: "\(key) must be an array") }
        return a
    }

    /// Field access with messages that name the field.
    private struct Fields {
        let dict: [String: Any]
        let path: String
        init(_ item: Any, _ path: String) { dict = item as? [String: Any] ?? [:]; self.path = path }

        func string(_ key: String) throws(Invalid) -> String {
            guard let v = try optionalString(key) else { throw Invalid(why: "\(path).\(key) is missing") }
            return v
        }
        func optionalString(_ key: String) throws(Invalid) -> String? {
            guard let v = dict[key] else { return nil }
            guard let s = v as? String else { throw Invalid(why: "\(path).\(key) must be a string") }
            return s
        }
        func optionalInt(_ key: String) throws(Invalid) -> Int? {
            guard let v = dict[key] else { return nil }
            guard let n = JSON.integer(v) else { throw Invalid(why: "\(path).\(key) must be an integer") }
            return n
        }
        func optionalBool(_ key: String) throws(Invalid) -> Bool? {
            guard let v = dict[key] else { return nil }
            guard let b = JSON.boolean(v) else { throw Invalid(why: "\(path).\(key) must be true or false") }
            return b
        }
        func port(_ key: String) throws(Invalid) -> UInt16 {
            guard let p = try optionalInt(key) else { throw Invalid(why: "\(path).\(key) is missing") }
            guard (1...65535).contains(p) else { throw Invalid(why: "\(path).\(key) must be 1 to 65535") }
            return UInt16(p)
        }
        func optionalDuration(_ key: String) throws(Invalid) -> UInt64? {
            guard let v = dict[key] else { return nil }
            if let s = v as? String, let us = parseDurationMicros(s) { return us }
            if let n = JSON.number(v), n >= 0 { return UInt64(n * 1_000_000) }
            throw Invalid(why: "\(path).\(key) must be a duration like \"500ms\" or \"2s\"")
        }
    }
}
