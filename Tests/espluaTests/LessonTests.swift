import Foundation
import XCTest

/// The lesson sketches, run as a user runs them (virtual time), against golden
/// transcripts whose figures were checked against the reference; and what they
/// put on the wire, read back from their pcap with tshark.
final class LessonTests: EspluaTestCase {
    func lesson(_ name: String, for duration: String, extra: [String] = []) throws -> Result {
        try assertGolden(name, for: duration, extra: extra)
    }

    func tshark(_ pcap: String, filter: String, fields: [String]) throws -> [[String]] {
        let exe = ["/usr/bin/tshark", "/usr/local/bin/tshark"].first { FileManager.default.isExecutableFile(atPath: $0) }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: try XCTUnwrap(exe, "tshark is needed (make setup installs it)"))
        p.arguments = ["-r", pcap, "-Y", filter, "-T", "fields"] + fields.flatMap { ["-e", $0] }
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "tshark could not read \(pcap)")
        return String(decoding: data, as: UTF8.self).split(separator: "\n").map { $0.split(separator: "\t", omittingEmptySubsequences: false).map(String.init) }
    }

    func tempPath(_ ext: String) -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("lesson-\(UUID().uuidString).\(ext)").path
    }

    /// stop(): FIN, 192 B per TIME_WAIT pcb, at most 5; tcp_kill_timewait/tcpCleanup
    /// give it back; abort(): RST and nothing kept; TIME_WAIT ends after 2*MSL.
    func testTimewaitHeap() throws {
        let pcap = tempPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        _ = try lesson("timewait_heap", for: "170s", extra: ["--pcap", pcap])
        // each stop()ped connection: the board's FIN first, the visitor's FIN, the board's last ACK
        let fins = try tshark(pcap, filter: "tcp.flags.fin == 1", fields: ["ip.src", "tcp.srcport", "tcp.dstport"])
        let boardFins = fins.filter { $0[0] == "10.0.2.15" }
        let visitorFins = fins.filter { $0[0] == "10.0.2.2" }
        XCTAssertEqual(boardFins.count, 11, "8 + 3 stop()s")
        XCTAssertEqual(visitorFins.count, 11)
        for f in boardFins {
            let port = f[2]
            let seq = try tshark(pcap, filter: "tcp.port == \(port) && (tcp.flags.fin == 1 || tcp.flags.reset == 1)", fields: ["ip.src", "tcp.flags.str"])
            XCTAssertEqual(seq.map { $0[0] }, ["10.0.2.15", "10.0.2.2"], "board FIN, then the visitor's, on port \(port)")
            let acks = try tshark(pcap, filter: "tcp.port == \(port) && ip.src == 10.0.2.15 && tcp.flags == 0x010 && tcp.len == 0", fields: ["frame.number"])
            XCTAssertFalse(acks.isEmpty, "the board acknowledges the visitor's FIN (it then sits in TIME_WAIT)")
        }
        // each abort()ed one: RST from the board, no FIN from either side
        let resets = try tshark(pcap, filter: "tcp.flags.reset == 1", fields: ["ip.src", "tcp.dstport"])
        XCTAssertEqual(resets.count, 5)
        XCTAssertTrue(resets.allSatisfy { $0[0] == "10.0.2.15" })
        for r in resets {
            XCTAssertEqual(try tshark(pcap, filter: "tcp.port == \(r[1]) && tcp.flags.fin == 1", fields: ["frame.number"]).count, 0)
        }
    }

    /// Without the core 3.x cap the TIME_WAIT pcbs pile up (older cores).
    func testTimewaitHeapWithoutTheCapPilesUp() throws {
        let r = try esplua(["run", "sketches/timewait_heap.lua", "--time", "virtual", "--for", "14s", "--timewait-limit", "0"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("request  8, after stop()     heap 49056 B (-1560)  TIME_WAIT 8"), r.stdout)
    }

    /// The four endings of a connection: FIN/TIME_WAIT, RST, the core's abort on
    /// the peer's FIN, and CLOSE_WAIT -> LAST_ACK with unread data.
    func testAbortVsStop() throws {
        let pcap = tempPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        _ = try lesson("abort_vs_stop", for: "10s", extra: ["--pcap", pcap])
        let ends = try tshark(
            pcap, filter: "tcp.flags.fin == 1 || tcp.flags.reset == 1", fields: ["ip.src", "tcp.srcport", "tcp.dstport", "tcp.flags.fin", "tcp.flags.reset"])
        func on(_ port: String) -> [String] {
            ends.filter { $0[1] == port || $0[2] == port }.map { ($0[0] == "10.0.2.15" ? "board " : "visitor ") + ($0[4] == "1" ? "RST" : "FIN") }
        }
        XCTAssertEqual(on("80"), ["board FIN", "visitor FIN"])
        XCTAssertEqual(on("81"), ["board RST"])
        XCTAssertEqual(on("82"), ["visitor FIN", "board RST"])
        XCTAssertEqual(on("83"), ["visitor FIN", "board FIN"])
    }

    func testUdpEcho() throws {
        let r = try lesson("udp_echo", for: "21s")
        // the burst of six: five were queued and answered, one dropped (UdpContext.h:521:
        // the chain takes no datagram once it holds rxBufMaxDepth * 2 = 8 pbufs; one pbuf
        // per datagram, plus an address helper for each after the first: 1 + 2·4 = 9 > 8)
        XCTAssertEqual(r.stderr.components(separatedBy: "got a reply").count - 1, 8, r.stderr)
        XCTAssertEqual(r.stderr.components(separatedBy: "no reply").count - 1, 1, r.stderr)
    }

    func testTcpClient() throws {
        let pcap = tempPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        _ = try lesson("tcp_client", for: "15s", extra: ["--pcap", pcap])
        // DNS on the wire: the query for echo.world and the world's answer
        let dns = try tshark(pcap, filter: "dns.qry.name == \"echo.world\"", fields: ["ip.src", "dns.flags.response", "dns.a"])
        XCTAssertEqual(dns.map { $0[0] }, ["10.0.2.15", "10.0.2.3"])
        XCTAssertEqual(dns.last?[2], "10.0.2.100")
        // client:println("hello #1") is Print's two writes, "hello #1" then "\r\n"
        // (Print.cpp:238-242): with Nagle on, two segments per line
        let sent = try tshark(pcap, filter: "ip.src == 10.0.2.15 && tcp.dstport == 7 && tcp.len > 0", fields: ["tcp.len"])
        XCTAssertEqual(sent.map { $0[0] }, ["8", "2", "8", "2", "8", "2"])
        // the address no one has: lwIP asks ARP (again each second), the SYN never
        // leaves, and the connect gives up at the client's 5 s timeout
        let arp = try tshark(pcap, filter: "arp.dst.proto_ipv4 == 10.0.2.99", fields: ["frame.time_relative"])
        XCTAssertGreaterThanOrEqual(arp.count, 5)
        XCTAssertEqual(try tshark(pcap, filter: "ip.dst == 10.0.2.99", fields: ["frame.number"]).count, 0)
    }

    /// Board time (s) of each row's first field (tshark's frame.time_epoch: the pcap is stamped with board time).
    func seconds(_ rows: [[String]]) -> [Double] { rows.map { Double($0[0]) ?? -1 } }

    /// Nagle on a wifi link: ten small writes leave as 2 segments (the first, then
    /// the rest once it is acknowledged); with setNoDelay(true) as 10, at most
    /// TCP_SND_QUEUELEN = 8 queued before an ACK (the core's lwipopts.h:1333). An
    /// echo the sketch does not answer is acknowledged on lwIP's next fast timer
    /// tick (TCP_TMR_INTERVAL 250 ms, tcp_priv.h:120): the delayed ACK.
    func testNagleAndDelayedAckOnWifi() throws {
        let pcap = tempPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        _ = try lesson("nagle_wifi", for: "8s", extra: ["--link", "wifi", "--pcap", pcap])
        let data = try tshark(pcap, filter: "ip.src == 10.0.2.15 && tcp.dstport == 7 && tcp.len > 0", fields: ["frame.time_epoch", "tcp.srcport", "tcp.len"])
        var ports: [String] = []
        for d in data where !ports.contains(d[1]) { ports.append(d[1]) }
        XCTAssertEqual(ports.count, 3)
        func lens(_ port: String) -> [String] { data.filter { $0[1] == port }.map { $0[2] } }
        XCTAssertEqual(lens(ports[0]), ["6", "55"], "Nagle: the first write, then the other nine in one segment")
        XCTAssertEqual(lens(ports[1]), Array(repeating: "6", count: 9) + ["7"], "no delay: a segment per write")
        XCTAssertEqual(lens(ports[2]), ["6"])
        // Nagle's second segment leaves when the first one's ACK arrives, a wifi round trip later
        let first = seconds(data.filter { $0[1] == ports[0] })
        let ack = try tshark(
            pcap, filter: "ip.src == 10.0.2.100 && tcp.dstport == \(ports[0]) && tcp.len == 0 && tcp.ack == 7", fields: ["frame.time_epoch"])
        XCTAssertEqual(seconds(ack).first ?? 0, first[1], accuracy: 1e-6)
        XCTAssertEqual(first[1] - first[0], 0.0035, accuracy: 0.0015, "one round trip of the wifi link (2–5 ms)")
        // no delay: eight segments at once, the ninth after an ACK
        let quick = seconds(data.filter { $0[1] == ports[1] })
        XCTAssertEqual(quick[7], quick[0], accuracy: 1e-6)
        XCTAssertGreaterThan(quick[8] - quick[0], 0.002)
        // the delayed ACK: the echo of round 3 is acknowledged at the next 250 ms tick
        let echo = seconds(try tshark(pcap, filter: "ip.src == 10.0.2.100 && tcp.dstport == \(ports[2]) && tcp.len > 0", fields: ["frame.time_epoch"]))
        let boardAcks = seconds(
            try tshark(pcap, filter: "ip.src == 10.0.2.15 && tcp.srcport == \(ports[2]) && tcp.len == 0 && tcp.flags == 0x010", fields: ["frame.time_epoch"]))
        let delayed = try XCTUnwrap(boardAcks.first { $0 > echo[0] }) - echo[0]
        XCTAssertGreaterThan(delayed, 0.010, "not at once")
        XCTAssertLessThanOrEqual(delayed, 0.250, "within one fast timer period")
    }

    /// Retransmissions on a lossy link: a lost segment goes again after lwIP's RTO,
    /// and while the link is down the same segment goes again after 1.5, 3, 6, 12 s:
    /// the timeout doubles with each retry (tcp.c:1289, rto << tcp_backoff[nrtx]).
    func testRetransmissionsBackOffOnALossyLink() throws {
        let pcap = tempPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        _ = try lesson(
            "lossy_link", for: "40s", extra: ["--link", #"{"like":"wifi","loss":0.05}"#, "--fault", "link-down@8s+20s", "--pcap", pcap])
        let sent = try tshark(pcap, filter: "ip.src == 10.0.2.15 && tcp.dstport == 7 && tcp.len > 0", fields: ["frame.time_epoch", "tcp.seq"])
        let bySeq = Dictionary(grouping: sent, by: { $0[1] })
        // the segment sent just before the link went down, and its retries
        let stuck = try XCTUnwrap(bySeq.values.max { $0.count < $1.count })
        let times = seconds(stuck)
        XCTAssertGreaterThanOrEqual(times.count, 5, "\(stuck)")
        let gaps = zip(times.dropFirst(), times).map { $0 - $1 }
        for (a, b) in zip(gaps, gaps.dropFirst()) { XCTAssertEqual(b / a, 2, accuracy: 0.1, "gaps \(gaps)") }
        // none of the retries during the outage (8 s to 28 s) arrived: the peer's ACK came after the link was back
        let acks = seconds(
            try tshark(pcap, filter: "ip.src == 10.0.2.100 && tcp.srcport == 7 && frame.time_epoch > 8 && frame.time_epoch < 28", fields: ["frame.time_epoch"]))
        XCTAssertEqual(acks, [])
        XCTAssertGreaterThan(times.last!, 28)
        // the first line was lost before any round trip was measured: lwIP's initial 3 s RTO (500 ms ticks)
        let line1 = seconds(try XCTUnwrap(bySeq["1"]))
        XCTAssertEqual(line1.count, 2)
        XCTAssertEqual(line1[1] - line1[0], 3, accuracy: 0.5)
    }

    /// The access point away for 15 s: REASON_BEACON_TIMEOUT about 6.1 s after
    /// (60 beacons), REASON_NO_AP_FOUND after each scan, back with DHCP confirming
    /// the lease; the TCP connection survives. The golden transcript has the
    /// events and WiFi.status() values (ESP8266WiFiSTA.cpp:594-611).
    func testAccessPointDropsOut() throws {
        let pcap = tempPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        let r = try lesson("ap_dropout", for: "30s", extra: ["--link", "wifi", "--fault", "ap-down@5s+15s", "--pcap", pcap])
        XCTAssertTrue(r.stdout.contains(" 11.144 s  disconnected, reason 200, WiFi.status() 7"), r.stdout)
        // the scan after the AP came back (20 s) finds it at 20.864 s; association takes 1.5 s
        XCTAssertTrue(r.stdout.contains(" 22.364 s  connected to classroom"), r.stdout)
        // nothing leaves the board while its link is down (no route), then DHCP confirms the lease
        let during = try tshark(pcap, filter: "ip.src == 10.0.2.15 && frame.time_epoch > 11.144 && frame.time_epoch < 22.364", fields: ["frame.time_epoch"])
        XCTAssertEqual(during.count, 0)
        let dhcp = try tshark(pcap, filter: "dhcp && frame.time_epoch > 20", fields: ["frame.time_epoch", "dhcp.option.dhcp", "ip.src"])
        XCTAssertEqual(dhcp.map { $0[1] }, ["3", "5"], "DHCPREQUEST, DHCPACK")
        // the connection survived: no RST or FIN, and its stuck segment got through
        XCTAssertEqual(try tshark(pcap, filter: "tcp.flags.reset == 1 || tcp.flags.fin == 1", fields: ["frame.number"]).count, 0)
    }

    /// Runs the lab lesson `sketches/labs/NAME/lab.json` in virtual time (each board's
    /// pcap in `pcaps`) and checks its output against `golden/lab_NAME.txt`, whose
    /// first lines (`# truth: …`) say where its figures come from.
    @discardableResult
    func labLesson(_ name: String, for duration: String, pcaps: String) throws -> Result {
        try FileManager.default.createDirectory(atPath: pcaps, withIntermediateDirectories: true)
        let r = try esplua(["lab", "sketches/labs/\(name)/lab.json", "--time", "virtual", "--for", duration, "--pcap", pcaps], timeout: 300)
        XCTAssertEqual(r.status, 0, r.stderr)
        let golden = try golden("lab_\(name)")
        let truth = golden.split(separator: "\n").prefix { $0.hasPrefix("# truth: ") }
        XCTAssertFalse(truth.isEmpty, "lab_\(name).txt starts with a '# truth: ' line")
        XCTAssertEqual(r.stdout, golden.split(separator: "\n", omittingEmptySubsequences: false).dropFirst(truth.count).joined(separator: "\n"))
        return r
    }

    /// A client board fetching from a server board: whoever closes first keeps the
    /// TIME_WAIT, if the other side still had the data unread when the FIN came
    /// (it answers with its own FIN after stop(): CLOSE_WAIT, then LAST_ACK); with
    /// nothing unread the core answers the FIN with abort() (ClientContext.h:594-614),
    /// an RST, and neither board keeps one.
    func testWhoClosesFirstKeepsTheTimeWait() throws {
        let dir = tempPath("d")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try labLesson("who_closes_first", for: "10s", pcaps: dir)
        for board in ["server", "client"] {
            let ends = try tshark(
                dir + "/\(board).pcap", filter: "tcp.flags.fin == 1 || tcp.flags.reset == 1", fields: ["ip.src", "tcp.flags.reset"])
            let who = ends.map { ($0[0] == "10.0.2.15" ? "server " : "client ") + ($0[1] == "1" ? "RST" : "FIN") }
            XCTAssertEqual(
                who, ["server FIN", "client FIN", "client FIN", "server FIN", "client FIN", "server RST"],
                "\(board).pcap: round 1 the server closes first, round 2 the client, round 3 the client's FIN meets an RST")
            // the first closer acknowledges the second's FIN last (and then sits in TIME_WAIT)
            for (port, closer) in [("52807", "10.0.2.15"), ("52808", "10.0.2.16")] {
                let last = try tshark(dir + "/\(board).pcap", filter: "tcp.port == \(port)", fields: ["ip.src", "tcp.flags.str"]).last
                XCTAssertEqual(last?[0], closer, "\(board).pcap, port \(port)")
                XCTAssertEqual(last?[1].filter { $0 != "·" }, "A", "\(board).pcap, port \(port): a bare ACK")
            }
        }
    }

    /// UDP broadcast discovery among three boards: every board's HELLO to
    /// 255.255.255.255 reaches the two others (the lab's switch floods broadcasts),
    /// a new name is answered by unicast, and the late board learns both at once.
    func testBroadcastDiscoveryAmongThreeBoards() throws {
        let dir = tempPath("d")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try labLesson("discovery", for: "13s", pcaps: dir)
        XCTAssertTrue(r.stdout.contains("carol | 11.562 s  carol: HELLO to everyone; I know alice=10.0.2.15 bob=10.0.2.16"), r.stdout)
        for (board, me) in [("alice", "10.0.2.15"), ("bob", "10.0.2.16"), ("carol", "10.0.2.17")] {
            let pcap = dir + "/\(board).pcap"
            let hellos = try tshark(pcap, filter: "udp.dstport == 4210 && ip.dst == 255.255.255.255", fields: ["ip.src", "eth.dst"])
            XCTAssertTrue(hellos.allSatisfy { $0[1] == "ff:ff:ff:ff:ff:ff" }, "\(board): a broadcast frame")
            // its own announcements and the others' (carol's pcap starts when it joins)
            XCTAssertEqual(Set(hellos.map { $0[0] }), ["10.0.2.15", "10.0.2.16", "10.0.2.17"], "\(board) sees every board's HELLO")
            let heres = try tshark(pcap, filter: "udp.dstport == 4210 && ip.dst != 255.255.255.255", fields: ["ip.src", "ip.dst"])
            XCTAssertFalse(heres.isEmpty, board)
            XCTAssertTrue(heres.allSatisfy { $0[0] == me || $0[1] == me }, "\(board): the HERE answers are unicast: \(heres)")
        }
    }

    /// Stations joining another board's soft-AP: the cell shows in their scans, a
    /// wrong passphrase is refused, the soft-AP's DHCP server leases 192.168.4.2 and
    /// .3 (the core's DhcpServer), softAPgetStationNum() counts 2; the cell is its
    /// own segment: no frame of the LAN reaches a station of the cell, none of the
    /// cell reaches the LAN's board. The soft-AP closes for 8 s: the stations lose it
    /// as a station loses an access point (ap_dropout) and join it again when it is
    /// back. Two runs give the same pcaps.
    func testStationsJoinAnotherBoardsSoftAP() throws {
        let dir = tempPath("d")
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try labLesson("softap_cell", for: "30s", pcaps: dir)
        for (board, me, mac) in [("sta1", "192.168.4.2", "5c:cf:7f:00:02:10"), ("sta2", "192.168.4.3", "5c:cf:7f:00:02:11")] {
            let pcap = dir + "/\(board).pcap"
            let offers = try tshark(
                pcap, filter: "dhcp.option.dhcp == 2 || dhcp.option.dhcp == 5",
                fields: ["ip.src", "ip.dst", "dhcp.ip.your", "dhcp.option.ip_address_lease_time", "dhcp.option.router", "dhcp.option.domain_name_server"])
            XCTAssertTrue(offers.contains(["192.168.4.1", "192.168.4.255", me, "43200", "192.168.4.1", "192.168.4.1"]), "\(board): \(offers)")
            let addresses = Set(try tshark(pcap, filter: "ip", fields: ["ip.src", "ip.dst"]).flatMap { $0 })
            XCTAssertTrue(addresses.allSatisfy { $0.hasPrefix("192.168.4.") || $0 == "0.0.0.0" || $0 == "255.255.255.255" }, "\(board): \(addresses)")
            let http = try tshark(pcap, filter: "http.response.code == 200", fields: ["ip.src", "ip.dst"])
            XCTAssertEqual(http, [["192.168.4.1", me]])
            // nothing reaches the station while the cell is gone (8 s to 16 s) and until it
            // found it again (what it sends goes nowhere); then DHCP confirms its lease
            // with the reopened soft-AP's server
            let received = try tshark(
                pcap, filter: "frame.time_epoch > 8.1 && frame.time_epoch < 20 && eth.src != \(mac)", fields: ["frame.number"])
            XCTAssertEqual(received.count, 0, board)
            let back = try tshark(
                pcap, filter: "dhcp && frame.time_epoch > 20 && (ip.src == \(me) || dhcp.ip.your == \(me))",
                fields: ["ip.src", "dhcp.option.dhcp", "dhcp.ip.your"])
            XCTAssertEqual(back, [[me, "3", "0.0.0.0"], ["192.168.4.1", "5", me]], board)
        }
        let lan = Set(try tshark(dir + "/lan.pcap", filter: "ip && !dhcp", fields: ["ip.src", "ip.dst"]).flatMap { $0 })
        XCTAssertEqual(lan, ["10.0.2.18", "255.255.255.255"], "the LAN's board sees only its own broadcasts (and its DHCP exchange with the gateway)")
        // and the cell is as deterministic as the LAN: a second run, the same bytes
        let again = tempPath("d")
        defer { try? FileManager.default.removeItem(atPath: again) }
        try labLesson("softap_cell", for: "30s", pcaps: again)
        for b in ["ap", "sta1", "sta2", "lan"] {
            XCTAssertEqual(FileManager.default.contents(atPath: dir + "/\(b).pcap"), FileManager.default.contents(atPath: again + "/\(b).pcap"), b)
        }
    }

    func testWifiScan() throws { _ = try lesson("wifi_scan", for: "10s") }
    func testSoftAP() throws { _ = try lesson("softap", for: "5s") }

    /// The trace: a row per change of heap or pcbs, which a spreadsheet can plot.
    func testTraceFollowsTheHeap() throws {
        let csv = tempPath("csv")
        defer { try? FileManager.default.removeItem(atPath: csv) }
        let r = try esplua(["run", "sketches/timewait_heap.lua", "--time", "virtual", "--for", "14s", "--trace", csv])
        XCTAssertEqual(r.status, 0, r.stderr)
        let rows = try String(contentsOfFile: csv, encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows.first?.prefix(3), ["time_ms", "free_heap", "max_block"])
        let tw = try XCTUnwrap(rows.first?.firstIndex(of: "time_wait"))
        XCTAssertEqual(rows.dropFirst().map { Int($0[tw]) ?? -1 }.max(), 5, "the cap")
        XCTAssertTrue(rows.dropFirst().contains { $0[1] == "49632" && $0[tw] == "5" })
    }

    /// BearSSL_MaxFragmentLength on the wire, read by tshark's TLS dissector: each
    /// ClientHello asks for 512-byte fragments (max_fragment_length 1) — the default
    /// session too, as BearSSL asks for what fits its 597 B output buffer — with the name
    /// in SNI (connect(name, port), WiFiClientSecureBearSSL.cpp:218-229), the probe's
    /// without one (cpp:1482-1634); the world's service echoes it in each ServerHello.
    func testHttpsGetAsksForMFLNOnTheWire() throws {
        let pcap = tempPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        try lesson("https_get", for: "8s", extra: ["--pcap", pcap])
        let rows = try tshark(
            pcap, filter: "tls.handshake.type == 1 || tls.handshake.type == 2",
            fields: ["tls.handshake.type", "tls.handshake.extensions_server_name", "tls.handshake.max_fragment_length"])
        XCTAssertEqual(
            rows,
            [["1", "api.my-ip.io", "1"], ["2", "", "1"], ["1", "", "1"], ["2", "", "1"], ["1", "api.my-ip.io", "1"], ["2", "", "1"]])
    }

    /// mdns_webserver: what the board's LEAmDNS puts on the wire, read by tshark's own
    /// mDNS dissector (RFC 6762): an IGMP report joining 224.0.0.251 (LEAmDNS.cpp:1318),
    /// 3 host probes 250 ms apart, then 8 announcements 1 s apart of the A record (TTL
    /// 120, cache flush) and the reverse PTR, all multicast with IP TTL 255
    /// (LEAmDNS_Priv.h:130-164, LEAmDNS_Control.cpp:1375-1445).
    func testMDNSWebServerAnnouncesItselfAsLEAmDNSDoes() throws {
        let pcap = tempPath("pcap")
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        _ = try assertGolden("mdns_webserver", for: "12s", extra: ["--pcap", pcap])
        let joins = try tshark(pcap, filter: "igmp", fields: ["ip.dst", "igmp.maddr"])
        XCTAssertEqual(joins.first, ["224.0.0.251", "224.0.0.251"])
        let probes = try tshark(
            pcap, filter: "mdns && dns.flags.response == 0 && dns.qry.name == \"esp8266.local\"",
            fields: ["frame.time_relative", "ip.ttl", "dns.qry.type", "dns.resp.type", "dns.resp.cache_flush"])
        XCTAssertEqual(probes.count, 3)
        XCTAssertEqual(probes.map { Array($0[1...]) }, Array(repeating: ["255", "255", "1", "0"], count: 3))
        let times = probes.compactMap { Double($0[0]) }
        for (a, b) in zip(times.dropFirst(), times) { XCTAssertEqual(a - b, 0.25, accuracy: 0.011) }
        let announcements = try tshark(
            pcap, filter: "mdns && dns.flags.response == 1 && dns.resp.name == \"15.2.0.10.in-addr.arpa\"",
            fields: ["frame.time_relative", "ip.dst", "ip.ttl", "dns.a", "dns.resp.ttl", "dns.resp.cache_flush"])
        XCTAssertEqual(announcements.count, 8)
        XCTAssertEqual(announcements.map { Array($0[1...]) }, Array(repeating: ["224.0.0.251", "255", "10.0.2.15", "120,120", "1,1"], count: 8))
        let atimes = announcements.compactMap { Double($0[0]) }
        for (a, b) in zip(atimes.dropFirst(), atimes) { XCTAssertEqual(a - b, 1.0, accuracy: 0.011) }
        XCTAssertEqual(atimes[0] - times[2], 1.25, accuracy: 0.011)
    }
}

/// The plugin sketches, with the plugins SwiftPM built beside esplua.
final class PluginSketchTests: EspluaTestCase {
    func testI2cBmp280() throws {
        try assertGolden("i2c_bmp280", for: "15s")
    }

    func testSpiMcp3008() throws {
        try assertGolden("spi_mcp3008", for: "7s")
    }

    /// Pulses every 20 ms on GPIO2 as the core's Servo sends them; the servo part
    /// reads them and turns at 600 °/s (its log says when it gets there).
    func testServoSweep() throws {
        let r = try assertGolden("servo_sweep", for: "4.5s")
        XCTAssertTrue(r.stderr.contains("servo on GPIO2: pulse 2000 us at 2.082 s, turning to 180 degrees (there at 2.232 s)"), r.stderr)
    }

    /// The Sweep with a button that holds the arm: pressed at 1.2 s and let go at 1.7 s
    /// (`--set`, as the page's button does), the sketch reports where it held the arm
    /// (`servo:read()` maps the last pulse back, the core's integer map: 1416 µs → 74)
    /// and sweeps on; the servo part heads nowhere new while the arm is held.
    func testSweepHold() throws {
        let r = try assertGolden("sweep_hold", for: "3s", extra: ["--set", "button.pressed=1@1.2s", "--set", "button.pressed=0@1.7s"])
        // the last heading before the press, then the first after the release: none between
        XCTAssertTrue(
            r.stderr.contains(
                "servo on GPIO2: pulse 1416 us at 1.201 s, turning to 75 degrees (there at 1.202 s)\n"
                    + "esplua: Parts info: servo on GPIO2: pulse 1422 us at 1.721 s, turning to 76 degrees"), r.stderr)
    }

    /// The Parts plugin's button, pressed by its schedule with a bouncing contact: an
    /// interrupt (CHANGE, debounced in the handler) counts each press once while
    /// loop() computes for 0.2 s without yielding; a count is reported at the end
    /// of the pass in which it came.
    func testButtonCounter() throws {
        try assertGolden("button_counter", for: "5s")
    }

    /// A log in littlefs that survives reboots (ESP.restart) and, with --flash, runs.
    func testLittleFSLogSurvivesRebootsAndRuns() throws {
        try assertGolden("littlefs_log", for: "8s")
        let flash = FileManager.default.temporaryDirectory.appendingPathComponent("flash-\(UUID().uuidString).bin").path
        defer { try? FileManager.default.removeItem(atPath: flash) }
        _ = try esplua(["run", "sketches/littlefs_log.lua", "--time", "virtual", "--for", "8s", "--flash", flash])
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: flash)[.size] as? Int, 4 * 1024 * 1024)
        let again = try esplua(["run", "sketches/littlefs_log.lua", "--time", "virtual", "--for", "4s", "--flash", flash])
        XCTAssertTrue(again.stdout.contains("the log after 4 boots:"), again.stdout)
    }

    /// `esplua fs pack` images mount in littlefs-python (the real littlefs), and
    /// littlefs-python's images mount on the board.
    func testFlashImagesAreInterchangeableWithLittlefsPython() throws {
        let py = Self.root.appendingPathComponent(".venv/bin/python").path
        guard FileManager.default.isExecutableFile(atPath: py) else { return XCTFail("littlefs-python is missing: run make setup") }
        let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("fs-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: tmp.appendingPathComponent("in/www"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: tmp) }
        try "<h1>hello</h1>\n".write(to: tmp.appendingPathComponent("in/www/index.html"), atomically: true, encoding: .utf8)
        try String(repeating: "0123456789", count: 2000).write(to: tmp.appendingPathComponent("in/big.txt"), atomically: true, encoding: .utf8)
        // by default the bare partition mklittlefs makes (-s 2072576), mounted at offset 0;
        // --flash-image: the whole 4 MB flash with it at 0x200000
        let image = tmp.appendingPathComponent("fs.bin").path, flash = tmp.appendingPathComponent("flash.bin").path
        let pack = try esplua(["fs", "pack", tmp.appendingPathComponent("in").path, "-o", image])
        XCTAssertEqual(pack.status, 0, pack.stderr)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: image)[.size] as? Int, 2_072_576)
        let packFlash = try esplua(["fs", "pack", tmp.appendingPathComponent("in").path, "-o", flash, "--flash-image"])
        XCTAssertEqual(packFlash.status, 0, packFlash.stderr)
        XCTAssertEqual(try FileManager.default.attributesOfItem(atPath: flash)[.size] as? Int, 4_194_304)
        for file in [image, flash] {
            let ls = try esplua(["fs", "ls", file])
            XCTAssertEqual(ls.stdout, "/big.txt  20000\n/www/\n/www/index.html  15\n", ls.stderr)
        }
        func python(_ code: String) throws -> String {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: py)
            p.arguments = ["-c", code]
            let out = Pipe()
            p.standardOutput = out
            try p.run()
            let data = out.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            XCTAssertEqual(p.terminationStatus, 0)
            return String(decoding: data, as: UTF8.self)
        }
        let config =
            "block_size=8192, block_count=0, name_max=32, disk_version=0x00020000, read_size=64, prog_size=64, cache_size=64, lookahead_size=64, block_cycles=16"
        let listing = try python(
            """
            from littlefs import LittleFS, UserContext
            for img in [open('\(image)', 'rb').read(), open('\(flash)', 'rb').read()[0x200000:0x200000 + 2072576]]:
                fs = LittleFS(context=UserContext(buffer=bytearray(img)), \(config))
                print(sorted(fs.listdir('/')), fs.open('/www/index.html', 'r').read().strip(), len(fs.open('/big.txt', 'rb').read()), fs.fs_stat().disk_version)
            """)
        XCTAssertEqual(listing, "['big.txt', 'www'] <h1>hello</h1> 20000 131072\n" + "['big.txt', 'www'] <h1>hello</h1> 20000 131072\n")
        // and the other way: littlefs-python writes a bare image, the board reads it
        let bare = tmp.appendingPathComponent("bare.bin").path
        _ = try python(
            """
            from littlefs import LittleFS
            fs = LittleFS(block_size=8192, block_count=253, name_max=32, disk_version=0x00020000, read_size=64, prog_size=64, cache_size=64, lookahead_size=64, block_cycles=16)
            fs.mkdir('/data')
            with fs.open('/data/readings.csv', 'w') as f: f.write('t,temp\\n0,21.5\\n')
            open('\(bare)', 'wb').write(fs.context.buffer)
            """)
        let ls = try esplua(["fs", "ls", bare])
        XCTAssertEqual(ls.stdout, "/data/\n/data/readings.csv  14\n", ls.stderr)
    }

    func testPluginsListsTheBuiltInOnes() throws {
        let r = try esplua(["plugins"])
        XCTAssertEqual(r.status, 0, r.stderr)
        XCTAssertTrue(r.stdout.contains("Wire 1.0.0 (ABI 1.2)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("part bmp280:"), r.stdout)
        // with what the plugin says of each control (ABI 1.2)
        XCTAssertTrue(r.stdout.contains("[controls: temperature (-40…85 °C), pressure (300…1100 hPa)]"), r.stdout)
        XCTAssertTrue(r.stdout.contains("[controls: pressed (button), presses (reports)]"), r.stdout)
        XCTAssertTrue(r.stdout.contains("SPI 1.0.0 (ABI 1.2)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Servo 1.0.0 (ABI 1.2)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("LittleFS 1.0.0 (ABI 1.2)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("Parts 1.0.0 (ABI 1.2)"), r.stdout)
        XCTAssertTrue(r.stdout.contains("part buzzer:"), r.stdout)
    }
}
