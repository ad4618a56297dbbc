import BoardCore
import BoardNet
import BoardTesting
import XCTest

@testable import BoardUI

/// The page's messages without a browser: what a batch keeps, in which order, and
/// the JSON the page reads (parsed back with esplua's own JSON reader).
final class UIBatchTests: XCTestCase {
    private func parse(_ text: String) throws -> [String: Any] {
        try XCTUnwrap(try JSON.parse(Array(text.utf8)) as? [String: Any], text)
    }

    private func serial(_ batch: inout UIBatch, _ text: String) {
        let bytes = Array(text.utf8)
        bytes.withUnsafeBytes { batch.serial($0) }
    }

    func testSerialTextAndRebootMarksKeepTheirOrder() throws {
        var batch = UIBatch()
        serial(&batch, "hello ")
        serial(&batch, "world\r\n")
        batch.consoleMark(kind: "reset", text: "reboot: External System", time: 2_000_000)
        serial(&batch, "again \"quoted\" <b>\u{1}\n")
        let message = try parse(batch.json(time: 2_500_000, pcbs: [], pins: nil))
        let console = try XCTUnwrap(message["console"] as? [[String: Any]])
        XCTAssertEqual(console.count, 3)
        XCTAssertEqual(console[0]["text"] as? String, "hello world\r\n", "adjacent text is one item")
        XCTAssertEqual(console[1]["mark"] as? String, "reset")
        XCTAssertEqual(console[1]["text"] as? String, "reboot: External System")
        XCTAssertEqual(console[2]["text"] as? String, "again \"quoted\" <b>\u{1}\n")
        XCTAssertEqual(JSON.integer(message["t"]), 2_500_000)
        XCTAssertNil(message["pins"], "pins only when they changed")
        let marks = try XCTUnwrap(message["marks"] as? [[Any]])
        XCTAssertEqual(marks.count, 1, "a reboot is marked on the heap chart too")
    }

    func testHeapSamplesAreCappedKeepingTheNewest() throws {
        var batch = UIBatch()
        for i in 0..<(UIBatch.maxHeap + 10) { batch.heapSample(free: 40_000 - i, maxBlock: 30_000, at: UInt64(i)) }
        let heap = try XCTUnwrap(try parse(batch.json(time: 0, pcbs: [], pins: nil))["heap"] as? [[Any]])
        XCTAssertEqual(heap.count, UIBatch.maxHeap)
        XCTAssertEqual(heap.last.flatMap { JSON.integer($0[1]) }, 40_000 - UIBatch.maxHeap - 9, "the last sample is the newest")
    }

    func testSerialBeyondTheBatchLimitIsCountedAsDropped() throws {
        var batch = UIBatch()
        let chunk = String(repeating: "x", count: 1000)
        for _ in 0..<70 { serial(&batch, chunk) }
        let message = try parse(batch.json(time: 0, pcbs: [], pins: nil))
        XCTAssertEqual(JSON.integer(message["dropped"]), 70_000 - 65_000)
    }

    func testSegmentsAreReadFromFramesWithTheirFlags() throws {
        let syn = EthernetFrames.tcp(from: ("10.0.2.2", 54321), to: ("10.0.2.15", 80), seq: 1000, ack: 0, flags: 0x02, window: 64240)
        let data = EthernetFrames.tcp(
            from: ("10.0.2.15", 80), to: ("10.0.2.2", 54321), seq: 5, ack: 1001, flags: 0x19, window: 5744, payload: Array("hi".utf8))
        var batch = UIBatch()
        for (frame, out) in [(syn, false), (data, true)] {
            frame.withUnsafeBytes { if let s = TCPSegment(frame: $0, outbound: out, time: 7) { batch.segment(s) } }
        }
        Array("not a frame".utf8).withUnsafeBytes { XCTAssertNil(TCPSegment(frame: $0, outbound: true, time: 0)) }
        let segments = try XCTUnwrap(try parse(batch.json(time: 0, pcbs: [], pins: nil))["segments"] as? [[String: Any]])
        XCTAssertEqual(segments.count, 2)
        XCTAssertEqual(segments[0]["flags"] as? String, "SYN")
        XCTAssertEqual(segments[0]["src"] as? String, "10.0.2.2:54321")
        XCTAssertEqual(segments[0]["out"] as? Bool, false)
        XCTAssertEqual(segments[1]["flags"] as? String, "FIN,PSH,ACK")
        XCTAssertEqual(JSON.integer(segments[1]["len"]), 2)
        XCTAssertEqual(JSON.integer(segments[1]["ack"]), 1001)
    }

