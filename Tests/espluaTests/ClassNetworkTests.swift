import Foundation
import XCTest

@testable import BoardTesting

/// The class network (issue 11): the PC-like filter between slirp and the board,
/// judged against the oracle — the same board on a TAP device facing the real
/// Linux TCP stack, in a network namespace each test makes (`unshare -Urn`) —
/// and boards on one VDE switch. Real time, curl and tshark, as a user sees it.
final class ClassNetworkTests: EspluaTestCase {
    var work: URL!

    override func setUpWithError() throws {
        work = FileManager.default.temporaryDirectory.appendingPathComponent("classnet-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: work, withIntermediateDirectories: true)
    }

    override func tearDown() {
        try? FileManager.default.removeItem(at: work)
    }

    var espluaPath: String { Self.root.appendingPathComponent(".build/debug/esplua").path }

    func path(_ name: String) -> String { work.appendingPathComponent(name).path }

    /// Runs a bash script, in a fresh network namespace if asked (skipped where
    /// user namespaces are not allowed); returns its exit status and output.
    @discardableResult
    func bash(_ script: String, namespace: Bool = false, env: [String: String] = [:]) throws -> (status: Int32, output: String) {
        if namespace {
            let probe = Process()
            probe.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
            probe.arguments = ["-Urn", "true"]
            probe.standardError = FileHandle.nullDevice
            try probe.run()
            probe.waitUntilExit()
            if probe.terminationStatus != 0 { throw XCTSkip("no network namespaces here (unshare -Urn failed)") }
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: namespace ? "/usr/bin/unshare" : "/bin/bash")
        p.arguments = (namespace ? ["-Urn", "/bin/bash"] : []) + ["-c", "set -u\n" + script]
        p.currentDirectoryURL = Self.root
        var environment = ProcessInfo.processInfo.environment
        environment["ESPLUA"] = espluaPath
        for (k, v) in env { environment[k] = v }
        p.environment = environment
        let out = Pipe()
        p.standardOutput = out
        p.standardError = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    func tshark(_ pcap: String, _ filter: String, _ fields: [String] = ["frame.number"]) throws -> [[String]] {
        let r = try bash("tshark -r '\(pcap)' -Y '\(filter)' -T fields \(fields.map { "-e \($0)" }.joined(separator: " ")) 2>/dev/null")
        return r.output.split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    /// Waits in a script until `file` contains `text` (15 s at most).
    func waitFor(_ text: String, in file: String) -> String {
        "for i in $(seq 1 150); do grep -q '\(text)' '\(file)' 2>/dev/null && break; sleep 0.1; done"
    }

    static let tapSetup = """
        ip link set lo up
        ip tuntap add dev esp0 mode tap
        ip addr add 10.0.2.2/24 dev esp0
        ip link set esp0 up
        """

    struct CloseOutcome: Equatable, CustomStringConvertible {
        /// Connections the board reset, closed first (FIN before the peer's), and its TIME_WAIT pcbs at the end.
        var resets = 0, boardClosedFirst = 0, timeWait = 0
        var description: String { "\(resets) RST, \(boardClosedFirst) closed first by the board, \(timeWait) TIME_WAIT" }
    }

    /// 20 sequential curls against hello_server.lua (it `stop()`s after each answer),
    /// through slirp's forward (`tap: false`) or over a TAP device facing Linux.
    func closeOutcome(tap: Bool, filter: Bool = true, requests: Int = 20) throws -> CloseOutcome {
        let pcap = path(tap ? "tap.pcap" : "slirp.pcap"), out = path("serial.txt"), err = path("netstat.txt")
        let port = freeLocalPort()
        let net = tap ? "--net tap://esp0" : "--forward \(port):80"
        let url = tap ? "http://10.0.2.15/" : "http://127.0.0.1:\(port)/"
        let script = """
            \(tap ? Self.tapSetup : "")
            "$ESPLUA" run sketches/hello_server.lua \(net) --for 4s --pcap '\(pcap)' --netstat > '\(out)' 2> '\(err)' &
            pid=$!
            \(waitFor("HTTP server", in: out))
            for i in $(seq 1 \(requests)); do curl -s -m 5 \(url) > /dev/null; done
            wait $pid
            """
        let r = try bash(script, namespace: tap, env: filter ? [:] : ["ESPLUA_PC_FILTER": "off"])
        XCTAssertEqual(r.status, 0, r.output)
        let serial = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertEqual(serial.components(separatedBy: "-> 200").count - 1, requests, serial)
        return try outcome(pcap: pcap, netstat: err)
    }

    /// Who ended each connection, from the board's pcap and `--netstat`'s table.
    func outcome(pcap: String, netstat err: String) throws -> CloseOutcome {
        var o = CloseOutcome()
        o.resets = try tshark(pcap, "ip.src==10.0.2.15 && tcp.flags.reset==1").count
        // per connection, who sent the first FIN
        let fins = try tshark(pcap, "tcp.flags.fin==1", ["tcp.stream", "ip.src"])
        var first: [String: String] = [:]
        for f in fins where f.count == 2 && first[f[0]] == nil { first[f[0]] = f[1] }
        o.boardClosedFirst = first.values.filter { $0 == "10.0.2.15" }.count
        o.timeWait = try String(contentsOfFile: err, encoding: .utf8).split(separator: "\n").filter { $0.hasPrefix("tcp ") && $0.contains(" TIME_WAIT ") }.count
        return o
    }

    /// Through slirp alone the host's FIN carries the ACK the board's `stop()` waits
    /// for (slirp delays its ACKs; a client that closes at once sends its FIN
    /// first): the core sees the peer close first and aborts (RST). The filter
    /// delivers the ACK first, as Linux sends it: the board closes first and keeps
    /// TIME_WAIT pcbs, the cap of 5 holding. Deterministic: world visitors that
    /// close as soon as they have the reply, in virtual time.
    func testSlirpAloneEndsAStoppingServersConnectionsWithRSTAndTheFilterWithTimeWait() throws {
        let world = path("visitors.world.json")
        try
            #"{ "visitors": [ { "port": 80, "at": "3s", "every": "200ms", "count": 20, "send": "GET / HTTP/1.1\r\nHost: esp\r\n\r\n", "close": "after-reply" } ] }"#
            .write(toFile: world, atomically: true, encoding: .utf8)
        func run(filter: Bool) throws -> CloseOutcome {
            let pcap = path("visits.pcap"), err = path("visits.txt")
            let r = try bash(
                "\"$ESPLUA\" run sketches/hello_server.lua --world '\(world)' --time virtual --for 8s --pcap '\(pcap)' --netstat > /dev/null 2> '\(err)'",
                env: filter ? [:] : ["ESPLUA_PC_FILTER": "off"])
            XCTAssertEqual(r.status, 0, r.output)
            return try outcome(pcap: pcap, netstat: err)
        }
        let before = try run(filter: false), after = try run(filter: true)
        print("visitors closing at once, slirp alone: \(before); slirp + filter: \(after)")
        XCTAssertEqual(before, CloseOutcome(resets: 20, boardClosedFirst: 0, timeWait: 0))
        XCTAssertEqual(after, CloseOutcome(resets: 0, boardClosedFirst: 20, timeWait: 5))
    }

    /// curl against the same server through slirp's forward and the filter, and
    /// against Linux's TCP over a TAP device: the same outcome, the board closes
    /// every connection first and keeps five TIME_WAIT pcbs (the cap).
    func testCurlToAStoppingServerEndsInTimeWaitAsAgainstLinux() throws {
        let slirp = try closeOutcome(tap: false)
        let linux = try closeOutcome(tap: true)
        print("20 curls, slirp + filter: \(slirp); Linux over TAP: \(linux)")
        // Real time against a real curl: on a loaded host (other builds on both cores) the
        // board is now and then not scheduled between curl's last ACK and its FIN, and a
        // run or two of twenty end in RST on either path; a quiet host gives 0 and 20.
        for (name, o) in [("slirp + filter", slirp), ("Linux over TAP", linux)] {
            XCTAssertLessThanOrEqual(o.resets, 2, name)
            XCTAssertGreaterThanOrEqual(o.boardClosedFirst, 18, name)
            XCTAssertEqual(o.timeWait, 5, name)
        }
    }
    /// A board downloading 20 KB from a host HTTP server (python3 -m http.server):
    /// the sizes of the data segments the board received.
    func downloadSegments(tap: Bool, filter: Bool = true) throws -> [Int] {
        let port = tap ? 8000 : freeLocalPort()
        try FileManager.default.createDirectory(atPath: path("www"), withIntermediateDirectories: true)
        try String(repeating: "0123456789abcdef", count: 1280).write(toFile: path("www/blob"), atomically: true, encoding: .utf8)
        let sketch = path("download.lua")
        try """
        function setup()
          Serial.begin(115200)
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          local c = WiFiClient()
          if not c:connect("10.0.2.2", \(port)) then print("connect failed") return end
          c:print("GET /blob HTTP/1.0\\r\\n\\r\\n")
          local got, t0 = 0, millis()
          while (c:connected() or c:available() > 0) and millis() - t0 < 5000 do
            local n = c:available()
            if n > 0 then got = got + #c:read(n) else delay(1) end
          end
          c:stop()
          print("got " .. got .. " bytes")
        end
        function loop() end
        """.write(toFile: sketch, atomically: true, encoding: .utf8)
        let pcap = path("download.pcap"), out = path("download.txt")
        let script = """
            \(tap ? Self.tapSetup : "")
            # the server is the test's tool, not what it tests: one that did not come up
            # (seen once in a full run, in the namespace) is started again, and said so
            for attempt in 1 2 3; do
              python3 -m http.server --bind \(tap ? "10.0.2.2" : "127.0.0.1") \(port) --directory '\(path("www"))' >> '\(path("http.log"))' 2>&1 &
              server=$!
              up=0
              for i in $(seq 1 50); do
                curl -s -o /dev/null http://\(tap ? "10.0.2.2" : "127.0.0.1"):\(port)/blob && { up=1; break; }
                kill -0 $server 2>/dev/null || break
                sleep 0.1
              done
              [ $up = 1 ] && break
              echo "the HTTP server did not come up (attempt $attempt): $(tail -3 '\(path("http.log"))')" >&2
              kill $server 2>/dev/null; wait $server 2>/dev/null
            done
            "$ESPLUA" run '\(sketch)' \(tap ? "--net tap://esp0" : "") --for 3s --pcap '\(pcap)' > '\(out)'
            kill $server 2>/dev/null || echo "the HTTP server had ended during the download" >&2
            """
        let r = try bash(script, namespace: tap, env: filter ? [:] : ["ESPLUA_PC_FILTER": "off"])
        let httpLog = (try? String(contentsOfFile: path("http.log"), encoding: .utf8)) ?? ""
        XCTAssertEqual(r.status, 0, r.output + "\nthe HTTP server's log:\n" + httpLog)
        let serial = try String(contentsOfFile: out, encoding: .utf8)
        XCTAssertTrue(serial.contains("got 20"), serial + r.output + "\nthe HTTP server's log:\n" + httpLog)  // headers + 20,480 bytes
        return try tshark(pcap, "ip.dst==10.0.2.15 && tcp.len > 0", ["tcp.len"]).compactMap { $0.first.flatMap { Int($0) } }
    }

    /// slirp ignores the MSS the board's SYN offered (536) and sends 1440-byte
    /// segments; the filter re-cuts them, and Linux over TAP sends ≤ 536 itself.
    func testADownloadArrivesInSegmentsWithinTheBoardsMSSAsFromLinux() throws {
        let before = try downloadSegments(tap: false, filter: false)
        let after = try downloadSegments(tap: false)
        let linux = try downloadSegments(tap: true)
        print(
            "largest segment: slirp alone \(before.max() ?? 0) B (\(before.count) segments), slirp + filter \(after.max() ?? 0) B (\(after.count)), Linux over TAP \(linux.max() ?? 0) B (\(linux.count))"
        )
        XCTAssertGreaterThan(before.max() ?? 0, 536)
        XCTAssertEqual(after.max(), 536)
        XCTAssertEqual(linux.max(), 536)
    }
    /// Two boards, two processes, one VDE switch (vdeplug4's `switch://`): a
    /// client board fetches a page from a server board three times, over ARP and
    /// TCP between two lwIPs. Static addresses (no DHCP on the LAN).
    func testTwoBoardsOnOneVDESwitchTalkTCP() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/vde_plug") else { throw XCTSkip("vde_plug is not installed (make setup)") }
        let client = path("client.lua")
        try """
        function setup()
          Serial.begin(115200)
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          print("client " .. WiFi.localIP() .. " " .. WiFi.macAddress())
          for i = 1, 3 do
            local c = WiFiClient()
            local tries = 0
            while not c:connect("10.0.2.15", 80) and tries < 20 do tries = tries + 1; delay(250) end
            c:print("GET /" .. i .. " HTTP/1.0\\r\\n\\r\\n")
            local page = ""
            while c:connected() or c:available() > 0 do
              local n = c:available()
              if n > 0 then page = page .. c:read(n) else delay(1) end
            end
            print("fetch " .. i .. ": " .. (page:match("Hello[^\\n]*") or "nothing"))
            c:stop()
          end
        end
        function loop() end
        """.write(toFile: client, atomically: true, encoding: .utf8)
        let sw = path("sw"), server = path("server.txt"), out = path("client.txt"), err = path("server-netstat.txt")
        let script = """
            vde_plug null:// switch://\(sw) &
            switch=$!
            for i in $(seq 1 50); do [ -e '\(sw)/ctl' ] && break; sleep 0.1; done
            "$ESPLUA" run sketches/hello_server.lua --net vde://\(sw) --ip 10.0.2.15 --for 4500ms --netstat > '\(server)' 2> '\(err)' &
            srv=$!
            "$ESPLUA" run '\(client)' --net vde://\(sw) --ip 10.0.2.16 --for 4s > '\(out)'
            wait $srv
            kill $switch
            """
        let r = try bash(script)
        XCTAssertEqual(r.status, 0, r.output)
        let c = try String(contentsOfFile: out, encoding: .utf8), s = try String(contentsOfFile: server, encoding: .utf8)
        XCTAssertTrue(c.contains("client 10.0.2.16 5C:CF:7F:00:02:10"), c)
        for i in 1...3 { XCTAssertTrue(c.contains("fetch \(i): Hello from esplua!"), c) }
        XCTAssertTrue(s.contains("connected, IP 10.0.2.15"), s)
        XCTAssertEqual(s.components(separatedBy: "-> 200").count - 1, 3, s)
    }
    /// A namespace with a way out (a veth pair and a default route), one capture
    /// on every interface, a host socket bound to 127.0.0.1:4210, and a board
    /// broadcasting to 255.255.255.255 and 10.0.2.255, first through slirp alone,
    /// then with the filter. Returns, for each run, the frames seen on interfaces
    /// other than loopback and what the host socket received.
    func broadcastRuns() throws -> [(outside: Int, received: [String])] {
        let sketch = path("broadcast.lua"), cap = path("all.pcapng")
        try """
        local udp = WiFiUDP()
        function setup()
          Serial.begin(115200)
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          udp:begin(4210)
          for i = 1, 3 do
            for _, to in ipairs({"255.255.255.255", "10.0.2.255"}) do
              udp:beginPacket(to, 4210); udp:write("hello " .. to); udp:endPacket()
            end
            delay(200)
          end
          print("sent")
        end
        function loop() end
        """.write(toFile: sketch, atomically: true, encoding: .utf8)
        let listener = """
            import socket, sys
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 4210)); s.settimeout(8)
            out = open(sys.argv[1], "w")
            try:
                for i in range(6):
                    data, addr = s.recvfrom(100); out.write(addr[0] + " " + data.decode() + "\\n"); out.flush(); s.settimeout(1)
            except socket.timeout:
                pass
            """
        try listener.write(toFile: path("listen.py"), atomically: true, encoding: .utf8)
        let script = """
            ip link set lo up
            ip link add v0 type veth peer name v1
            ip addr add 192.168.77.1/24 dev v0
            ip link set v0 up; ip link set v1 up
            ip route add default via 192.168.77.2
            tshark -i any -y LINUX_SLL2 -f 'not ip6' -w '\(cap)' > /dev/null 2>&1 &
            capture=$!
            for i in $(seq 1 100); do [ -s '\(cap)' ] && break; sleep 0.1; done
            sleep 0.5
            python3 '\(path("listen.py"))' '\(path("got-0.txt"))' &
            listen=$!
            ESPLUA_PC_FILTER=off "$ESPLUA" run '\(sketch)' --for 3s > /dev/null
            wait $listen
            ip neigh flush all  # the kernel's pending ARP for the gateway (slirp alone) stops here
            sleep 0.2
            date +%s.%N > '\(path("boundary.txt"))'
            python3 '\(path("listen.py"))' '\(path("got-1.txt"))' &
            listen=$!
            "$ESPLUA" run '\(sketch)' --for 3s > /dev/null
            wait $listen
            kill -INT $capture; wait $capture
            """
        let r = try bash(script, namespace: true)
        XCTAssertEqual(r.status, 0, r.output)
        let boundary = try XCTUnwrap(Double(try String(contentsOfFile: path("boundary.txt"), encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)))
        let times = try tshark(cap, "sll.ifindex != 1", ["frame.time_epoch"]).compactMap { $0.first.flatMap(Double.init) }
        return (0..<2).map { run in
            let received = ((try? String(contentsOfFile: path("got-\(run).txt"), encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
            return (times.filter { ($0 < boundary) == (run == 0) }.count, received)
        }
    }

    /// slirp alone sends the subnet broadcast as a unicast towards the host's
    /// gateway (here it ARPs for it on the veth); with the filter, both
    /// broadcasts reach the host socket on loopback and nothing else leaves.
    func testBoardBroadcastsNeverLeaveTheMachine() throws {
        let runs = try broadcastRuns()
        let before = runs[0], after = runs[1]
        print("frames outside loopback: slirp alone \(before.outside), with the filter \(after.outside); host socket got \(after.received)")
        XCTAssertGreaterThan(before.outside, 0)
        XCTAssertEqual(after.outside, 0)
        XCTAssertEqual(after.received.count, 6, "\(after.received)")
        XCTAssertEqual(Set(after.received), ["127.0.0.1 hello 255.255.255.255", "127.0.0.1 hello 10.0.2.255"])
    }
    /// `esplua lab`: a switch, the gateway and two boards as processes. The client
    /// finds the server by its name (the gateway's DNS), fetches from it over the
    /// LAN, and curl on this host reaches the server through a forward by name;
    /// each board's lines carry its name. A second lab is ended by SIGINT (Ctrl-C).
    func testALabOfTwoBoardsWithAGatewayAndForwardsByName() throws {
        try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("sketches/hello_server.lua").path, toPath: path("server.lua"))
        try """
        function setup()
          Serial.begin(115200)
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          print("client " .. WiFi.localIP() .. ", server is " .. (WiFi.hostByName("server") or "?"))
          local c = WiFiClient()
          local tries = 0
          while not c:connect("server.lab", 80) and tries < 20 do tries = tries + 1; delay(250) end
          c:print("GET /from-client HTTP/1.0\\r\\n\\r\\n")
          local page = ""
          while c:connected() or c:available() > 0 do
            local n = c:available()
            if n > 0 then page = page .. c:read(n) else delay(1) end
          end
          print("fetched: " .. (page:match("Hello[^\\n]*") or "nothing"))
          c:stop()
        end
        function loop() end
        """.write(toFile: path("client.lua"), atomically: true, encoding: .utf8)
        let port = freeLocalPort()
        try
            #"{ "boards": [ { "name": "server", "sketch": "server.lua" }, { "name": "client", "sketch": "client.lua" } ], "forwards": [ "\#(port):server:80" ] }"#
            .write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        let out = path("lab.txt")
        let r = try bash(
            """
            "$ESPLUA" lab '\(path("lab.json"))' --for 4s > '\(out)' 2> '\(path("lab-err.txt"))' &
            lab=$!
            \(waitFor("HTTP server", in: out))
            curl -s -m 5 http://127.0.0.1:\(port)/from-host
            wait $lab; echo " lab exit $?"
            "$ESPLUA" lab '\(path("lab.json"))' > /dev/null 2>&1 &
            lab=$!
            sleep 1; kill -INT $lab; wait $lab; echo "interrupted lab exit $?"
            """)
        XCTAssertEqual(r.output, "Hello from esplua!\n lab exit 0\ninterrupted lab exit 0\n")
        let lines = try String(contentsOfFile: out, encoding: .utf8)
        for line in [
            "server | connected, IP 10.0.2.15", "client | client 10.0.2.16, server is 10.0.2.15",
            "client | fetched: Hello from esplua!", " GET /from-client HTTP/1.0 -> 200", " GET /from-host HTTP/1.1 -> 200",
        ] {
            XCTAssertTrue(lines.contains(line), "\(line) in:\n\(lines)")
        }
    }
    /// Through the lab's gateway (slirp on the LAN, the filter), 20 curls to a
    /// stopping server end as against Linux: the board closes every connection
    /// first and keeps five TIME_WAIT pcbs.
    func testCurlThroughTheLabsGatewayEndsInTimeWaitAsAgainstLinux() throws {
        try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("sketches/hello_server.lua").path, toPath: path("server.lua"))
        let port = freeLocalPort()
        try #"{ "boards": [ { "name": "server", "sketch": "server.lua" } ], "forwards": [ "\#(port):server:80" ] }"#
            .write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        let out = path("lab.txt"), err = path("lab-err.txt")
        let r = try bash(
            """
            "$ESPLUA" lab '\(path("lab.json"))' --for 4s --netstat --pcap '\(work.path)' > '\(out)' 2> '\(err)' &
            lab=$!
            \(waitFor("HTTP server", in: out))
            for i in $(seq 1 20); do curl -s -m 5 http://127.0.0.1:\(port)/ > /dev/null; done
            wait $lab
            """)
        XCTAssertEqual(r.status, 0, r.output)
        let netstat = try String(contentsOfFile: err, encoding: .utf8)
        let timeWait = netstat.split(separator: "\n").filter { $0.contains("| tcp ") && $0.contains(" TIME_WAIT ") }.count
        let o = try outcome(pcap: path("server.pcap"), netstat: err)
        print("20 curls through the lab's gateway: \(o.resets) RST, \(o.boardClosedFirst) closed first by the board, \(timeWait) TIME_WAIT")
        XCTAssertEqual(
            CloseOutcome(resets: o.resets, boardClosedFirst: o.boardClosedFirst, timeWait: timeWait), CloseOutcome(resets: 0, boardClosedFirst: 20, timeWait: 5)
        )
    }
    /// In a lab, a board's broadcast (limited and subnet) reaches every other board
    /// through the switch and, through the gateway, a host socket on 127.0.0.1.
    func testABroadcastInALabReachesEveryBoardAndTheHost() throws {
        try """
        local udp = WiFiUDP()
        function setup()
          Serial.begin(115200)
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          udp:begin(4210)
          delay(500)
          for _, to in ipairs({"255.255.255.255", "10.0.2.255"}) do
            udp:beginPacket(to, 4210); udp:write("to " .. to); udp:endPacket()
          end
        end
        function loop() end
        """.write(toFile: path("talker.lua"), atomically: true, encoding: .utf8)
        try """
        local udp = WiFiUDP()
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          udp:begin(4210)
        end
        function loop()
          local n = udp:parsePacket()
          if n > 0 then print("got " .. udp:read(n) .. " from " .. udp:remoteIP()) end
        end
        """.write(toFile: path("listener.lua"), atomically: true, encoding: .utf8)
        try
            #"{ "boards": [ { "name": "talker", "sketch": "talker.lua" }, { "name": "b", "sketch": "listener.lua" }, { "name": "c", "sketch": "listener.lua" } ] }"#
            .write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        try """
        import socket, sys
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1", 4210)); s.settimeout(8)
        try:
            for i in range(2):
                data, addr = s.recvfrom(100); print("host got " + data.decode() + " from " + addr[0], flush=True)
        except socket.timeout:
            pass
        """.write(toFile: path("host.py"), atomically: true, encoding: .utf8)
        let r = try bash(
            """
            python3 '\(path("host.py"))' > '\(path("host.txt"))' &
            host=$!
            "$ESPLUA" lab '\(path("lab.json"))' --for 5s 2> /dev/null
            wait $host
            cat '\(path("host.txt"))'
            """)
        for line in [
            "b      | got to 255.255.255.255 from 10.0.2.15", "b      | got to 10.0.2.255 from 10.0.2.15",
            "c      | got to 255.255.255.255 from 10.0.2.15", "c      | got to 10.0.2.255 from 10.0.2.15",
            "host got to 255.255.255.255 from 127.0.0.1", "host got to 10.0.2.255 from 127.0.0.1",
        ] {
            XCTAssertTrue(r.output.contains(line), "\(line) in:\n\(r.output)")
        }
    }
    /// The soft-AP lesson's lab (sketches/labs/softap_cell) in real time, with one
    /// station: its scan lists the soft-AP's cell (WPA2 as ENC_TYPE_CCMP 4, ESP8266WiFiAP.cpp:129),
    /// a wrong passphrase is refused (WL_WRONG_PASSWORD), the soft-AP's DHCP server
    /// leases 192.168.4.2 (init_dhcps_lease, LwipDhcpServer.cpp:843-858), the station
    /// fetches the soft-AP board's page, and softAPgetStationNum() counts it. The
    /// cell stays off the LAN both ways, on the lab's one switch (`CellRadio`).
    func testAStationJoinsAnotherBoardsSoftAPInRealTime() throws {
        for f in ["ap.lua", "station.lua", "lan.lua"] {
            try FileManager.default.copyItem(atPath: Self.root.appendingPathComponent("sketches/labs/softap_cell/" + f).path, toPath: path(f))
        }
        try #"{ "boards": [ { "name": "ap", "sketch": "ap.lua" }, { "name": "sta1", "sketch": "station.lua" }, { "name": "lan", "sketch": "lan.lua" } ] }"#
            .write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        // the station is done by 5.75 s of its time; the soft-AP closes its cell at 8 s
        let r = try bash("mkdir '\(path("pcaps"))' && \"$ESPLUA\" lab '\(path("lab.json"))' --for 7800ms --pcap '\(path("pcaps"))'")
        XCTAssertEqual(r.status, 0, r.output)
        for text in [
            "ap   | AP esplua-cell at 192.168.4.1, BSSID 5E:CF:7F:00:02:0F",
            "s  scan: esplua-cell channel 6 RSSI -45 encryption 4 BSSID 5E:CF:7F:00:02:0F",
            "s  wrong password: status 6",
            "s  got IP 192.168.4.2 mask 255.255.255.0 gateway 192.168.4.1",
            "s  right password: status 3, IP 192.168.4.2, BSSID 5E:CF:7F:00:02:0F",
            "s  GET /from-192.168.4.2 HTTP/1.0 from 192.168.4.2, stations: 1",
            "s  Hello from the soft-AP, you are 192.168.4.2",
        ] {
            XCTAssertTrue(r.output.contains(text), "\(text) in:\n\(r.output)")
        }
        XCTAssertFalse(r.output.contains("heard"), "no broadcast crosses between the cell and the LAN:\n\(r.output)")
        let cell = Set(try tshark(path("pcaps/sta1.pcap"), "ip", ["ip.src", "ip.dst"]).flatMap { $0 })
        XCTAssertTrue(cell.isSuperset(of: ["192.168.4.1", "192.168.4.2"]), "\(cell)")
        XCTAssertTrue(cell.allSatisfy { $0.hasPrefix("192.168.4.") || $0 == "0.0.0.0" || $0 == "255.255.255.255" }, "the station's pcap is the cell's: \(cell)")
        let lan = try tshark(path("pcaps/lan.pcap"), "ip.addr == 192.168.4.0/24 || eth.type == 0x88b5")
        XCTAssertEqual(lan.count, 0, "the LAN's board takes nothing of the cell")
    }
    /// Two labs joined as two machines of a computer room would be: each lab's
    /// switch at a path (`--switch`), the two switches joined by `dpipe vde_plug
    /// = vde_plug` (over ssh in a room). The second lab runs without a gateway
    /// (`"gateway": false`): its board gets its lease from the first lab's DHCP
    /// server, which records the host name it sent, so board A in lab 1 finds
    /// board B in lab 2 by that name and fetches from it through the pipe.
    func testTwoLabsJoinedByDpipeShareOneGateway() throws {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/dpipe") else { throw XCTSkip("dpipe is missing (Debian package vdeplug)") }
        let server = try String(contentsOf: Self.root.appendingPathComponent("sketches/hello_server.lua"), encoding: .utf8)
        try server.replacingOccurrences(of: "  WiFi.begin(", with: "  WiFi.hostname(\"boardb\")\n  WiFi.begin(")
            .write(toFile: path("server.lua"), atomically: true, encoding: .utf8)
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          local b, tries = nil, 0
          while not b and tries < 60 do b = WiFi.hostByName("boardb"); tries = tries + 1; if not b then delay(250) end end
          print("a " .. WiFi.localIP() .. ", boardb is " .. tostring(b))
          local c = WiFiClient()
          tries = 0
          while not c:connect("boardb", 80) and tries < 20 do tries = tries + 1; delay(250) end
          c:print("GET /from-lab-1 HTTP/1.0\\r\\n\\r\\n")
          local page = ""
          while c:connected() or c:available() > 0 do
            local n = c:available()
            if n > 0 then page = page .. c:read(n) else delay(1) end
          end
          print("fetched: " .. (page:match("Hello[^\\n]*") or "nothing"))
          c:stop()
        end
        function loop() end
        """.write(toFile: path("a.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "a", "sketch": "a.lua" } ] }"#.write(toFile: path("lab1.json"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "b", "sketch": "server.lua", "mac": "5C:CF:7F:B0:00:01" } ], "gateway": false }"#
            .write(toFile: path("lab2.json"), atomically: true, encoding: .utf8)
        let sw1 = path("sw1"), sw2 = path("sw2")
        let r = try bash(
            """
            "$ESPLUA" lab '\(path("lab1.json"))' --switch '\(sw1)' --for 15s > '\(path("lab1.txt"))' 2> '\(path("lab1-err.txt"))' &
            lab1=$!
            "$ESPLUA" lab '\(path("lab2.json"))' --switch '\(sw2)' --for 15s > '\(path("lab2.txt"))' 2> '\(path("lab2-err.txt"))' &
            lab2=$!
            \(waitFor("the switch is", in: path("lab1-err.txt")))
            \(waitFor("the switch is", in: path("lab2-err.txt")))
            dpipe vde_plug 'vde://\(sw1)' = vde_plug 'vde://\(sw2)' &
            pipe=$!
            wait $lab1; echo "lab 1 exit $?"
            wait $lab2; echo "lab 2 exit $?"
            kill $pipe 2>/dev/null; wait $pipe 2>/dev/null
            cat '\(path("lab1.txt"))' '\(path("lab2.txt"))' '\(path("lab1-err.txt"))' '\(path("lab2-err.txt"))'
            """)
        XCTAssertTrue(r.output.contains("lab 1 exit 0\nlab 2 exit 0\n"), r.output)
        XCTAssertTrue(r.output.contains("esplua: lab: the switch is vde://\(sw1), the gateway 10.0.2.2 serves DHCP and DNS"), r.output)
        XCTAssertTrue(r.output.contains("esplua: lab: the switch is vde://\(sw2), no gateway"), r.output)
        XCTAssertTrue(r.output.contains("esplua: lab: b is on a lease from the joined lab's gateway, running"), r.output)
        XCTAssertFalse(r.output.contains("warning:"), r.output)
        let lease = r.output.range(of: "b | connected, IP ").map { String(r.output[$0.upperBound...].prefix { $0 != "\n" }) }
        XCTAssertNotNil(lease, r.output)
        XCTAssertNotEqual(lease, "10.0.2.15", "lab 1's gateway leases b an address of its own")
        for line in ["a | a 10.0.2.15, boardb is \(lease ?? "?")", "a | fetched: Hello from esplua!", "b | #1 GET /from-lab-1 HTTP/1.0 -> 200"] {
            XCTAssertTrue(r.output.contains(line), "\(line) in:\n\(r.output)")
        }
    }

    func testNetOptionsGiveClearErrors() throws {
        var r = try esplua(["run", "sketches/blink.lua", "--ip", "10.0.2.16"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--ip needs --net"), r.stderr)
        r = try esplua(["run", "sketches/blink.lua", "--net", "vde://\(path("no-switch"))", "--for", "1s"])
        XCTAssertEqual(r.status, 1)
        XCTAssertEqual(r.stderr, "esplua: cannot join the network vde://\(path("no-switch")): No such file or directory\n")
        r = try esplua(["run", "sketches/blink.lua", "--net", "vde://\(path("no-switch"))", "--forward", "8080:80"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("--forward and the world's visitors and services need the board's own slirp"), r.stderr)
        r = try esplua(["run", "sketches/blink.lua", "--net", "vde://\(path("no-switch"))", "--time", "virtual"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--net runs in real time"), r.stderr)
        try #"{ "boards": [ { "name": "a b", "sketch": "x.lua" } ] }"#.write(toFile: path("bad.json"), atomically: true, encoding: .utf8)
        r = try esplua(["lab", path("bad.json")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("boards[0].name must be letters, digits and '-'"), r.stderr)
        r = try esplua(["lab", path("bad.json"), "--time", "fast"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--time must be 'real' or 'virtual', not 'fast'"), r.stderr)
        r = try esplua(["lab", path("bad.json"), "--paused", "--time", "virtual"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--paused needs --time virtual and --ui"), r.stderr)
        r = try esplua(["lab", path("bad.json"), "--speed", "1"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("--speed needs --time virtual"), r.stderr)
        r = try esplua(["run", "sketches/blink.lua", "--net", "vde://\(path("no-switch"))", "--mac", "01:00:5E:00:00:01"])
        XCTAssertEqual(r.status, 2)
        XCTAssertTrue(r.stderr.contains("bad --mac '01:00:5E:00:00:01': expected six hex bytes of a unicast MAC"), r.stderr)
        try "function setup() end function loop() end".write(toFile: path("x.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "a", "sketch": "x.lua", "mac": "5C:CF:7F:00:00" } ] }"#.write(toFile: path("bad.json"), atomically: true, encoding: .utf8)
        r = try esplua(["lab", path("bad.json")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(#"boards[0].mac (a) must be six hex bytes like "5C:CF:7F:12:34:56""#), r.stderr)
        try #"{ "boards": [ { "name": "a", "sketch": "x.lua" } ], "gateway": false }"#.write(toFile: path("joined.json"), atomically: true, encoding: .utf8)
        r = try esplua(["lab", path("joined.json"), "--time", "virtual"])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(#"a lab joined to another ("gateway": false) needs --time real"#), r.stderr)
        try #"{ "boards": [ { "name": "a", "sketch": "x.lua" } ], "gateway": false, "forwards": [ "8080:a:80" ] }"#
            .write(toFile: path("joined.json"), atomically: true, encoding: .utf8)
        r = try esplua(["lab", path("joined.json")])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains(#"forwards need the lab's gateway ("gateway": false has none)"#), r.stderr)
        XCTAssertTrue(r.stderr.contains(#"warning: a has a MAC derived from the lab file's order, as the joined lab's boards do"#), r.stderr)
        try #"{ "boards": [ { "name": "a", "sketch": "x.lua" } ] }"#.write(toFile: path("joined.json"), atomically: true, encoding: .utf8)
        r = try esplua(["lab", path("joined.json"), "--switch", work.path])
        XCTAssertEqual(r.status, 1)
        XCTAssertTrue(r.stderr.contains("esplua: lab: --switch \(work.path) exists already (another lab's switch?)"), r.stderr)
    }

    /// mDNS between boards of a lab (RFC 6762 multicast on the switch, LEAmDNS on
    /// both): one board's `queryService` finds the other's `_http._tcp` service,
    /// its host name, address and port (LEAmDNS.cpp:689-740).
    func testABoardsQueryServiceFindsAnotherBoardsServiceInALab() throws {
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          MDNS.begin("esp8266")
          MDNS.addService("http", "tcp", 80)
          print("responder up")
        end
        function loop() MDNS.update() end
        """.write(toFile: path("responder.lua"), atomically: true, encoding: .utf8)
        try """
        function setup()
          WiFi.begin("lab", "password123")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          MDNS.begin("finder")
          delay(3000)  -- the other board probes (about 1 s) before it answers
          local n = MDNS.queryService("http", "tcp")
          for i = 0, n - 1 do print("found " .. MDNS.hostname(i) .. " " .. MDNS.IP(i) .. ":" .. MDNS.port(i)) end
          print("found " .. n)
        end
        function loop() MDNS.update() end
        """.write(toFile: path("finder.lua"), atomically: true, encoding: .utf8)
        try #"{ "boards": [ { "name": "responder", "sketch": "responder.lua" }, { "name": "finder", "sketch": "finder.lua" } ] }"#
            .write(toFile: path("lab.json"), atomically: true, encoding: .utf8)
        let r = try bash(
            """
            "$ESPLUA" lab '\(path("lab.json"))' --for 10s 2> /dev/null
            """)
        for line in ["responder | responder up", "finder    | found esp8266.local 10.0.2.15:80", "finder    | found 1"] {
            XCTAssertTrue(r.output.contains(line), "\(line) in:\n\(r.output)")
        }
    }
}
