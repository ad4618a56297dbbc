import BoardCore
import XCTest

@testable import BoardNet

/// The link shaper alone: board times in, board times out, no lwIP.
final class LinkShaperTests: XCTestCase {
    let full = [UInt8](repeating: 0xAB, count: 1514)  // an Ethernet frame with a 1500-byte IP packet

    /// A profile without jitter, so arrival times are exact.
    func steady(_ latency: UInt64 = 800) -> LinkProfile {
        var p = LinkProfile.wifi
        p.jitterMicros = 0
        p.latencyMicros = latency
        return p
    }

    /// 802.11n HT20 at 72.2 Mbit/s: a 1514-byte Ethernet frame is 1538 bytes on the
    /// air (QoS header 26 + LLC/SNAP 8 + FCS 4 − 14), 12,304 bits = 171 µs, plus
    /// 170 µs of DIFS, backoff, preamble, SIFS and ACK.
    func testAirtimeOfAFullFrameOnWifi() {
        XCTAssertEqual(LinkProfile.wifi.airtimeMicros(bytes: 1514), 170 + 171)
        // a bare TCP ACK (54 bytes) is mostly overhead
        XCTAssertEqual(LinkProfile.wifi.airtimeMicros(bytes: 54), 170 + 9)
        XCTAssertEqual(LinkProfile.ideal.airtimeMicros(bytes: 1514), 0)
    }

    func testFramesQueueBehindEachOtherOnTheAir() {
        var s = LinkShaper(profile: steady())
        let air = LinkProfile.wifi.airtimeMicros(bytes: full.count)
        let a = s.schedule(frame: full, at: 1000), b = s.schedule(frame: full, at: 1000), c = s.schedule(frame: full, at: 1000)
        XCTAssertEqual(a.map(\.deliverAt), [1000 + air + 800])
        XCTAssertEqual(b.map(\.deliverAt), [1000 + 2 * air + 800])
        XCTAssertEqual(c.map(\.deliverAt), [1000 + 3 * air + 800])
        // the air is shared: a frame to the board waits for the board's own
        let d = s.schedule(frame: full, at: 1000, direction: .toBoard)
        XCTAssertEqual(d.map(\.deliverAt), [1000 + 4 * air + 800])
        // once the air is free again, a frame goes at once
        let e = s.schedule(frame: full, at: 100_000)
        XCTAssertEqual(e.map(\.deliverAt), [100_000 + air + 800])
    }

    /// A stream of full frames can use no more than the air gives: 1500-byte IP
    /// packets at 72.2 Mbit/s with 802.11's overhead, about 35 Mbit/s of IP.
    func testBulkRateIsTheAirtimeLimit() {
        var s = LinkShaper(profile: steady())
        var last: UInt64 = 0
        for _ in 0..<1000 { last = s.schedule(frame: full, at: 0).last!.deliverAt }
        let seconds = Double(last - 800) / 1e6
        let mbit = Double(1000 * 1500 * 8) / seconds / 1e6
        XCTAssertEqual(mbit, 35.2, accuracy: 0.5)
    }

    func testJitterStaysWithinItsBoundAndKeepsOrder() {
        var s = LinkShaper(profile: .wifi, seed: 1)
        var previous: UInt64 = 0
        var delays: [UInt64] = []
        for i in 0..<2000 {
            let at = UInt64(i) * 10_000  // far apart: no queueing
            let r = s.schedule(frame: [UInt8](repeating: 0, count: 54), at: at)
            XCTAssertEqual(r.count, 1)
            let d = r[0].deliverAt - at - LinkProfile.wifi.airtimeMicros(bytes: 54)
            delays.append(d)
            XCTAssertGreaterThanOrEqual(r[0].deliverAt, previous)
            previous = r[0].deliverAt
        }
        XCTAssertEqual(delays.min()!, 800, accuracy: 20)
        XCTAssertEqual(delays.max()!, 1800, accuracy: 20)
        // uniform: the mean is in the middle
        XCTAssertEqual(Double(delays.reduce(0, +)) / Double(delays.count), 1300, accuracy: 30)
    }

    func testTheSameSeedGivesTheSameAirAndAnotherSeedAnother() {
        var p = LinkProfile.wifi
        p.loss = 0.1
        p.duplicate = 0.05
        p.reorder = 0.05
        func run(_ seed: UInt64) -> [[UInt64]] {
            var s = LinkShaper(profile: p, seed: seed)
            return (0..<500).map { i in s.schedule(frame: full, at: UInt64(i) * 300, direction: i % 3 == 0 ? .toBoard : .fromBoard).map(\.deliverAt) }
        }
        XCTAssertEqual(run(42), run(42))
        XCTAssertNotEqual(run(42), run(43))
    }

    func testLossDuplicationAndReorderingAtTheirRates() {
        var p = steady()
        p.loss = 0.02
        p.duplicate = 0.01
        p.reorder = 0.01
        var s = LinkShaper(profile: p, seed: 3)
        var arrivals: [(UInt64, Int)] = []
        let n = 20_000
        for i in 0..<n {
            for a in s.schedule(frame: [UInt8(i & 0xff), UInt8(i >> 8)], at: UInt64(i) * 500) {
                arrivals.append((a.deliverAt, Int(a.frame[0]) | Int(a.frame[1]) << 8))
            }
        }
        XCTAssertEqual(Double(s.lost) / Double(n), 0.02, accuracy: 0.004)
        XCTAssertEqual(Double(s.duplicated) / Double(n), 0.01, accuracy: 0.003)
        XCTAssertEqual(Double(s.reordered) / Double(n), 0.01, accuracy: 0.003)
        // a duplicate is the same frame again, a little later
        let counts = Dictionary(grouping: arrivals, by: \.1).mapValues(\.count)
        XCTAssertEqual(counts.values.filter { $0 == 2 }.count, s.duplicated)
        // a reordered frame is overtaken by the next
        let order = arrivals.sorted { $0.0 < $1.0 }.map(\.1)
        let inversions = zip(order, order.dropFirst()).filter { $0 > $1 }.count
        XCTAssertGreaterThan(inversions, s.reordered / 2)
    }

