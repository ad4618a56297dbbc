import BoardCore
import XCTest

@testable import BoardNet

/// A lab file's addresses and MACs (issue 11), and the gateway's DHCP server.
final class LabAddressTests: XCTestCase {
    func parse(_ json: String) throws -> LabFile {
        try LabFile.parse(Array(json.utf8), folder: "/lab") { _ in true }
    }

    func error(_ json: String) -> String {
        do {
            _ = try parse(json)
            return "parsed"
        } catch { return "\(error)" }
    }

    func testBoardsGetAddressesInFileOrderAroundStaticOnesAndDerivedOrGivenMACs() throws {
        let lab = try parse(
            #"{ "boards": [ { "name": "a", "sketch": "a.lua" }, { "name": "b", "sketch": "b.lua", "ip": "10.0.2.16" }, { "name": "c", "sketch": "c.lua", "mac": "02:00:00:AB:cd:01" }, { "name": "d", "sketch": "d.lua" } ] }"#
        )
        XCTAssertEqual(lab.boards.map(\.address), ["10.0.2.15", "10.0.2.16", "10.0.2.17", "10.0.2.18"])
        XCTAssertEqual(lab.boards.map(\.isStatic), [false, true, false, false])
        XCTAssertEqual(lab.boards.map { LANDHCP.macText($0.mac) }, ["5C:CF:7F:00:02:0F", "5C:CF:7F:00:02:10", "02:00:00:AB:CD:01", "5C:CF:7F:00:02:12"])
        XCTAssertEqual(LabFile.addressOptions(lab.boards[0]), ["--ip", "dhcp", "--mac", "5C:CF:7F:00:02:0F"])
        XCTAssertEqual(LabFile.addressOptions(lab.boards[1]), ["--ip", "10.0.2.16", "--mac", "5C:CF:7F:00:02:10"])
        XCTAssertEqual(lab.reservations.map(\.address), ["10.0.2.15", "10.0.2.17", "10.0.2.18"])
        XCTAssertTrue(lab.gateway)
        let skipping = try parse(#"{ "boards": [ { "name": "a", "sketch": "a.lua" , "ip": "10.0.2.15"}, { "name": "b", "sketch": "b.lua" } ] }"#)
        XCTAssertEqual(skipping.boards.map(\.address), ["10.0.2.15", "10.0.2.16"])
        XCTAssertFalse(try parse(#"{ "boards": [ { "name": "a", "sketch": "a.lua" } ], "gateway": false }"#).gateway)
    }

    func testBadMACsAndAddressesNameTheBoardAndField() {
        let one = #"{ "boards": [ { "name": "a", "sketch": "a.lua", "#
        XCTAssertEqual(error(one + #""mac": "5C:CF:7F:12:34" } ] }"#), #"boards[0].mac (a) must be six hex bytes like "5C:CF:7F:12:34:56""#)
        XCTAssertEqual(error(one + #""mac": "5C:CF:7F:12:34:GG" } ] }"#), #"boards[0].mac (a) must be six hex bytes like "5C:CF:7F:12:34:56""#)
        XCTAssertEqual(error(one + #""mac": 5 } ] }"#), #"boards[0].mac (a) must be six hex bytes like "5C:CF:7F:12:34:56""#)
        XCTAssertEqual(
            error(one + #""mac": "01:00:5E:00:00:01" } ] }"#), "boards[0].mac (a) '01:00:5E:00:00:01' is a multicast address: a board's MAC is unicast")
        XCTAssertEqual(
            error(#"{ "boards": [ { "name": "a", "sketch": "a.lua" }, { "name": "b", "sketch": "b.lua", "mac": "5c:cf:7f:00:02:0f" } ] }"#),
            "boards[1].mac (b) 5C:CF:7F:00:02:0F is a's MAC too")
        XCTAssertEqual(error(one + #""ip": "192.168.1.5" } ] }"#), "boards[0].ip '192.168.1.5' is outside the lab's LAN: expected 10.0.2.15 to 10.0.2.254")
        XCTAssertEqual(error(one + #""ip": "10.0.2.300" } ] }"#), #"boards[0].ip must be an address like "10.0.2.40""#)
        XCTAssertEqual(
            error(#"{ "boards": [ { "name": "a", "sketch": "a.lua", "ip": "10.0.2.20" }, { "name": "b", "sketch": "b.lua", "ip": "10.0.2.20" } ] }"#),
            "boards[1].ip '10.0.2.20' is another board's address too")
        XCTAssertEqual(error(#"{ "boards": [ { "name": "a", "sketch": "a.lua" } ], "gateway": "no" }"#), "gateway must be true or false")
    }

    // MARK: DHCP

    /// A DHCP client message as lwIP sends it: from 0.0.0.0:68 to 255.255.255.255:67.
    static func dhcp(_ type: UInt8, mac: [UInt8], xid: UInt32 = 0x1234_5678, requested: [UInt8]? = nil, hostname: String? = nil) -> [UInt8] {
        var b = [UInt8](repeating: 0, count: 236)
        b[0] = 1
        b[1] = 1
        b[2] = 6
        b[4] = UInt8(xid >> 24)
        b[5] = UInt8((xid >> 16) & 0xff)
        b[6] = UInt8((xid >> 8) & 0xff)
        b[7] = UInt8(xid & 0xff)
        b.replaceSubrange(28..<34, with: mac)
        b += [99, 130, 83, 99, 53, 1, type]
        if let r = requested { b += [50, 4] + r }
        if let h = hostname { b += [12, UInt8(h.utf8.count)] + Array(h.utf8) }
        b.append(255)
        let udpLen = 8 + b.count
        var f: [UInt8] = [255, 255, 255, 255, 255, 255] + mac + [8, 0]
        f += [0x45, 0, UInt8((20 + udpLen) >> 8), UInt8((20 + udpLen) & 0xff), 0, 0, 0, 0, 64, 17, 0, 0, 0, 0, 0, 0, 255, 255, 255, 255]
        f += [0, 68, 0, 67, UInt8(udpLen >> 8), UInt8(udpLen & 0xff), 0, 0] + b
        return f
    }

    struct Reply {
        var type: UInt8 = 0
        var yiaddr: [UInt8] = []
        var options: [UInt8: [UInt8]] = [:]
        var ethernetDestination: [UInt8] = []
        var ipSource: [UInt8] = [], ipDestination: [UInt8] = []
    }

    static func decode(_ f: [UInt8]) -> Reply {
        var r = Reply()
        r.ethernetDestination = Array(f[0..<6])
        r.ipSource = Array(f[26..<30])
        r.ipDestination = Array(f[30..<34])
        XCTAssertEqual(Array(f[34..<38]), [0, 67, 0, 68])
        XCTAssertEqual(WorldDNS.checksum(Array(f[14..<34])), 0, "IPv4 header checksum")
        let b = 42
        XCTAssertEqual(f[b], 2)
        r.yiaddr = Array(f[(b + 16)..<(b + 20)])
        var p = b + 240
        while p < f.count, f[p] != 255 {
            if f[p] == 0 { p += 1; continue }
            r.options[f[p]] = Array(f[(p + 2)..<(p + 2 + Int(f[p + 1]))])
            p += 2 + Int(f[p + 1])
        }
        r.type = r.options[53]?.first ?? 0
        return r
    }

    func exchange(_ server: LANDHCP, mac: [UInt8], hostname: String? = nil) -> (offer: Reply, ack: Reply) {
        let offer = server.handle(frame: Self.dhcp(1, mac: mac))
        let o = Self.decode(offer?.first ?? [])
        let ack = server.handle(frame: Self.dhcp(3, mac: mac, requested: o.yiaddr, hostname: hostname))
        return (o, Self.decode(ack?.first ?? []))
    }

    func testTheGatewayLeasesReservedAddressesWithSlirpsOptionsAndRecordsHostNames() {
        let server = LANDHCP(reservations: [([0x5C, 0xCF, 0x7F, 0, 2, 15], "10.0.2.15"), ([0x5C, 0xCF, 0x7F, 0, 2, 16], "10.0.2.16")])
        let (offer, ack) = exchange(server, mac: [0x5C, 0xCF, 0x7F, 0, 2, 16], hostname: "Sensor-1")
        XCTAssertEqual(offer.type, 2)
        XCTAssertEqual(ack.type, 5)
        for r in [offer, ack] {
            XCTAssertEqual(r.yiaddr, [10, 0, 2, 16])
            XCTAssertEqual(r.options[54], [10, 0, 2, 2], "server id")
            XCTAssertEqual(r.options[1], [255, 255, 255, 0], "netmask")
            XCTAssertEqual(r.options[3], [10, 0, 2, 2], "router")
            XCTAssertEqual(r.options[6], [10, 0, 2, 3], "DNS")
            XCTAssertEqual(r.options[51], [0, 1, 0x51, 0x80], "24 h lease")
            XCTAssertEqual(r.ethernetDestination, [255, 255, 255, 255, 255, 255])
            XCTAssertEqual(r.ipSource, [10, 0, 2, 2])
            XCTAssertEqual(r.ipDestination, [255, 255, 255, 255])
        }
        XCTAssertEqual(server.hostnames, ["sensor-1": "10.0.2.16"])
        XCTAssertEqual(server.leases[[0x5C, 0xCF, 0x7F, 0, 2, 16]], 16)
        // another address asked for: NAK
        let nak = server.handle(frame: Self.dhcp(3, mac: [0x5C, 0xCF, 0x7F, 0, 2, 16], requested: [10, 0, 2, 99]))
        XCTAssertEqual(Self.decode(nak?.first ?? []).type, 6)
        // not DHCP: not the server's
        XCTAssertNil(server.handle(frame: [UInt8](repeating: 0, count: 60)))
    }

    /// A client whose ARP probe finds its offered address in use (a joined lab's
    /// static board the server does not know) declines it, and gets another.
    func testADeclinedAddressIsNeverOfferedAgain() {
        let mac: [UInt8] = [0x5C, 0xCF, 0x7F, 0, 2, 15]
        let server = LANDHCP(reservations: [(mac, "10.0.2.15")])
        XCTAssertEqual(exchange(server, mac: mac).ack.yiaddr, [10, 0, 2, 15])
        XCTAssertEqual(server.handle(frame: Self.dhcp(4, mac: mac, requested: [10, 0, 2, 15])), [])
        XCTAssertEqual(server.declined, [15])
        let again = exchange(server, mac: mac).ack
        XCTAssertEqual(again.type, 5)
        XCTAssertNotEqual(again.yiaddr, [10, 0, 2, 15])
        XCTAssertEqual(again.yiaddr[0..<3], [10, 0, 2])
    }

    /// The server reads frames from any board of the LAN: truncated and mangled
    /// DHCP messages (options running past the end, any IHL) are answered or
    /// ignored, never read out of bounds.
    func testMangledRequestsNeverCrashTheServer() {
        let server = LANDHCP(reservations: [])
        var rng = SystemRandomNumberGenerator()
        let base = Self.dhcp(3, mac: [0x5C, 0xCF, 0x7F, 1, 2, 3], requested: [10, 0, 2, 15], hostname: "x")
        for _ in 0..<20_000 {
            var f = Array(base.prefix(Int.random(in: 250...base.count, using: &rng)))
            for _ in 0..<Int.random(in: 1...6, using: &rng) { f[Int.random(in: 14..<f.count, using: &rng)] = UInt8.random(in: 0...255, using: &rng) }
            if Bool.random(using: &rng) { f[14] = 0x40 | UInt8.random(in: 5...15, using: &rng) }
            _ = server.handle(frame: f)
        }
    }

    /// More boards than slirp's 16 leases (a class of 30, and 10 MACs the lab does
    /// not know): every one gets its own address, the same from a fresh server.
    func testThirtyBoardsAndTenStrangersGetDistinctStableLeases() {
        let reservations = (0..<30).map { i in ([0x5C, 0xCF, 0x7F, 0, 2, UInt8(15 + i)], "10.0.2.\(15 + i)") }
        let strangers = (0..<10).map { i in [0x02, 0x42, 0xAC, 0x11, 0, UInt8(i)] as [UInt8] }
        func run() -> [[UInt8]] {
            let server = LANDHCP(reservations: reservations)
            return (reservations.map(\.0) + strangers).map { exchange(server, mac: $0).ack.yiaddr }
        }
        let first = run()
        XCTAssertEqual(Array(first[0..<30]), (0..<30).map { [10, 0, 2, UInt8(15 + $0)] })
        XCTAssertEqual(Set(first).count, 40)
        XCTAssertTrue(first.allSatisfy { $0[3] >= 15 && $0[3] <= 254 })
        XCTAssertEqual(first, run())
    }
}
