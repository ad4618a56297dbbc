import ArduinoLua
import ArgumentParser
import BoardCore
import BoardNet
import BoardUI
import FoundationEssentials
import Glibc

/// `esplua run SKETCH …`: runs a Lua sketch on an emulated ESP8266.
struct Esplua: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "esplua",
        abstract: "Run Arduino-style Lua sketches on an emulated ESP8266 with the real lwIP stack.",
        subcommands: [Run.self, Lab.self, Test.self, Check.self, API.self, Plugins.self, FS.self],
        defaultSubcommand: nil
    )
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a sketch. Serial output goes to stdout; esplua's own messages to stderr.")

    @Argument(help: "The sketch: a Lua file defining setup() and loop().")
    var sketch: String

    @Option(
        name: .customLong("forward"),
        help: ArgumentHelp(
            "Forward a host port to the device: HOST:DEVICE, udp:HOST:DEVICE or ADDR:HOST:DEVICE (binds 127.0.0.1 by default). Repeatable.",
            valueName: "HOST:DEVICE"))
    var forwards: [String] = []

    @Option(name: .customLong("time"), help: "real (board time is wall time) or virtual (deterministic, as fast as possible).")
    var time: String = "real"

    @Option(
        name: .customLong("speed"),
        help: ArgumentHelp(
            "With --time virtual: board time runs at most this many times the host's (1: as a board, to watch; default: as fast as possible). The page (--ui) can change it, pause and step.",
            valueName: "K"))
    var speed: Double?

    @Option(name: .customLong("for"), help: ArgumentHelp("End the run after this much board time (e.g. 10s, 500ms, 2m).", valueName: "DURATION"))
    var duration: String?

    @Flag(name: .customLong("no-reboot"), help: "Exit with status 1 after a crash instead of rebooting.")
    var noReboot = false

    @Flag(
        name: .customLong("reboot-forever"),
        help: "Keep rebooting after the same crash at three boots in a row before loop() returned, as a board does (default: exit 1).")
    var rebootForever = false

    @Option(name: .customLong("timewait-limit"), help: "Most TIME_WAIT pcbs kept (core 3.x: 5); 0 = unlimited, as older cores.")
    var timewaitLimit: UInt32 = 5

    @Option(name: .customLong("lua-memory"), help: ArgumentHelp("Memory cap of the sketch's Lua VM (e.g. 16M, 512K).", valueName: "BYTES"))
    var luaMemory: String = "16M"

    @Option(
        name: .customLong("pcap"), help: ArgumentHelp("Write every frame of the device to a pcap file (Wireshark), stamped with board time.", valueName: "FILE")
    )
    var pcap: String?

    @Flag(name: .customLong("netstat"), help: "Print the lwIP connection table and heap to stderr when the run ends (and on SIGUSR1 while it runs).")
    var netstat = false

    @Option(
        name: .customLong("world"),
        help: ArgumentHelp(
            "The world around the board: access points, DNS names, services, visitors (JSON). Default: <sketch>.world.json beside the sketch, if any; none: no world.",
            valueName: "FILE"))
    var world: String?

    @Option(
        name: .customLong("wiring"),
        help: ArgumentHelp("The parts on the board's pins and buses (JSON). Default: <sketch>.wiring.json beside the sketch, if any.", valueName: "FILE"))
    var wiring: String?

    @Option(
        name: .customLong("set"),
        help: ArgumentHelp(
            "Set a part's control, at the start or at a board time: sensor.temperature=30 or sensor.temperature=30@10s. Repeatable.",
            valueName: "PART.CONTROL=VALUE[@TIME]"))
    var controls: [String] = []

    @Option(
        name: .customLong("plugin-path"),
        help: ArgumentHelp("A folder with plugins (*.so), searched before $ESPLUA_PLUGIN_PATH and esplua's own. Repeatable.", valueName: "DIR"))
    var pluginPaths: [String] = []

    @Option(
        name: .customLong("flash"),
        help: ArgumentHelp("The board's 4 MB flash image, kept across runs and reboots (created blank if missing).", valueName: "FILE"))
    var flash: String?

    @Flag(
        name: .customLong("pace-loop"),
        help: "Run every loop() pass at its board-time cost (~90,000 passes per second, as a board) instead of sleeping while the sketch is idle.")
    var paceLoop = false

    @Option(
        name: .customLong("trace"),
        help: ArgumentHelp(
            "Write free heap and pcbs per TCP state over board time, one row per change: CSV, or JSON lines if FILE ends in .jsonl.", valueName: "FILE"))
    var trace: String?

    @Option(
        name: .customLong("net"),
        help: ArgumentHelp(
            "Join a VDE network instead of the board's own slirp: vde:///path (a switch), tap://NAME (a TAP device), vxvde:// (a LAN across machines); lockstep:FD is a lab's link in virtual time (esplua lab sets it).",
            valueName: "URL"))
    var net: String?

    @Option(
        name: .customLong("ip"),
        help: ArgumentHelp(
            "The board's address on --net: static (default 10.0.2.15; /24, gateway 10.0.2.2), or dhcp (from the LAN's server, a lab's gateway).",
            valueName: "ADDR"))
    var ip: String?

    @Option(
        name: .customLong("mac"),
        help: ArgumentHelp("The board's station MAC, like 5C:CF:7F:12:34:56 (default: from the chip id, on --net from the address).", valueName: "MAC"))
    var mac: String?

    @Option(
        name: .customLong("link"),
        help: ArgumentHelp(
            "The radio link: ideal (no delay or loss), wifi (a typical ESP8266 802.11n link), or JSON like {\"latency\":\"5ms\",\"jitter\":\"1ms\",\"rate\":\"20Mbit\",\"loss\":0.01,\"dup\":0,\"reorder\":0}.",
            valueName: "PROFILE"))
    var link: String = "ideal"

    @Option(name: .customLong("seed"), help: "Seed of the link's generator (loss, jitter…): the same seed, the same run.")
    var seed: UInt64 = 0x8266

    @Option(
        name: .customLong("fault"),
        help: ArgumentHelp(
            "A fault at a board time: ap-down@10s+5s (the access point goes away for 5 s), link-down@3s+2s, loss=0.5@3s+500ms. Repeatable.",
            valueName: "FAULT"))
    var faults: [String] = []

    @Option(
        name: .customLong("ui"),
        help: ArgumentHelp(
            "Serve the board's web page (serial console, connections, heap, packets, pins) on PORT or ADDR:PORT (127.0.0.1 by default); its URL goes to stderr.",
            valueName: "[ADDR:]PORT"))
    var ui: String?

    @Option(
        name: .customLong("ui-link"),
        help: ArgumentHelp(
            "(used by `esplua lab --ui`) Send the page's messages to descriptor OUT, read its commands from IN (OUT alone: they come from the lab's conductor, --net lockstep:).",
            valueName: "OUT:IN", visibility: .hidden))
    var uiLink: String?

    func validate() throws {
        if let mac, LANDHCP.mac(parsing: mac) == nil || LANDHCP.mac(parsing: mac)![0] & 1 != 0 {
            throw ValidationError("bad --mac '\(mac)': expected six hex bytes of a unicast MAC, like 5C:CF:7F:12:34:56")
        }
        if let ip, ip != "dhcp", ipBits(ip) == nil { throw ValidationError("bad --ip '\(ip)': expected a dotted IPv4 address like 10.0.2.16") }
        if ip != nil && net == nil { throw ValidationError("--ip needs --net (slirp's DHCP gives the address otherwise)") }
        if let net, net.hasPrefix("lockstep:") != (time == "virtual") {
            throw ValidationError(
                net.hasPrefix("lockstep:")
                    ? "--net lockstep: is a lab's link in virtual time (esplua lab --time virtual starts it with --time virtual)"
                    : "--net runs in real time: the other end of a LAN does not follow the board's virtual clock (boards in virtual time share a LAN in a lab: esplua lab LAB.json --time virtual)"
            )
        }
        guard TimeMode(rawValue: time) != nil else { throw ValidationError("--time must be 'real' or 'virtual', not '\(time)'") }
        if let speed {
            guard time == "virtual" else { throw ValidationError("--speed needs --time virtual (in real time board time is the host's clock)") }
            guard speed > 0, speed.isFinite else { throw ValidationError("bad --speed '\(speed)': expected a number above 0, like 1 or 10") }
        }
        for f in forwards where Forward(parsing: f) == nil {
            throw ValidationError("bad --forward '\(f)': expected HOST:DEVICE ports like 8080:80 (or udp:5000:1200)")
        }
        if let d = duration, parseDurationMicros(d) == nil {
            throw ValidationError("bad --for '\(d)': expected a duration like 10s, 500ms, 2m or 1h")
        }
        for c in controls where Wiring.Change(parsing: c) == nil {
            throw ValidationError("bad --set '\(c)': expected PART.CONTROL=VALUE or PART.CONTROL=VALUE@TIME, like sensor.temperature=30@10s")
        }
        do { _ = try LinkProfile.parse(link, field: "--link") } catch { throw ValidationError("\(error)") }
        for f in faults {
            do { _ = try LinkFault.parse(f) } catch { throw ValidationError("\(error)") }
        }
        if let ui, UIEndpoint(parsing: ui) == nil { throw ValidationError("bad --ui '\(ui)': expected a port like 8266 or ADDR:PORT like 0.0.0.0:8266") }
        if parseBytes(luaMemory) == nil { throw ValidationError("bad --lua-memory '\(luaMemory)': expected bytes like 16M or 512K") }
    }

    func run() throws {
        var options = DeviceOptions(sketchPath: sketch)
        options.board.timeMode = TimeMode(rawValue: time)!
        options.network.forwards = forwards.compactMap(Forward.init(parsing:))
        options.network.timewaitLimit = timewaitLimit
        options.network.link = net
        if ip == "dhcp" {
            options.network.lanAddress.dhcp = true
        } else if let ip {
            options.network.lanAddress.address = ip
        }
        options.network.mac = mac.flatMap(LANDHCP.mac(parsing:))
        options.network.linkProfile = try! LinkProfile.parse(link)
        options.network.linkSeed = seed
        options.network.faults = faults.map { try! LinkFault.parse($0) }
        options.noReboot = noReboot
        options.rebootForever = rebootForever
        options.runFor = duration.flatMap(parseDurationMicros)
        options.luaMemoryLimit = parseBytes(luaMemory)!
        options.worldPath = world
        options.wiringPath = wiring
        options.pluginPaths = pluginPaths
        options.flashPath = flash
        options.controlChanges = controls.compactMap(Wiring.Change.init(parsing:))
        options.paceLoop = paceLoop
        guard FileManager.default.isReadableFile(atPath: sketch) else {
            fail("esplua: cannot open sketch '\(sketch)': no such file")
        }
        if let world, world != "none", !FileManager.default.isReadableFile(atPath: world) {
            fail("esplua: cannot open the world file '\(world)': no such file")
        }
        if let wiring, !FileManager.default.isReadableFile(atPath: wiring) {
            fail("esplua: cannot open the wiring file '\(wiring)': no such file")
        }
        let device: Device
        do { device = try Device(options: options) } catch {
            fail("esplua: \(error)")
        }
        signal(SIGPIPE, SIG_IGN)
        // a board run in the background of a terminal gets no serial input (EIO), not stopped
        signal(SIGTTIN, SIG_IGN)
        device.board.loop.addHostIO(SerialInput(fd: 0, uart: device.board.uart))
        var pcapWriter: PcapWriter?
        if let pcap {
            do { pcapWriter = try PcapWriter(path: pcap, events: device.board.events) } catch {
                fail("esplua: cannot write the pcap file '\(pcap)': \(error)")
            }
        }
        defer { pcapWriter?.close() }
        var traceWriter: HeapTrace?
        if let trace {
            do { traceWriter = try HeapTrace(path: trace, board: device.board, network: device.network) } catch {
                fail("esplua: cannot write the trace file '\(trace)': \(error)")
            }
        }
        defer { traceWriter?.close() }
        NetstatOnSignal.install(device)
        if let speed { device.board.loop.inbox.post(.setSpeed(speed)) }
        let page = ui.map { startUI(device, $0) }
        let link = uiLink.map { startUILink(device, $0) }
        let outcome = device.run()
        page?.stop()
        link?.stop()
        if netstat { printNetstat(device) }
        if NetstatOnSignal.interrupted != 0 {
            device.shutdown()
            throw ExitCode(130)  // Ctrl-C: the run ended early, as a shell counts it
        }
        switch outcome {
        case .finished:
            device.shutdown()
        case .crashed:
            device.shutdown()
            throw ExitCode(1)
        case .loadFailed(let message), .crashLoop(let message):
            device.shutdown()
            fail("esplua: \(message)")
        }
    }
}

