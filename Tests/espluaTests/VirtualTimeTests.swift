import Foundation
import XCTest

/// Virtual time that is never silently wrong (issue 11): with programs on the
/// host as peers, board time waits for them; in a lab, the lockstep conductor
/// makes every board's time one deterministic schedule.
final class VirtualTimeTests: EspluaTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("vtime-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: work)
    }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// Starts a Python program on the host that prints the port it bound on its
    /// first line; returns it and the port.
    func hostProgram(_ name: String, _ script: String) throws -> (Process, Int) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/python3") else { throw XCTSkip("python3 is not installed") }
        try script.write(toFile: path(name), atomically: true, encoding: .utf8)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        p.arguments = [path(name)]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        var line = ""
        while !line.contains("\n") { line += String(decoding: out.fileHandleForReading.availableData, as: UTF8.self) }
        return (p, Int(line.trimmingCharacters(in: .whitespacesAndNewlines))!)
    }

    /// A Python HTTP server on 127.0.0.1 that answers each request after 300 ms
    /// (a slow host program); returns it and its port.
    func slowHostServer() throws -> (Process, Int) {
        try hostProgram(
            "slow.py",
            """
            import http.server, socketserver, sys, time
            class H(http.server.BaseHTTPRequestHandler):
                protocol_version = "HTTP/1.0"
                def do_GET(self):
                    time.sleep(0.3)
                    body = ("slow answer for " + self.path + " " + "x" * 2000 + " end\\n").encode()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                def log_message(self, *a): pass
            s = socketserver.TCPServer(("127.0.0.1", 0), H)
            print(s.server_address[1], flush=True)
            s.serve_forever()
            """)
    }

    /// A board in virtual time fetching from a host program that takes 300 ms to
    /// answer: the board's clock is held to the host's pace while the connection
    /// is open, so `readString()` (it reads until its timeout) gets the whole
    /// answer every time — without the hold the clock jumps past the timeout
    /// while the host is still thinking and the read comes back empty.
    func testAFetchFromASlowHostProgramGetsTheWholeAnswerInVirtualTime() throws {
        let (server, port) = try slowHostServer()
        defer { server.terminate() }
        try """
        function setup()
          Serial.begin(115200)
          WiFi.begin("net", "password")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          for i = 1, 3 do
            local c = WiFiClient()
            local t0 = millis()
            if c:connect("10.0.2.2", \(port)) then
              c:print("GET /req" .. i .. " HTTP/1.0\\r\\n\\r\\n")
              local page = c:readString()
              local waited = millis() - t0
              print(i, #page, page:match("slow answer for (%S+)"), page:match(" end\\n$") ~= nil, waited >= 300)
              c:stop()
            else
              print(i, "no connection")
            end
          end
        end
        function loop() delay(1000) end
        """.write(toFile: path("fetch.lua"), atomically: true, encoding: .utf8)
        for run in 1...2 {
            let r = try esplua(["run", path("fetch.lua"), "--time", "virtual", "--for", "20s"])
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(
                r.stderr,
                "esplua: the board talks to a program on this host (TCP to 10.0.2.2:\(port)): while it waits for an answer, board time follows the host's clock, so the answer is not lost to a timeout; such a run is not repeatable to the byte\n"
            )
            let lines = r.stdout.split(separator: "\n").map(String.init)
            XCTAssertEqual(lines.count, 3, "run \(run): \(r.stdout)")
            for (i, line) in lines.enumerated() {
                let f = line.split(separator: "\t").map(String.init)
                XCTAssertEqual(f.count, 5, line)
                guard f.count == 5 else { continue }
                XCTAssertEqual(f[0], "\(i + 1)")
                XCTAssertGreaterThan(Int(f[1]) ?? 0, 2000, "run \(run): \(line)")
                XCTAssertEqual(Array(f[2...4]), ["/req\(i + 1)", "true", "true"], "run \(run): \(line)")
            }
        }
    }

    /// A question by datagram to a host program that answers after 300 ms (as
    /// the host's DNS resolver answers a lookup slirp forwards): the board polls
    /// for the answer for one second of board time, and gets it every time.
    func testADatagramToASlowHostProgramGetsItsAnswerInVirtualTime() throws {
        let (p, port) = try hostProgram(
            "slow_udp.py",
            """
            import socket, time
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 0))
            print(s.getsockname()[1], flush=True)
            while True:
                data, addr = s.recvfrom(100); time.sleep(0.3); s.sendto(b"answer to " + data, addr)
            """)
        defer { p.terminate() }
        try """
        local udp = WiFiUDP()
        function setup()
          WiFi.begin("net", "password")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          udp:begin(4000)
          for i = 1, 3 do
            udp:beginPacket("10.0.2.2", \(port)); udp:write("q" .. i); udp:endPacket()
            local t0, got = millis(), "nothing"
            while millis() - t0 < 1000 do
              local n = udp:parsePacket()
              if n > 0 then got = udp:read(n); break end
              delay(10)
            end
            print(got)
          end
        end
        function loop() delay(1000) end
        """.write(toFile: path("ask.lua"), atomically: true, encoding: .utf8)
        let r = try esplua(["run", path("ask.lua"), "--time", "virtual", "--for", "10s"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "answer to q1\nanswer to q2\nanswer to q3\n")
    }

    /// A lab of three boards in virtual time — a web server, a client fetching
    /// from it by name, a UDP broadcaster — run twice: the lab's output and each
    /// board's pcap are byte-identical, and the boards did talk (fetches,
    /// broadcasts heard, DNS of board names through the gateway).
    func testALabInVirtualTimeIsByteIdenticalRunToRun() throws {
        try writeThreeBoardSketches()
        let outputs = try runLabTwice(
            #"{ "boards": [ { "name": "server", "sketch": "server.lua" }, { "name": "client", "sketch": "client.lua" }, { "name": "talker", "sketch": "talker.lua" } ] }"#
        )
        for line in [
            "client | client 10.0.2.16, server is 10.0.2.15", "server | #1 GET /fetch1 HTTP/1.0 -> 200",
            "client | 2810 fetched 1: Hello from esplua!", "client | 3760 fetched 2: Hello from esplua!",
            "client | heard tick 1 at 2560 from 10.0.2.17", "client | heard tick 4 at 3760 from 10.0.2.17",
        ] {
            XCTAssertTrue(outputs[0].contains(line), "\(line) in:\n\(outputs[0])")
        }
    }

    /// The same lab on `wifi` links (each board's shaper in its own process, seeded
    /// from the lab's seed): still byte-identical run to run, and the air shows —
    /// the first fetch ends later than on the ideal wire (2810 ms: association,
    /// then DHCP with its ARP probes, then the fetch).
    func testALabOnWifiLinksInVirtualTimeIsByteIdenticalRunToRun() throws {
        try writeThreeBoardSketches()
        let outputs = try runLabTwice(
            #"{ "boards": [ { "name": "server", "sketch": "server.lua" }, { "name": "client", "sketch": "client.lua" }, { "name": "talker", "sketch": "talker.lua" } ], "link": "wifi", "seed": 7 }"#
        )
        XCTAssertTrue(outputs[0].contains("server | #1 GET /fetch1 HTTP/1.0 -> 200"), outputs[0])
        let first = outputs[0].split(separator: "\n").first { $0.contains("fetched 1: Hello") }
        let ms = first.flatMap { Int($0.split(separator: " ")[2]) }
        XCTAssertNotNil(ms, outputs[0])
        XCTAssertGreaterThan(ms ?? 0, 2810, "wifi's air adds milliseconds to the first fetch:\n\(outputs[0])")
    }

    private func writeThreeBoardSketches() throws {
        try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("sketches/hello_server.lua").path, toPath: path("server.lua"))
        try """
        local udp = WiFiUDP()
        local n = 0
        function setup()
          Serial.begin(115200)
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          udp:begin(4210)
          print("client " .. WiFi.localIP() .. ", server is " .. (WiFi.hostByName("server") or "?"))
        end
        function loop()
          n = n + 1
          local c = WiFiClient()
          local tries = 0
          while not c:connect("server.lab", 80) and tries < 20 do tries = tries + 1; delay(250) end
          c:print("GET /fetch" .. n .. " HTTP/1.0\\r\\n\\r\\n")
          local page = ""
          while c:connected() or c:available() > 0 do
            local k = c:available()
            if k > 0 then page = page .. c:read(k) else delay(1) end
          end
          print(millis() .. " fetched " .. n .. ": " .. (page:match("Hello[^\\n]*") or "nothing"))
          c:stop()
          local k = udp:parsePacket()
          while k > 0 do print("heard " .. udp:read(k) .. " from " .. udp:remoteIP()); k = udp:parsePacket() end
          delay(700)
        end
        """.write(toFile: path("client.lua"), atomically: true, encoding: .utf8)
        try """
        local udp = WiFiUDP()
        local n = 0
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          udp:begin(4210)
        end
        function loop()
          n = n + 1
          udp:beginPacket("255.255.255.255", 4210); udp:write("tick " .. n .. " at " .. millis()); udp:endPacket()
          delay(400)
        end
        """.write(toFile: path("talker.lua"), atomically: true, encoding: .utf8)
    }

    /// Runs the lab twice in virtual time for 4 s: the same output and the same
    /// pcap of every board, to the byte.
    private func runLabTwice(_ json: String) throws -> [String] {
        try json.write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        var outputs: [String] = []
        var pcaps: [[String: Data]] = []
        for run in 1...2 {
            let dir = path("run\(run)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let r = try esplua(["lab", path("lab.json"), "--time", "virtual", "--for", "4s", "--pcap", dir])
            XCTAssertEqual(r.status, 0, r.stderr)
            outputs.append(r.stdout)
            var files: [String: Data] = [:]
            for b in ["server", "client", "talker"] { files[b] = FileManager.default.contents(atPath: dir + "/\(b).pcap") }
            pcaps.append(files)
        }
        XCTAssertEqual(outputs[0], outputs[1])
        XCTAssertEqual(pcaps[0].count, 3)
        for b in ["server", "client", "talker"] {
            XCTAssertGreaterThan(pcaps[0][b]?.count ?? 0, 500, b)
            XCTAssertEqual(pcaps[0][b], pcaps[1][b], "\(b).pcap differs between runs")
        }
        return outputs
    }

    /// In virtual time a lab does not reach the host's programs: forwards are
    /// refused at the start, and a board's connection through the NAT is dropped
    /// with a message saying why, once.
    func testALabInVirtualTimeRefusesHostPeersSayingWhy() throws {
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          local c = WiFiClient()
          print("connect to the host: " .. tostring(c:connect("10.0.2.2", 8000)))
          print("lookup outside the lab: " .. tostring(WiFi.hostByName("example.com")))
        end
        function loop() delay(1000) end
        """.write(toFile: path("nat.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "nat", "sketch": "nat.lua" } ] }"#.write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        var r = try esplua(["lab", path("lab.json"), "--time", "virtual", "--for", "40s"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "nat | connect to the host: false\nnat | lookup outside the lab: nil\n")
        for message in [
            "esplua: lab: nat: TCP to 10.0.2.2:8000 is dropped: in virtual time a lab does not reach this host's programs",
            "esplua: lab: nat: DNS lookup of a name outside the lab is dropped",
        ] {
            XCTAssertEqual(r.stderr.components(separatedBy: message).count - 1, 1, r.stderr)
        }
        try #"{ "boards": [ { "name": "nat", "sketch": "nat.lua" } ], "forwards": [ "8080:nat:80" ] }"#
            .write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        r = try esplua(["lab", path("lab.json"), "--time", "virtual", "--for", "1s"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("forwards need --time real: in virtual time the lab's clock does not follow the host's"), r.stderr)
        r = try esplua(["run", "sketches/blink.lua", "--net", "lockstep:3"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--net lockstep: is a lab's link in virtual time"), r.stderr)
    }

    /// Idle stretches are jumped for all boards at once: twenty minutes of two
    /// idle boards take a few thousand windows, not the 24 million 50 µs windows
    /// of a conductor that stepped through them (counted, not timed: `--netstat`
    /// prints the conductor's figures).
    func testALabJumpsIdleStretchesForAllBoardsAtOnce() throws {
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
        end
        local last = 0
        function loop()
          if millis() - last >= 600000 then last = millis(); print("at " .. millis() // 60000 .. " min") end
          delay(1000)
        end
        """.write(toFile: path("idle.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "a", "sketch": "idle.lua" }, { "name": "b", "sketch": "idle.lua" } ] }"#
            .write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        let r = try esplua(["lab", path("lab.json"), "--time", "virtual", "--for", "20m", "--netstat"], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertEqual(r.stdout, "a | at 10 min\nb | at 10 min\n")
        let figures = try XCTUnwrap(r.stderr.split(separator: "\n").first { $0.hasPrefix("esplua: lab: ") && $0.contains(" windows, ") }, r.stderr)
        let windows = Int(figures.dropFirst("esplua: lab: ".count).prefix { $0.isNumber }) ?? .max
        XCTAssertLessThan(windows, 20 * 60 * 20, String(figures))
        XCTAssertTrue(figures.contains("1200.000 s of board time"), String(figures))
    }
    /// DHCP on a lab's LAN (the gateway's own server, not slirp's 16 leases): 21
    /// boards in virtual time each get a distinct lease — their place in the lab
    /// file, the same on a second run — and a board's static `"ip"` is kept; a
    /// board's pcap shows its DHCP exchange, and the host name a board sent
    /// (option 12) answers in the lab's DNS.
    func testTwentyOneBoardsGetDistinctStableDHCPLeasesInVirtualTime() throws {
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          print("ip " .. WiFi.localIP() .. " mac " .. WiFi.macAddress())
        end
        function loop() delay(1000) end
        """.write(toFile: path("ip.lua"), atomically: true, encoding: .utf8)
        try """
        function setup()
          WiFi.hostname("kitchen")
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          print("ip " .. WiFi.localIP() .. " mac " .. WiFi.macAddress())
        end
        function loop() delay(1000) end
        """.write(toFile: path("kitchen.lua"), atomically: true, encoding: .utf8)
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          print("ip " .. WiFi.localIP() .. " mac " .. WiFi.macAddress())
          delay(3000)
          print("kitchen is " .. tostring(WiFi.hostByName("kitchen")))
        end
        function loop() delay(1000) end
        """.write(toFile: path("asker.lua"), atomically: true, encoding: .utf8)
        var boards = [#"{ "name": "asker", "sketch": "asker.lua" }"#, #"{ "name": "fixed", "sketch": "ip.lua", "ip": "10.0.2.200" }"#]
        boards += (1...18).map { #"{ "name": "b\#($0)", "sketch": "ip.lua" }"# }
        boards.append(#"{ "name": "k", "sketch": "kitchen.lua", "mac": "02:12:34:56:78:9A" }"#)
        try #"{ "boards": [ \#(boards.joined(separator: ", ")) ] }"#.write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        var outputs: [String] = []
        for run in 1...2 {
            let dir = path("run\(run)")
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            let r = try esplua(["lab", path("lab.json"), "--time", "virtual", "--for", "6s", "--pcap", dir], timeout: 300)
            XCTAssertEqual(r.status, 0, r.stderr)
            outputs.append(r.stdout)
        }
        XCTAssertEqual(outputs[0], outputs[1], "the same leases on a second run")
        let addresses = outputs[0].split(separator: "\n").compactMap { line -> String? in
            guard let r = line.range(of: "| ip ") else { return nil }
            return String(line[r.upperBound...].prefix { $0 != " " })
        }
        XCTAssertEqual(addresses.count, 21, outputs[0])
        XCTAssertEqual(Set(addresses).count, 21, "distinct leases:\n\(outputs[0])")
        for line in [
            "asker | ip 10.0.2.15 mac 5C:CF:7F:00:02:0F", "fixed | ip 10.0.2.200 mac 5C:CF:7F:00:02:C8",
            "b1    | ip 10.0.2.16 mac 5C:CF:7F:00:02:10", "b18   | ip 10.0.2.33 mac 5C:CF:7F:00:02:21",
            "k     | ip 10.0.2.34 mac 02:12:34:56:78:9A", "asker | kitchen is 10.0.2.34",
        ] {
            XCTAssertTrue(outputs[0].contains(line), "\(line) in:\n\(outputs[0])")
        }
        // the DHCP exchange in a board's pcap: DISCOVER, OFFER, REQUEST, ACK (then ARP probes)
        let types = Self.dhcpMessageTypes(pcap: path("run1/b18.pcap"), mac: [0x5C, 0xCF, 0x7F, 0, 2, 0x21])
        XCTAssertEqual(Array(types.prefix(4)), [1, 2, 3, 5], "DHCP message types in b18.pcap: \(types)")
        XCTAssertEqual(
            Self.dhcpMessageTypes(pcap: path("run1/fixed.pcap"), mac: [0x5C, 0xCF, 0x7F, 0, 2, 0xC8]).filter { $0 == 1 || $0 == 3 }, [],
            "a static board sends no DHCP")
    }

    /// The DHCP message types (option 53) of a pcap's frames for client `mac`, in order.
    static func dhcpMessageTypes(pcap: String, mac: [UInt8]) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: pcap) else { return [] }
        let b = [UInt8](data)
        var types: [UInt8] = []
        var p = 24
        while p + 16 <= b.count {
            let n = Int(b[p + 8]) | Int(b[p + 9]) << 8 | Int(b[p + 10]) << 16 | Int(b[p + 11]) << 24
            let f = Array(b[(p + 16)..<min(b.count, p + 16 + n)])
            p += 16 + n
            guard f.count > 282, f[12] == 8, f[13] == 0, f[23] == 17 else { continue }
            let udp = 14 + Int(f[14] & 0x0f) * 4
            let ports = (Int(f[udp]) << 8 | Int(f[udp + 1]), Int(f[udp + 2]) << 8 | Int(f[udp + 3]))
            guard ports == (68, 67) || ports == (67, 68), Array(f[(udp + 8 + 28)..<(udp + 8 + 34)]) == mac else { continue }
            var o = udp + 8 + 240
            while o + 2 < f.count, f[o] != 255 {
                if f[o] == 0 { o += 1; continue }
                if f[o] == 53 { types.append(f[o + 2]) }
                o += 2 + Int(f[o + 1])
            }
        }
        return types
    }
}