    func testFaultsDropFramesOnlyWhileTheyLast() {
        let faults = [
            LinkFault(at: 1_000_000, duration: 500_000, kind: .linkDown),
            LinkFault(at: 3_000_000, duration: 1_000_000, kind: .accessPointDown),
            LinkFault(at: 6_000_000, duration: 1_000_000, kind: .loss(0.5)),
        ]
        var s = LinkShaper(profile: steady(), seed: 9, faults: faults)
        var delivered: [UInt64: Int] = [:]
        for t in stride(from: UInt64(0), to: 8_000_000, by: 1000) {
            delivered[t / 500_000, default: 0] += s.schedule(frame: [1, 2, 3], at: t).count
        }
        // 500 frames per half second
        XCTAssertEqual(delivered[0], 500)
        XCTAssertEqual(delivered[2], 0, "link down from 1 s to 1.5 s")
        XCTAssertEqual(delivered[3], 500)
        XCTAssertEqual(delivered[6], 0, "the access point away from 3 s to 4 s")
        XCTAssertEqual(delivered[7], 0)
        XCTAssertEqual(delivered[8], 500)
        XCTAssertEqual(Double(delivered[12]! + delivered[13]!) / 1000, 0.5, accuracy: 0.06, "a burst of 50 % loss")
        XCTAssertEqual(delivered[14], 500)
        XCTAssertTrue(s.accessPointDown(at: 3_500_000))
        XCTAssertFalse(s.accessPointDown(at: 4_000_000))
    }

    func testProfilesParseFromNamesAndFields() throws {
        XCTAssertEqual(try LinkProfile.parse("wifi"), .wifi)
        XCTAssertTrue(try LinkProfile.parse("ideal").isIdeal)
        XCTAssertFalse(LinkProfile.wifi.isIdeal)
        let p = try LinkProfile.parse(#"{"latency":"5ms","jitter":"1ms","rate":"20Mbit","loss":0.01,"dup":0,"reorder":0}"#)
        XCTAssertEqual(p.latencyMicros, 5000)
        XCTAssertEqual(p.jitterMicros, 1000)
        XCTAssertEqual(p.rateBitsPerSecond, 20_000_000)
        XCTAssertEqual(p.frameOverheadMicros, LinkProfile.wifi.frameOverheadMicros, "a rate is 802.11's, with its per-frame overhead")
        XCTAssertEqual(p.loss, 0.01)
        XCTAssertEqual(try LinkProfile.parse(p.json), p)
        let lossyWifi = try LinkProfile.parse(#"{"like":"wifi","loss":0.05}"#)
        XCTAssertEqual(lossyWifi.latencyMicros, LinkProfile.wifi.latencyMicros)
        XCTAssertEqual(lossyWifi.loss, 0.05)
        XCTAssertEqual(try LinkProfile.parse(lossyWifi.json), lossyWifi)
        XCTAssertEqual(LinkProfile.parseRate("72.2Mbit"), 72_200_000)
        XCTAssertEqual(LinkProfile.parseRate("500kbit/s"), 500_000)
    }

    func testAMalformedLinkNamesTheField() {
        let cases: [(String, String)] = [
            ("lte", "--link: unknown profile 'lte'"),
            (#"{"latency":5}"#, #"--link.latency must be a duration like "5ms""#),
            (#"{"jitter":"soon"}"#, "--link.jitter must be a duration"),
            (#"{"rate":"20"}"#, "--link.rate must be a rate"),
            (#"{"loss":2}"#, "--link.loss must be a probability from 0 to 1"),
            (#"{"dup":"x"}"#, "--link.dup must be a probability"),
            (#"{"reorder":true}"#, "--link.reorder must be a probability"),
            (#"{"like":"lte"}"#, "--link.like must be ideal or wifi"),
            (#"{"speed":1}"#, "--link: unknown key 'speed'"),
            (#"{"latency":"#, "--link is not valid JSON"),
        ]
        for (text, expected) in cases {
            XCTAssertThrowsError(try LinkProfile.parse(text, field: "--link")) {
                XCTAssertTrue("\($0)".contains(expected), "\(text): \($0)")
            }
        }
    }

    func testFaultsParseFromTheCommandLine() throws {
        XCTAssertEqual(try LinkFault.parse("ap-down@10s+5s"), LinkFault(at: 10_000_000, duration: 5_000_000, kind: .accessPointDown))
        XCTAssertEqual(try LinkFault.parse("link-down@3s+2s"), LinkFault(at: 3_000_000, duration: 2_000_000, kind: .linkDown))
        XCTAssertEqual(try LinkFault.parse("loss=0.5@3s+500ms"), LinkFault(at: 3_000_000, duration: 500_000, kind: .loss(0.5)))
        XCTAssertEqual(try LinkFault.parse(#"{"at":"10s","for":"5s","ap":"down"}"#), LinkFault(at: 10_000_000, duration: 5_000_000, kind: .accessPointDown))
        for bad in ["ap-down", "ap-down@10s", "meteor@1s+1s", "loss=2@1s+1s", "ap-down@1s+0s"] {
            XCTAssertThrowsError(try LinkFault.parse(bad), bad)
        }
    }
}
