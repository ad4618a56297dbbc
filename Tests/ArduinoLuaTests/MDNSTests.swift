import ArduinoLua
import BoardCore
import BoardNet
import BoardTesting
import XCTest

/// `MDNS` against the core's LEAmDNS (libraries/ESP8266mDNS/src at core 3.1.2:
/// LEAmDNS.cpp, LEAmDNS_Control.cpp, LEAmDNS_Transfer.cpp, LEAmDNS_Priv.h) and
/// RFC 6762's wire format. Queries come from in-process peers on the board's link
/// (their frames enter as `injectFrame`, as slirp's do); the board's answers are
/// read off its link and parsed as DNS messages.
final class MDNSTests: XCTestCase {
    /// A peer on the link: records the board's mDNS messages, answers ARP for the
    /// peers' addresses, takes the unicast replies meant for them.
    final class LinkPeer {
        struct Sent {
            let time: UInt64
            let message: MDNSMessage
            let destination: String
            let port: UInt16
        }
        var sent: [Sent] = []
        var peers: [String: [UInt8]] = [:]
        /// Frames to inject once the board has announced its host for the first time.
        var afterFirstAnnouncement: [[UInt8]] = []
        unowned let device: Device

        init(_ device: Device) {
            self.device = device
            device.network.linkPeer = { [unowned self] frame in self.take(frame) }
        }

        func mac(_ ip: String) -> [UInt8] { [0x02, 0x00] + EthernetFrames.ip4(ip) }

        func query(_ m: MDNSMessage, from ip: String, port: UInt16 = 5353, unicastTo: Bool = false) -> [UInt8] {
            peers[ip] = mac(ip)
            let to =
                unicastTo
                ? (mac: EthernetFrames.boardMAC, ip: ipBits("10.0.2.15")!, port: UInt16(5353))
                : (mac: MDNSFrame.groupMAC, ip: MDNSMessage.group, port: UInt16(5353))
            return MDNSFrame.udp(from: (mac(ip), ipBits(ip)!, port), to: to, payload: m.encoded())
        }

        func take(_ frame: UnsafeRawBufferPointer) -> Bool {
            for (ip, mac) in peers {
                if let reply = EthernetFrames.arpReply(to: frame, ip: ip, mac: mac) {
                    device.board.loop.inbox.post(.injectFrame(reply))
                    return true
                }
            }
            guard let udp = MDNSFrame.parseUDP(frame), udp.srcPort == 5353, let m = MDNSMessage(udp.payload) else { return false }
            sent.append(Sent(time: device.board.clock.micros, message: m, destination: ipString(udp.dstIP), port: udp.dstPort))
            if !afterFirstAnnouncement.isEmpty, m.isResponse, m.answers.contains(where: { $0.type == MDNSMessage.typePTR && $0.name.hasSuffix("in-addr.arpa") })
            {
                for f in afterFirstAnnouncement { device.board.loop.inbox.post(.injectFrame(f)) }
                afterFirstAnnouncement = []
            }
            return udp.dstIP != MDNSMessage.group  // unicast replies are the peers'
        }
    }

    static let sketch = """
        local ended = false
        function setup()
          WiFi.begin("net", "password")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
          print("heap", ESP.getFreeHeap())
          print(MDNS.begin("esp8266"), MDNS.isRunning())
          print(MDNS.addService("http", "tcp", 80))
          print(MDNS.addServiceTxt("http", "tcp", "path", "/"))
        end
        function loop()
          MDNS.update()
          if not ended and millis() > 16000 then
            ended = true
            print(MDNS.end_(), MDNS.isRunning())
            print("heap", ESP.getFreeHeap())
          end
          delay(5)
        end
        """

    func runResponder(queries: (LinkPeer) -> [[UInt8]]) throws -> (SketchRun, LinkPeer) {
        var peer: LinkPeer!
        let r = try SketchHarness.run(
            source: Self.sketch, for: seconds(20),
            prepare: { device in
                peer = LinkPeer(device)
                peer.afterFirstAnnouncement = queries(peer)
            })
        return (r, peer)
    }

    func record(_ m: MDNSMessage, _ type: UInt16, _ name: String) -> MDNSMessage.Record? {
        (m.answers + m.additional).first { $0.type == type && $0.name == name }
    }

