import BoardCore
import Glibc
import XCTest

@testable import BoardNet

/// Frames with just the headers the lockstep pieces read (no checksums).
enum TestFrames {
    static func ip(_ s: String) -> [UInt8] { s.split(separator: ".").map { UInt8($0)! } }

    static func ipv4(
        proto: UInt8, from: String, _ sport: UInt16, to: String, _ dport: UInt16, flags: UInt8 = 0, dstMAC: [UInt8] = [0x52, 0x55, 10, 0, 2, 2]
    )
        -> [UInt8]
    {
        var f = dstMAC + [0x5C, 0xCF, 0x7F, 0, 2, 0x0F, 0x08, 0x00]
        let l4: [UInt8] =
            proto == 6
            ? [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff), 0, 0, 0, 1, 0, 0, 0, 0, 0x50, flags, 0xff, 0xff, 0, 0, 0, 0]
            : [UInt8(sport >> 8), UInt8(sport & 0xff), UInt8(dport >> 8), UInt8(dport & 0xff), 0, 8, 0, 0]
        let total = 20 + l4.count
        f += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0, 1, 0x40, 0, 64, proto, 0, 0] + ip(from) + ip(to)
        return f + l4
    }

    static func tcp(from: String, _ sport: UInt16, to: String, _ dport: UInt16, flags: UInt8) -> [UInt8] {
        ipv4(proto: 6, from: from, sport, to: to, dport, flags: flags)
    }
    static func udp(from: String, _ sport: UInt16, to: String, _ dport: UInt16) -> [UInt8] {
        ipv4(proto: 17, from: from, sport, to: to, dport)
    }
}

/// What holds a board's virtual clock to the host's pace: exchanges with host
/// programs through slirp's NAT, and nothing else.
final class HostFlowsTests: XCTestCase {
    let syn: UInt8 = 0x02, synAck: UInt8 = 0x12, ack: UInt8 = 0x10, fin: UInt8 = 0x11, rst: UInt8 = 0x04

    func send(_ flows: HostFlows, _ f: [UInt8], now: UInt64 = 0) { f.withUnsafeBytes { flows.fromBoard($0, now: now) } }
    func receive(_ flows: HostFlows, _ f: [UInt8]) { f.withUnsafeBytes { flows.toBoard($0) } }

    func testAConnectionToTheHostHoldsUntilBothSidesHaveClosed() {
        let flows = HostFlows(world: World())
        XCTAssertFalse(flows.active(now: 0))
        send(flows, TestFrames.tcp(from: "10.0.2.15", 50000, to: "10.0.2.2", 8000, flags: syn))
        XCTAssertTrue(flows.active(now: 0))
        receive(flows, TestFrames.tcp(from: "10.0.2.2", 8000, to: "10.0.2.15", 50000, flags: synAck))
        send(flows, TestFrames.tcp(from: "10.0.2.15", 50000, to: "10.0.2.2", 8000, flags: ack))
        XCTAssertTrue(flows.active(now: 60_000_000), "no timeout: the host may take its time")
        receive(flows, TestFrames.tcp(from: "10.0.2.2", 8000, to: "10.0.2.15", 50000, flags: fin))
        XCTAssertTrue(flows.active(now: 0), "half closed: the board has not closed yet")
        send(flows, TestFrames.tcp(from: "10.0.2.15", 50000, to: "10.0.2.2", 8000, flags: fin))
        XCTAssertFalse(flows.active(now: 0))
    }

    func testAResetEndsTheHold() {
        let flows = HostFlows(world: World())
        send(flows, TestFrames.tcp(from: "10.0.2.15", 50001, to: "93.184.216.34", 80, flags: syn))
        receive(flows, TestFrames.tcp(from: "93.184.216.34", 80, to: "10.0.2.15", 50001, flags: rst | ack))
        XCTAssertFalse(flows.active(now: 0))
        send(flows, TestFrames.tcp(from: "10.0.2.15", 50002, to: "10.0.2.2", 80, flags: syn))
        send(flows, TestFrames.tcp(from: "10.0.2.15", 50002, to: "10.0.2.2", 80, flags: rst))
        XCTAssertFalse(flows.active(now: 0))
    }

