import BoardCore
import CLwIP
import Foundation
import XCTest

@testable import BoardNet

/// lwIP + slirp with a real host socket through a port forward, in virtual time.
final class NetworkTests: XCTestCase {
    var board: Board!
    var network: Network!
    var port: UInt16 = 0

    override func setUpWithError() throws {
        var config = BoardConfig()
        config.timeMode = .virtual
        board = Board(config: config) { _ in }
        board.boot(reason: .powerOn)
        port = freePort()
        var net = NetworkConfig()
        net.forwards = [Forward(hostPort: port, devicePort: 80)]
        network = try Network(board: board, config: net)
        network.wifi.begin(ssid: "test", password: "")
        board.loop.espDelay(10_000_000) { !(self.network.wifi.status == .connected) }
        XCTAssertEqual(network.wifi.status, .connected)
        XCTAssertEqual(network.wifi.localIP, "10.0.2.15")
    }

    override func tearDown() {
        network.shutdown()
        XCTAssertEqual(Network.active == nil, true)
    }

    func testStationGetsItsAddressFromSlirpDHCP() {
        XCTAssertEqual(network.wifi.gatewayIP, "10.0.2.2")
        XCTAssertTrue(network.wifi.macString.hasPrefix("5C:CF:7F:"))  // Espressif OUI
    }

    func testListeningChargesAListenPcbAt36Bytes() throws {
        let before = board.heap.freeBytes
        let server = TCPServer(network: network, port: 80)
        try server.begin()
        // tcp_new (184 B) is freed by tcp_listen, which allocates a 36-byte tcp_pcb_listen
        XCTAssertEqual(before - board.heap.freeBytes, Heap.cost(of: 36))
        server.release()
        XCTAssertEqual(board.heap.freeBytes, before)
    }

    func testBoardClosingFirstLeavesATimeWaitPcbCharged192Bytes() throws {
        let server = TCPServer(network: network, port: 80)
        try server.begin()
        let baseline = board.heap.freeBytes
        let sock = try HostSocket(port: port)
        defer { sock.close() }
        board.loop.espDelay(2_000_000) { !(server.hasClient) }
        let client = try XCTUnwrap(server.accept())
        XCTAssertEqual(client.status, TCPState.established.rawValue)
        sock.send("ping")
        board.loop.espDelay(2_000_000) { !(client.available == 4) }
        XCTAssertEqual(client.read(max: 10), Array("ping".utf8))
        XCTAssertEqual(client.write(Array("pong".utf8)), 4)
        XCTAssertTrue(client.stop())  // FIN: FIN_WAIT_1 -> FIN_WAIT_2
        board.loop.espDelay(500_000) { !(sock.received.count == 4) }
        XCTAssertEqual(String(decoding: sock.received, as: UTF8.self), "pong")
        sock.close()  // the host's FIN: the board enters TIME_WAIT
        board.loop.espDelay(2_000_000) { !(self.network.pcbCounts()[.timeWait] == 1) }
        XCTAssertEqual(network.pcbCounts()[.timeWait], 1)
        client.release()
        // what remains charged is the TIME_WAIT pcb (184 bytes -> 192 bytes of heap) and
        // lwIP's TCP timer (a 16-byte sys_timeo -> 24 bytes), which runs while any pcb is active
        XCTAssertEqual(baseline - board.heap.freeBytes, 192 + Heap.cost(of: 16))
        let row = try XCTUnwrap(network.pcbTable().first { $0.state == .timeWait })
        XCTAssertEqual(row.localPort, 80)
        XCTAssertGreaterThan(row.timeWaitMillisLeft, 118_000)  // 2*MSL = 120 s
        XCTAssertTrue(network.killTimeWait())  // no RST: freed at once
        XCTAssertEqual(baseline - board.heap.freeBytes, Heap.cost(of: 16))
        board.loop.espDelay(1_000_000)  // the idle TCP timer retires
        XCTAssertEqual(board.heap.freeBytes, baseline)
        server.release()
    }

    func testTimeWaitExpiresAfterTwoMSL() throws {
        let server = TCPServer(network: network, port: 80)
        try server.begin()
        let sock = try HostSocket(port: port)
        board.loop.espDelay(2_000_000) { !(server.hasClient) }
        let client = try XCTUnwrap(server.accept())
        client.stop()
        board.loop.espDelay(500_000)
        sock.close()
        board.loop.espDelay(1_000_000)
        XCTAssertEqual(network.pcbCounts()[.timeWait], 1)
        board.loop.espDelay(115_000_000)
        XCTAssertEqual(network.pcbCounts()[.timeWait], 1)
        board.loop.espDelay(6_000_000)
        XCTAssertNil(network.pcbCounts()[.timeWait])
        client.release()
        server.release()
    }

    func testForwardToABusyPortIsAClearError() throws {
        let holder = try HostListener()
        var net = NetworkConfig()
        net.forwards = [Forward(hostPort: holder.port, devicePort: 80)]
        XCTAssertThrowsError(try Network(board: board, config: net)) { error in
            XCTAssertTrue("\(error)".contains("already in use"), "\(error)")
        }
        holder.close()
    }
}

func freePort() -> UInt16 {
    let l = try! HostListener()
    defer { l.close() }
    return l.port
}

/// A listening socket on 127.0.0.1 with an ephemeral port.
final class HostListener {
    let fd: Int32
    let port: UInt16
    init() throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = 0
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(s, $0, len) } }
        listen(s, 1)
        _ = withUnsafeMutablePointer(to: &addr) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &len) } }
        fd = s
        port = UInt16(bigEndian: addr.sin_port)
    }
    func close() { _ = Glibc.close(fd) }
}

