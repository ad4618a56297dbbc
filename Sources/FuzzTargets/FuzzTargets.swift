import ArduinoLua
import BoardCore
import BoardNet
import BoardTesting
import FoundationEssentials
import Glibc
import LittleFSCore

/// The entry points `make fuzz` hands libFuzzer's inputs to, and the test suite
/// replays its corpus through (Tests/FuzzTargetsTests): each takes arbitrary
/// bytes and returns what went wrong in a way a board or esplua must never show.
/// A clean input returns nil; an input that crashes the host is found by the
/// fuzzer itself (ASan, UBSan, lwIP's assertions turned on in the fuzz build).
public enum FuzzTargets {
    /// The targets by name, as `make fuzz` and the corpus folders name them.
    public static let all: [(name: String, run: @Sendable ([UInt8]) -> String?)] = [
        ("frames", frames), ("frames-cold", framesCold), ("gateway", gateway), ("filter", filter), ("world", world), ("wiring", wiring), ("lab", lab),
        ("littlefs", littlefs),
    ]

    // MARK: frames

    /// The board the frames meet: a TCP server that answers, stops or aborts,
    /// and a UDP socket that echoes, as the lessons' sketches do.
    static let frameSketch = """
        local server, udp = WiFiServer(80), WiFiUDP()
        local clients = {}
        function setup()
          WiFi.begin("esplua-net", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          server:begin()
          udp:begin(4210)
        end
        function loop()
          local c = server:accept()
          if c then clients[#clients + 1] = c end
          for i = #clients, 1, -1 do
            local c = clients[i]
            local n = c:available()
            if n > 0 then
              local data = c:read(n) or ""
              local first = data:byte(1) or 0
              c:print("got " .. #data)
              if first % 3 == 0 then c:stop() elseif first % 3 == 1 then c:abort() end
            end
            if not c:connected() then c:stop(); table.remove(clients, i) end
          end
          if udp:parsePacket() > 0 then
            local data = udp:read(1500) or ""
            udp:beginPacket(udp:remoteIP(), udp:remotePort())
            udp:write(data)
            udp:endPacket()
          end
        end
        """

    /// When the first frame goes in: after the board has joined and listens (the
    /// association is made instant for the fuzz board; DHCP from slirp takes ~1 s).
    static let firstFrameMicros: UInt64 = 1_500_000

    /// The frames an input holds: records of a 2-byte big-endian length, a gap in
    /// milliseconds before the frame, and the frame (Ethernet, from its destination MAC).
    public static func splitFrames(_ data: [UInt8]) -> [(gapMillis: Int, frame: [UInt8])] {
        var out: [(Int, [UInt8])] = []
        var i = 0
        while i + 3 <= data.count, out.count < 64 {
            let len = min(Int(data[i]) << 8 | Int(data[i + 1]), 1514)
            let gap = Int(data[i + 2])
            i += 3
            let end = min(i + len, data.count)
            out.append((gap, Array(data[i..<end])))
            i = end
        }
        return out
    }