    // Probing and announcing (LEAmDNS_Control.cpp:1375-1445, LEAmDNS_Priv.h:161-164):
    // 3 host probes 250 ms apart ("name.local" ANY with the QU bit, the A record in the
    // authority section, no cache flush: :1596-1638), then 8 announcements 1 s apart,
    // the first 1 s after probing ended (250 ms after the 3rd probe), then silence.
    // `end()` sends the goodbye (TTL 0, LEAmDNS.cpp:135-157) and the heap is back.
    func testTheHostProbesThreeTimesAnnouncesEightTimesAndEndsWithAGoodbye() throws {
        let (r, peer) = try runResponder { _ in [] }
        defer { r.finish() }
        let lines = r.transcript.split(separator: "\n")
        XCTAssertEqual(Array(lines[1...3]), ["true\ttrue", "true", "true"])
        XCTAssertEqual(lines[4], "true\tfalse")
        XCTAssertEqual(lines[0], lines[5], "the heap is back to its baseline after MDNS.end_()")

        let hostProbes = peer.sent.filter { !$0.message.isResponse && $0.message.questions.first?.name == "esp8266.local" }
        XCTAssertEqual(hostProbes.count, 3)
        for p in hostProbes {
            let q = p.message.questions[0]
            XCTAssertEqual(q.type, MDNSMessage.typeANY)
            XCTAssertTrue(q.unicast, "probes ask for unicast replies (RFC 6762 §8.1)")
            XCTAssertEqual(p.message.authority.map(\.type), [MDNSMessage.typeA])
            XCTAssertFalse(p.message.authority[0].cacheFlush)
            XCTAssertEqual(p.destination, "224.0.0.251")
        }
        let probeGaps = zip(hostProbes.dropFirst(), hostProbes).map { Int($0.time - $1.time) / 1000 }
        for g in probeGaps { XCTAssertEqual(Double(g), 250, accuracy: 10) }

        let announcements = peer.sent.filter {
            $0.message.isResponse && $0.message.answers.contains { $0.name.hasSuffix("in-addr.arpa") }
        }
        let hostAnnouncements = announcements.filter { $0.message.answers.allSatisfy { $0.ttl > 0 } }
        XCTAssertEqual(hostAnnouncements.count, 8)
        XCTAssertEqual(Double(hostAnnouncements[0].time - hostProbes[2].time) / 1000, 1250, accuracy: 20)
        for (a, b) in zip(hostAnnouncements.dropFirst(), hostAnnouncements) {
            XCTAssertEqual(Double(a.time - b.time) / 1000, 1000, accuracy: 20)
        }
        let a = try XCTUnwrap(record(hostAnnouncements[0].message, MDNSMessage.typeA, "esp8266.local"))
        XCTAssertEqual(a.data, .a(ipBits("10.0.2.15")!))
        XCTAssertEqual(a.ttl, 120)
        XCTAssertTrue(a.cacheFlush)
        XCTAssertTrue(hostAnnouncements[0].message.isAuthoritative)
        XCTAssertEqual(record(hostAnnouncements[0].message, MDNSMessage.typePTR, "15.2.0.10.in-addr.arpa")?.data, .ptr("esp8266.local"))

        // the service: probed (instance ANY, QU) and announced 8 times with PTR, SRV, TXT and A
        let serviceAnnouncements = peer.sent.filter {
            $0.message.isResponse && $0.message.answers.contains { $0.name == "_services._dns-sd._udp.local" } && $0.message.answers[0].ttl > 0
        }
        XCTAssertEqual(serviceAnnouncements.count, 8)
        let s = serviceAnnouncements[0].message
        XCTAssertEqual(record(s, MDNSMessage.typePTR, "_http._tcp.local")?.data, .ptr("esp8266._http._tcp.local"))
        XCTAssertEqual(
            record(s, MDNSMessage.typeSRV, "esp8266._http._tcp.local")?.data, .srv(priority: 0, weight: 0, port: 80, target: "esp8266.local"))
        XCTAssertEqual(record(s, MDNSMessage.typeSRV, "esp8266._http._tcp.local")?.ttl, 4500)
        XCTAssertEqual(record(s, MDNSMessage.typeTXT, "esp8266._http._tcp.local")?.data, .txt(["path=/"]))

        // the goodbye: every record with TTL 0
        let goodbye = try XCTUnwrap(peer.sent.last)
        XCTAssertTrue(goodbye.message.isResponse)
        XCTAssertGreaterThan(Double(goodbye.time) / 1e6, 16)
        XCTAssertFalse(goodbye.message.answers.isEmpty)
        XCTAssertTrue((goodbye.message.answers + goodbye.message.additional).allSatisfy { $0.ttl == 0 })
        XCTAssertNotNil(record(goodbye.message, MDNSMessage.typeSRV, "esp8266._http._tcp.local"))
    }

