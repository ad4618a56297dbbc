import ArduinoLua
import BoardCore
import BoardNet
import BoardTesting
import Foundation
import XCTest

@testable import BoardUI

/// The page's view of a board that served a visitor (virtual time): the pcap it
/// downloads, the heap each pcb is charged in the connection table, and the Lua
/// VM's memory beside the heap.
final class UIRunTests: XCTestCase {
    final class Collected: @unchecked Sendable { var messages: [String] = []; var hostNanos: UInt64 = 0 }

    static let classroom = #"{ "ssid": "classroom", "password": "esp8266rocks" }"#

    /// A server that keeps the visitor's connection without reading until 7 s, then
    /// stops it (the board closes first: TIME_WAIT); at 6 s it fills a table in Lua.
    static let sketch = """
        local server = WiFiServer(80)
        local held, big
        function setup()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          server:begin()
        end
        function loop()
          local c = server:accept()
          if c then held = c end
          if held and millis() >= 7000 then held:stop(); held = nil end
          if not big and millis() >= 6000 then
            big = {}
            for i = 1, 4000 do big[i] = string.rep("x", 100) .. i end
          end
          delay(10)
        end
        """

    /// Runs the sketch with a feed (and a pcap buffer) attached; the messages, parsed.
    private func visit(capture: PcapBuffer? = nil) throws -> [[String: Any]] {
        let collected = Collected()
        var feed: UIFeed?
        let run = try SketchHarness.run(
            source: Self.sketch, for: seconds(9),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 80, "at": "5s", "send": "", "close": "after-device" } ] }
                """,
            prepare: { device in
                feed = UIFeed(
                    board: device.board, network: device.network, capture: capture,
                    luaMemory: { [unowned device] in device.luaMemoryUsed },
                    hostNanos: {
                        collected.hostNanos += 10_000_000
                        return collected.hostNanos
                    }, deliver: { collected.messages.append($0) })
            })
        feed?.flush()
        feed?.cancel()
        run.finish()
        return try collected.messages.map { try XCTUnwrap(try JSON.parse(Array($0.utf8)) as? [String: Any]) }
    }

    /// ESP8266 sizes (reference/esp8266-core.md "Struct sizes") at umm_malloc's cost:
    /// a listen pcb (36 B) takes 40 B of heap; a tcp_pcb (184 B) 192 B; the core's
    /// ClientContext (48 B, esplua's estimate) 56 B. A connection holds its pcb and,
    /// while the sketch (or the server's queue) owns it, its ClientContext; in
    /// TIME_WAIT only the pcb is left.
    func testEachPcbIsChargedWhatTheHeapCharged() throws {
        let messages = try visit()
        let rows = messages.flatMap { ($0["pcbs"] as? [[String: Any]]) ?? [] }
        func heaps(_ state: String) -> Set<Int> { Set(rows.filter { $0["state"] as? String == state }.compactMap { JSON.integer($0["heap"]) }) }
        XCTAssertEqual(heaps("LISTEN"), [Heap.cost(of: 36)])
        XCTAssertEqual(heaps("ESTABLISHED"), [Heap.cost(of: 184) + Heap.cost(of: TCPClient.contextBytes)])
        XCTAssertEqual(heaps("TIME_WAIT"), [Heap.cost(of: 184)])
        XCTAssertEqual(Heap.cost(of: 36), 40)
        XCTAssertEqual(Heap.cost(of: 184) + Heap.cost(of: 48), 248)
    }

    /// Each message says what the Lua VM holds; the table the sketch fills at 6 s
    /// (4,000 strings of 100-odd bytes) shows as a rise of at least 400 KB.
    func testMessagesCarryTheLuaMemory() throws {
        let messages = try visit()
        let series = messages.compactMap { m in JSON.integer(m["lua"]).map { (t: JSON.integer(m["t"])!, bytes: $0) } }
        XCTAssertGreaterThan(series.count, 10)
        let before = try XCTUnwrap(series.last { $0.t < 6_000_000 }).bytes
        let after = try XCTUnwrap(series.last).bytes
        XCTAssertGreaterThan(before, 10_000, "a Lua VM with esplua's libraries")
        XCTAssertGreaterThan(after - before, 400_000)
    }

    /// `/capture.pcap?token=…` is the run's pcap: the classic header, then records
    /// among which the visitor's SYN to port 80 (decoded here from the bytes, not by
    /// esplua's decoder). Without the token, or with another, it is refused.
    func testThePcapDownloadHasTheVisitorsSYNAndNeedsTheToken() throws {
        let capture = PcapBuffer()
        _ = try visit(capture: capture)
        let hub = UIHub(hello: "{}")
        let server = try UIServer(address: "127.0.0.1", port: 0, hub: hub, inbox: BoardInbox(), capture: capture, captureName: "t.pcap", log: { _ in })
        defer { server.stop() }
        let port = Int(server.url.split(separator: ":")[2].split(separator: "/")[0])!

        let (head, body) = try get("/capture.pcap?token=\(server.access.token)", port: port)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200"), head)
        XCTAssertTrue(head.lowercased().contains("content-type: application/vnd.tcpdump.pcap"), head)
        XCTAssertTrue(head.contains("filename=\"t.pcap\""), head)
        XCTAssertEqual(Array(body.prefix(4)), [0xD4, 0xC3, 0xB2, 0xA1], "pcap magic, little-endian, µs")
        XCTAssertEqual(le32(body, 20), 1, "LINKTYPE_ETHERNET")
        var offset = 24, frames = 0, syns: [(sec: Int, port: Int)] = []
        while offset + 16 <= body.count {
            let sec = le32(body, offset), length = le32(body, offset + 8)
            let frame = Array(body[(offset + 16)..<min(body.count, offset + 16 + length)])
            XCTAssertEqual(frame.count, length, "a whole record")
            offset += 16 + length
            frames += 1
            // Ethernet (14) → IPv4 (IHL) → TCP: destination port, flags
            guard frame.count >= 34, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 6 else { continue }
            let ip = 14 + Int(frame[14] & 0x0F) * 4
            guard frame.count >= ip + 14 else { continue }
            let flags = frame[ip + 13]
            if flags & 0x02 != 0 && flags & 0x10 == 0 { syns.append((sec, Int(frame[ip + 2]) << 8 | Int(frame[ip + 3]))) }
        }
        XCTAssertEqual(offset, body.count, "no trailing bytes")
        XCTAssertGreaterThan(frames, 5)
        XCTAssertEqual(syns.count, 1, "one SYN")
        XCTAssertEqual(syns.first?.port, 80)
        XCTAssertEqual(syns.first?.sec, 5, "at the visitor's board time")

        let (refused, refusedBody) = try get("/capture.pcap", port: port)
        XCTAssertTrue(refused.hasPrefix("HTTP/1.1 403"), refused)
        XCTAssertFalse(refusedBody.starts(with: [0xD4, 0xC3, 0xB2, 0xA1]))
        let (wrong, _) = try get("/capture.pcap?token=0123456789abcdef0123456789abcdef", port: port)
        XCTAssertTrue(wrong.hasPrefix("HTTP/1.1 403"), wrong)
    }

    private func le32(_ b: [UInt8], _ at: Int) -> Int {
        Int(b[at]) | Int(b[at + 1]) << 8 | Int(b[at + 2]) << 16 | Int(b[at + 3]) << 24
    }

    /// GET `path` (Connection: close): the response's head and body bytes.
    private func get(_ path: String, port: Int) throws -> (String, [UInt8]) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        XCTAssertEqual(r, 0)
        var tv = timeval(tv_sec: 5, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request = "GET \(path) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var got: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            got += buf[0..<n]
        }
        let separator: [UInt8] = [13, 10, 13, 10]
        guard let end = (0..<max(0, got.count - 3)).first(where: { Array(got[$0..<$0 + 4]) == separator }) else {
            return (String(decoding: got, as: UTF8.self), [])
        }
        return (String(decoding: got[..<end], as: UTF8.self), Array(got[(end + 4)...]))
    }
}