    /// The records of `frames` as one input (the inverse of `splitFrames`).
    public static func joinFrames(_ frames: [(gapMillis: Int, frame: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        for (gap, f) in frames {
            out += [UInt8(f.count >> 8), UInt8(f.count & 0xFF), UInt8(min(gap, 255))]
            out += f
        }
        return out
    }

    nonisolated(unsafe) private static var sketchPath: String?

    private static func scratchFile(_ name: String, _ text: String) -> String {
        let dir = "\(FileManager.default.temporaryDirectory.path)/esplua-fuzz-\(getpid())"
        _ = Glibc.mkdir(dir, 0o700)
        let path = "\(dir)/\(name)"
        _ = FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        return path
    }

    /// Whether `target` keeps state from one input to the next (its memory outlives an input).
    public static func keepsState(_ target: String) -> Bool { target == "frames" || target.hasPrefix("gateway") }

    /// The folder of `target`'s corpus (`frames-cold` shares the `frames` corpus).
    public static func corpusName(of target: String) -> String { target == "frames-cold" ? "frames" : target }

    /// Frames from the wire into a booted board, through the path slirp's frames take
    /// (the inbox's injectFrame → one frame per pass → lwIP's ethernet_input). The
    /// board must keep running: the only crash a frame may cause is the heap running
    /// out, as on a board. lwIP's own invariants are checked by its assertions.
    ///
    /// The board stays booted across inputs (`WarmBoard`: thousands of inputs a
    /// second, each meeting the state the ones before left; a reboot every 256
    /// inputs or when the heap drifts). `framesCold` boots a board per input.
    public static func frames(_ data: [UInt8]) -> String? { frames(data, watch: nil) }

    /// `frames`, with `watch` called with each frame the board sends while the input runs (tests).
    public static func frames(_ data: [UInt8], watch: (([UInt8]) -> Void)?) -> String? {
        let board = WarmBoard.shared ?? WarmBoard(sketchPath: sketchPath ?? scratchFile("frames.lua", frameSketch))
        sketchPath = sketchPath ?? board.sketchPath
        WarmBoard.shared = board
        return board.run(data, watch: watch)
    }

    /// Shuts the `frames` target's board down (lwIP is process-global: a test that
    /// fed it frames releases it before the next test boots a board).
    public static func releaseWarmBoard() {
        WarmBoard.shared?.stop()
    }

    /// How the frames board's run ended, as a finding (nil: as a board may end).
    static func problem(_ outcome: RunOutcome) -> String? {
        switch outcome {
        case .finished, .crashed(.outOfMemory): return nil
        case .crashed(let crash): return "the board crashed: \(crash)"
        case .loadFailed(let why): return "the sketch did not load: \(why)"
        case .crashLoop(let why): return "the board crashed at every boot: \(why)"
        }
    }

    /// One input on a board booted for it (the `frames-cold` target: slow, ~200
    /// inputs a second, but every input alone, as a finding of `frames` is replayed).
    public static func framesCold(_ data: [UInt8]) -> String? { framesCold(data, watch: nil) }

    /// `framesCold`, with `watch` called with each frame the board sends (tests).
    public static func framesCold(_ data: [UInt8], watch: (([UInt8]) -> Void)?) -> String? {
        releaseWarmBoard()  // one board at a time: lwIP is process-global
        let path = sketchPath ?? scratchFile("frames.lua", frameSketch)
        sketchPath = path
        let records = splitFrames(data)
        var options = DeviceOptions(sketchPath: path)
        options.board.timeMode = .virtual
        options.noReboot = true
        options.worldPath = nil
        options.network.associationMicros = 0
        let total = records.reduce(0) { $0 + UInt64($1.gapMillis) * 1000 }
        options.runFor = firstFrameMicros + total + 400_000
        let device: Device
        do { device = try Device(options: options) { _ in } } catch { return "the device did not start: \(error)" }
        device.log = { _ in }
        defer { device.shutdown() }
        if let watch {
            device.board.events.subscribe(.frame) { _, event in
                if case .frame(outbound: true, let buf) = event { watch(Array(buf)) }
            }
        }
        var at = device.board.clock.micros + firstFrameMicros
        for (gap, frame) in records {
            at += UInt64(gap) * 1000
            _ = device.board.timers.schedule(at: at) { [unowned device] in device.board.loop.inbox.post(.injectFrame(frame)) }
        }
        return problem(device.run())
    }

    // MARK: the PC-like filter

    /// Frames (the `frames` target's records) through the filter between slirp and
    /// the board, both ways: never a trap; towards the board no segment carries
    /// more than the board's MSS, and the payload bytes come out as they went in.
    public static func filter(_ data: [UInt8]) -> String? {
        let filter = PCFilter()
        for (i, record) in splitFrames(data).enumerated() {
            let frame = record.frame
            if record.gapMillis & 1 == 1 {
                _ = frame.withUnsafeBytes { filter.fromBoard($0) }
                continue
            }
            let out = filter.toBoard(frame)
            guard out.count > 1 else { continue }  // passed as it was
            var payload: [UInt8] = []
            for f in out where !f.isEmpty {
                guard let s = f.withUnsafeBytes({ TCPSegment(frame: $0, outbound: false, time: 0) }) else {
                    return "record \(i): the filter made a frame that is no TCP segment"
                }
                if s.payload > filter.boardMSS { return "record \(i): a segment of \(s.payload) B for an MSS of \(filter.boardMSS)" }
                let ihl = Int(f[14] & 0x0F) * 4, thl = Int(f[14 + ihl + 12] >> 4) * 4
                payload += f[(14 + ihl + thl)..<(14 + ihl + thl + s.payload)]
            }
            let ihl = Int(frame[14] & 0x0F) * 4, thl = Int(frame[14 + ihl + 12] >> 4) * 4
            let total = Int(frame[16]) << 8 | Int(frame[17])
            if payload != Array(frame[(14 + ihl + thl)..<(14 + total)]) { return "record \(i): the payload changed" }
        }
        return nil
    }

    // MARK: the lab's gateway

    /// The names the fuzzed gateway's DNS answers (a lab's boards).
    static let gatewayHosts = ["board-1": "10.0.2.16", "board-2": "10.0.2.17", "lab-server": "10.0.2.30"]
    /// The seeds' board (a single board's MAC: Espressif's OUI and the chip id) has
    /// the lab's first lease, as the first board of a lab file does.
    public static let gatewayReservations: [(mac: [UInt8], address: String)] = [([0x5C, 0xCF, 0x7F, 0x97, 0xF7, 0x40], "10.0.2.15")]
    nonisolated(unsafe) private static var theGateway: Gateway?

    /// Frames from boards (the `frames` target's records) into the lab's gateway, as
    /// its LAN hands them over: DNS queries for the boards' names answered by the
    /// gateway itself (`WorldDNS`), the rest through the PC-like filter into slirp
    /// (restricted: ARP and ICMP echo, no host socket), DHCP by the lab's own server (LANDHCP). One gateway
    /// serves every input (its DHCP leases outlive an input, as in a lab). Every
    /// answer the gateway puts on the LAN must be a well-formed frame, and each DNS
    /// answer must answer the query it is for.
    public static func gateway(_ data: [UInt8]) -> String? {
        guard let gw = theGateway ?? (try? Gateway.inMemory(hosts: gatewayHosts, reservations: gatewayReservations)) else { return "the gateway did not start" }
        theGateway = gw
        let frames = splitFrames(data).map(\.frame)
        // the queries by (board address, board port, id): several may share one
        var queries: [[UInt8]: [[UInt8]]] = [:]
        for f in frames { if let key = dnsQueryKey(f) { queries[key, default: []].append(f) } }
        for (i, out) in gw.exchange(frames).enumerated() {
            if let why = frameProblem(out) { return "answer \(i): \(why)" }
            // a DNS answer from 10.0.2.3:53 to a board: for a query that was sent, naming its question
            guard out.count >= 42 + 12, out[23] == 17, out[26..<30] == [10, 0, 2, 3], out[34] == 0, out[35] == 53 else { continue }
            let key = [UInt8](out[30..<34] + out[36..<38] + out[42..<44])  // board address, board port, DNS id
            guard let sent = queries[key] else { continue }  // slirp's own (restricted: none)
            if out[44] & 0x80 == 0 { return "answer \(i): a DNS answer without QR" }
            let aname = out[(42 + 12)...].prefix { $0 != 0 }
            let asked = sent.contains { query in
                let q = 14 + Int(query[14] & 0x0F) * 4 + 8 + 12
                return q <= query.count && query[q...].prefix { $0 != 0 }.elementsEqual(aname)
            }
            if !asked { return "answer \(i): the DNS answer names a question no query asked" }
        }
        return nil
    }

    /// A board's DNS query to 10.0.2.3:53 as (source address, source port, id).
    private static func dnsQueryKey(_ f: [UInt8]) -> [UInt8]? {
        guard f.count >= 14 + 20 + 8 + 12, f[12] == 8, f[13] == 0, f[14] >> 4 == 4, f[23] == 17 else { return nil }
        let ihl = Int(f[14] & 0x0F) * 4
        guard ihl >= 20, f.count >= 14 + ihl + 8 + 12, f[30..<34] == [10, 0, 2, 3] else { return nil }
        let udp = 14 + ihl
        guard f[udp + 2] == 0, f[udp + 3] == 53 else { return nil }
        return [UInt8](f[26..<30] + f[udp..<(udp + 2)] + f[(udp + 8)..<(udp + 10)])
    }

    /// What is wrong with a frame the gateway put on the LAN (Ethernet II; an IPv4
    /// packet must have a sound header: its checksum, its lengths within the frame).
    static func frameProblem(_ f: [UInt8]) -> String? {
        guard f.count >= 14 else { return "a frame of \(f.count) bytes" }
        guard f[12] == 8, f[13] == 0 else { return nil }  // ARP and others: slirp's
        guard f.count >= 34, f[14] >> 4 == 4 else { return "an IPv4 frame without an IPv4 header" }
        let ihl = Int(f[14] & 0x0F) * 4
        let total = Int(f[16]) << 8 | Int(f[17])
        guard ihl >= 20, total >= ihl, 14 + total <= f.count else { return "IPv4 lengths \(ihl)/\(total) in a frame of \(f.count)" }
        if EthernetFrames.checksum(Array(f[14..<(14 + ihl)])) != 0 { return "a bad IPv4 header checksum" }
        if f[23] == 17 {
            guard total >= ihl + 8 else { return "a UDP packet without its header" }
            let udpLength = Int(f[14 + ihl + 4]) << 8 | Int(f[14 + ihl + 5])
            if udpLength != total - ihl { return "UDP length \(udpLength) in an IPv4 payload of \(total - ihl)" }
        }
        return nil
    }

    // MARK: files

    /// A world file: parses or says why not (the message names a field), never crashes.
    public static func world(_ data: [UInt8]) -> String? {
        do { _ = try World(json: Data(data)) } catch {
            if error.description.isEmpty { return "an empty error message" }
        }
        return nil
    }

    /// A wiring file: parses or says why not.
    public static func wiring(_ data: [UInt8]) -> String? {
        do { _ = try Wiring.parse(data, name: "fuzz.wiring.json") } catch {
            if error.description.isEmpty { return "an empty error message" }
        }
        return nil
    }

    /// A lab file: parses or says why not (every sketch it names counts as readable).
    public static func lab(_ data: [UInt8]) -> String? {
        do {
            let lab = try LabFile.parse(data, folder: "/lab") { _ in true }
            if lab.boards.isEmpty { return "a lab with no board" }
        } catch {
            if error.description.isEmpty { return "an empty error message" }
        }
        return nil
    }

    /// The geometry of the small images the LittleFS target mounts (the ESP8266's
    /// 8 KiB blocks would make each input 2 MB): 512-byte blocks, 4 to 64 of them.
    public static let littlefsBlockSize = 512

    /// A LittleFS image: mounts or is refused with an error; a mounted one is walked
    /// and every file read, each step an error or a result (littlefs's promise: a
    /// corrupt image is an error, never undefined behaviour).
    public static func littlefs(_ data: [UInt8]) -> String? {
        let blocks = min(max(data.count / littlefsBlockSize, 4), 64)
        var image = Array(data.prefix(blocks * littlefsBlockSize))
        image += [UInt8](repeating: 0xFF, count: blocks * littlefsBlockSize - image.count)
        var config = LFSConfiguration.esp8266
        config.requireExactBlockCount = false
        guard let fs = try? LittleFS.mount(device: MemoryBlockDevice(blockSize: littlefsBlockSize, image: image), config: config) else {
            return nil
        }
        defer { fs.unmount() }
        var pending = ["/"]
        var visited = 0
        while let dir = pending.popLast(), visited < 256 {
            visited += 1
            guard let entries = try? fs.listDirectory(dir) else { continue }
            for e in entries where e.name != "." && e.name != ".." {
                let path = dir == "/" ? "/\(e.name)" : "\(dir)/\(e.name)"
                if e.isDirectory {
                    pending.append(path)
                } else if let bytes = try? fs.readFile(path), bytes.count != e.size {
                    return "\(path): listed as \(e.size) bytes, read \(bytes.count)"
                }
            }
        }
        return nil
    }
}