    // Answers (LEAmDNS_Control.cpp:189-690, LEAmDNS_Transfer.cpp:77-400): an A question
    // (QM) is answered by multicast with the cache-flush bit; a QU question, or a query
    // from a port other than 5353 (a "legacy" resolver, which also gets its id and
    // question back), by unicast without it (:270-320); TTL 120 (MDNS_HOST_TTL).
    // A PTR question for the service type gets PTR in the answers and SRV, TXT and A
    // as additional records (Transfer.cpp:301-370); names compare case-insensitively.
    func testQueriesForTheHostAndTheServiceGetTheCoresAnswers() throws {
        let (r, peer) = try runResponder { peer in
            var qm = MDNSMessage()
            qm.questions = [.init(name: "ESP8266.local", type: MDNSMessage.typeA)]
            var qu = MDNSMessage()
            qu.questions = [.init(name: "esp8266.local", type: MDNSMessage.typeA, unicast: true)]
            var ptr = MDNSMessage()
            ptr.questions = [.init(name: "_http._tcp.local", type: MDNSMessage.typePTR)]
            var legacy = MDNSMessage(id: 0x1234)
            legacy.questions = [.init(name: "esp8266.local", type: MDNSMessage.typeA)]
            var other = MDNSMessage()
            other.questions = [.init(name: "other.local", type: MDNSMessage.typeA)]
            // known answers (Control.cpp:347-585): the A record held with 60 s (half of 120) left
            // is not sent again; with 59 s left it is
            var known = MDNSMessage()
            known.questions = [.init(name: "esp8266.local", type: MDNSMessage.typeA)]
            known.answers = [.init(name: "esp8266.local", type: MDNSMessage.typeA, cacheFlush: false, ttl: 60, data: .a(ipBits("10.0.2.15")!))]
            var stale = known
            stale.answers[0].ttl = 59
            stale.id = 7
            return [
                peer.query(qm, from: "10.0.2.50"), peer.query(qu, from: "10.0.2.51"), peer.query(ptr, from: "10.0.2.50"),
                peer.query(legacy, from: "10.0.2.52", port: 40000, unicastTo: true), peer.query(other, from: "10.0.2.50"),
                peer.query(known, from: "10.0.2.53"), peer.query(stale, from: "10.0.2.54", port: 40001, unicastTo: true),
            ]
        }
        defer { r.finish() }
        let replies = peer.sent.filter {
            $0.message.isResponse && !$0.message.answers.contains { $0.name.hasSuffix("in-addr.arpa") || $0.name == "_services._dns-sd._udp.local" }
                && $0.message.answers.allSatisfy { $0.ttl > 0 }
        }
        XCTAssertEqual(replies.count, 5, "one reply for each question the board can answer, none for other.local or a known answer")
        XCTAssertEqual(replies.filter { $0.destination == "10.0.2.54" }.map(\.message.id), [7], "a known answer with less than half its TTL left")

        let qm = try XCTUnwrap(replies.first { $0.destination == "224.0.0.251" && $0.message.answers.map(\.type) == [MDNSMessage.typeA] })
        XCTAssertEqual(qm.port, 5353)
        XCTAssertEqual(qm.message.id, 0)
        XCTAssertTrue(qm.message.isAuthoritative)
        XCTAssertEqual(qm.message.answers[0].name, "esp8266.local")
        XCTAssertEqual(qm.message.answers[0].data, .a(ipBits("10.0.2.15")!))
        XCTAssertEqual(qm.message.answers[0].ttl, 120)
        XCTAssertTrue(qm.message.answers[0].cacheFlush)

        let qu = try XCTUnwrap(replies.first { $0.destination == "10.0.2.51" })
        XCTAssertEqual(qu.port, 5353)
        XCTAssertEqual(qu.message.answers.map(\.type), [MDNSMessage.typeA])
        XCTAssertFalse(qu.message.answers[0].cacheFlush, "unicast replies carry no cache-flush bit")
        XCTAssertEqual(qu.message.answers[0].ttl, 120)

        let legacy = try XCTUnwrap(replies.first { $0.destination == "10.0.2.52" })
        XCTAssertEqual(legacy.port, 40000)
        XCTAssertEqual(legacy.message.id, 0x1234)
        XCTAssertEqual(legacy.message.questions.map(\.name), ["esp8266.local"])
        XCTAssertEqual(legacy.message.answers[0].data, .a(ipBits("10.0.2.15")!))

        let ptr = try XCTUnwrap(replies.first { $0.message.answers.first?.type == MDNSMessage.typePTR })
        XCTAssertEqual(ptr.destination, "224.0.0.251")
        XCTAssertEqual(ptr.message.answers.count, 1)
        XCTAssertEqual(ptr.message.answers[0].data, .ptr("esp8266._http._tcp.local"))
        XCTAssertEqual(ptr.message.answers[0].ttl, 4500)
        XCTAssertFalse(ptr.message.answers[0].cacheFlush, "PTR records are shared: no cache flush")
        XCTAssertEqual(ptr.message.additional.map(\.type), [MDNSMessage.typeSRV, MDNSMessage.typeTXT, MDNSMessage.typeA])
        XCTAssertEqual(ptr.message.additional[0].data, .srv(priority: 0, weight: 0, port: 80, target: "esp8266.local"))
        XCTAssertEqual(ptr.message.additional[2].data, .a(ipBits("10.0.2.15")!))
    }

