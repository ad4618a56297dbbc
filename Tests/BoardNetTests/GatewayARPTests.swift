import BoardTesting
import XCTest

@testable import BoardNet

/// The lab gateway's neighbour table (`GatewayARP`) in front of libslirp's 16-entry
/// ARP table (arp_table.c: entries replaced in turn at `next_victim`).
final class GatewayARPTests: XCTestCase {
    static let slirpMAC: [UInt8] = [0x52, 0x55, 0x0A, 0x00, 0x02, 0x02]
    static func mac(_ n: Int) -> [UInt8] { [0x5C, 0xCF, 0x7F, 0x00, 0x02, UInt8(n)] }
    static func ip(_ n: Int) -> [UInt8] { [10, 0, 2, UInt8(n)] }

    static func checksum(_ b: [UInt8]) -> [UInt8] {
        let c = EthernetFrames.checksum(b)
        return [UInt8(c >> 8), UInt8(c & 0xFF)]
    }

    /// An ARP request (broadcast) from `mac`/`ip` for `target`.
    static func arpRequest(from mac: [UInt8], _ ip: [UInt8], for target: [UInt8]) -> [UInt8] {
        [UInt8](repeating: 0xFF, count: 6) + mac + [0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1] + mac + ip + [0, 0, 0, 0, 0, 0] + target
    }

    /// An ARP reply from `mac`/`ip` to slirp (10.0.2.2).
    static func arpReply(from mac: [UInt8], _ ip: [UInt8]) -> [UInt8] {
        slirpMAC + mac + [0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 2] + mac + ip + slirpMAC + [10, 0, 2, 2]
    }

    /// An ICMP echo request from `mac`/`ip` to 10.0.2.2.
    static func ping(from mac: [UInt8], _ ip: [UInt8]) -> [UInt8] {
        var icmp: [UInt8] = [8, 0, 0, 0, 0x12, 0x34, 0, 1] + Array("esplua".utf8)
        icmp.replaceSubrange(2..<4, with: checksum(icmp))
        var h: [UInt8] = [0x45, 0, 0, UInt8(20 + icmp.count), 0, 1, 0, 0, 64, 1, 0, 0] + ip + [10, 0, 2, 2]
        h.replaceSubrange(10..<12, with: checksum(h))
        return slirpMAC + mac + [0x08, 0x00] + h + icmp
    }

    static func isARPRequest(_ f: [UInt8]) -> Bool { f.count >= 42 && f[12] == 8 && f[13] == 6 && f[21] == 1 }
    static func isEchoReply(_ f: [UInt8], to mac: [UInt8]) -> Bool {
        f.count >= 42 && Array(f[0..<6]) == mac && f[12] == 8 && f[13] == 0 && f[23] == 1 && f[34] == 0
    }

