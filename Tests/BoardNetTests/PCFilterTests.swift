import XCTest

@testable import BoardNet

/// The PC-like filter frame by frame: what slirp hands the board, re-cut as a PC sends it.
final class PCFilterTests: XCTestCase {
    /// An Ethernet + IPv4 + TCP frame from 10.0.2.2:8080 to 10.0.2.15:80.
    func tcpFrame(seq: UInt32, ack: UInt32, flags: UInt8, payload: [UInt8]) -> [UInt8] {
        var f: [UInt8] = [0x5C, 0xCF, 0x7F, 1, 2, 3, 0x52, 0x55, 10, 0, 2, 2, 0x08, 0x00]
        let total = 20 + 20 + payload.count
        f += [0x45, 0, UInt8(total >> 8), UInt8(total & 0xff), 0x12, 0x34, 0x40, 0, 64, 6, 0, 0, 10, 0, 2, 2, 10, 0, 2, 15]
        f += [0x1f, 0x90, 0, 80]
        f += [UInt8(seq >> 24), UInt8(seq >> 16 & 0xff), UInt8(seq >> 8 & 0xff), UInt8(seq & 0xff)]
        f += [UInt8(ack >> 24), UInt8(ack >> 16 & 0xff), UInt8(ack >> 8 & 0xff), UInt8(ack & 0xff)]
        f += [0x50, flags, 0xff, 0xff, 0, 0, 0, 0]
        f += payload
        let ipSum = checksum(f[14..<34])
        f[24] = UInt8(ipSum >> 8)
        f[25] = UInt8(ipSum & 0xff)
        let sum = transportChecksum(f, ipStart: 14, start: 34, end: f.count, proto: 6)
        f[50] = UInt8(sum >> 8)
        f[51] = UInt8(sum & 0xff)
        return f
    }

    /// A frame's checksums are right when summing over them gives zero.
    func assertChecksumsValid(_ f: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
        let s = Segment(f)!
        XCTAssertEqual(checksum(f[14..<34]), 0, "IP checksum", file: file, line: line)
        XCTAssertEqual(transportChecksum(f, ipStart: 14, start: 34, end: s.payload + s.payloadLength, proto: 6), 0, "TCP checksum", file: file, line: line)
    }

    func testAFinCarryingAnAckIsDeliveredAsTheAckThenTheFinInALaterPass() throws {
        let filter = PCFilter()
        let fin = tcpFrame(seq: 1000, ack: 5000, flags: Segment.fin | Segment.ack, payload: [])
        let out = filter.toBoard(fin)
        XCTAssertEqual(out.count, 3)
        let ack = try XCTUnwrap(Segment(out[0])), finOnly = try XCTUnwrap(Segment(out[2]))
        XCTAssertEqual(ack.flags, Segment.ack)
        XCTAssertEqual(ack.seq, 1000)
        XCTAssertEqual(out[1], PCFilter.barrier)  // the pass ends: the sketch runs between
        XCTAssertEqual(finOnly.flags, Segment.fin | Segment.ack)
        XCTAssertEqual(finOnly.seq, 1000)
        for f in [out[0], out[2]] { assertChecksumsValid(f) }
    }

    func testDataWithFinKeepsTheDataBeforeTheFin() throws {
        let filter = PCFilter()
        let out = filter.toBoard(tcpFrame(seq: 7, ack: 9, flags: Segment.fin | Segment.psh | Segment.ack, payload: Array("bye".utf8)))
        XCTAssertEqual(out.count, 3)
        let data = try XCTUnwrap(Segment(out[0])), fin = try XCTUnwrap(Segment(out[2]))
        XCTAssertEqual(data.payloadLength, 3)
        XCTAssertEqual(data.flags, Segment.psh | Segment.ack)
        XCTAssertEqual(fin.seq, 10)
        XCTAssertEqual(fin.payloadLength, 0)
        for f in [out[0], out[2]] { assertChecksumsValid(f) }
    }

    func testSegmentsLongerThanTheBoardsMSSAreRecut() throws {
        let filter = PCFilter()
        let payload = (0..<1440).map { UInt8($0 & 0xff) }
        let out = filter.toBoard(tcpFrame(seq: 100, ack: 1, flags: Segment.psh | Segment.ack, payload: payload))
        let segs = try out.map { try XCTUnwrap(Segment($0)) }
        XCTAssertEqual(segs.map(\.payloadLength), [536, 536, 368])
        XCTAssertEqual(segs.map(\.seq), [100, 636, 1172])
        XCTAssertEqual(segs.map(\.flags), [Segment.ack, Segment.ack, Segment.psh | Segment.ack])
        var joined: [UInt8] = []
        for (f, s) in zip(out, segs) {
            assertChecksumsValid(f)
            joined += f[s.payload..<(s.payload + s.payloadLength)]
        }
        XCTAssertEqual(joined, payload)
    }

    func testShortSegmentsAndSYNsPassUnchanged() {
        let filter = PCFilter()
        let data = tcpFrame(seq: 1, ack: 1, flags: Segment.ack, payload: Array(repeating: 7, count: 536))
        XCTAssertEqual(filter.toBoard(data), [data])
        let syn = tcpFrame(seq: 1, ack: 0, flags: Segment.syn, payload: [])
        XCTAssertEqual(filter.toBoard(syn), [syn])
    }

    func testTheBoardsMSSIsLearntFromItsSYN() {
        let filter = PCFilter()
        var syn = tcpFrame(seq: 1, ack: 0, flags: Segment.syn, payload: [])
        // data offset 6 words: one MSS option of 1460
        syn[46] = 0x60
        syn.insert(contentsOf: [2, 4, 0x05, 0xb4], at: 54)
        syn[17] += 4
        syn.withUnsafeBytes { _ = filter.fromBoard($0) }
        XCTAssertEqual(filter.boardMSS, 1460)
    }

    /// A UDP frame from the board (10.0.2.15:4210) to `dst:port`.
    func udpFrame(to dst: [UInt8], port: UInt16) -> [UInt8] {
        let payload = Array("hello".utf8)
        var f: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x5C, 0xCF, 0x7F, 1, 2, 3, 0x08, 0x00]
        let total = 20 + 8 + payload.count
        f += [0x45, 0, 0, UInt8(total), 0, 1, 0, 0, 255, 17, 0, 0, 10, 0, 2, 15] + dst
        f += [0x10, 0x72, UInt8(port >> 8), UInt8(port & 0xff), 0, UInt8(8 + payload.count), 0, 0] + payload
        return f
    }

    func testBroadcastsAreReaddressedToTheHostAndDHCPPasses() throws {
        let filter = PCFilter()
        for dst: [UInt8] in [[255, 255, 255, 255], [10, 0, 2, 255], [224, 0, 0, 251]] {
            let verdict = udpFrame(to: dst, port: 4210).withUnsafeBytes { filter.fromBoard($0) }
            guard case .replace(let f) = verdict else { return XCTFail("\(dst): \(verdict)") }
            XCTAssertEqual(Array(f[30..<34]), [10, 0, 2, 2])
            XCTAssertEqual(Array(f[0..<6]), PCFilter.hostMAC)
            XCTAssertEqual(checksum(f[14..<34]), 0)
        }
        XCTAssertEqual(udpFrame(to: [255, 255, 255, 255], port: 67).withUnsafeBytes { filter.fromBoard($0) }, .pass)
        XCTAssertEqual(udpFrame(to: [10, 0, 2, 2], port: 4210).withUnsafeBytes { filter.fromBoard($0) }, .pass)
    }
}
