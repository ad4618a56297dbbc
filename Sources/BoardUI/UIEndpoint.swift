/// Where `--ui` serves the page: `PORT` (on 127.0.0.1) or `ADDR:PORT`.
public struct UIEndpoint: Sendable, Equatable {
    public let address: String
    public let port: Int

    public init?(parsing text: String) {
        let address: String, portText: Substring
        if let colon = text.lastIndex(of: ":") {
            var a = text[..<colon]  // [::1]:8266
            if a.hasPrefix("["), a.hasSuffix("]") { a = a.dropFirst().dropLast() }
            address = String(a)
            portText = text[text.index(after: colon)...]
        } else {
            address = "127.0.0.1"
            portText = Substring(text)
        }
        guard !address.isEmpty, let port = Int(portText), (0...65535).contains(port) else { return nil }
        self.address = address
        self.port = port
    }

    /// Only this machine can reach the page.
    public var isLoopback: Bool { address == "127.0.0.1" || address == "::1" || address == "localhost" }
}
