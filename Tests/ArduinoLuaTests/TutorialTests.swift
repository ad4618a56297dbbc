import ArduinoLua
import BoardNet
import BoardTesting
import XCTest

/// The core's classic examples translated line for line (sketches/helloserver.lua,
/// basic_http_client.lua, mdns_webserver.lua), run with the world file beside them:
/// what they print and put on the wire is what the originals do (core 3.1.2).
final class TutorialTests: XCTestCase {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func run(_ sketch: String, for s: Double, prepare: (Device) -> Void = { _ in }) throws -> SketchRun {
        try SketchHarness.run(path: Self.root.appendingPathComponent("sketches/\(sketch)").path, for: seconds(s), prepare: prepare)
    }

    func body(_ visit: VisitReport) -> (head: String, body: [UInt8]) {
        let bytes = visit.received
        let sep = Array("\r\n\r\n".utf8)
        guard let i = (0...(max(0, bytes.count - 4))).first(where: { Array(bytes[$0..<min(bytes.count, $0 + 4)]) == sep }) else {
            return (String(decoding: bytes, as: UTF8.self), [])
        }
        return (String(decoding: bytes[..<i], as: UTF8.self), Array(bytes[(i + 4)...]))
    }

    // HelloServer.ino (libraries/ESP8266WebServer/examples/HelloServer): "/" answers
    // "hello from esp8266!\r\n" as text/plain (l.20-24), "/inline" "this works as well"
    // (l.74-76), "/gif" the 58-byte GIF87a with bytes 16-18 set to millis() % 256
    // (l.78-93), "/chunks" a chunked text/html page of bigChunk, "chunk 2", bigChunk
    // (l.41-49, 159-166), anything else 404 with the URI, the method and each argument
    // (l.26-39); Serial prints the connection lines of l.57-70 and 169.
    func testHelloServerAnswersItsRoutesAsTheOriginal() throws {
        let r = try run("helloserver.lua", for: 12)
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript,
            "\r\n.....\r\nConnected to your-ssid\r\nIP address: 10.0.2.15\r\nMDNS responder started\r\nHTTP server started\r\n")
        let visits = r.device.network.visitReports.sorted { $0.visitor < $1.visitor }
        XCTAssertEqual(visits.count, 5, r.log.joined(separator: "\n"))
        guard visits.count == 5 else { return }

        let root = body(visits[0])
        XCTAssertTrue(root.head.hasPrefix("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"), root.head)
        XCTAssertEqual(String(decoding: root.body, as: UTF8.self), "hello from esp8266!\r\n")

        XCTAssertEqual(String(decoding: body(visits[1]).body, as: UTF8.self), "this works as well")

        let gif = body(visits[2])
        XCTAssertTrue(gif.head.contains("Content-Type: image/gif\r\nContent-Length: 58"), gif.head)
        XCTAssertEqual(gif.body.count, 58)
        XCTAssertEqual(Array(gif.body.prefix(6)), Array("GIF87a".utf8))
        // the request came at 6 s: millis() % 256 in the three background bytes
        let colour = gif.body[16]
        XCTAssertEqual(gif.body[17], colour)
        XCTAssertEqual(gif.body[18], colour)
        XCTAssertTrue((6000...6010).contains { UInt8($0 % 256) == colour }, "\(colour)")
        XCTAssertEqual(gif.body.last, 0x3b)

        let chunks = body(visits[3])
        XCTAssertTrue(chunks.head.contains("Transfer-Encoding: chunked"), chunks.head)
        let decoded = dechunk(chunks.body)
        var bigChunk = "chunk of len 4000"
        while bigChunk.utf8.count < 4000 - 5 { bigChunk += "-blah" }
        XCTAssertEqual(String(decoding: decoded, as: UTF8.self), bigChunk + "chunk 2" + bigChunk)

