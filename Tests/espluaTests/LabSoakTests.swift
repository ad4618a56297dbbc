import Foundation
import XCTest

@testable import BoardTesting

/// `make soak-lab` in miniature: three hello_server boards in an `esplua lab`,
/// visited through the gateway's forwards at random intervals for 10 s of real
/// time. No board may crash or go, every visit must get its page; the CPU and
/// PSS figures must be there (their values belong to the benchmark, not here).
final class LabSoakTests: EspluaTestCase {
    func testAShortLabSoakWithVisitorsCrashesNoBoard() throws {
        let report = try LabSoak.run(
            esplua: Self.root.appendingPathComponent(".build/debug/esplua").path,
            sketch: Self.root.appendingPathComponent("sketches/hello_server.lua").path, boards: 3, seconds: 10,
            basePort: LabSoak.basePort(boards: 3), meanGapMillis: 200)
        XCTAssertEqual(report.problems, [])
        XCTAssertEqual(report.crashes, [])
        XCTAssertEqual(report.boardsAlive, 3)
        XCTAssertEqual(report.failedVisits, [])
        XCTAssertGreaterThan(report.visits, 10)
        XCTAssertEqual(report.boardPSSKiB.count, 3)
        XCTAssertTrue(report.boardPSSKiB.allSatisfy { $0 > 0 }, "\(report.boardPSSKiB)")
        XCTAssertGreaterThan(report.cpuPercent, 0)
    }

    /// The failed visit `make soak-lab` met about once in a thousand visits, as board-4's
    /// pcap held it (30 boards, a visit every 50 ms): the board closed the connection
    /// from host port 39422 (FIN first, so TIME_WAIT is the board's), the host's kernel
    /// gave the next visit to the same board that port again 8 s later, and lwIP
    /// answered its SYN with an ACK of the old connection and ignored slirp's RST
    /// (lwIP 2.1.3 tcp_in.c:739-774, tcp_timewait_input). The soak tells it apart
    /// from a failure it cannot explain.
    func testASynIntoTheBoardsTimeWaitIsAnExpectedFailure() {
        let visitor = ("10.0.2.2", UInt16(39422)), board = ("10.0.2.18", UInt16(80))
        func into(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ payload: Int = 0) -> [UInt8] {
            EthernetFrames.tcp(from: visitor, to: board, seq: seq, ack: ack, flags: flags, window: 65535, payload: .init(repeating: 0x41, count: payload))
        }
        func out(_ seq: UInt32, _ ack: UInt32, _ flags: UInt8, _ payload: Int = 0) -> [UInt8] {
            EthernetFrames.tcp(
                from: board, to: visitor, seq: seq, ack: ack, flags: flags, window: 2144, payload: .init(repeating: 0x42, count: payload),
                sourceMAC: EthernetFrames.boardMAC, destinationMAC: EthernetFrames.gatewayMAC)
        }
        let earlier = [
            into(82_944_001, 0, 0x02), out(10445, 82_944_002, 0x12), into(82_944_002, 10446, 0x10),
            into(82_944_002, 10446, 0x18, 29), out(10446, 82_944_031, 0x18, 103), out(10549, 82_944_031, 0x11),
            into(82_944_031, 10550, 0x11), out(10550, 82_944_032, 0x10),
        ]
        let reused = [into(88_704_001, 0, 0x02), out(10550, 82_944_032, 0x10), into(82_944_032, 0, 0x04), into(88_704_001, 0, 0x02)]
        func pcap(_ frames: [[UInt8]]) -> [UInt8] {
            var bytes = [UInt8](repeating: 0, count: 24)
            for (i, f) in frames.enumerated() {
                for v in [UInt32(111 + i), 0, UInt32(f.count), UInt32(f.count)] { withUnsafeBytes(of: v.littleEndian) { bytes += $0 } }
                bytes += f
            }
            return bytes
        }
        let segments = PcapSummary.tcp(pcap: pcap(earlier + reused), port: 39422)
        XCTAssertEqual(segments.count, 12)
        XCTAssertEqual(segments.map(\.toBoard), [true, false, true, true, false, false, true, false, true, false, true, true])
        XCTAssertEqual(segments[4].length, 103)
        XCTAssertNotNil(LabSoak.expectedReason(segments, board: "board-4", hostPort: 39422))
        // the same SYN answered with a SYN-ACK, or not at all, or on a port the board never closed: not explained
        let answered = PcapSummary.tcp(pcap: pcap(earlier + [into(88_704_001, 0, 0x02), out(5000, 88_704_002, 0x12)]), port: 39422)
        XCTAssertNil(LabSoak.expectedReason(answered, board: "board-4", hostPort: 39422))
        XCTAssertNil(LabSoak.expectedReason(PcapSummary.tcp(pcap: pcap(earlier + [reused[0]]), port: 39422), board: "board-4", hostPort: 39422))
        XCTAssertNil(LabSoak.expectedReason(PcapSummary.tcp(pcap: pcap(reused), port: 39422), board: "board-4", hostPort: 39422))
    }
}