    func testWorldServicesAndConnectionsFromTheHostDoNotHold() throws {
        var world = World()
        world.services = [World.Service(name: "echo.world", address: "10.0.2.100", port: 7, reply: "echo", closeAfterReply: false)]
        let flows = HostFlows(world: world)
        send(flows, TestFrames.tcp(from: "10.0.2.15", 50003, to: "10.0.2.100", 7, flags: syn))
        XCTAssertFalse(flows.active(now: 0), "a world service answers in board time")
        receive(flows, TestFrames.tcp(from: "10.0.2.2", 24000, to: "10.0.2.15", 80, flags: syn))
        send(flows, TestFrames.tcp(from: "10.0.2.15", 80, to: "10.0.2.2", 24000, flags: synAck))
        XCTAssertFalse(flows.active(now: 0), "a client of the board through a forward")
    }

    func testADatagramHoldsUntilItsAnswerOrThreeSeconds() {
        let flows = HostFlows(world: World())
        send(flows, TestFrames.udp(from: "10.0.2.15", 49153, to: "10.0.2.3", 53), now: 1_000_000)
        XCTAssertTrue(flows.active(now: 1_000_000), "a DNS query slirp forwards to the host's resolver")
        receive(flows, TestFrames.udp(from: "10.0.2.3", 53, to: "10.0.2.15", 49153))
        XCTAssertFalse(flows.active(now: 1_000_000))
        send(flows, TestFrames.udp(from: "10.0.2.15", 4000, to: "10.0.2.2", 5000), now: 2_000_000)
        XCTAssertTrue(flows.active(now: 4_999_999))
        XCTAssertFalse(flows.active(now: 5_000_000), "no answer: the hold ends after 3 s")
    }

    func testAnAnswerToAPeerThatSpokeFirstAndDHCPDoNotHold() {
        let flows = HostFlows(world: World())
        receive(flows, TestFrames.udp(from: "10.0.2.2", 24001, to: "10.0.2.15", 1200))
        send(flows, TestFrames.udp(from: "10.0.2.15", 1200, to: "10.0.2.2", 24001))
        XCTAssertFalse(flows.active(now: 0))
        send(flows, TestFrames.udp(from: "0.0.0.0", 68, to: "255.255.255.255", 67))
        XCTAssertFalse(flows.active(now: 0))
        send(flows, TestFrames.tcp(from: "10.0.2.15", 50004, to: "10.0.2.2", 8000, flags: syn))
        flows.forget()  // a reboot
        XCTAssertFalse(flows.active(now: 0))
    }
}

