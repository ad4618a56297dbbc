import ArduinoLua
import BoardCore
import BoardNet

/// `esplua run --ui`: a device's page, from start to stop. The feed (board
/// thread) batches the board's events into messages for the hub; the server (its
/// own thread) serves the page and carries the page's commands to the inbox.
public final class UISession {
    public let server: UIServer
    public let hub: UIHub
    /// The run's frames, for the page's pcap download.
    public let capture = PcapBuffer()
    private let feed: UIFeed

    /// Serves `device`'s page on `address:port` (0: any free port). Call on the
    /// board's thread, before the device runs.
    public init(device: Device, address: String, port: Int, libraryRoot: String = "") throws(UIServer.StartError) {
        hub = UIHub(hello: Self.hello(device))
        server = try UIServer(
            address: address, port: port, hub: hub, inbox: device.board.loop.inbox, capture: capture,
            captureName: Self.captureName(device), libraryRoot: libraryRoot, log: { writeStandardError($0 + "\n") })
        feed = UIFeed(
            board: device.board, network: device.network, plugins: device.plugins, capture: capture,
            luaMemory: { [unowned device] in device.luaMemoryUsed }, deliver: { [hub] in hub.publish($0) })
    }

    /// Sends what is left, then closes the page's connections (the board's thread).
    public func stop() {
        feed.flush()
        feed.cancel()
        server.stop()
    }

    /// `hello_server.pcap` for `sketches/hello_server.lua`.
    static func captureName(_ device: Device) -> String {
        let file = device.options.sketchPath.split(separator: "/").last.map(String.init) ?? "board"
        let base = file.hasSuffix(".lua") ? String(file.dropLast(4)) : file
        return String(base.map { $0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" ? $0 : "_" }) + ".pcap"
    }

    /// `{"hello":{"sketch":…,"time":"real","led":2,"parts":[…]}}`: what every browser
    /// learns first; `parts` as `partsJSON` writes them.
    static func hello(_ device: Device) -> String {
        var w = JSONWriter()
        w.raw("{\"hello\":{\"sketch\":")
        w.string(String(device.options.sketchPath.split(separator: "/").last ?? ""))
        w.raw(",\"time\":")
        w.string(device.board.clock.mode == .real ? "real" : "virtual")
        w.raw(",\"led\":2,\"parts\":")  // LED_BUILTIN: GPIO2 on the ESP-12 boards (active low)
        w.raw(partsJSON(device.plugins.parts))
        w.raw("}}")
        return w.text
    }

    /// The wiring's parts as the page draws them: `[{"name":"servo","type":"servo",
    /// "summary":…,"wiring":{"pin":"2"},"controls":[{"name":"angle","kind":"output",
    /// "unit":"°","min":0,"max":180,"log":false}…]}…]`, every control the type declares
    /// in its order, with what its plugin says of it (ABI 1.2; `"kind":"value"` and no
    /// range when it says nothing).
    static func partsJSON(_ parts: [Part]) -> String {
        var w = JSONWriter()
        w.raw("[")
        for (i, part) in parts.enumerated() {
            if i > 0 { w.raw(",") }
            let info = part.info
            w.raw("{\"name\":")
            w.string(part.name)
            w.raw(",\"type\":")
            w.string(part.type)
            w.raw(",\"summary\":")
            w.string(info?.summary ?? "")
            w.raw(",\"wiring\":{")
            for (k, (key, value)) in part.settings.sorted(by: { $0.key < $1.key }).enumerated() {
                if k > 0 { w.raw(",") }
                w.key(key)
                w.string(value)
            }
            w.raw("},\"controls\":[")
            for (k, name) in (info?.controls ?? []).enumerated() {
                if k > 0 { w.raw(",") }
                let c = info?.controlInfo.first { $0.name == name }
                w.raw("{\"name\":")
                w.string(name)
                w.raw(",\"kind\":")
                w.string(c?.kind.rawValue ?? "value")
                w.raw(",\"unit\":")
                w.string(c?.unit ?? "")
                if let range = c?.range { w.raw(",\"min\":\(range.lowerBound),\"max\":\(range.upperBound)") }
                w.raw(",\"log\":")
                w.bool(c?.logarithmic ?? false)
                w.raw("}")
            }
            w.raw("]}")
        }
        w.raw("]")
        return w.text
    }
}

/// A lab board's link to the lab's page (`run --ui-link`): its feed's messages go
/// up a pipe (`UILabLink`); the page's commands come down another in real time,
/// and in virtual time from the lab's conductor, stamped with a window's board
/// time (`Network.onLabCommand`), so they land at the same point of the run
/// whatever the host did meanwhile.
public final class UILinkSession {
    private let link: UILabLink
    private let feed: UIFeed
    private unowned let device: Device

    /// `input` is the pipe of the page's commands, -1 when they come from the
    /// conductor. Call on the board's thread, before the device runs.
    public init(device: Device, out: Int32, input: Int32) {
        self.device = device
        let inbox = device.board.loop.inbox
        let link = UILabLink(out: out, input: input, inbox: inbox)
        self.link = link
        feed = UIFeed(
            board: device.board, network: device.network, plugins: device.plugins,
            luaMemory: { [unowned device] in device.luaMemoryUsed }, deliver: { link.send($0) })
        device.board.loop.addSource(link)
        device.board.loop.addHostIO(link)
        // waiting for a grant, what the pipe could not take yet still goes
        device.board.loop.addHeldWatcher(link)
        device.network.onLabCommand = { text in
            if case .success(let command) = UICommand.parse(text) { inbox.post(command) }
        }
        device.network.whileWaitingForGrant = { [unowned board = device.board] in board.loop.serviceHeldWatchers() }
    }

    /// Sends what is left and leaves the loop.
    public func stop() {
        feed.flush()
        feed.cancel()
        link.service(now: 0)
        device.network.onLabCommand = nil
        device.network.whileWaitingForGrant = nil
        device.board.loop.removeSource(link)
        device.board.loop.removeHostIO(link)
        device.board.loop.removeHeldWatcher(link)
    }
}