        let notFound = body(visits[4])
        XCTAssertTrue(notFound.head.hasPrefix("HTTP/1.0 404 Not Found\r\nContent-Type: text/plain"), notFound.head)
        XCTAssertEqual(
            String(decoding: notFound.body, as: UTF8.self), "File Not Found\n\nURI: /nowhere\nMethod: GET\nArguments: 2\n x: 1\n y: two\n")
    }

    func dechunk(_ b: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var i = 0
        while i < b.count {
            guard let eol = (i..<(b.count - 1)).first(where: { b[$0] == 13 && b[$0 + 1] == 10 }),
                let n = Int(String(decoding: b[i..<eol], as: UTF8.self), radix: 16)
            else { break }
            if n == 0 { break }
            out += b[(eol + 2)..<min(b.count, eol + 2 + n)]
            i = eol + 2 + n + 2
        }
        return out
    }

    // BasicHttpClient.ino (libraries/ESP8266HTTPClient/examples/BasicHttpClient): three
    // empty lines and "[SETUP] WAIT 4..." to 1 a second apart (l.24-32), then every 10 s
    // "[HTTP] begin...", "[HTTP] GET...", "[HTTP] GET... code: 200" and the page (l.46-62).
    func testBasicHttpClientPrintsTheOriginalsLines() throws {
        let r = try run("basic_http_client.lua", for: 26)
        defer { r.finish() }
        let page = "<html><body>connection</body></html>"
        let get = "[HTTP] begin...\n[HTTP] GET...\n[HTTP] GET... code: 200\n\(page)\r\n"
        XCTAssertEqual(r.transcript, "\r\n\r\n\r\n[SETUP] WAIT 4...\n[SETUP] WAIT 3...\n[SETUP] WAIT 2...\n[SETUP] WAIT 1...\n" + get + get)
    }

    // mDNS_Web_Server.ino (libraries/ESP8266mDNS/examples/mDNS_Web_Server): "/" gets the
    // page with the board's address (l.104-110), anything else "404 Not Found" (l.111-114);
    // and while it runs, esp8266.local and _http._tcp.local are answered on the link
    // (MDNS.begin and addService, l.53-66; MDNS.update in loop, l.72).
    func testMDNSWebServerServesAndIsFoundByName() throws {
        var peer: MDNSTests.LinkPeer!
        let r = try run("mdns_webserver.lua", for: 8) { device in
            peer = MDNSTests.LinkPeer(device)
            var q = MDNSMessage()
            q.questions = [.init(name: "esp8266.local", type: MDNSMessage.typeA), .init(name: "_http._tcp.local", type: MDNSMessage.typePTR)]
            peer.afterFirstAnnouncement = [peer.query(q, from: "10.0.2.50")]
        }
        defer { r.finish() }
        XCTAssertTrue(r.transcript.contains("mDNS responder started\r\nTCP server started\r\n"), r.transcript)
        XCTAssertTrue(r.transcript.contains("Request: /\r\nSending 200\r\nDone with client\r\n"), r.transcript)
        XCTAssertTrue(r.transcript.contains("Request: /favicon.ico\r\nSending 404\r\n"), r.transcript)
        let visits = r.device.network.visitReports.sorted { $0.visitor < $1.visitor }
        XCTAssertEqual(visits.count, 2)
        XCTAssertEqual(
            visits.first.map { String(decoding: $0.received, as: UTF8.self) },
            "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<!DOCTYPE HTML>\r\n<html>Hello from ESP8266 at 10.0.2.15</html>\r\n\r\n")
        let reply = try XCTUnwrap(
            peer.sent.first {
                $0.message.isResponse && $0.message.answers.map(\.name) == ["esp8266.local", "_http._tcp.local"]
            })
        XCTAssertEqual(reply.message.answers[0].data, .a(ipBits("10.0.2.15")!))
        XCTAssertEqual(reply.message.answers[1].data, .ptr("esp8266._http._tcp.local"))
        XCTAssertEqual(reply.message.additional.map(\.type), [MDNSMessage.typeSRV, MDNSMessage.typeTXT])
    }
}