/// A non-blocking TCP client on the host, driven by polling from the board loop.
final class HostSocket {
    let fd: Int32
    private(set) var closed = false
    private var buffer: [UInt8] = []
    init(port: UInt16) throws {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        fd = s
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        addr.sin_port = port.bigEndian
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if r != 0 { throw POSIXError(.ECONNREFUSED) }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    }
    func send(_ s: String) { _ = s.withCString { Glibc.send(fd, $0, strlen($0), Int32(MSG_NOSIGNAL)) } }
    var received: [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !closed {
            let n = recv(fd, &chunk, chunk.count, 0)
            if n > 0 { buffer.append(contentsOf: chunk[0..<n]) } else { break }
        }
        return buffer
    }
    func close() { if !closed { closed = true; _ = Glibc.close(fd) } }
}

/// The lab file (`esplua lab`): the README's minimal form, and a malformed one named.
final class LabFileTests: XCTestCase {
    func testTheMinimalFormGivesAddressesNamesAndForwards() throws {
        let text =
            #"{ "boards": [ { "name": "server", "sketch": "server.lua" }, { "name": "client", "sketch": "client.lua" } ], "forwards": [ "8080:server:80" ] }"#
        let lab = try LabFile.parse(Array(text.utf8), folder: "/labs/one") { _ in true }
        XCTAssertEqual(lab.boards.map(\.sketch), ["/labs/one/server.lua", "/labs/one/client.lua"])
        XCTAssertEqual(lab.boards.map(\.address), ["10.0.2.15", "10.0.2.16"])
        XCTAssertEqual(lab.hosts["server.lab"], "10.0.2.15")
        XCTAssertEqual(lab.forwards.map(\.address), ["10.0.2.15"])
        XCTAssertEqual(lab.forwards.first?.forward.hostPort, 8080)
        XCTAssertEqual(lab.link, .ideal)
    }

    /// The README's form with a custom link and faults: each board gets them as `run` options.
    func testLinkSeedAndFaultsReachEachBoard() throws {
        let text = #"""
            { "boards": [ { "name": "alice", "sketch": "a.lua" }, { "name": "bob", "sketch": "b.lua" } ],
              "link": { "latency": "5ms", "jitter": "1ms", "rate": "20Mbit", "loss": 0.01, "dup": 0, "reorder": 0 },
              "seed": 7,
              "faults": [ { "at": "10s", "board": "alice", "ap": "down", "for": "5s" }, { "at": "2s", "for": "500ms", "loss": 0.5 } ] }
            """#
        let lab = try LabFile.parse(Array(text.utf8), folder: ".") { _ in true }
        XCTAssertEqual(lab.link.latencyMicros, 5000)
        XCTAssertEqual(lab.link.rateBitsPerSecond, 20_000_000)
        XCTAssertEqual(lab.link.loss, 0.01)
        let alice = lab.linkOptions(for: "alice"), bob = lab.linkOptions(for: "bob")
        XCTAssertEqual(Array(alice[2...3]), ["--seed", "7"])
        XCTAssertEqual(Array(bob[2...3]), ["--seed", "8"])
        XCTAssertEqual(alice.filter { $0.hasPrefix("ap-down") || $0.hasPrefix("loss=") }, ["ap-down@10000000us+5000000us", "loss=0.5@2000000us+500000us"])
        XCTAssertEqual(bob.filter { $0.hasPrefix("ap-down") || $0.hasPrefix("loss=") }, ["loss=0.5@2000000us+500000us"])
        // what a board parses back is what the lab said
        XCTAssertEqual(try LinkProfile.parse(alice[1]), lab.link)
        XCTAssertEqual(try LinkFault.parse("ap-down@10000000us+5000000us"), LinkFault(at: 10_000_000, duration: 5_000_000, kind: .accessPointDown))
    }

    func testAMalformedLabNamesTheField() {
        let cases: [(String, String)] = [
            (#"{ "boards": [] }"#, "boards must be a non-empty array"),
            (#"{ "boards": [ { "name": "a b", "sketch": "s.lua" } ] }"#, "boards[0].name must be letters"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua", "flash": 3 } ] }"#, "boards[0].flash must be a file name"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "forwards": [ "8080:nobody:80" ] }"#, "forwards[0] '8080:nobody:80'"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "link": 5 }"#, #"link must be "ideal", "wifi" or an object"#),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "link": "lte" }"#, "link: unknown profile 'lte'"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "link": { "latency": 5 } }"#, "link.latency must be a duration"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "link": { "rate": "fast" } }"#, "link.rate must be a rate"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "link": { "loss": 1.5 } }"#, "link.loss must be a probability"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "link": { "lag": "1ms" } }"#, "link: unknown key 'lag'"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "seed": -1 }"#, "seed must be a whole number"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "faults": [ { "at": "1s", "ap": "down" } ] }"#, "faults[0].for must be a duration"),
            (#"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "faults": [ { "at": "1s", "for": "1s" } ] }"#, "faults[0] needs one of"),
            (
                #"{ "boards": [ { "name": "a", "sketch": "s.lua" } ], "faults": [ { "at": "1s", "for": "1s", "ap": "down", "board": "b" } ] }"#,
                "faults[0].board must name a board"
            ),
            (#"{ "board": [] }"#, "unknown key 'board'"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try LabFile.parse(Array(text.utf8), folder: ".") { _ in true }) {
                XCTAssertTrue("\($0)".contains(expected), "\(text): \($0)")
            }
        }
    }
}