    /// The feed keeps a batch's TCP frames raw in a ring: the latest 64, oldest first,
    /// decoded when the message goes; the older ones counted as dropped; other frames ignored.
    func testTheFrameRingKeepsTheLatestSegmentsInOrder() throws {
        var ring = FrameRing(capacity: UIBatch.maxSegments)
        for i in 0..<100 {
            let frame = EthernetFrames.tcp(from: ("10.0.2.2", 54321), to: ("10.0.2.15", 80), seq: UInt32(i), ack: 0, flags: 0x10, window: 100)
            frame.withUnsafeBytes { ring.add($0, outbound: false, at: UInt64(i)) }
        }
        Array(repeating: UInt8(0), count: 60).withUnsafeBytes { XCTAssertNil(FrameRing.tcpFlags($0), "not IPv4 TCP") }
        var batch = UIBatch()
        ring.drain(into: &batch)
        XCTAssertEqual(batch.segments.map(\.seq), (36..<100).map(UInt32.init))
        XCTAssertEqual(batch.dropped, 36)
        var next = UIBatch()
        ring.drain(into: &next)
        XCTAssertTrue(next.segments.isEmpty, "a drained ring starts again")
        let one = EthernetFrames.tcp(from: ("10.0.2.15", 80), to: ("10.0.2.2", 54321), seq: 7, ack: 0, flags: 0x12, window: 100)
        one.withUnsafeBytes {
            XCTAssertEqual(FrameRing.tcpFlags($0), 0x12); ring.add($0, outbound: true, at: 1)
        }
        ring.drain(into: &next)
        XCTAssertEqual(next.segments.map(\.seq), [7])
        XCTAssertEqual(next.dropped, 0)
    }

    func testControlsGoAsNamePairsAndANonFiniteValueAsNull() throws {
        let controls = [UIBatch.Control(name: "sensor.temperature", value: 21.5), UIBatch.Control(name: "servo.angle", value: .nan)]
        let message = try parse(UIBatch().json(time: 0, pcbs: [], pins: nil, controls: controls))
        let pairs = try XCTUnwrap(message["controls"] as? [[Any]])
        XCTAssertEqual(pairs[0][0] as? String, "sensor.temperature")
        XCTAssertEqual(JSON.number(pairs[0][1]), 21.5)
        XCTAssertTrue(pairs[1][1] is JSON.Null)
    }

    func testPageCommandsBecomeInboxCommands() {
        XCTAssertEqual(try UICommand.parse(#"{"serial":"hi\n"}"#).get(), .serialInput(Array("hi\n".utf8)))
        XCTAssertEqual(try UICommand.parse(#"{"reset":true}"#).get(), .reset)
        XCTAssertEqual(try UICommand.parse(#"{"control":"bmp.temperature","value":30.5}"#).get(), .setControl(part: "bmp", control: "temperature", value: 30.5))
        XCTAssertThrowsError(try UICommand.parse(#"{"control":"bmp","value":1}"#).get())
        XCTAssertThrowsError(try UICommand.parse(#"{"stop":true}"#).get(), "the page cannot end the run")
        XCTAssertThrowsError(try UICommand.parse("nonsense").get())
    }

    func testTimeControlsBecomeInboxCommands() {
        XCTAssertEqual(try UICommand.parse(#"{"pause":true}"#).get(), .pause)
        XCTAssertEqual(try UICommand.parse(#"{"resume":true}"#).get(), .resume)
        XCTAssertEqual(try UICommand.parse(#"{"step":{"passes":1}}"#).get(), .step(.passes(1)))
        XCTAssertEqual(try UICommand.parse(#"{"step":{"ms":2.5}}"#).get(), .step(.micros(2500)))
        XCTAssertEqual(try UICommand.parse(#"{"speed":10}"#).get(), .setSpeed(10))
        XCTAssertEqual(try UICommand.parse(#"{"speed":0}"#).get(), .setSpeed(0), "as fast as possible")
        XCTAssertThrowsError(try UICommand.parse(#"{"step":{"ms":-5}}"#).get())
        XCTAssertThrowsError(try UICommand.parse(#"{"step":{}}"#).get())
        XCTAssertThrowsError(try UICommand.parse(#"{"speed":"fast"}"#).get())
    }

    func testVirtualTimeStateGoesWithTheMessageAndPcbsCarryTheirHeap() throws {
        let message = try parse(UIBatch().json(time: 1, pcbs: [], pins: nil, luaMemory: 12345, time: .init(paused: true, speed: 10)))
        XCTAssertEqual(message["paused"] as? Bool, true)
        XCTAssertEqual(JSON.number(message["speed"]), 10)
        XCTAssertEqual(JSON.integer(message["lua"]), 12345)
        let real = try parse(UIBatch().json(time: 1, pcbs: [], pins: nil))
        XCTAssertNil(real["paused"], "no time controls in real time")
        XCTAssertNil(real["lua"])
    }
}
