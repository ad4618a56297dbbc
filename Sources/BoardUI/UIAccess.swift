/// Who may command the board from a browser: only the page esplua served. The
/// page's URL carries a random token (printed on stderr, never served to anyone
/// without it); a WebSocket upgrade must present it (`/ws?token=…`), and its
/// `Origin` must be this server as the browser reached it (`Host`), so another
/// site open in the same browser cannot drive the board (a cross-site WebSocket
/// carries that site's Origin; DNS rebinding a foreign Host).
public struct UIAccess: Sendable {
    /// 32 hex digits from the system's random source.
    public let token: String
    /// The host:port forms the server answers to (the bound address; and `localhost`
    /// when bound to loopback); empty when bound to every address (0.0.0.0, ::), where
    /// the machine's own names are not known: any Host then, the token still required.
    public let hosts: Set<String>

    public init(token: String = UIAccess.randomToken(), address: String, port: Int) {
        self.token = token
        let host = address.contains(":") ? "[\(address)]" : address
        var hosts: Set<String> = ["\(host):\(port)"]
        if address == "127.0.0.1" || address == "::1" || address == "localhost" { hosts.insert("localhost:\(port)") }
        if address == "0.0.0.0" || address == "::" { hosts = [] }
        self.hosts = hosts
    }

    public static func randomToken() -> String {
        var g = SystemRandomNumberGenerator()  // getrandom(2) on Linux
        return (0..<2).map { _ in
            let hex = String(g.next() as UInt64, radix: 16)
            return String(repeating: "0", count: 16 - hex.count) + hex
        }.joined()
    }

    /// Why an upgrade to a WebSocket is refused, nil if it may go ahead. `uri` is the
    /// request's target (`/ws?token=…`); `host` and `origin` its headers.
    public func refusal(uri: String, host: String?, origin: String?) -> String? {
        let (path, query) = Self.split(uri)
        guard path == "/ws" else { return "no WebSocket at \(path)" }
        guard Self.parameter("token", in: query) == token else { return "missing or wrong token" }
        guard let host, hosts.isEmpty || hosts.contains(host) else { return "unexpected Host \(host ?? "(none)")" }
        // a browser always sends Origin on a WebSocket; only the page's own is accepted
        guard let origin, origin == "http://\(host)" else { return "foreign Origin \(origin ?? "(none)")" }
        return nil
    }

    /// Why a download (the pcap) is refused, nil if it may go: the URL's token and a
    /// Host of this server (a link the page follows carries no Origin).
    public func downloadRefusal(uri: String, host: String?) -> String? {
        let (_, query) = Self.split(uri)
        guard Self.parameter("token", in: query) == token else { return "missing or wrong token" }
        guard let host, hosts.isEmpty || hosts.contains(host) else { return "unexpected Host \(host ?? "(none)")" }
        return nil
    }

    /// `/path?query` → (path, query).
    static func split(_ uri: String) -> (String, Substring) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<q]), uri[uri.index(after: q)...])
    }

    /// `%XX` escapes (and `+`) of a query value decoded; invalid escapes kept as they are.
    static func percentDecoded(_ text: String) -> String {
        var out: [UInt8] = []
        let bytes = Array(text.utf8)
        var i = 0
        while i < bytes.count {
            if bytes[i] == UInt8(ascii: "%"), i + 2 < bytes.count, let v = UInt8(String(decoding: bytes[i + 1...i + 2], as: UTF8.self), radix: 16) {
                out.append(v)
                i += 3
            } else {
                out.append(bytes[i] == UInt8(ascii: "+") ? UInt8(ascii: " ") : bytes[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The value of `name` in a query string (no percent-decoding: tokens are hex).
    static func parameter(_ name: String, in query: Substring) -> String? {
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            if kv.count == 2, kv[0] == name { return String(kv[1]) }
        }
        return nil
    }
}
