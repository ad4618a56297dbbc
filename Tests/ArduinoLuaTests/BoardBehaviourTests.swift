import BoardCore
import BoardTesting
import XCTest

@testable import ArduinoLua
@testable import BoardNet

/// Places where a sketch's board behaves by the ESP8266 core's code (3.1.2,
/// esp8266/Arduino at tag 3.1.2; paths under libraries/ESP8266WiFi/src unless
/// said otherwise), each asserted against what that code does.
final class BoardBehaviourTests: XCTestCase {
    static let classroom = #"{ "ssid": "classroom", "password": "esp8266rocks" }"#
    static let join = """

        local function join()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
        end

        """

    /// One UDP datagram as the board's netif saw it.
    struct Datagram {
        let outbound: Bool
        let sourcePort: UInt16
        let destinationPort: UInt16
        let payload: [UInt8]
    }

    /// Records the UDP datagrams of a device (install before `run()`).
    final class UDPRecorder {
        var datagrams: [Datagram] = []
        var subscription: BoardEvents.Subscription?
        init(_ device: Device) {
            subscription = device.board.events.subscribe(.frame) { [unowned self] _, event in
                guard case .frame(let outbound, let f) = event, f.count >= 42, f[12] == 0x08, f[13] == 0x00, f[23] == 17 else { return }
                let udp = 14 + Int(f[14] & 0x0f) * 4
                let length = Int(f[udp + 4]) << 8 | Int(f[udp + 5])
                datagrams.append(
                    Datagram(
                        outbound: outbound, sourcePort: UInt16(f[udp]) << 8 | UInt16(f[udp + 1]),
                        destinationPort: UInt16(f[udp + 2]) << 8 | UInt16(f[udp + 3]),
                        payload: Array(f[(udp + 8)..<(udp + length)])))
            }
        }
    }

    // MARK: UDP

