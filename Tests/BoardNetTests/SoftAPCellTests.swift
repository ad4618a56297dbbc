import BoardCore
import XCTest

@testable import BoardNet

/// The pieces of a lab's soft-AP cells: the soft-AP's DHCP server (the core's
/// `DhcpServer`, LwipDhcpServer.cpp), the cells on the lockstep channel, and a
/// segment that only its members hear.
final class SoftAPCellTests: XCTestCase {
    let apMAC: [UInt8] = [0x5E, 0xCF, 0x7F, 0, 2, 0x0F]
    let ap = ipBits("192.168.4.1")!, mask = ipBits("255.255.255.0")!

    /// A DHCP message from a station (`type` 1 DISCOVER, 3 REQUEST) as lwIP's client sends it.
    func request(_ type: UInt8, mac: [UInt8], xid: [UInt8] = [1, 2, 3, 4]) -> [UInt8] {
        var m = [UInt8](repeating: 0, count: 240)
        m[0] = 1
        m[1] = 1
        m[2] = 6
        for k in 0..<4 { m[4 + k] = xid[k] }
        for k in 0..<6 { m[28 + k] = mac[k] }
        m[236...239] = [99, 130, 83, 99]
        return SoftAPDHCPServer.udpFrame(
            from: mac, to: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff], source: 0, destination: 0xffff_ffff, sourcePort: 68, destinationPort: 67,
            payload: m + [53, 1, type, 255])
    }

    /// The reply's message type, your-address, and options by code.
    func parse(_ f: [UInt8]) -> (type: UInt8, yiaddr: String, options: [UInt8: [UInt8]], ipDestination: String) {
        let b = 14 + 20 + 8
        var options: [UInt8: [UInt8]] = [:]
        var i = b + 240
        while i < f.count, f[i] != 255 {
            options[f[i]] = Array(f[i + 2..<i + 2 + Int(f[i + 1])])
            i += 2 + Int(f[i + 1])
        }
        return (
            options[53]?.first ?? 0, f[b + 16..<b + 20].map(String.init).joined(separator: "."), options, f[30..<34].map(String.init).joined(separator: ".")
        )
    }

    /// Without softAPConfig the pool starts at the address after the soft-AP's
    /// (init_dhcps_lease, LwipDhcpServer.cpp:843-858): 192.168.4.2, then .3; a
    /// station asking again keeps its lease; the offer carries the options of
    /// add_offer_options (l.346-379) and goes to 192.168.4.255 (l.884-889).
    func testLeasesStartAfterTheSoftAPsAddress() throws {
        let server = SoftAPDHCPServer()
        let a: [UInt8] = [0x5C, 0xCF, 0x7F, 0, 2, 0x10], b: [UInt8] = [0x5C, 0xCF, 0x7F, 0, 2, 0x11]
        let offer = parse(try XCTUnwrap(server.answer(request(1, mac: a), mac: apMAC, address: ap, mask: mask, leaseStart: 2)))
        XCTAssertEqual(offer.type, 2, "DHCPOFFER")
        XCTAssertEqual(offer.yiaddr, "192.168.4.2")
        XCTAssertEqual(offer.ipDestination, "192.168.4.255")
        XCTAssertEqual(offer.options[1], [255, 255, 255, 0])
        XCTAssertEqual(offer.options[54], [192, 168, 4, 1])
        XCTAssertEqual(offer.options[3], [192, 168, 4, 1])
        XCTAssertEqual(offer.options[6], [192, 168, 4, 1])
        XCTAssertEqual(offer.options[28], [192, 168, 4, 255])
        XCTAssertEqual(offer.options[51], [0, 0, 0xa8, 0xc0], "720 minutes (LwipDhcpServer.h:45)")
        XCTAssertEqual(offer.options[26], [0x05, 0xdc])
        let ack = parse(try XCTUnwrap(server.answer(request(3, mac: a), mac: apMAC, address: ap, mask: mask, leaseStart: 2)))
        XCTAssertEqual([ack.type], [5], "DHCPACK")
        XCTAssertEqual(ack.yiaddr, "192.168.4.2", "the same lease")
        XCTAssertEqual(parse(try XCTUnwrap(server.answer(request(1, mac: b), mac: apMAC, address: ap, mask: mask, leaseStart: 2))).yiaddr, "192.168.4.3")
        // after softAPConfig("192.168.4.1", …) the pool starts at + 99 (ESP8266WiFiAP.cpp:235-247)
        server.reset()
        XCTAssertEqual(parse(try XCTUnwrap(server.answer(request(1, mac: b), mac: apMAC, address: ap, mask: mask, leaseStart: 100))).yiaddr, "192.168.4.100")
        // what is not a DHCP request to port 67 is for the soft-AP's lwIP
        XCTAssertNil(server.answer(TestFrames.udp(from: "192.168.4.2", 68, to: "192.168.4.1", 80), mac: apMAC, address: ap, mask: mask, leaseStart: 2))
    }

    func testCellsRoundTripOnTheChannel() {
        let cells = [
            LabCell(owner: 0, ssid: "esplua-cell", psk: "cellpass123", channel: 6, bssid: apMAC),
            LabCell(owner: 3, ssid: "open", psk: "", channel: 1, bssid: [0x5E, 0xCF, 0x7F, 0, 2, 0x12]),
            LabCell(owner: 4, ssid: "hidden", psk: "password123", channel: 13, bssid: [0x5E, 0xCF, 0x7F, 0, 2, 0x13], hidden: true),
        ]
        XCTAssertEqual(LabCell.decode(ArraySlice(cells.flatMap { $0.encode(withOwner: true) }), withOwner: true), cells)
        XCTAssertEqual(LabCell.decode(ArraySlice(cells[1].encode(withOwner: false)), withOwner: false, owner: 3), [cells[1]])
        XCTAssertEqual(LabCell.decode([1, 2, 3], withOwner: true), [], "a malformed tail is ignored")
    }

    /// A segment with members (a cell, or the LAN without the stations in cells)
    /// delivers only to them, broadcasts too.
    func testASegmentDeliversOnlyToItsMembers() {
        var cell = LockstepSwitch(nodes: 4, window: 50)
        cell.members = [0, 2]
        let frame: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff] + apMAC + [0x08, 0x00, 1]
        cell.route(frame, from: 0, sentAt: 100)
        XCTAssertEqual((0..<4).map { cell.take(for: $0).count }, [0, 0, 1, 0])
        cell.members?.insert(3)
        cell.route(frame, from: 0, sentAt: 200)
        XCTAssertEqual((0..<4).map { cell.take(for: $0).count }, [0, 0, 1, 1])
    }

    /// Two boards' radios on one LAN (`CellRadio`, real time): the soft-AP's beacons
    /// make its cell known; a station that associates is counted, its frames reach
    /// the soft-AP interface, its broadcasts are relayed to the cell, never onto the
    /// LAN; the LAN's frames do not reach a station in a cell; a station that
    /// disassociates is gone at once, a silent one after the 5-minute keep-alive time.
    func testARadioCarriesACellOnTheLAN() {
        let clock = BoardClock(mode: .virtual)
        let apLAN = MemoryLAN(), staLAN = MemoryLAN()
        let ap = CellRadio(lan: apLAN, clock: clock), sta = CellRadio(lan: staLAN, clock: clock)
        let staMAC: [UInt8] = [0x5C, 0xCF, 0x7F, 0, 2, 0x10]
        /// What each radio sent reaches the other (a switch between two boards).
        func exchange() {
            let (fromAP, fromStation) = (apLAN.sent, staLAN.sent)
            apLAN.sent.removeAll()
            staLAN.sent.removeAll()
            for f in fromAP { sta.receive(f) }
            for f in fromStation { ap.receive(f) }
        }
        ap.announce(LabCell(owner: 0, ssid: "esplua-cell", psk: "cellpass123", channel: 6, bssid: apMAC))
        XCTAssertEqual(apLAN.sent.first?[12...13], [0x88, 0xB5], "its own EtherType")
        exchange()
        XCTAssertEqual(sta.cells.map(\.ssid), ["esplua-cell"])
        XCTAssertEqual(sta.cells.first?.bssid, apMAC)
        XCTAssertEqual(sta.cells.first?.channel, 6)
        // beacons every 102.4 ms; a cell not heard for a scan's time is not listed
        XCTAssertEqual(ap.nextDeadline(now: 0), 102_400)
        clock.advance(to: 102_400)
        ap.due(now: clock.micros)
        XCTAssertEqual(apLAN.sent.count, 1)
        apLAN.sent.removeAll()
        clock.advance(to: 102_400 + WiFiStation.scanMicros)
        XCTAssertEqual(sta.cells, [], "no beacon for 1.68 s")
        ap.due(now: clock.micros)
        exchange()
        XCTAssertEqual(sta.cells.count, 1)

        sta.join(sta.cells[0], station: staMAC)
        exchange()
        XCTAssertEqual(ap.stationCount, 1)
        // the station's DHCPDISCOVER reaches the soft-AP and is relayed to the cell (none else)
        let discover = request(1, mac: staMAC)
        discover.withUnsafeBytes { sta.input($0) }
        XCTAssertEqual(staLAN.sent.first?[0..<6].map { $0 }, apMAC, "to the soft-AP")
        exchange()
        XCTAssertEqual(ap.toAccessPoint, [discover])
        XCTAssertEqual(apLAN.sent.count, 1, "relayed")
        exchange()
        XCTAssertEqual(sta.toDevice, [], "a station drops its own broadcast relayed back")
        // the soft-AP's answer reaches the station; the LAN's frames do not
        let offer = SoftAPDHCPServer().answer(discover, mac: apMAC, address: self.ap, mask: mask, leaseStart: 2)!
        offer.withUnsafeBytes { ap.accessPointOutput($0) }
        exchange()
        sta.receive(request(1, mac: [2, 0, 0, 0, 0, 1]))
        XCTAssertEqual(sta.toDevice, [offer])
        // a station that leaves says so
        sta.join(nil, station: staMAC)
        exchange()
        XCTAssertEqual(ap.stationCount, 0)
        // one that goes silent (its process killed) is dropped after 5 minutes
        sta.join(sta.cells[0], station: staMAC)
        exchange()
        XCTAssertEqual(ap.stationCount, 1)
        staLAN.sent.removeAll()
        clock.advance(to: clock.micros + 299_000_000)
        ap.due(now: clock.micros)
        XCTAssertEqual(ap.stationCount, 1)
        clock.advance(to: clock.micros + 1_000_000)
        ap.due(now: clock.micros)
        XCTAssertEqual(ap.stationCount, 0)
        // the soft-AP closes: the station's cell is gone from its scans at once
        ap.announce(nil)
        exchange()
        XCTAssertEqual(sta.cells, [])
    }

    /// Anything on the LAN may send radio frames (a room's `vxvde://` network): short,
    /// malformed or foreign ones are dropped, and none reaches a station or a soft-AP
    /// of another cell.
    func testMalformedRadioFramesAreDropped() {
        let clock = BoardClock(mode: .virtual)
        let ap = CellRadio(lan: MemoryLAN(), clock: clock), sta = CellRadio(lan: MemoryLAN(), clock: clock)
        let cell = LabCell(owner: 0, ssid: "esplua-cell", psk: "", channel: 6, bssid: apMAC)
        ap.announce(cell)
        sta.join(cell, station: [0x5C, 0xCF, 0x7F, 0, 2, 0x10])
        var state: UInt64 = 0x8266
        func next() -> UInt8 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return UInt8(truncatingIfNeeded: state >> 33)
        }
        for _ in 0..<10_000 {
            var f = (0..<Int(next() % 80)).map { _ in next() }
            if f.count >= 15 {
                f[12] = 0x88
                f[13] = 0xB5
                f[14] = Array("BXADKUW".utf8)[Int(next() % 7)]
            }
            ap.receive(f)
            sta.receive(f)
        }
        XCTAssertEqual(ap.toAccessPoint, [])
        XCTAssertEqual(ap.stationCount, 0)
        XCTAssertEqual(sta.toDevice, [], "a station in a cell takes nothing of the LAN, nor of another cell")
        // the same, in the cell (its BSSID): whatever passes is a whole Ethernet frame
        for _ in 0..<5000 {
            var f = (0..<15 + Int(next() % 60)).map { _ in next() }
            f[12] = 0x88
            f[13] = 0xB5
            f[14] = Array("BXADKUW".utf8)[Int(next() % 7)]
            if f.count >= 21 { f.replaceSubrange(15..<21, with: apMAC) }
            ap.receive(f)
            sta.receive(f)
        }
        XCTAssertTrue((ap.toAccessPoint + sta.toDevice).allSatisfy { $0.count >= 14 })
    }
}
