import Foundation
import XCTest

@testable import BoardCore
@testable import BoardTesting

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
        let texts = try WebSocketClient(url: url).texts(for: 5)
        // each board's pcap so far, from the page (the file the board writes), read by tshark
        let port = Int(url.split(separator: "/")[1].split(separator: ":")[1])!
        let pcap = try httpGet(port: port, "/capture.pcap?token=\(url.split(separator: "=").last!)&board=client")
        XCTAssertEqual(Array(pcap.prefix(4)), [0xD4, 0xC3, 0xB2, 0xA1], "the pcap magic")
        let pcapFile = work.appendingPathComponent("client.pcap")
        try Data(pcap).write(to: pcapFile)
        let tshark = Process()
        tshark.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        tshark.arguments = ["-r", pcapFile.path, "-Y", "http.request", "-T", "fields", "-e", "http.request.uri"]
        let listing = Pipe()
        tshark.standardOutput = listing
        tshark.standardError = FileHandle.nullDevice
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") {
            try tshark.run()
            let uris = String(decoding: listing.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            tshark.waitUntilExit()
            XCTAssertEqual(tshark.terminationStatus, 0)
            XCTAssertTrue(uris.contains("/from-client"), "the client's requests in its pcap: \(uris)")
        }
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

/// `esplua lab LAB.json --time virtual --ui PORT`: the page's controls act on the
/// whole lab through the lockstep conductor. The lab starts paused (`--paused`)
/// with every board at board time 0; a step of 3 s brings every board to 3 s
/// (both joined, the client fetching), where each stands still; a reset of the client from the page waits for
/// the lab to run and is carried out at the start of the next window; run again,
/// every board goes on to the end. A board's pcap downloads from the page, and
/// tshark reads it. The same lab with the same commands, paused once more at a
/// moment the host chooses, prints the same transcript: the page decides when the
/// boards run, never what they do.
final class LabPageVirtualTimeTests: EspluaTestCase {
    func testPauseStepAndRunActOnEveryBoardAndKeepTheRunDeterministic() throws {
        let work = FileManager.default.temporaryDirectory.appendingPathComponent("labpage-vt-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: work) }
        try FileManager.default.copyItem(
            atPath: Self.root.appendingPathComponent("sketches/hello_server.lua").path, toPath: work.appendingPathComponent("server.lua").path)
        try """
        function setup()
          Serial.begin(115200)
          print("client up at " .. millis())
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
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
            print("fetched " .. #page .. " at " .. millis())
          end
          delay(200)
        end
        """.write(to: work.appendingPathComponent("client.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "server", "sketch": "server.lua" }, { "name": "client", "sketch": "client.lua" } ] }"#
            .write(to: work.appendingPathComponent("lab.json"), atomically: true, encoding: .utf8)

        // the first run: watched closely
        let first = try LabRun(lab: work.appendingPathComponent("lab.json").path, root: Self.root)
        defer { first.stop() }
        let ws = try WebSocketClient(url: first.url)
        let hello = try XCTUnwrap(try ws.next { $0["hello"] != nil }?["hello"] as? [String: Any])
        XCTAssertEqual(hello["time"] as? String, "virtual")
        let start = try XCTUnwrap(try ws.next { ($0["lab"] as? [String: Any])?["paused"] as? Bool == true }, "the lab starts paused")
        XCTAssertEqual((start["lab"] as? [String: Any])?["t"] as? Int, 0)

        ws.send(#"{"step":{"ms":3000}}"#)
        let stepped = try XCTUnwrap(
            try ws.next { m in
                guard let lab = m["lab"] as? [String: Any], lab["paused"] as? Bool == true else { return false }
                return (lab["t"] as? Int ?? 0) >= 3_000_000
            }, "the step ends paused")
        let labTime = try XCTUnwrap((stepped["lab"] as? [String: Any])?["t"] as? Int)
        XCTAssertLessThan(labTime, 3_000_000 + 1000, "a step of 3 s ends within a window of 3 s")
        // every board's time reaches the step's end, and stands still there: each board's
        // next messages (its feed sends while it waits for a grant) carry the same time
        var seen: [String: [Int]] = [:]
        let until = Date().addingTimeInterval(4)
        while Date() < until, seen.values.filter({ $0.count >= 2 }).count < 2, let m = try ws.next(timeout: until.timeIntervalSinceNow) {
            if let name = m["board"] as? String, let t = (m["m"] as? [String: Any])?["t"] as? Int, t >= 3_000_000 { seen[name, default: []].append(t) }
        }
        for name in ["server", "client"] {
            let times = seen[name] ?? []
            XCTAssertGreaterThanOrEqual(times.count, 2, "\(name) reached the step's end and sent again: \(seen)")
            XCTAssertEqual(Set(times).count, 1, "\(name)'s time stands still while the lab is paused: \(times)")
            XCTAssertLessThan(times.first ?? 0, labTime + 1000)
        }
        // the server's pcap so far: its DHCP and the client's first requests, read by tshark
        let pcap = try first.download("/capture.pcap?token=\(first.token)&board=server")
        let pcapFile = work.appendingPathComponent("server.pcap")
        try Data(pcap).write(to: pcapFile)
        let tshark = Process()
        tshark.executableURL = URL(fileURLWithPath: "/usr/bin/tshark")
        tshark.arguments = ["-r", pcapFile.path, "-T", "fields", "-e", "frame.time_relative", "-e", "_ws.col.Protocol"]
        let tsharkOut = Pipe()
        tshark.standardOutput = tsharkOut
        tshark.standardError = FileHandle.nullDevice
        if FileManager.default.isExecutableFile(atPath: "/usr/bin/tshark") {
            try tshark.run()
            let listing = String(decoding: tsharkOut.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            tshark.waitUntilExit()
            XCTAssertEqual(tshark.terminationStatus, 0, "tshark reads the page's pcap")
            XCTAssertTrue(listing.contains("DHCP") && listing.contains("HTTP"), listing)
        }
        XCTAssertEqual(Array(pcap.prefix(4)), [0xD4, 0xC3, 0xB2, 0xA1], "the pcap magic")
        XCTAssertEqual(try first.download("/capture.pcap?token=\(first.token)&board=nobody").count, 0, "no pcap of a board the lab lacks")

        // reset the client: it waits for the lab to run
        ws.send(#"{"board":"client","reset":true}"#)
        XCTAssertNotNil(try ws.next { ($0["lab"] as? [String: Any])?["waiting"] as? Int == 1 }, "the reset waits for the lab to run")
        ws.send(#"{"resume":true}"#)
        var rebooted = false, last: [String: Int] = [:]
        while let m = try ws.next(timeout: 10) {
            guard let name = m["board"] as? String, let body = m["m"] as? [String: Any] else { continue }
            last[name] = body["t"] as? Int
            let console = (body["console"] as? [[String: Any]]) ?? []
            if name == "client" && console.contains(where: { $0["mark"] as? String == "reset" && ($0["text"] as? String ?? "").contains("External System") }) {
                rebooted = true
            }
        }
        XCTAssertTrue(rebooted, "the page's reset reboots the client")
        // (a quiet board's feed sends once a second of host time: its last message may be before the end)
        XCTAssertGreaterThan(last["server"] ?? 0, labTime, "run again, the boards go on: \(last)")
        XCTAssertGreaterThan(last["client"] ?? 0, labTime)
        let transcript = try first.finish()
        XCTAssertTrue(transcript.contains("client | fetched "), transcript)
        XCTAssertEqual(transcript.components(separatedBy: "client up at").count - 1, 2, "booted, then reset once: \(transcript)")

        // the second run: the same commands, run at 10x and paused wherever the host happens to be
        let second = try LabRun(lab: work.appendingPathComponent("lab.json").path, root: Self.root)
        defer { second.stop() }
        let ws2 = try WebSocketClient(url: second.url)
        _ = try ws2.next { ($0["lab"] as? [String: Any])?["paused"] as? Bool == true }
        ws2.send(#"{"step":{"ms":3000}}"#)
        _ = try ws2.next { m in
            guard let lab = m["lab"] as? [String: Any], lab["paused"] as? Bool == true else { return false }
            return (lab["t"] as? Int ?? 0) >= 3_000_000
        }
        ws2.send(#"{"board":"client","reset":true}"#)
        _ = try ws2.next { ($0["lab"] as? [String: Any])?["waiting"] as? Int == 1 }
        ws2.send(#"{"speed":10}"#)
        ws2.send(#"{"resume":true}"#)
        usleep(100_000)
        ws2.send(#"{"pause":true}"#)
        let midway = try ws2.next { m in
            guard let lab = m["lab"] as? [String: Any], lab["paused"] as? Bool == true else { return false }
            return (lab["t"] as? Int ?? 0) > 3_000_000
        }
        let pausedAt = (midway?["lab"] as? [String: Any])?["t"] as? Int ?? 0
        XCTAssertTrue(pausedAt > 3_000_000 && pausedAt < 5_000_000, "paused midway: \(pausedAt)")
        usleep(200_000)
        ws2.send(#"{"step":{"windows":3}}"#)
        usleep(100_000)
        ws2.send(#"{"resume":true}"#)
        XCTAssertEqual(try second.finish(), transcript, "the same lab with the same commands prints the same transcript")
    }
}

/// A lab run in virtual time, paused, with its page (`esplua lab … --paused --ui`).
final class LabRun {
    let process: Process
    let url: String
    let token: String
    let port: Int
    private let box = DataBox()
    private let reader: Thread
    final class DataBox: @unchecked Sendable { var data = Data() }

    init(lab: String, root: URL) throws {
        let process = Process()
        process.executableURL = root.appendingPathComponent(".build/debug/esplua")
        process.arguments = ["lab", lab, "--time", "virtual", "--paused", "--ui", "127.0.0.1:0", "--for", "5s"]
        let out = Pipe(), err = Pipe()
        process.standardError = err
        process.standardOutput = out
        try process.run()
        self.process = process
        let handle = out.fileHandleForReading
        let box = self.box
        reader = Thread { box.data = handle.readDataToEndOfFile() }
        reader.start()
        var stderr = ""
        let deadline = Date().addingTimeInterval(20)
        while !stderr.contains("the lab's page: "), Date() < deadline, process.isRunning {
            stderr += String(decoding: err.fileHandleForReading.availableData, as: UTF8.self)
        }
        let line = try XCTUnwrap(stderr.split(separator: "\n").first { $0.contains("the lab's page: ") }, stderr)
        url = String(line.split(separator: " ").last!)
        token = String(url.split(separator: "=").last!)
        port = Int(url.split(separator: "/")[1].split(separator: ":")[1])!
        // the rest of stderr is not read: a pipe's 64 KB is far more than a lab's few lines
    }

    /// GETs `path` from the page's server; the body (empty unless 200).
    func download(_ path: String) throws -> [UInt8] { try httpGet(port: port, path) }

    /// Waits for the lab to end; its stdout (the boards' lines).
    func finish() throws -> String {
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        XCTAssertFalse(process.isRunning, "the lab ends after --for")
        stop()
        while reader.isExecuting { usleep(1000) }
        XCTAssertEqual(process.terminationStatus, 0)
        return String(decoding: box.data, as: UTF8.self)
    }

    func stop() {
        if process.isRunning { process.interrupt() }
        process.waitUntilExit()
    }
}

/// GETs `path` from 127.0.0.1:`port` (HTTP/1.0); the body, empty unless 200.
func httpGet(port: Int, _ path: String) throws -> [UInt8] {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    guard loopback(fd, port: port) == 0 else { throw XCTSkip("cannot connect to 127.0.0.1:\(port)") }
    let request = "GET \(path) HTTP/1.0\r\nHost: 127.0.0.1:\(port)\r\n\r\n"
    _ = request.withCString { send(fd, $0, strlen($0), 0) }
    var got: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 65536)
    while true {
        let n = recv(fd, &buf, buf.count, 0)
        if n <= 0 { break }
        got += buf[0..<n]
    }
    guard let i = (0..<max(0, got.count - 3)).first(where: { got[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) else { return [] }
    guard String(decoding: got[..<i], as: UTF8.self).hasPrefix("HTTP/1.0 200") || String(decoding: got[..<i], as: UTF8.self).hasPrefix("HTTP/1.1 200")
    else { return [] }
    return Array(got[(i + 4)...])
}

/// A WebSocket client that sends text (masked, RFC 6455 5.3) and reads the
/// server's text frames one message at a time, as a browser's network layer does.
final class WebSocketClient {
    private let fd: Int32
    private var got: [UInt8] = []
    private var queue: [String] = []

    init(url: String) throws {
        let hostPort = url.split(separator: "/")[1]
        let port = Int(hostPort.split(separator: ":")[1])!
        let token = String(url.split(separator: "=").last!)
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard loopback(fd, port: port) == 0 else { throw XCTSkip("cannot connect to \(url)") }
        var tv = timeval(tv_sec: 0, tv_usec: 100_000)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        let request =
            "GET /ws?token=\(token) HTTP/1.1\r\nHost: \(hostPort)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://\(hostPort)\r\n\r\n"
        _ = request.withCString { Glibc.send(fd, $0, strlen($0), 0) }
        let end = Date().addingTimeInterval(5)
        while Date() < end {
            if let i = (0..<max(0, got.count - 3)).first(where: { got[$0..<$0 + 4].elementsEqual([13, 10, 13, 10]) }) {
                XCTAssertTrue(String(decoding: got[..<i], as: UTF8.self).hasPrefix("HTTP/1.1 101"))
                got.removeFirst(i + 4)
                return
            }
            if !receive() { break }
        }
        throw XCTSkip("no WebSocket upgrade from \(url)")
    }

    deinit { close(fd) }

    /// One masked text frame.
    func send(_ text: String) {
        let payload = Array(text.utf8)
        var frame: [UInt8] = [0x81]
        if payload.count < 126 {
            frame.append(0x80 | UInt8(payload.count))
        } else {
            frame += [0x80 | 126, UInt8(payload.count >> 8), UInt8(payload.count & 0xFF)]
        }
        let mask: [UInt8] = [0x12, 0x34, 0x56, 0x78]
        frame += mask
        frame += payload.enumerated().map { $1 ^ mask[$0 % 4] }
        // the lab may have ended (its page with it): no SIGPIPE
        _ = frame.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// The next message (a JSON object), nil if none came within `timeout` seconds or the server closed.
    func next(timeout: TimeInterval = 10) throws -> [String: Any]? {
        let end = Date().addingTimeInterval(max(0, timeout))
        while queue.isEmpty {
            parse()
            if !queue.isEmpty { break }
            if Date() >= end || !receive() { return nil }
        }
        let text = queue.removeFirst()
        return try XCTUnwrap(try JSON.parse(Array(text.utf8)) as? [String: Any], text)
    }

    /// The next message that `matches`, skipping others (nil after `timeout` seconds).
    func next(timeout: TimeInterval = 10, where matches: ([String: Any]) -> Bool) throws -> [String: Any]? {
        let end = Date().addingTimeInterval(timeout)
        while let m = try next(timeout: end.timeIntervalSinceNow) {
            if matches(m) { return m }
        }
        return nil
    }

    /// Reads what came (waits at most the socket's 100 ms); false once the server closed.
    private func receive() -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        let n = recv(fd, &buf, buf.count, 0)
        if n == 0 { return false }
        if n > 0 { got += buf[0..<n] }
        return true
    }

    private func parse() { queue += takeWebSocketTexts(&got) }

    /// Every text message that comes within `seconds` (or until the server closes), unparsed.
    func texts(for seconds: TimeInterval) -> [String] {
        let end = Date().addingTimeInterval(seconds)
        while Date() < end, receive() { parse() }
        parse()
        defer { queue.removeAll() }
        return queue
    }
}

/// The text messages of the whole WebSocket frames at the start of `got` (a server's
/// frames: unmasked, RFC 6455 5.2), removed from it; a partial frame stays.
func takeWebSocketTexts(_ got: inout [UInt8]) -> [String] {
    var texts: [String] = []
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
        if got[0] & 0x0F == 1 { texts.append(String(decoding: got[offset..<offset + length], as: UTF8.self)) }
        got.removeFirst(offset + length)
    }
    return texts
}
