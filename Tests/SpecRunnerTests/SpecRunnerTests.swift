import XCTest

@testable import SpecRunner

/// The spec runner's parts that need no board: packetdrill lines, the worker
/// protocol, the reports. (Specs against boards run through the CLI: espluaTests.SpecTests.)
final class SpecRunnerTests: XCTestCase {
    func testAPacketdrillLineKeepsEveryFieldItGives() throws {
        let l = try TCPScript.parse("+0.1 >:40002 S. 0:0(0) ack 1 win 2144 <mss 536,nop,nop,sackOK>", number: 3)
        XCTAssertTrue(l.relative)
        XCTAssertEqual(l.seconds, 0.1)
        XCTAssertFalse(l.inbound)
        XCTAssertEqual(l.peerPort, 40002)
        XCTAssertEqual(l.flags, Segment.syn | Segment.ackFlag)
        XCTAssertEqual(l.start, 0)
        XCTAssertEqual(l.length, 0)
        XCTAssertEqual(l.ack, 1)
        XCTAssertEqual(l.window, 2144)
        XCTAssertEqual(l.options, "mss 536,nop,nop,sackOK")
        let data = try TCPScript.parse("0 < P. 1:11(10) ack 1", number: 1)
        XCTAssertEqual(data.peerPort, 40001)
        XCTAssertEqual(data.length, 10)
        XCTAssertNil(data.window)
        XCTAssertNil(data.options)
    }

    func testABadPacketdrillLineSaysWhichAndWhy() {
        XCTAssertThrowsError(try TCPScript.parse("0 < X 0:0(0)", number: 4)) { error in
            XCTAssertEqual("\(error)", "b:tcp line 4 '0 < X 0:0(0)': unknown flag 'X'")
        }
        XCTAssertThrowsError(try TCPScript.parse("0 < S 0:0 win 1", number: 2)) { error in
            XCTAssertEqual("\(error)", "b:tcp line 2 '0 < S 0:0 win 1': expected START:END(LEN), like 1:11(10)")
        }
    }

    func testOptionsEncodeAsOnTheWire() throws {
        XCTAssertEqual(try TCPScript.encode(options: "mss 1460,nop,wscale 7,sackOK"), [2, 4, 0x05, 0xB4, 1, 3, 3, 7, 4, 2])
    }

    func testTheWorkerProtocolCarriesTabsNewlinesAndBackslashes() {
        let r = SpecResult(name: "a\tb", status: .failed, message: "x.lua:3: expected \"a\\n\"\n  | line", boardMicros: 1_500_000)
        XCTAssertEqual(WorkerProtocol.parse(WorkerProtocol.line(r)), [r])
    }

    func testJUnitEscapesWhatXMLCannotHold() {
        let run = SpecRun(
            spec: "s.lua", sketch: "a&b.lua",
            results: [SpecResult(name: "<tag>", status: .failed, message: "got \"x\"\u{1}", boardMicros: 2_000_000)])
        let xml = SpecReport.junit([run])
        XCTAssertTrue(xml.contains("<testsuite name=\"a&amp;b.lua\""), xml)
        XCTAssertTrue(xml.contains("<testcase name=\"&lt;tag&gt;\" classname=\"s.lua\" time=\"2.000\">"), xml)
        XCTAssertTrue(xml.contains("message=\"got &quot;x&quot;?\""), xml)
    }
}