/// The board's end of a lab's lockstep link, against a conductor played by the test.
final class LockstepBackendTests: XCTestCase {
    func testFramesWaitForTheirDeliveryTimeAndReportsCarryBoardTime() throws {
        var pair: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &pair), 0)
        defer { close(pair[0]) }
        let clock = BoardClock(mode: .virtual)
        let link = try LockstepBackend(url: "lockstep:\(pair[1])", clock: clock)
        XCTAssertEqual(link.horizon, 0)
        // the conductor's answer is already there when the board reports
        let a: [UInt8] = Array(repeating: 0xAA, count: 60), b: [UInt8] = Array(repeating: 0xBB, count: 60)
        for m in [
            a.withUnsafeBytes { LockstepMessage.encode(LockstepMessage.frame, 300, frame: $0) },
            b.withUnsafeBytes { LockstepMessage.encode(LockstepMessage.frame, 250, frame: $0) },
            LockstepMessage.encode(LockstepMessage.grant, 350),
        ] { XCTAssertTrue(LockstepMessage.send(pair[0], m)) }
        XCTAssertTrue(link.sync(now: 0, next: 200))
        XCTAssertEqual(link.horizon, 350)
        var buf = [UInt8](repeating: 0, count: 128)
        var n = recv(pair[0], &buf, buf.count, 0)
        XCTAssertEqual(n, 17)
        XCTAssertEqual(buf[0], LockstepMessage.done)
        XCTAssertEqual(buf.withUnsafeBytes { [LockstepMessage.time($0, at: 1), LockstepMessage.time($0, at: 9)] }, [0, 200])
        XCTAssertEqual(link.nextDeadline(now: 0), 250)
        link.due(now: 249)
        XCTAssertTrue(link.toDevice.isEmpty)
        link.due(now: 300)
        XCTAssertEqual(link.toDevice, [b, a], "in delivery order")
        clock.advance(to: 310)
        a.withUnsafeBytes { link.input($0) }
        n = recv(pair[0], &buf, buf.count, 0)
        XCTAssertEqual(n, 9 + 60)
        XCTAssertEqual(buf[0], LockstepMessage.frame)
        XCTAssertEqual(buf.withUnsafeBytes { LockstepMessage.time($0, at: 1) }, 310, "a frame carries its board time")
        close(pair[0])
        pair[0] = -1
        XCTAssertFalse(link.sync(now: 350, next: 400), "the conductor went away")
    }

    /// The lab page's commands come with a grant, stamped with a window's start: the
    /// board gets each when its board time comes (its next event until then), and
    /// while it waits for a grant that is late its page's feed is serviced.
    func testPageCommandsWaitForTheirBoardTimeAndAWaitingBoardServicesItsFeed() throws {
        var pair: [Int32] = [0, 0]
        XCTAssertEqual(socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue), 0, &pair), 0)
        defer { close(pair[0]) }
        let clock = BoardClock(mode: .virtual)
        let link = try LockstepBackend(url: "lockstep:\(pair[1])", clock: clock)
        var got: [String] = [], waits = 0
        link.onCommand = { got.append($0) }
        link.whileWaiting = {
            waits += 1
            // the grant comes late: after the board waited once
            if waits == 1 {
                for m in [
                    Array(#"{"reset":true}"#.utf8).withUnsafeBytes { LockstepMessage.encode(LockstepMessage.command, 300, frame: $0) },
                    Array(#"{"serial":"hi\n"}"#.utf8).withUnsafeBytes { LockstepMessage.encode(LockstepMessage.command, 300, frame: $0) },
                    LockstepMessage.encode(LockstepMessage.grant, 350),
                ] { XCTAssertTrue(LockstepMessage.send(pair[0], m)) }
            }
        }
        XCTAssertTrue(link.sync(now: 0, next: 1000))
        XCTAssertEqual(waits, 1, "the board's feed was serviced while it waited")
        XCTAssertEqual(link.nextDeadline(now: 0), 300, "the commands' time is the board's next event")
        link.due(now: 299)
        XCTAssertEqual(got, [])
        link.due(now: 300)
        XCTAssertEqual(got, [#"{"reset":true}"#, #"{"serial":"hi\n"}"#], "in the order sent")
        XCTAssertNil(link.nextDeadline(now: 300))
    }

    func testALockstepLinkNeedsVirtualTimeAndADescriptor() {
        XCTAssertThrowsError(try LockstepBackend(url: "lockstep:0", clock: BoardClock(mode: .real)))
        XCTAssertThrowsError(try LockstepBackend(url: "lockstep:999", clock: BoardClock(mode: .virtual)))
    }
}

/// The gateway of a lab in virtual time: ARP and board names on the conductor's
/// clock; the host's programs refused, once per destination, saying why.
final class LockstepGatewayTests: XCTestCase {
    func testItAnswersARPOnItsClockAndRefusesTheHostsProgramsOnce() throws {
        let gateway = try LockstepGateway(hosts: ["server": "10.0.2.15", "server.lab": "10.0.2.15"], dhcp: LANDHCP(reservations: []))
        defer { gateway.close() }
        var messages: [String] = []
        gateway.onRefused = { messages.append($0) }
        // who has 10.0.2.2? tell 10.0.2.15
        let arp: [UInt8] =
            [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5C, 0xCF, 0x7F, 0, 2, 0x0F, 0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]
            + [0x5C, 0xCF, 0x7F, 0, 2, 0x0F] + TestFrames.ip("10.0.2.15") + [0, 0, 0, 0, 0, 0] + TestFrames.ip("10.0.2.2")
            + [UInt8](repeating: 0, count: 18)
        let out = gateway.receive(arp, at: 1_234_567)
        XCTAssertEqual(out.count, 1)
        XCTAssertEqual(out.first?.sentAt, 1_234_567)
        XCTAssertEqual(out.first.map { Array($0.frame[12..<14]) + [$0.frame[21]] }, [0x08, 0x06, 2], "an ARP reply")
        XCTAssertEqual(gateway.now, 1_234_567)
        let syn = TestFrames.tcp(from: "10.0.2.15", 50000, to: "10.0.2.2", 8000, flags: 0x02)
        XCTAssertTrue(gateway.receive(syn, at: 1_300_000).isEmpty)
        XCTAssertTrue(gateway.receive(syn, at: 1_400_000).isEmpty)
        let broadcast = TestFrames.ipv4(proto: 17, from: "10.0.2.15", 4210, to: "255.255.255.255", 4210, dstMAC: [0xff, 0xff, 0xff, 0xff, 0xff, 0xff])
        XCTAssertTrue(gateway.receive(broadcast, at: 1_500_000).isEmpty)
        XCTAssertEqual(
            messages,
            [
                "server: TCP to 10.0.2.2:8000 is dropped: in virtual time a lab does not reach this host's programs (their answers would not follow the lab's clock); run the lab with --time real for that"
            ])
        XCTAssertGreaterThan(gateway.nextDeadline(), gateway.now)
    }
}

/// The lab's LAN in virtual time: a learning switch whose frames carry their time.
final class LockstepSwitchTests: XCTestCase {
    func mac(_ n: UInt8) -> [UInt8] { [0x5C, 0xCF, 0x7F, 0, 2, n] }
    let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
    func frame(to: [UInt8], from: [UInt8], _ tag: UInt8) -> [UInt8] { to + from + [0x08, 0x00, tag] }

    func testUnknownDestinationsFloodThenTheSwitchLearns() {
        var lan = LockstepSwitch(nodes: 3, window: 50)
        lan.route(frame(to: mac(2), from: mac(1), 1), from: 0, sentAt: 1000)
        XCTAssertEqual(lan.take(for: 1).map(\.at), [1050], "unknown: flooded")
        XCTAssertEqual(lan.take(for: 2).map(\.at), [1050])
        XCTAssertTrue(lan.take(for: 0).isEmpty, "never back to the sender")
        lan.route(frame(to: mac(1), from: mac(2), 2), from: 1, sentAt: 1100)
        XCTAssertEqual(lan.take(for: 0).map { $0.frame.last }, [2], "learnt from the first frame's source")
        XCTAssertTrue(lan.take(for: 2).isEmpty)
        lan.route(frame(to: broadcast, from: mac(1), 3), from: 0, sentAt: 1200)
        XCTAssertEqual([1, 2].map { lan.take(for: $0).count }, [1, 1])
        lan.remove(2)
        lan.route(frame(to: broadcast, from: mac(1), 4), from: 0, sentAt: 1300)
        XCTAssertEqual(lan.earliest(for: 2), nil, "nothing to a node that ended")
    }

    func testFramesDueTogetherAreHandedOverBySenderThenSequence() {
        var lan = LockstepSwitch(nodes: 3, window: 50)
        lan.route(frame(to: broadcast, from: mac(2), 1), from: 1, sentAt: 100)
        lan.route(frame(to: broadcast, from: mac(1), 2), from: 0, sentAt: 100)
        lan.route(frame(to: broadcast, from: mac(1), 3), from: 0, sentAt: 90)
        lan.route(frame(to: broadcast, from: mac(2), 4), from: 1, sentAt: 100)
        XCTAssertEqual(lan.take(for: 2).map { $0.frame.last! }, [3, 2, 1, 4])
    }

    func testTheScheduleDecidesDeliveryButNeverSoonerThanAWindow() {
        var lan = LockstepSwitch(nodes: 2, window: 50)
        lan.schedule = { frame, sentAt, _, _ in [(sentAt + 10, frame), (sentAt + 700, frame)] }  // too soon, and a duplicate
        lan.route(frame(to: broadcast, from: mac(1), 1), from: 0, sentAt: 1000)
        XCTAssertEqual(lan.earliest(for: 1), 1050)
        XCTAssertEqual(lan.take(for: 1, before: 1100).map(\.at), [1050])
        XCTAssertEqual(lan.take(for: 1).map(\.at), [1700])
    }
}
