import ArduinoLua
import ArgumentParser
import BoardCore
import BoardNet
import Foundation

/// `esplua run SKETCH …`: runs a Lua sketch on an emulated ESP8266.
struct Esplua: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "esplua",
        abstract: "Run Arduino-style Lua sketches on an emulated ESP8266 with the real lwIP stack.",
        subcommands: [Run.self],
        defaultSubcommand: nil
    )
}

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a sketch. Serial output goes to stdout; esplua's own messages to stderr.")

    @Argument(help: "The sketch: a Lua file defining setup() and loop().")
    var sketch: String

    @Option(name: .customLong("forward"), help: ArgumentHelp(
        "Forward a host port to the device: HOST:DEVICE, udp:HOST:DEVICE or ADDR:HOST:DEVICE (binds 127.0.0.1 by default). Repeatable.",
        valueName: "HOST:DEVICE"))
    var forwards: [String] = []

    @Option(name: .customLong("time"), help: "real (board time is wall time) or virtual (deterministic, as fast as possible).")
    var time: String = "real"

    @Option(name: .customLong("for"), help: ArgumentHelp("End the run after this much board time (e.g. 10s, 500ms, 2m).", valueName: "DURATION"))
    var duration: String?

    @Flag(name: .customLong("no-reboot"), help: "Exit with status 1 after a crash instead of rebooting.")
    var noReboot = false

    @Option(name: .customLong("timewait-limit"), help: "Most TIME_WAIT pcbs kept (core 3.x: 5); 0 = unlimited, as older cores.")
    var timewaitLimit: UInt32 = 5

    @Option(name: .customLong("lua-memory"), help: ArgumentHelp("Memory cap of the sketch's Lua VM (e.g. 16M, 512K).", valueName: "BYTES"))
    var luaMemory: String = "16M"

    @Option(name: .customLong("pcap"), help: ArgumentHelp("Write every frame of the device to a pcap file (Wireshark), stamped with board time.", valueName: "FILE"))
    var pcap: String?

    @Flag(name: .customLong("netstat"), help: "Print the lwIP connection table and heap to stderr when the run ends.")
    var netstat = false

    func validate() throws {
        guard TimeMode(rawValue: time) != nil else { throw ValidationError("--time must be 'real' or 'virtual', not '\(time)'") }
        for f in forwards where Forward(parsing: f) == nil {
            throw ValidationError("bad --forward '\(f)': expected HOST:DEVICE ports like 8080:80 (or udp:5000:1200)")
        }
        if let d = duration, parseDuration(d) == nil {
            throw ValidationError("bad --for '\(d)': expected a duration like 10s, 500ms, 2m or 1h")
        }
        if parseBytes(luaMemory) == nil { throw ValidationError("bad --lua-memory '\(luaMemory)': expected bytes like 16M or 512K") }
    }

    func run() throws {
        var options = DeviceOptions(sketchPath: sketch)
        options.board.timeMode = TimeMode(rawValue: time)!
        options.network.forwards = forwards.compactMap(Forward.init(parsing:))
        options.network.timewaitLimit = timewaitLimit
        options.noReboot = noReboot
        options.runFor = duration.flatMap(parseDuration)
        options.luaMemoryLimit = parseBytes(luaMemory)!
        guard FileManager.default.isReadableFile(atPath: sketch) else {
            fail("esplua: cannot open sketch '\(sketch)': no such file")
        }
        let device: Device
        do { device = try Device(options: options) } catch {
            fail("esplua: \(error)")
        }
        signal(SIGPIPE, SIG_IGN)
        var pcapWriter: PcapWriter?
        if let pcap {
            do { pcapWriter = try PcapWriter(path: pcap, clock: device.board.clock) } catch {
                fail("esplua: cannot write the pcap file '\(pcap)': \(error.localizedDescription)")
            }
            device.network.frameTap = { _, frame in pcapWriter?.write(frame) }
        }
        defer { pcapWriter?.close() }
        let outcome = device.run()
        if netstat { printNetstat(device) }
        switch outcome {
        case .finished:
            device.shutdown()
        case .crashed:
            device.shutdown()
            throw ExitCode(1)
        case .loadFailed(let message):
            device.shutdown()
            fail("esplua: \(message)")
        }
    }
}

func printNetstat(_ device: Device) {
    var out = "esplua: heap free \(device.board.heap.freeBytes) B, max block \(device.board.heap.maxFreeBlockSize) B, fragmentation \(device.board.heap.fragmentation)%\n"
    out += "Proto Local               Remote              State         Unacked Unread TIME_WAIT left\n"
    for r in device.network.pcbTable() {
        let local = "\(r.localAddress):\(r.localPort)".padding(toLength: 19, withPad: " ", startingAt: 0)
        let remote = "\(r.remoteAddress):\(r.remotePort)".padding(toLength: 19, withPad: " ", startingAt: 0)
        let state = r.state.description.padding(toLength: 13, withPad: " ", startingAt: 0)
        let tw = r.state == .timeWait ? String(format: "%.1f s", Double(r.timeWaitMillisLeft) / 1000) : ""
        out += "tcp   \(local) \(remote) \(state) \(String(r.unacked).padding(toLength: 7, withPad: " ", startingAt: 0)) \(String(r.unread).padding(toLength: 6, withPad: " ", startingAt: 0)) \(tw)\n"
    }
    FileHandle.standardError.write(Data(out.utf8))
}

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(1)
}

/// "10s", "500ms", "2m", "1h", "1.5s", or plain seconds → microseconds.
func parseDuration(_ text: String) -> UInt64? {
    let units: [(String, Double)] = [("ms", 1_000), ("us", 1), ("s", 1_000_000), ("m", 60_000_000), ("h", 3_600_000_000)]
    for (suffix, scale) in units where text.hasSuffix(suffix) {
        guard let v = Double(text.dropLast(suffix.count)), v >= 0 else { return nil }
        return UInt64(v * scale)
    }
    guard let v = Double(text), v >= 0 else { return nil }
    return UInt64(v * 1_000_000)
}

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
    if code == .validationFailure || (error as? CleanExit) == nil && code != .success && code.rawValue != 1 {
        FileHandle.standardError.write(Data((Esplua.fullMessage(for: error) + "\n").utf8))
        exit(2)
    }
    Esplua.exit(withError: error)
}