func printNetstat(_ device: Device) {
    let seconds = Format.fixed(Double(device.board.clock.micros) / 1_000_000, decimals: 3)
    var out =
        "esplua: at \(seconds) s: heap free \(device.board.heap.freeBytes) B, max block \(device.board.heap.maxFreeBlockSize) B, fragmentation \(device.board.heap.fragmentation)%; \(device.board.loop.passes) loop() passes, \(device.board.loop.idleWaits) idle waits\n"
    out += "Proto Local               Remote              State         Unacked Unread TIME_WAIT left\n"
    for r in device.network.pcbTable() {
        let local = Format.padded("\(r.localAddress):\(r.localPort)", to: 19)
        let remote = Format.padded("\(r.remoteAddress):\(r.remotePort)", to: 19)
        let state = Format.padded(r.state.description, to: 13)
        let tw = r.state == .timeWait ? Format.fixed(Double(r.timeWaitMillisLeft) / 1000, decimals: 1) + " s" : ""
        out += "tcp   \(local) \(remote) \(state) \(Format.padded(String(r.unacked), to: 7)) \(Format.padded(String(r.unread), to: 6)) \(tw)\n"
    }
    writeStandardError(out)
}

/// `esplua plugins`: what the search path holds.
struct Plugins: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "List the plugins found (--plugin-path, $ESPLUA_PLUGIN_PATH, esplua's own) and what each provides.")

    @Option(name: .customLong("plugin-path"), help: ArgumentHelp("A folder with plugins (*.so). Repeatable.", valueName: "DIR"))
    var pluginPaths: [String] = []

    func run() throws {
        let board = Board()
        let host = PluginHost(board: board, extraDirectories: pluginPaths)
        let (libraries, problems) = host.discover()
        var out = ""
        for lib in libraries {
            out += "\(lib.name) \(lib.version) (ABI \(lib.abi >> 16).\(lib.abi & 0xffff)) — \(lib.summary)\n  \(lib.path)\n"
            if !lib.moduleNames.isEmpty { out += "  modules: \(lib.moduleNames.joined(separator: ", "))\n" }
            for p in lib.parts {
                let controls = p.controls.map { name in Self.describe(name, p.controlInfo.first { $0.name == name }) }
                out += "  part \(p.name): \(p.summary)" + (controls.isEmpty ? "" : " [controls: \(controls.joined(separator: ", "))]") + "\n"
            }
        }
        if libraries.isEmpty { out += "no plugins found in: \(host.searchPath.map(\.directory).joined(separator: ", "))\n" }
        print(out, terminator: "")
        for p in problems { writeStandardError("esplua: \(p)\n") }
    }

    /// `temperature (-40…85 °C)`, `pressed (button)`, `angle (reports, 0…180 °)`: a
    /// control as its plugin describes it (ABI 1.2); the bare name otherwise.
    static func describe(_ name: String, _ info: PluginLibrary.ControlInfo?) -> String {
        guard let info else { return name }
        func number(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x) }
        var what: [String] = []
        if info.kind == .button { what.append("button") }
        if info.kind == .output { what.append("reports") }
        if let r = info.range, info.kind != .button {
            what.append("\(number(r.lowerBound))…\(number(r.upperBound))" + (info.unit.isEmpty ? "" : " \(info.unit)") + (info.logarithmic ? ", log" : ""))
        } else if !info.unit.isEmpty {
            what.append(info.unit)
        }
        return what.isEmpty ? name : "\(name) (\(what.joined(separator: ", ")))"
    }
}

