import BoardCore
import BoardNet
import BoardTesting
import Foundation
import LittleFSCore
import XCTest

@testable import FuzzTargets

/// `make fuzz`'s short smoke: every input of the corpus (the seeds, and each finding
/// minimized into a regression input) goes through its target again, uninstrumented.
/// The seeds are made from our own runs: set ESPLUA_WRITE_SEEDS=1 to write them anew
/// into corpus/ (the lessons' traffic, world and wiring files, a LittleFS image).
final class FuzzTargetsTests: XCTestCase {
    private var corpus: URL { Bundle.module.resourceURL!.appendingPathComponent("corpus") }
    private var writeSeeds: Bool { ProcessInfo.processInfo.environment["ESPLUA_WRITE_SEEDS"] != nil }
    private var sourceCorpus: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("corpus")
    }

    override func tearDown() {
        FuzzTargets.releaseWarmBoard()  // lwIP is process-global: the next test boots its own board
    }

    /// Every input through its target; `frames-cold` (a board booted per input) takes the
    /// named ones (seeds, findings' regression inputs), `frames` all, the fuzzer's own
    /// units (named by their SHA-1) too.
    func testEveryCorpusInputPasses() throws {
        var count = 0
        for (name, run) in FuzzTargets.all {
            let dir = corpus.appendingPathComponent(FuzzTargets.corpusName(of: name))
            let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
            XCTAssertFalse(files.isEmpty, "corpus/\(name) has no seeds")
            let fuzzerUnit = { (f: String) in f.count == 40 && f.allSatisfy(\.isHexDigit) }
            for f in files where !(name == "frames-cold" && fuzzerUnit(f)) {
                let data = try Data(contentsOf: dir.appendingPathComponent(f))
                XCTAssertNil(run(Array(data)), "\(name)/\(f)")
                count += 1
            }
        }
        XCTAssertGreaterThan(count, 8)
    }

    /// `make fuzz` in miniature, uninstrumented and seeded (the same inputs every run):
    /// each target gets its corpus mutated as libFuzzer's simplest mutators do
    /// (flip a bit, set a byte, drop or repeat a stretch, splice two inputs).
    func testEachTargetSurvivesAShortMutationSmoke() throws {
        var rng = SplitMix(seed: 0x8266)
        for (name, run) in FuzzTargets.all {
            let dir = corpus.appendingPathComponent(FuzzTargets.corpusName(of: name))
            let seeds = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
                .map { Array(try Data(contentsOf: dir.appendingPathComponent($0))) }
            let rounds = name == "frames-cold" ? 100 : name == "frames" ? 2000 : 5000
            for round in 0..<rounds {
                var input = seeds[Int(rng.next() % UInt64(seeds.count))]
                for _ in 0...(rng.next() % 4) { mutate(&input, other: seeds[Int(rng.next() % UInt64(seeds.count))], &rng) }
                if let problem = run(input) {
                    XCTFail("\(name), round \(round): \(problem); input \(input.map { String(format: "%02x", $0) }.joined())")
                    break
                }
            }
        }
    }

    private func mutate(_ input: inout [UInt8], other: [UInt8], _ rng: inout SplitMix) {
        func at(_ n: Int) -> Int { n == 0 ? 0 : Int(rng.next() % UInt64(n)) }
        switch rng.next() % 5 {
        case 0 where !input.isEmpty: input[at(input.count)] ^= UInt8(1 << at(8))
        case 1 where !input.isEmpty: input[at(input.count)] = UInt8(truncatingIfNeeded: rng.next())
        case 2 where !input.isEmpty:
            let a = at(input.count)
            input.removeSubrange(a..<min(input.count, a + 1 + at(16)))
        case 3 where !input.isEmpty:
            let a = at(input.count)
            let b = min(input.count, a + 1 + at(16))
            input.insert(contentsOf: input[a..<b], at: at(input.count))
        default:
            input = Array(input.prefix(at(input.count + 1))) + Array(other.suffix(at(other.count + 1)))
        }
    }

    func testFramesRoundTripThroughTheInputFormat() {
        let frames: [(gapMillis: Int, frame: [UInt8])] = [(0, [1, 2, 3]), (7, []), (255, Array(repeating: 9, count: 600))]
        let back = FuzzTargets.splitFrames(FuzzTargets.joinFrames(frames))
        XCTAssertEqual(back.map(\.gapMillis), [0, 7, 255])
        XCTAssertEqual(back.map(\.frame), frames.map(\.frame))
        // a truncated record keeps what is there; garbage never traps
        XCTAssertEqual(FuzzTargets.splitFrames([0, 10, 0, 1, 2]).map(\.frame), [[1, 2]])
        XCTAssertTrue(FuzzTargets.splitFrames([0xFF]).isEmpty)
    }

    /// The frames a visitor sent in a lesson, replayed into the fuzz board at the same
    /// gaps: the board (another sketch, other sequence numbers) answers with RSTs or
    /// data, and keeps running. These are the frame target's seeds.
    func testLessonTrafficReplaysIntoTheFuzzBoard() throws {
        let sketches = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("sketches")
        for (lesson, seconds) in [("abort_vs_stop", 10.0), ("udp_echo", 21.0), ("timewait_heap", 20.0)] {
            var frames: [(gapMillis: Int, frame: [UInt8])] = []
            var last: UInt64?
            let run = try SketchHarness.run(
                path: sketches.appendingPathComponent("\(lesson).lua").path, for: BoardTesting.seconds(seconds),
                prepare: { device in
                    device.board.events.subscribe(.frame) { time, event in
                        guard case .frame(outbound: false, let buf) = event, frames.count < 64 else { return }
                        let gap = last.map { Int(min((time - $0) / 1000, 255)) } ?? 0
                        last = time
                        frames.append((gap, Array(buf)))
                    }
                })
            run.finish()
            XCTAssertGreaterThan(frames.count, 3, lesson)
            let input = FuzzTargets.joinFrames(frames)
            XCTAssertNil(FuzzTargets.framesCold(input), lesson)
            XCTAssertNil(FuzzTargets.frames(input), lesson)
            FuzzTargets.releaseWarmBoard()  // the next lesson's board needs lwIP
            if writeSeeds { try Data(input).write(to: sourceCorpus.appendingPathComponent("frames/\(lesson)")) }
        }
    }

    /// A SYN to port 80 from a host on the LAN: the board answers SYN-ACK (MSS 536, window 2144).
    static let syn = EthernetFrames.tcp(
        from: ("10.0.2.2", 40000), to: ("10.0.2.15", 80), seq: 1000, ack: 0, flags: 0x02, window: 65535,
        options: [2, 4, 0x05, 0xB4])

    /// The board's TCP segments among `frames` (Ethernet 14 + IPv4 20: flags at 34+13, ack at 34+8, window at 34+14).
    private func segments(_ frames: [[UInt8]]) -> [[UInt8]] { frames.filter { $0.count >= 54 && $0[23] == 6 } }
    private func be32(_ f: [UInt8], _ i: Int) -> UInt32 { f[i..<(i + 4)].reduce(0) { $0 << 8 | UInt32($1) } }

    private func checkSynAck(_ replies: [[UInt8]]) -> UInt32? {
        let synAck = segments(replies).first { $0[34 + 13] & 0x02 != 0 }
        XCTAssertNotNil(synAck, "no SYN-ACK among \(replies.map { $0.prefix(48).map { String($0, radix: 16) }.joined(separator: " ") })")
        guard let f = synAck else { return nil }
        XCTAssertEqual(f[34 + 13], 0x12)  // SYN|ACK
        XCTAssertEqual(be32(f, 42), 1001)
        XCTAssertEqual(UInt16(f[48]) << 8 | UInt16(f[49]), 2144)  // TCP_WND 4 * 536
        return be32(f, 38)
    }

    func testHandMadeFramesReachTheBoard() throws {
        var replies: [[UInt8]] = []
        XCTAssertNil(FuzzTargets.framesCold(FuzzTargets.joinFrames([(0, Self.syn)]), watch: { replies.append($0) }))
        _ = checkSynAck(replies)
        replies = []
        XCTAssertNil(FuzzTargets.frames(FuzzTargets.joinFrames([(0, Self.syn)]), watch: { replies.append($0) }))
        _ = checkSynAck(replies)
        if writeSeeds {
            try Data(FuzzTargets.joinFrames([(0, Self.syn)])).write(to: sourceCorpus.appendingPathComponent("frames/syn80"))
        }
    }

    /// The warm board keeps what an input left for the next one (the handshake one
    /// input began, the next completes), and forgets it at its reboot.
    func testTheFramesBoardKeepsConnectionsUntilItReboots() throws {
        let board = WarmBoard(sketchPath: try scratchSketch(), inputsPerBoot: 2)
        defer { board.stop() }
        var replies: [[UInt8]] = []
        XCTAssertNil(board.run(FuzzTargets.joinFrames([(0, Self.syn)]), watch: { replies.append($0) }))
        let isn = try XCTUnwrap(checkSynAck(replies))
        // the handshake's ACK with "hello" ('h' % 3 == 2: the sketch neither stops nor aborts)
        let data = EthernetFrames.tcp(
            from: ("10.0.2.2", 40000), to: ("10.0.2.15", 80), seq: 1001, ack: isn &+ 1, flags: 0x18, window: 65535,
            payload: Array("hello".utf8))
        for boot in 1...2 {
            replies = []
            XCTAssertNil(board.run(FuzzTargets.joinFrames([(0, data)]), watch: { replies.append($0) }))
            let segs = segments(replies)
            if boot == 1 {
                // the sketch read the 5 bytes and answered "got 5" on the same connection
                XCTAssertTrue(segs.contains { String(decoding: $0[54...], as: UTF8.self) == "got 5" }, "\(segs.count) segments")
            } else {
                // a fresh board knows no such connection: RST
                XCTAssertTrue(segs.contains { $0[34 + 13] & 0x04 != 0 }, "no RST after the reboot")
            }
        }
        XCTAssertEqual(board.boots, 2)
        XCTAssertEqual(board.inputsRun, 3)
    }

    private func scratchSketch() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("esplua-warm-\(UUID().uuidString).lua").path
        try FuzzTargets.frameSketch.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A board's own DHCP and DNS traffic (recorded from a board joining and looking
    /// names up) through the lab's gateway: its DHCP server offers and acks
    /// 10.0.2.15, the gateway's DNS answers a board's name with its address and a
    /// name under .invalid with NXDOMAIN. These are the gateway target's seeds.
    func testTheGatewayAnswersABoardsDHCPAndNames() throws {
        var sent: [[UInt8]] = []
        let run = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.begin("esplua-net", "password123")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  print(WiFi.hostByName("board-2"), WiFi.hostByName("nothing.invalid"))
                end
                function loop() delay(1000) end
                """, for: seconds(4), world: #"{"hosts": {"board-2": "10.0.2.17"}}"#,
            prepare: { device in
                device.board.events.subscribe(.frame) { _, event in
                    if case .frame(outbound: true, let buf) = event { sent.append(Array(buf)) }
                }
            })
        run.finish()
        XCTAssertTrue(run.transcript.hasPrefix("10.0.2.17\tnil"), run.transcript)
        func udp(_ f: [UInt8], port: UInt8) -> Bool { f.count > 42 && f[12] == 8 && f[23] == 17 && f[37] == port && f[36] == 0 }
        let dhcp = sent.filter { udp($0, port: 67) }, dns = sent.filter { udp($0, port: 53) }
        XCTAssertEqual(dhcp.count, 2, "DISCOVER and REQUEST")
        XCTAssertEqual(dns.count, 2)
        let gateway = try Gateway.inMemory(hosts: FuzzTargets.gatewayHosts, reservations: FuzzTargets.gatewayReservations)
        defer { gateway.close() }
        let answers = gateway.exchange(dhcp + dns)
        for a in answers { XCTAssertNil(FuzzTargets.frameProblem(a)) }
        // the lab's DHCP server (LANDHCP): OFFER and ACK (option 53 = 2, 5) of 10.0.2.15, the first lease (yiaddr at 42 + 16)
        let bootp = answers.filter { $0.count > 42 + 240 && $0[23] == 17 && $0[37] == 68 }
        XCTAssertEqual(bootp.map { Array($0[58..<62]) }, [[10, 0, 2, 15], [10, 0, 2, 15]])
        // the gateway's DNS: board-2's A record (the last 4 bytes), NXDOMAIN (rcode 3) for .invalid
        let names = answers.filter { $0.count > 54 && $0[23] == 17 && $0[35] == 53 }
        XCTAssertEqual(names.count, 2)
        if names.count == 2 {
            XCTAssertEqual(Array(names[0].suffix(4)), [10, 0, 2, 17])
            XCTAssertEqual(names[0][45] & 0x0F, 0)
            XCTAssertEqual(names[1][45] & 0x0F, 3)
        }
        XCTAssertNil(FuzzTargets.gateway(FuzzTargets.joinFrames((dhcp + dns).map { (0, $0) })))
        if writeSeeds {
            let dir = sourceCorpus.appendingPathComponent("gateway")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            try Data(FuzzTargets.joinFrames(dhcp.map { (0, $0) })).write(to: dir.appendingPathComponent("dhcp"))
            try Data(FuzzTargets.joinFrames(dns.map { (0, $0) })).write(to: dir.appendingPathComponent("dns"))
            try Data(FuzzTargets.joinFrames(sent.map { (0, $0) })).write(to: dir.appendingPathComponent("board-joins"))
        }
    }

    /// libslirp 4.7.0 crashes the process on a datagram's last fragment arriving
    /// before its first (the gateway target's first finding): the gateway keeps
    /// every IPv4 fragment from slirp, and counts them.
    func testTheGatewayKeepsFragmentsFromSlirp() throws {
        let input = try Data(contentsOf: corpus.appendingPathComponent("gateway/regression-slirp-last-fragment-first"))
        let frames = FuzzTargets.splitFrames(Array(input)).map(\.frame)
        XCTAssertEqual(frames.count, 2)
        let gateway = try Gateway.inMemory(hosts: [:])
        defer { gateway.close() }
        XCTAssertEqual(gateway.exchange(frames), [])
        XCTAssertEqual(gateway.droppedFragments, 2)
    }

    /// slirp's shapes the filter exists for: 1,440 bytes for a board with MSS 536, and
    /// data, ACK and FIN in one segment. Each comes out cut and split, bytes intact.
    func testTheFilterCutsAndSplitsSlirpsSegments() throws {
        let big = EthernetFrames.tcp(
            from: ("10.0.2.2", 80), to: ("10.0.2.15", 40000), seq: 5000, ack: 77, flags: 0x18, window: 65535,
            payload: (0..<1440).map { UInt8($0 & 0xFF) })
        let finWithData = EthernetFrames.tcp(
            from: ("10.0.2.2", 80), to: ("10.0.2.15", 40000), seq: 6440, ack: 77, flags: 0x19, window: 65535,
            payload: Array("bye".utf8))
        let input = FuzzTargets.joinFrames([(0, big), (0, finWithData)])
        XCTAssertNil(FuzzTargets.filter(input))
        let filter = PCFilter()
        XCTAssertEqual(filter.toBoard(big).compactMap { f in f.withUnsafeBytes { TCPSegment(frame: $0, outbound: false, time: 0)?.payload } }, [536, 536, 368])
        let split = filter.toBoard(finWithData)
        XCTAssertEqual(split.count, 3)  // data+ACK, the barrier, then the FIN alone
        XCTAssertTrue(split[1].isEmpty)
        if writeSeeds { try Data(input).write(to: sourceCorpus.appendingPathComponent("filter/slirp-shapes")) }
    }

    func testFilesSeedsAreTheSketchesOwn() throws {
        guard writeSeeds else { return }
        let sketches = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("sketches")
        for f in try FileManager.default.contentsOfDirectory(atPath: sketches.path) {
            for kind in ["world", "wiring"] where f.hasSuffix(".\(kind).json") {
                let target = sourceCorpus.appendingPathComponent("\(kind)/\(f)")
                try? FileManager.default.removeItem(at: target)
                try FileManager.default.copyItem(at: sketches.appendingPathComponent(f), to: target)
            }
        }
        // a small LittleFS image with a folder and files
        let device = MemoryBlockDevice(blockSize: FuzzTargets.littlefsBlockSize, blockCount: 16)
        var config = LFSConfiguration.esp8266
        config.requireExactBlockCount = false
        try LittleFS.format(device: device, config: config)
        let fs = try LittleFS.mount(device: device, config: config)
        try fs.mkdir("/logs")
        try fs.writeFile("/logs/boot.txt", Array("boot 1\nboot 2\n".utf8))
        try fs.writeFile("/config.json", Array(#"{"ssid":"esplua-net"}"#.utf8))
        try fs.writeFile("/big.bin", (0..<3000).map { UInt8($0 & 0xFF) })
        fs.unmount()
        try Data(device.storage).write(to: sourceCorpus.appendingPathComponent("littlefs/small"))
    }
}

/// A small seeded generator (SplitMix64), so the smoke's inputs are the same every run.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
