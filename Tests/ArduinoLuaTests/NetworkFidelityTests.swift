import BoardCore
import BoardNet
import BoardTesting
import XCTest

@testable import ArduinoLua

/// The core's TCP semantics against the wire (segments tapped at the netif),
/// the pcb table and the heap, in virtual time with in-process visitors.
final class NetworkFidelityTests: XCTestCase {
    static let classroom = #"{ "ssid": "classroom", "password": "esp8266rocks" }"#
    static let join = """

        local function join()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
        end

        """

    /// WiFiServer's backlog (5): SYNs beyond it get no answer at all (no SYN-ACK,
    /// no RST) and are retransmitted by the peer; accepting frees the slots.
    func testSYNsBeyondTheBacklogAreDroppedSilentlyUntilAccepted() throws {
        var wire: WireRecorder!
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(80)
                local kept = {}
                function setup() join(); server:begin() end
                local reported = false
                function loop()
                  if millis() >= 6000 and not reported then
                    reported = true
                    print("pending full: " .. tostring(server:hasMaxPendingClients()))
                  end
                  if millis() >= 8000 then
                    local c = server:accept()
                    if c then kept[#kept + 1] = c; print("accepted " .. #kept) end
                  end
                  delay(1)
                end
                """, for: seconds(40),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 80, "at": "4s", "every": "10ms", "count": 7, "close": "never" } ] }
                """, prepare: { wire = WireRecorder($0) })
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("pending full: true"), run.transcript)
        XCTAssertTrue(run.transcript.contains("accepted 7"), run.transcript)
        let bootMicros: UInt64 = 8_000_000
        let peers = Array(Set(wire.segments.filter { !$0.outbound && $0.syn }.map(\.sourcePort))).sorted()
        XCTAssertEqual(peers.count, 7)
        var answeredBefore8s = 0
        for port in peers {
            let syns = wire.segments.filter { !$0.outbound && $0.syn && $0.sourcePort == port }
            let synAcks = wire.segments.filter { $0.outbound && $0.syn && $0.ack && $0.destinationPort == port }
            XCTAssertFalse(wire.segments.contains { $0.outbound && $0.rst && $0.destinationPort == port }, "never an RST")
            guard let firstAnswer = synAcks.first else { return XCTFail("port \(port) never answered") }
            if firstAnswer.time < bootMicros {
                answeredBefore8s += 1
                XCTAssertEqual(syns.count, 1)
            } else {
                XCTAssertGreaterThan(syns.count, 1, "the peer retransmitted its SYN while the backlog was full")
                XCTAssertTrue(
                    syns.dropLast().allSatisfy { s in !synAcks.contains { $0.time >= s.time && $0.time < syns[syns.firstIndex(of: s)! + 1].time } },
                    "earlier SYNs got no answer")
            }
        }
        XCTAssertEqual(answeredBefore8s, 5, "backlog 5")
    }

    /// A sketch that hoards idle connections exhausts the heap; the next SYN makes
    /// lwIP's tcp_alloc reset the oldest TCP_PRIO_MIN connection to admit it.
    func testHeapExhaustionMakesLwIPResetTheOldestConnection() throws {
        var wire: WireRecorder!
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(80)
                local kept = {}
                function setup() join(); server:begin() end
                local reported = false
                function loop()
                  local c = server:accept()
                  if c then
                    kept[#kept + 1] = c
                    print(string.format("accepted #%d port %d heap %d", #kept, c:remotePort(), ESP.getFreeHeap()))
                  end
                  if millis() >= 9000 and not reported then
                    reported = true
                    local dead = {}
                    for i, k in ipairs(kept) do if k:status() == 0 then dead[#dead + 1] = i end end
                    print("reset by lwIP: " .. table.concat(dead, ","))
                  end
                  delay(1)
                end
                """, for: seconds(10),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 80, "at": "4s", "every": "20ms", "count": 204, "close": "never" } ] }
                """, prepare: { wire = WireRecorder($0) })
        defer { run.finish() }
        let lines = run.transcript.split(separator: "\n").map(String.init)
        let accepted = lines.filter { $0.hasPrefix("accepted #") }
        XCTAssertEqual(accepted.count, 204, "every visitor got in")
        XCTAssertTrue(lines.contains("reset by lwIP: 1"), run.transcript)
        // the first connection is the one reset, by an RST the sketch never asked for
        let firstPort = try XCTUnwrap(accepted.first?.split(separator: " ")[3]).description
        let resets = wire.segments.filter { $0.outbound && $0.rst }
        XCTAssertEqual(resets.map { String($0.destinationPort) }, [firstPort])
        // ... while admitting the last one: its SYN arrived just before, its SYN-ACK right after
        let lastPort = try XCTUnwrap(accepted.last?.split(separator: " ")[3]).description
        let lastSyn = try XCTUnwrap(wire.segments.first { !$0.outbound && $0.syn && String($0.sourcePort) == lastPort })
        let lastSynAck = try XCTUnwrap(wire.segments.first { $0.outbound && $0.syn && String($0.destinationPort) == lastPort })
        XCTAssertLessThanOrEqual(lastSyn.time, resets[0].time)
        XCTAssertLessThanOrEqual(resets[0].time, lastSynAck.time)
        // and the heap before that SYN could not hold another 192-byte pcb beside the SYN's pbuf
        let heapBefore = try XCTUnwrap(Int(try XCTUnwrap(accepted.dropLast().last?.split(separator: " ").last)))
        XCTAssertLessThan(heapBefore, Heap.cost(of: 184) + Heap.cost(of: 16 + 58))
    }

    /// availableForWrite() is tcp_sndbuf: TCP_SND_BUF (2*536) on a fresh connection;
    /// keepAlive() sets SOF_KEEPALIVE with the given times; stopAll() stops every client.
    func testClientAPIOnAnOutgoingConnection() throws {
        let run = try SketchHarness.run(
            source: Self.join + """
                function setup()
                  join()
                  local baseline = ESP.getFreeHeap()
                  local a, b = WiFiClient(), WiFiClient()
                  print("connect", a:connect("echo.world", 7), b:connect("10.0.2.100", 7))
                  print("sndbuf", a:availableForWrite(), "status", a:status(), a:connected())
                  print("keepalive", a:isKeepAliveEnabled())
                  a:keepAlive(10, 2, 3)
                  print("keepalive", a:isKeepAliveEnabled(), a:getKeepAliveIdle(), a:getKeepAliveInterval(), a:getKeepAliveCount())
                  print("local", a:localIP(), a:localPort() > 0, "remote", a:remoteIP(), a:remotePort())
                  WiFiClient.stopAll()
                  print("after stopAll", a:status(), b:status())
                  delay(500)
                  a, b = nil, nil
                  collectgarbage()
                  tcpCleanup()
                  delay(1000)
                  print("heap back", ESP.getFreeHeap() == baseline)
                end
                function loop() delay(1000) end
                """, for: seconds(10),
            world: """
                { "accessPoints": [\(Self.classroom)], "services": [ { "name": "echo.world", "port": 7 } ] }
                """)
        defer { run.finish() }
        XCTAssertEqual(
            run.transcript,
            """
            connect\ttrue\ttrue
            sndbuf\t1072\tstatus\t4\ttrue
            keepalive\tfalse
            keepalive\ttrue\t10\t2\t3
            local\t10.0.2.15\ttrue\tremote\t10.0.2.100\t7
            after stopAll\t0\t0
            heap back\ttrue

            """)
    }

    /// Every lwIP allocation and every byte of heap is given back once the sketch
    /// has closed what it opened (after 10 connections and 10 datagrams).
    func testNothingOutlivesAScenario() throws {
        let run = try SketchHarness.run(
            source: Self.join + """
                local server, udp = WiFiServer(80), WiFiUDP()
                local count, bytes, heap
                function setup()
                  join()
                  count, bytes = lwip.allocations()
                  heap = ESP.getFreeHeap()
                  server:begin(); udp:begin(1200)
                end
                local done = false
                function loop()
                  local c = server:accept()
                  if c then c:readStringUntil("\\n"); c:print("hi\\r\\n"); c:stop() end
                  local n = udp:parsePacket()
                  if n > 0 then udp:beginPacket(udp:remoteIP(), udp:remotePort()); udp:write(udp:read(n)); udp:endPacket() end
                  if millis() >= 6000 and not done then
                    done = true
                    print("during", ESP.getFreeHeap() < heap)
                    server:stop(); udp:stop(); c = nil; collectgarbage(); tcpCleanup()
                    delay(2000)   -- lwIP's TCP timer retires once no pcb needs it
                    local c2, b2 = lwip.allocations()
                    print("allocations", c2 - count, b2 - bytes, "heap", ESP.getFreeHeap() - heap)
                  end
                  delay(1)
                end
                """, for: seconds(9),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 80, "at": "4s", "every": "100ms", "count": 10, "send": "GET /\\r\\n" },
                                { "protocol": "udp", "port": 1200, "at": "4s", "every": "100ms", "count": 10, "send": "x" } ] }
                """)
        defer { run.finish() }
        XCTAssertEqual(run.device.network.visitReports.count, 20, run.log.joined(separator: "\n"))
        XCTAssertEqual(run.transcript, "during\ttrue\nallocations\t0\t0\theap\t0\n")
    }

    /// A world file with a mistake is refused with the file and the field named.
    func testABadWorldFileIsAClearError() throws {
        XCTAssertThrowsError(
            try SketchHarness.run(
                source: "function setup() end function loop() end", for: seconds(1),
                world: #"{ "visitors": [ { "port": 0 } ] }"#)
        ) { error in
            let text = "\(error)"
            XCTAssertTrue(text.contains("visitors[0].port must be 1 to 65535"), text)
            XCTAssertTrue(text.contains(".world.json"), text)
        }
        XCTAssertThrowsError(
            try SketchHarness.run(
                source: "function setup() end function loop() end", for: seconds(1),
                world: "{ nope")
        ) { error in
            XCTAssertTrue("\(error)".contains("not valid JSON"), "\(error)")
        }
    }
}
