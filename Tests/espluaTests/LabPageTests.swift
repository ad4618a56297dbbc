import Foundation
import XCTest

@testable import BoardCore

/// `esplua lab LAB.json --ui PORT`: one page for the whole lab. Two boards (a
/// server and a client that fetches from it over the LAN) as processes; the
/// lab's page, read over its WebSocket as a browser would, names both boards and
/// carries each one's messages: consoles, heap, and connection tables in which the
/// server's connection comes from the client's address (who talks to whom).
final class LabPageTests: EspluaTestCase {
    func testALabsPageCarriesEveryBoardAndWhoTalksToWhom() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/vde_plug") else { throw XCTSkip("no vde_plug (make setup installs vdeplug)") }
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("labpage-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.copyItem(
            atPath: Self.root.appendingPathComponent("sketches/hello_server.lua").path, toPath: work.appendingPathComponent("server.lua").path)
        try """
        function setup()
          Serial.begin(115200)
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          print("client " .. WiFi.localIP())
        end
        function loop()
          local c = WiFiClient()
          if c:connect("server.lab", 80) then
            c:print("GET /from-client HTTP/1.0\\r\\n\\r\\n")
            local page = ""
            while c:connected() or c:available() > 0 do
              local n = c:available()
              if n > 0 then page = page .. c:read(n) else delay(1) end
            end
            print("fetched " .. #page)
          end
          delay(300)
        end
        """.write(to: work.appendingPathComponent("client.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "server", "sketch": "server.lua" }, { "name": "client", "sketch": "client.lua" } ] }"#
            .write(to: work.appendingPathComponent("lab.json"), atomically: true, encoding: .utf8)

        let lab = Process()
        lab.executableURL = Self.root.appendingPathComponent(".build/debug/esplua")
        lab.arguments = ["lab", work.appendingPathComponent("lab.json").path, "--ui", "127.0.0.1:0", "--for", "8s"]
        let err = Pipe()
        lab.standardError = err
        lab.standardOutput = FileHandle.nullDevice
        try lab.run()
        defer {
            if lab.isRunning { lab.interrupt() }
            lab.waitUntilExit()
        }
        var stderr = ""
        let deadline = Date().addingTimeInterval(15)
        while !stderr.contains("client is "), Date() < deadline, lab.isRunning {
            stderr += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        let line = try XCTUnwrap(stderr.split(separator: "\n").first { $0.contains("the lab's page: ") }, stderr)
        let url = String(line.split(separator: " ").last!)
        let texts = try WebSocketReader.read(url: url, seconds: 5)
        let messages = try texts.map { try XCTUnwrap(try JSON.parse(Array($0.utf8)) as? [String: Any], $0) }

        let hello = try XCTUnwrap(messages.first?["hello"] as? [String: Any])
        let boards = try XCTUnwrap(hello["boards"] as? [[String: Any]])
        XCTAssertEqual(boards.compactMap { $0["name"] as? String }, ["server", "client"])
        XCTAssertEqual(boards.compactMap { $0["address"] as? String }, ["10.0.2.15", "10.0.2.16"])
        var byBoard: [String: [[String: Any]]] = [:]
        for m in messages.dropFirst() {
            guard let name = m["board"] as? String, let body = m["m"] as? [String: Any] else { return XCTFail("not a board's message: \(m)") }
            byBoard[name, default: []].append(body)
        }
        XCTAssertEqual(Set(byBoard.keys), ["server", "client"])
        func console(_ name: String) -> String {
            (byBoard[name] ?? []).flatMap { ($0["console"] as? [[String: Any]]) ?? [] }.compactMap { $0["text"] as? String }.joined()
        }
        XCTAssertTrue(console("server").contains("GET /from-client HTTP/1.0 -> 200"), console("server"))
        XCTAssertTrue(console("client").contains("fetched "), console("client"))
        let serverRows = (byBoard["server"] ?? []).flatMap { ($0["pcbs"] as? [[String: Any]]) ?? [] }
        XCTAssertTrue(serverRows.contains { $0["state"] as? String == "LISTEN" && $0["local"] as? String == "0.0.0.0:80" })
        XCTAssertTrue(
            serverRows.contains { ($0["remote"] as? String)?.hasPrefix("10.0.2.16:") == true && $0["local"] as? String == "10.0.2.15:80" },
            "the server's table shows the client's connection")
        let clientRows = (byBoard["client"] ?? []).flatMap { ($0["pcbs"] as? [[String: Any]]) ?? [] }
        XCTAssertTrue(clientRows.contains { $0["remote"] as? String == "10.0.2.15:80" }, "and the client's the server's")
        XCTAssertTrue((byBoard["server"] ?? []).contains { !(($0["heap"] as? [Any]) ?? []).isEmpty }, "heap samples")
    }
}

/// A WebSocket client that reads (RFC 6455, text frames from the server), as a
/// browser's network layer does: for tests of the page without a browser.
enum WebSocketReader {
    /// Connects to the page's `/ws` (its Origin), reads for `seconds`, returns the text messages.
    static func read(url: String, seconds: Double) throws -> [String] {
        let hostPort = url.split(separator: "/")[1]
        let port = Int(hostPort.split(separator: ":")[1])!
        let token = String(url.split(separator: "=").last!)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard r == 0 else { throw XCTSkip("cannot connect to \(url)") }
        var tv = timeval(tv_sec: 0, tv_usec: 200_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request =
            "GET /ws?token=\(token) HTTP/1.1\r\nHost: \(hostPort)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://\(hostPort)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var got: [UInt8] = [], messages: [String] = [], upgraded = false
        var buf = [UInt8](repeating: 0, count: 65536)
        let end = Date().addingTimeInterval(seconds)
        while Date() < end {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { break }
            if n > 0 { got += buf[0..<n] }
            if !upgraded {
                guard let i = (0..<max(0, got.count - 3)).first(where: { got[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) else { continue }
                XCTAssertTrue(String(decoding: got[..<i], as: UTF8.self).hasPrefix("HTTP/1.1 101"))
                got.removeFirst(i + 4)
                upgraded = true
            }
            while got.count >= 2 {
                var length = Int(got[1] & 0x7F), offset = 2
                if length == 126 {
                    guard got.count >= 4 else { break }
                    length = Int(got[2]) << 8 | Int(got[3])
                    offset = 4
                } else if length == 127 {
                    guard got.count >= 10 else { break }
                    length = got[2..<10].reduce(0) { $0 << 8 | Int($1) }
                    offset = 10
                }
                guard got.count >= offset + length else { break }
                if got[0] & 0x0F == 1 { messages.append(String(decoding: got[offset..<offset + length], as: UTF8.self)) }
                got.removeFirst(offset + length)
            }
        }
        return messages
    }
}