    // Only names whose probing is done are answered (LEAmDNS_Control.cpp:205-212): a
    // query right after begin() (before update() has probed) gets nothing.
    func testNoAnswerBeforeProbingIsDone() throws {
        var peer: LinkPeer!
        let r = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.begin("net", "password")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  MDNS.begin("esp8266")
                  delay(3000)        -- no update(): no probing, so no answers
                  print(MDNS.isRunning())
                end
                function loop() delay(1000) end
                """, for: seconds(6),
            prepare: { device in
                peer = LinkPeer(device)
                var q = MDNSMessage()
                q.questions = [.init(name: "esp8266.local", type: MDNSMessage.typeA)]
                let frame = peer.query(q, from: "10.0.2.50")
                device.board.loop.inbox.post(.injectFrame(frame))
                _ = device.board.timers.schedule(at: seconds(3)) { device.board.loop.inbox.post(.injectFrame(frame)) }
            })
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\n")
        XCTAssertEqual(peer.sent.filter { $0.message.isResponse }.count, 0)
    }

    // MDNS.begin before the station has an address: the core's netif status callback
    // restarts the responder when it gets one (LEAmDNS.cpp:92-115), so the host is
    // probed and announced with its address, and answered.
    func testBeginBeforeWiFiProbesOnceTheAddressComes() throws {
        var peer: LinkPeer!
        let r = try SketchHarness.run(
            source: """
                function setup()
                  print(MDNS.begin("esp8266"))
                  WiFi.begin("net", "password")
                end
                function loop() MDNS.update() delay(5) end
                """, for: seconds(14),
            prepare: { device in
                peer = LinkPeer(device)
                var q = MDNSMessage()
                q.questions = [.init(name: "esp8266.local", type: MDNSMessage.typeA)]
                peer.afterFirstAnnouncement = [peer.query(q, from: "10.0.2.50")]
            })
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "true\n")
        let probes = peer.sent.filter { !$0.message.isResponse }
        XCTAssertEqual(probes.count, 3)
        XCTAssertEqual(probes.first?.message.authority.first?.data, .a(ipBits("10.0.2.15")!))
        let announcements = peer.sent.filter { $0.message.isResponse && $0.message.answers.count == 2 }
        XCTAssertEqual(announcements.count, 8)
        let answer = try XCTUnwrap(peer.sent.first { $0.message.isResponse && $0.message.answers.count == 1 })
        XCTAssertEqual(answer.message.answers[0].data, .a(ipBits("10.0.2.15")!))
    }

    // queryService (LEAmDNS.cpp:689-740): a PTR query for _ipp._tcp.local, multicast,
    // then delay(timeout) (MDNS_QUERYSERVICES_WAIT_TIME = 1000 ms, LEAmDNS.h:169); the
    // world's responder answers and hostname(i)/IP(i)/port(i) read its SRV and A records.
    func testQueryServiceFindsTheWorldsPrinter() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.begin("net", "password")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  print(MDNS.queryService("ipp", "tcp"))          -- not running: 0
                  print("heap", ESP.getFreeHeap())
                  MDNS.begin("esp8266")
                  local t = millis()
                  local n = MDNS.queryService("ipp", "tcp")
                  print(n, millis() - t)
                  for i = 0, n - 1 do print(MDNS.hostname(i), MDNS.IP(i), MDNS.port(i)) end
                  print(MDNS.queryService("_http", "_tcp", 500))  -- no one
                  MDNS.end_()
                  print("heap", ESP.getFreeHeap())
                end
                function loop() delay(1000) end
                """, for: seconds(8),
            world: #"{ "mdns": [ { "name": "printer", "service": "_ipp._tcp", "port": 631, "address": "10.0.2.60", "txt": ["rp=ipp/print"] } ] }"#)
        defer { r.finish() }
        let lines = r.transcript.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 6, r.transcript)
        XCTAssertEqual(lines[0], "0")
        XCTAssertEqual(lines[2], "1\t1000")
        XCTAssertEqual(lines[3], "printer.local\t10.0.2.60\t631")
        XCTAssertEqual(lines[4], "0")
        XCTAssertEqual(lines[1], lines[5], "the heap is back after end_()")
    }

    // What the responder holds while it runs: lwIP's udp_pcb (40 B on the ESP8266,
    // reference §heap) and IGMP group, the core's UdpContext, host name and service;
    // wrong arguments are Lua errors naming the argument.
    func testTheResponderIsChargedToTheHeapAndChecksItsArguments() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.begin("net", "password")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  local n0, b0 = lwip.allocations()
                  local h0 = ESP.getFreeHeap()
                  MDNS.begin("esp8266")
                  local n1, b1 = lwip.allocations()
                  print(n1 - n0, b1 - b0, h0 - ESP.getFreeHeap() > b1 - b0)
                  MDNS.addService("http", "tcp", 80)
                  print(MDNS.addService("http", "tcp", 80), MDNS.addService("x", "tcp", 0 + 1))  -- the same one again: false
                  print(pcall(MDNS.addService, "http", "tcp", 0))
                  print(MDNS.begin(string.rep("a", 64)))
                end
                function loop() delay(1000) end
                """, for: seconds(4))
        defer { r.finish() }
        let lines = r.transcript.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 4, r.transcript)
        XCTAssertEqual(lines[0], "2\t56\ttrue", "a udp_pcb (40 B) and an igmp_group (16 B), and the core's objects besides")
        XCTAssertEqual(lines[1], "false\ttrue")
        XCTAssertTrue(lines[2].hasPrefix("false\t"), lines[2])
        XCTAssertTrue(lines[2].contains("bad argument #3 to 'MDNS.addService' (port must be 1-65535)"), lines[2])
        XCTAssertEqual(lines[3], "false", "a label is at most 63 characters (LEAmDNS_Helpers.cpp:357-368)")
    }

    // A reboot forgets the responder (the core's MDNS object is in RAM): after
    // ESP.restart() it is not running, and the heap is what the first boot had.
    func testARebootForgetsTheResponder() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.begin("net", "password")
                  while WiFi.status() ~= WL_CONNECTED do delay(100) end
                  print(ESP.getResetReason(), MDNS.isRunning(), ESP.getFreeHeap())
                  if ESP.getResetReason() ~= "Software/System restart" then
                    MDNS.begin("esp8266")
                    MDNS.addService("http", "tcp", 80)
                    for i = 1, 300 do MDNS.update() delay(10) end
                    ESP.restart()
                  end
                end
                function loop() delay(1000) end
                """, for: seconds(12), noReboot: false)
        defer { r.finish() }
        // (the boot ROM's banner lines between the two boots have no tab)
        let lines = r.transcript.split(separator: "\n").filter { $0.contains("\t") }.map { $0.split(separator: "\t").map(String.init) }
        XCTAssertEqual(lines.count, 2, r.transcript)
        guard lines.count == 2 else { return }
        XCTAssertEqual(lines[1][0], "Software/System restart")
        XCTAssertEqual(lines[1][1], "false")
        XCTAssertEqual(lines[0][2], lines[1][2])
    }

    // The world file's mdns entries: fields checked with messages that name them.
    func testTheWorldsMDNSEntriesAreChecked() throws {
        let w = try World(json: Data(#"{ "mdns": [ { "name": "printer", "service": "_ipp._tcp", "port": 631 } ] }"#.utf8))
        XCTAssertEqual(w.mdns.first?.address, "10.0.2.100")
        XCTAssertThrowsError(try World(json: Data(#"{ "mdns": [ { "name": "printer", "service": "ipp", "port": 631 } ] }"#.utf8))) {
            XCTAssertTrue("\($0)".contains("mdns[0].service"), "\($0)")
        }
    }
}