    func testTheTableAnswersForAConfirmedBoardProbesAStaleOneAndForgetsASilentOne() {
        var arp = GatewayARP(reachableMicros: 30_000_000)
        let request = Self.arpRequest(from: Self.slirpMAC, [10, 0, 2, 2], for: Self.ip(15))
        func resolve(_ now: UInt64) -> GatewayARP.Outcome { request.withUnsafeBytes { arp.resolve($0, now: now) } }
        XCTAssertEqual(resolve(0), .pass, "an address the table never heard of is asked for by broadcast")
        // the board's own request for the gateway teaches the table
        Self.arpRequest(from: Self.mac(1), Self.ip(15), for: [10, 0, 2, 2]).withUnsafeBytes { arp.learn($0, now: 1_000_000) }
        guard case .answer(let reply) = resolve(2_000_000) else { return XCTFail("a confirmed board is answered for") }
        // from the board's MAC to slirp's: 10.0.2.15 is at 5c:cf:7f:00:02:01
        XCTAssertEqual(reply, Self.slirpMAC + Self.mac(1) + [8, 6, 0, 1, 8, 0, 6, 4, 0, 2] + Self.mac(1) + Self.ip(15) + Self.slirpMAC + [10, 0, 2, 2])
        // 30 s later the entry is stale: three requests go to the board alone, then it is forgotten
        for _ in 0..<3 {
            guard case .probe(let p) = resolve(32_000_000) else { return XCTFail("a stale entry is probed") }
            XCTAssertEqual(Array(p[0..<6]), Self.mac(1))
            XCTAssertEqual(Array(p[6...]), Array(request[6...]))
        }
        XCTAssertEqual(resolve(33_000_000), .pass)
        XCTAssertEqual(resolve(33_000_001), .pass)
        // an IPv4 frame from the same address and MAC confirms an entry; from another MAC it does not
        Self.arpReply(from: Self.mac(1), Self.ip(15)).withUnsafeBytes { arp.learn($0, now: 40_000_000) }
        Self.ping(from: Self.mac(1), Self.ip(15)).withUnsafeBytes { arp.learn($0, now: 65_000_000) }
        Self.ping(from: Self.mac(9), Self.ip(15)).withUnsafeBytes { arp.learn($0, now: 90_000_000) }
        guard case .answer = resolve(94_000_000) else { return XCTFail("confirmed at 65 s by its ping") }
        guard case .probe = resolve(96_000_000) else { return XCTFail("another MAC's frame confirms nothing") }
        // the gateway's own addresses, the network and broadcast, 0.0.0.0 (DHCP probes) are never learned
        for ip: [UInt8] in [[10, 0, 2, 2], [10, 0, 2, 3], [10, 0, 2, 0], [10, 0, 2, 255], [0, 0, 0, 0], [192, 168, 4, 2]] {
            Self.arpRequest(from: Self.mac(2), ip, for: [10, 0, 2, 2]).withUnsafeBytes { arp.learn($0, now: 100_000_000) }
        }
        XCTAssertEqual(arp.entries.count, 1)
    }

    /// Through libslirp itself: 17 boards ask for the gateway, so slirp's table has
    /// replaced the first one's entry; the first board's ping makes slirp ask for it.
    /// The gateway answers from its table and the echo reply comes back without an ARP
    /// request on the LAN; with the entry stale, the request goes to that board alone,
    /// and its reply lets slirp's echo reply out.
    func testSlirpsRequestForABoardItForgotIsAnsweredWithoutABroadcast() throws {
        func boards(_ gateway: Gateway) -> [[UInt8]] {
            gateway.exchange((1...17).map { Self.arpRequest(from: Self.mac($0), Self.ip(14 + $0), for: [10, 0, 2, 2]) })
        }
        let gateway = try Gateway.inMemory(hosts: [:])
        defer { gateway.close() }
        XCTAssertEqual(boards(gateway).filter(Self.isARPRequest).count, 0)
        var out = gateway.exchange([Self.ping(from: Self.mac(1), Self.ip(15))])
        for _ in 0..<3 where !out.contains(where: { Self.isEchoReply($0, to: Self.mac(1)) }) { out += gateway.exchange([]) }
        XCTAssertEqual(out.filter(Self.isARPRequest), [], "slirp's request was answered by the gateway's table")
        XCTAssertTrue(out.contains { Self.isEchoReply($0, to: Self.mac(1)) }, "\(out)")
        XCTAssertEqual(gateway.arpAnswered, 1)

        let stale = try Gateway.inMemory(hosts: [:])
        defer { stale.close() }
        stale.arp = GatewayARP(reachableMicros: 0)
        _ = boards(stale)
        let probe = stale.exchange([Self.ping(from: Self.mac(1), Self.ip(15))]).filter(Self.isARPRequest)
        XCTAssertEqual(probe.map { Array($0[0..<6]) }, [Self.mac(1)], "the request goes to that board alone")
        XCTAssertEqual(probe.map { Array($0[38..<42]) }, [Self.ip(15)])
        var answer = stale.exchange([Self.arpReply(from: Self.mac(1), Self.ip(15))])
        for _ in 0..<3 where !answer.contains(where: { Self.isEchoReply($0, to: Self.mac(1)) }) { answer += stale.exchange([]) }
        XCTAssertTrue(answer.contains { Self.isEchoReply($0, to: Self.mac(1)) }, "\(answer)")
    }
}