    /// UdpContext.h:512-583 (`_recv`): a datagram is dropped when the receive chain
    /// already holds `rxBufMaxDepth * 2` = 8 pbufs (the walk at l.521 stops at the
    /// 8th). lwIP hands each datagram over as one pbuf (a frame is one PBUF_RAM
    /// pbuf, udp_input only moves its payload), the first of an empty chain takes
    /// no address helper (l.565-576), every later one a helper pbuf (l.548-563):
    /// 1 + 2 + 2 + 2 = 7 pbufs hold 4 datagrams, the 5th still goes in (9), the 6th
    /// and 7th are dropped. The datagram being read stays at the head of the chain
    /// until the next `parsePacket()` (`next()`, l.259-312), so it counts.
    func testTheUDPChainKeepsFiveDatagramsTheOneBeingReadIncluded() throws {
        let run = try SketchHarness.run(
            source: Self.join + """
                local udp = WiFiUDP()
                function setup() join(); udp:begin(1200) end
                local phase = 0
                local function drain(label)
                  local n = 0
                  while udp:parsePacket() > 0 do n = n + 1 end
                  print(label .. " " .. n)
                end
                function loop()
                  if phase == 0 and millis() >= 4900 then
                    phase = 1
                    delayMicroseconds(1000000)   -- 7 datagrams arrive while nothing is read
                    delay(10)
                    drain("burst of 7 kept")
                  elseif phase == 1 and millis() >= 6900 then
                    phase = 2
                    delay(200)                   -- one datagram arrives
                    print("reading one of " .. udp:parsePacket() .. " bytes, 1 byte read: " .. udp:read())
                    delayMicroseconds(1000000)   -- 6 more while it is being read
                    delay(10)
                    drain("then kept behind it")
                  end
                  delay(1)
                end
                """, for: seconds(10),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "protocol": "udp", "port": 1200, "at": "5s", "every": "100ms", "count": 7, "send": "burst" },
                                { "protocol": "udp", "port": 1200, "at": "7s", "send": "first" },
                                { "protocol": "udp", "port": 1200, "at": "7.3s", "every": "100ms", "count": 6, "send": "more" } ] }
                """)
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("burst of 7 kept 5"), run.transcript)
        XCTAssertTrue(run.transcript.contains("reading one of 5 bytes, 1 byte read: 102"), run.transcript)
        XCTAssertTrue(run.transcript.contains("then kept behind it 4"), run.transcript)
    }

    /// WiFiUdp.cpp:228-231: `flush()` is `endPacket()`, which sends the buffer to the
    /// destination `beginPacket` left in the pcb (UdpContext.h:95-106, 403-460): a
    /// second flush sends an empty datagram there; nothing received is discarded.
    func testUDPFlushSendsThePacketAsEndPacketDoes() throws {
        var udp: UDPRecorder!
        let run = try SketchHarness.run(
            source: Self.join + """
                local udp = WiFiUDP()
                function setup()
                  join(); udp:begin(1200)
                  udp:beginPacket("10.0.2.2", 5555); udp:write("hi"); udp:flush()
                  udp:flush()
                  print("done")
                end
                function loop() delay(10) end
                """, for: seconds(5), world: #"{ "accessPoints": [\#(Self.classroom)] }"#, prepare: { udp = UDPRecorder($0) })
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("done"), run.transcript)
        let sent = udp.datagrams.filter { $0.outbound && $0.destinationPort == 5555 }
        XCTAssertEqual(sent.map(\.payload), [Array("hi".utf8), []])
    }

    // MARK: Print

    /// Print.cpp:238-242 and 180-182: `println(x)` is `print(x)` then `println()`,
    /// which is `print("\r\n")`: two writes, each a `tcp_write` + `tcp_output` in
    /// ClientContext (`_write_some`). With Nagle on (the default, WiFiClient.h
    /// `defaultNoDelay = false`), the second waits for the ACK of the first: two
    /// segments on the wire, 5 and 2 bytes.
    func testPrintlnIsTwoWritesSoNagleSendsTwoSegments() throws {
        var wire: WireRecorder!
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(80)
                function setup() join(); server:begin() end
                function loop()
                  local c = server:accept()
                  if c then
                    print("wrote " .. c:println("hello"))
                    c:stop()
                  end
                  delay(1)
                end
                """, for: seconds(8),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 80, "at": "5s", "send": "", "close": "after-device" } ] }
                """, prepare: { wire = WireRecorder($0) })
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("wrote 7"), run.transcript)
        let data = wire.segments.filter { $0.outbound && $0.payload > 0 }
        XCTAssertEqual(data.map(\.payload), [5, 2], wire.segments.map(\.description).joined(separator: "\n"))
        // in the order the netif saw them: the peer's ACK of the 5 bytes comes before the 2
        let order = wire.segments.map { ($0.outbound, $0.payload) }
        let first = try XCTUnwrap(order.firstIndex { $0.0 && $0.1 == 5 })
        let second = try XCTUnwrap(order.firstIndex { $0.0 && $0.1 == 2 })
        XCTAssertTrue(order[(first + 1)..<second].contains { !$0.0 }, "Nagle held the CR LF until the ACK")
    }

    // MARK: WiFiClient

    /// WiFiClient.cpp:390-395: `stopAll()` walks the SList of WiFiClient objects,
    /// which `_add` fills at the head (include/slist.h:11-15): newest first. A
    /// connection still queued in a server (`_unclaimed`, WiFiServer.cpp `_accept`)
    /// is a ClientContext without a WiFiClient, so it is not in the list.
    func testStopAllStopsHandlesNewestFirstAndLeavesTheServersQueue() throws {
        var wire: WireRecorder!
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(80)
                local a, b
                function setup() join(); server:begin() end
                local done = false
                function loop()
                  if not done and millis() >= 8000 then
                    done = true
                    a = server:accept(); b = server:accept()
                    print("older " .. a:remotePort() .. " newer " .. b:remotePort())
                    WiFiClient.stopAll()
                    print("statuses " .. a:status() .. " " .. b:status())
                    local c = server:accept()
                    print("queued one: status " .. c:status() .. ", connected " .. tostring(c:connected()))
                  end
                  delay(1)
                end
                """, for: seconds(10),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 80, "at": "5s", "every": "500ms", "count": 3, "send": "x", "close": "never" } ] }
                """, prepare: { wire = WireRecorder($0) })
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("statuses 0 0"), run.transcript)  // stopped: no pcb, CLOSED
        XCTAssertTrue(run.transcript.contains("queued one: status 4, connected true"), run.transcript)
        let line = try XCTUnwrap(run.transcript.split(separator: "\n").first { $0.hasPrefix("older") })
        let ports = line.split(separator: " ").compactMap { UInt16($0) }
        XCTAssertEqual(ports.count, 2)
        // each had unread data ("x"), so tcp_close answers with an RST (reference §2)
        let ends = wire.segments.filter { $0.outbound && ($0.fin || $0.rst) }.map(\.destinationPort)
        XCTAssertEqual(Array(ends.prefix(2)), [ports[1], ports[0]], "the newer one first")
    }

    /// ClientContext.h:381-411: `keepAlive(idle, intv, count)` sets SOF_KEEPALIVE only
    /// when all three are non-zero, else clears it; the getters read 0 while it is
    /// off and round the pcb's milliseconds to seconds; `disableKeepAlive()` is
    /// `keepAlive(0, 0, 0)` (WiFiClient.h).
    func testKeepAliveGettersReadZeroWhileOffAndZeroTurnsItOff() throws {
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(80)
                function setup() join(); server:begin() end
                local function show(c, what)
                  print(what .. ": " .. tostring(c:isKeepAliveEnabled()) .. " " .. c:getKeepAliveIdle() .. " "
                    .. c:getKeepAliveInterval() .. " " .. c:getKeepAliveCount())
                end
                function loop()
                  local c = server:accept()
                  if c then
                    show(c, "fresh")
                    c:keepAlive(); show(c, "default")
                    c:keepAlive(0, 5, 3); show(c, "idle 0")
                    c:keepAlive(30, 5, 3); show(c, "30 5 3")
                    c:disableKeepAlive(); show(c, "disabled")
                    c:stop()
                  end
                  delay(1)
                end
                """, for: seconds(7),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 80, "at": "5s", "send": "x", "close": "after-device" } ] }
                """)
        defer { run.finish() }
        for expected in [
            "fresh: false 0 0 0", "default: true 7200 75 9", "idle 0: false 0 0 0", "30 5 3: true 30 5 3", "disabled: false 0 0 0",
        ] {
            XCTAssertTrue(run.transcript.contains(expected), "\(expected)\n\(run.transcript)")
        }
    }

    /// WiFiClient.cpp:145-175: when `ClientContext::connect` fails, the client drops
    /// its only reference (`_client->unref()`, l.166), which deletes the context at
    /// once; the handle holds nothing afterwards.
    func testAFailedConnectFreesItsClientContextAtOnce() throws {
        let run = try SketchHarness.run(
            source: Self.join + """
                function setup()
                  join()
                  local c = WiFiClient()
                  local before = ESP.getFreeHeap()
                  local ok = c:connect("10.0.2.2", 1)
                  delay(1000)   -- lwIP's own leftovers of the refused SYN go too
                  print("connected " .. tostring(ok) .. ", heap kept " .. (before - ESP.getFreeHeap()) .. ", status " .. c:status())
                  keep = c      -- the handle stays referenced: only the context is gone
                end
                function loop() delay(10) end
                """, for: seconds(8), world: #"{ "accessPoints": [\#(Self.classroom)] }"#)
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("connected false, heap kept 0, status 0"), run.transcript)
        XCTAssertFalse(run.device.board.heap.liveAllocations.contains { $0.owner == "ClientContext" })
    }

    // MARK: WiFiServer

    /// WiFiServer.cpp:62-66: `begin(port, backlog)` closes, then returns when the
    /// backlog (a uint8_t: 256 is 0) is 0, before it even takes the new port:
    /// nothing listens. The default backlog is MAX_PENDING_CLIENTS_PER_PORT (5).
    func testBeginWithABacklogOfZeroDoesNotListen() throws {
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(80)
                function setup()
                  join()
                  print("begin(81, 0): " .. tostring(server:begin(81, 0)) .. ", status " .. server:status() .. ", port " .. server:port())
                  print("begin(81, 256): " .. tostring(server:begin(81, 256)) .. ", status " .. server:status())
                  print("begin(81): " .. tostring(server:begin(81)) .. ", status " .. server:status() .. ", port " .. server:port())
                  print("begin(82, 0) after: " .. tostring(server:begin(82, 0)) .. ", status " .. server:status() .. ", port " .. server:port())
                end
                function loop() delay(10) end
                """, for: seconds(5), world: #"{ "accessPoints": [\#(Self.classroom)] }"#)
        defer { run.finish() }
        for expected in [
            "begin(81, 0): false, status 0, port 80", "begin(81, 256): false, status 0", "begin(81): true, status 1, port 81",
            "begin(82, 0) after: false, status 0, port 81",
        ] {
            XCTAssertTrue(run.transcript.contains(expected), "\(expected)\n\(run.transcript)")
        }
    }

    // MARK: WiFi

    /// ESP8266WiFiScan.cpp:69-136: `scanComplete()` is WIFI_SCAN_FAILED (-2) before a
    /// scan and after `scanDelete()`, WIFI_SCAN_RUNNING (-1) while one runs (an
    /// async `scanNetworks(true)` returns -1 at once, l.94-97; another scan then
    /// returns -1, l.70-72), and the count once `_scanDone` ran (l.315-331).
    func testScanCompleteTracksAScan() throws {
        let run = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.mode(WIFI_STA)
                  print("before: " .. WiFi.scanComplete())
                  print("async: " .. WiFi.scanNetworks(true) .. ", running: " .. WiFi.scanComplete() .. ", again: " .. WiFi.scanNetworks())
                  delay(2000)
                  print("done: " .. WiFi.scanComplete() .. ", first " .. WiFi.SSID(0))
                  WiFi.scanDelete()
                  print("deleted: " .. WiFi.scanComplete())
                  print("blocking: " .. WiFi.scanNetworks(false, true) .. ", complete: " .. WiFi.scanComplete())
                end
                function loop() delay(10) end
                """, for: seconds(6),
            world: """
                { "accessPoints": [ { "ssid": "classroom", "channel": 6 }, { "ssid": "cafe", "channel": 1 },
                                    { "ssid": "backstage", "channel": 3, "hidden": true } ] }
                """)
        defer { run.finish() }
        for expected in ["before: -2", "async: -1, running: -1, again: -1", "done: 2, first cafe", "deleted: -2", "blocking: 3, complete: 3"] {
            XCTAssertTrue(run.transcript.contains(expected), "\(expected)\n\(run.transcript)")
        }
    }

    /// ESP8266WiFiSTA.cpp:133-149: `begin` refuses only an SSID that is empty or
    /// over 32 characters (WL_CONNECT_FAILED) and a passphrase over 64
    /// (WL_WRONG_PASSWORD), by its return value; a short passphrase goes to the SDK,
    /// and against an access point with another password the station never joins.
    func testAShortPassphraseIsNoErrorTheBoardJustNeverJoins() throws {
        let run = try SketchHarness.run(
            source: """
                function setup()
                  print("long: " .. WiFi.begin("classroom", string.rep("x", 65)))
                  print("no ssid: " .. WiFi.begin(""))
                  print("short: " .. WiFi.begin("classroom", "1234"))
                  delay(8000)
                  print("after 8 s: " .. WiFi.status())
                end
                function loop() delay(10) end
                """, for: seconds(10), world: #"{ "accessPoints": [\#(Self.classroom)] }"#)
        defer { run.finish() }
        for expected in ["long: 6", "no ssid: 4", "short: 7", "after 8 s: 6"] {
            XCTAssertTrue(run.transcript.contains(expected), "\(expected)\n\(run.transcript)")
        }
    }

    // MARK: the heap when the sketch lets go

    /// WiFiClient.cpp:117-128 and ClientContext.h `unref()`: assigning another value
    /// to a WiFiClient drops its reference, and the ClientContext is deleted when
    /// its last reference goes. The SDK guide's TCP server (accept, answer, stop,
    /// forget the client) serves three clients a second apart, with Lua's own
    /// collector stopped and without reading the heap itself: each ClientContext is
    /// freed before the next client comes (never two at once), and once the three
    /// TIME_WAIT pcbs expire (2·MSL = 120 s) the heap is back to what it was before
    /// the first client, to the byte.
    func testTheHeapIsBackToTheByteAfterThreeClientsSetToNil() throws {
        var contexts = 0
        var mostContexts = 0
        var subscription: BoardEvents.Subscription?
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(1000)
                local client = nil
                function setup()
                  collectgarbage("stop")   -- only esplua's own collections run
                  join(); server:begin()
                  print("baseline " .. ESP.getFreeHeap())
                end
                function loop()
                  if client == nil then
                    client = server:accept()
                  elseif client:available() > 0 then   -- a later pass than accept()
                    local line = client:readStringUntil("\\n")
                    client:print("echo " .. line .. "\\n")
                    client:stop()
                    client = nil
                  end
                  delay(1)
                end
                """, for: seconds(200),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 1000, "at": "5s", "every": "1s", "count": 3, "send": "hello\\n", "close": "after-device" } ] }
                """,
            prepare: { device in
                subscription = device.board.events.subscribe(.heap) { _, _ in
                    contexts = device.board.heap.liveAllocations.filter { $0.owner == "ClientContext" }.count
                    mostContexts = max(mostContexts, contexts)
                }
            })
        defer { run.finish() }
        _ = subscription
        let baseline = try XCTUnwrap(
            run.transcript.split(separator: "\n").first { $0.hasPrefix("baseline") }.flatMap { Int($0.split(separator: " ")[1]) }, run.transcript)
        XCTAssertEqual(run.transcript.components(separatedBy: "echo").count, 1, "the sketch prints only its baseline")
        XCTAssertEqual(mostContexts, 1, "each context went with its client = nil")
        XCTAssertEqual(run.device.board.heap.freeBytes, baseline)
        XCTAssertTrue(run.device.network.clients.isEmpty, "every ClientContext was freed")
    }

    /// The same, read by the sketch in the pass that lets go: `client:stop()` with
    /// "x" unread is an RST (tcp_close frees the pcb at once), `client = nil` frees
    /// the context, so `ESP.getFreeHeap()` right after is short only of lwIP's TCP
    /// timer (a 16-B sys_timeout, 24 B of heap), which lwIP frees at its next tick
    /// when no pcb is left (lwIP 2.1.3 src/core/timeouts.c:144-155).
    func testAHeapReadInThePassThatLetsGoSeesTheContextGone() throws {
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(80)
                local client, baseline
                function setup() collectgarbage("stop"); join(); server:begin(); baseline = ESP.getFreeHeap() end
                function loop()
                  if client == nil then
                    client = server:accept()
                  else
                    client:stop()
                    client = nil
                    print("same pass: " .. (baseline - ESP.getFreeHeap()) .. " B short")
                    delay(500)
                    print("500 ms later: " .. (baseline - ESP.getFreeHeap()) .. " B short")
                  end
                  delay(1)
                end
                """, for: seconds(7),
            world: """
                { "accessPoints": [\(Self.classroom)],
                  "visitors": [ { "port": 80, "at": "5s", "send": "x", "close": "never" } ] }
                """)
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("same pass: 24 B short"), run.transcript)
        XCTAssertTrue(run.transcript.contains("500 ms later: 0 B short"), run.transcript)
    }

    // MARK: end

    /// Every `end()` of the core (HardwareSerial.h:94, SPI.h:57, FS.h:220,
    /// WiFiServer.h after 3.1.2) is `end_()` in Lua, beside `["end"]()`.
    func testEndIsSpelledEndUnderscore() throws {
        let run = try SketchHarness.run(
            source: """
                local SPI = require("SPI")
                local LittleFS = require("LittleFS")
                local server = WiFiServer(80)
                function setup()
                  print(type(Serial.end_), type(Serial["end"]), type(SPI.end_), type(LittleFS.end_), type(server.end_))
                  print(Serial.end_ == Serial["end"], server.end_ == server["end"])
                  server:begin(); server:end_(); print("server status " .. server:status())
                  SPI.begin(); SPI.end_(); LittleFS.begin(); LittleFS.end_()
                  print("ok")
                end
                function loop() delay(10) end
                """, for: seconds(1))
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("function\tfunction\tfunction\tfunction\tfunction"), run.transcript)
        XCTAssertTrue(run.transcript.contains("true\ttrue"), run.transcript)
        XCTAssertTrue(run.transcript.contains("server status 0"), run.transcript)
        XCTAssertTrue(run.transcript.contains("ok"), run.transcript)
    }
}