/// `kill -USR1 <pid>` prints the connection table while the device runs; Ctrl-C
/// (SIGINT) ends the run as `--for` does, so `--netstat` prints the table and the
/// pcap is complete (a second Ctrl-C exits at once).
final class NetstatOnSignal: EventSource {
    nonisolated(unsafe) static var requested: sig_atomic_t = 0
    nonisolated(unsafe) static var interrupted: sig_atomic_t = 0
    unowned let device: Device
    init(device: Device) { self.device = device }

    static func install(_ device: Device) {
        signal(SIGUSR1) { _ in NetstatOnSignal.requested = 1 }
        signal(SIGINT) { _ in
            if NetstatOnSignal.interrupted != 0 { _exit(130) }
            NetstatOnSignal.interrupted = 1
        }
        device.board.loop.addSource(NetstatOnSignal(device: device))
    }

    func service(now: UInt64) {
        if NetstatOnSignal.interrupted != 0 && !device.board.loop.stopRequested { device.board.loop.requestStop() }
        guard NetstatOnSignal.requested != 0 else { return }
        NetstatOnSignal.requested = 0
        printNetstat(device)
    }
    func nextDeadline(now: UInt64) -> UInt64? { nil }
}

func fail(_ message: String) -> Never {
    writeStandardError(message + "\n")
    for undo in undoOnFailure.reversed() { undo() }
    exit(1)
}

/// What `fail` undoes before it exits (a lab's switch, started before a forward's
/// port turned out to be in use, must not outlive it): `exit` runs no `defer`.
nonisolated(unsafe) var undoOnFailure: [() -> Void] = []

/// "16M", "512K", "1048576" → bytes.
func parseBytes(_ text: String) -> Int? {
    let scale: [Character: Int] = ["K": 1024, "M": 1024 * 1024, "G": 1024 * 1024 * 1024]
    if let last = text.uppercased().last, let s = scale[last] {
        return Int(text.dropLast()).map { $0 * s }
    }
    return Int(text)
}

// Usage errors exit with status 2 (ArgumentParser's default is 64).
do {
    var command = try Esplua.parseAsRoot()
    try command.run()
} catch {
    let code = Esplua.exitCode(for: error)
    if code == .validationFailure || (error as? CleanExit) == nil && code != .success && code.rawValue != 1 && code.rawValue != 130 {
        writeStandardError(Esplua.fullMessage(for: error) + "\n")
        exit(2)
    }
    Esplua.exit(withError: error)
}
