import BoardCore
import BoardNet
import BoardTesting
import Foundation
import XCTest

@testable import ArduinoLua

/// The board's run loop (BoardLoop): the core's esp_delay / yield /
/// optimistic_yield / loop_wrapper (cores/esp8266/core_esp8266_main.cpp,
/// coredecls.h), idle sleeping, the event stream and the command inbox.
final class RunLoopTests: XCTestCase {
    static let classroom = #"{ "accessPoints": [ { "ssid": "classroom", "password": "esp8266rocks", "channel": 6 } ] }"#
    /// Lua: joins the classroom network (the sketches below call it first in setup()).
    static let join = """
        local function join()
          WiFi.begin("classroom", "esp8266rocks")
          while WiFi.status() ~= WL_CONNECTED do delay(100) end
        end

        """
    /// Lua: the smallest HTTP server: loop() returns at once when no one calls;
    /// it reads the whole request (unread bytes would turn stop() into a RST).
    static let server =
        join + """
            local server = WiFiServer(80)
            function setup()
              join()
              server:begin()
            end
            function loop()
              local c = server:accept()
              if not c then return end
              repeat local l = c:readStringUntil("\\n") until l == "\\r" or l == ""
              c:print("HTTP/1.0 200 OK\\r\\n\\r\\nhi")
              c:stop()
              print("served at " .. millis() // 1000)
            end
            """

    /// ESP8266WiFiScan.cpp scans inside esp_suspend: the SDK runs and feeds the
    /// dog, so two scans (2 x 1.68 s) and a second of work in setup() are fine on a board.
    func testTwoScansBackToBackThenAShortLoopDoNotBiteTheWatchdog() throws {
        let run = try SketchHarness.run(
            source: """
                function setup()
                  print("found " .. WiFi.scanNetworks() .. " and " .. WiFi.scanNetworks())
                  local t = millis()
                  while millis() - t < 1000 do end
                  print("done at " .. millis())
                end
                function loop() delay(100) end
                """, for: seconds(8), world: Self.classroom)
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished, run.transcript)
        XCTAssertTrue(run.transcript.contains("found 1 and 1"), run.transcript)
        XCTAssertTrue(run.transcript.contains("done at "), run.transcript)
        XCTAssertFalse(run.transcript.contains("Soft WDT"))
    }

    /// A busy loop() that never returns still starves the dog (3.2 s), idle sleeping or not.
    func testABusyLoopStillBitesAfter3200ms() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() end
                function loop() local x = 0; while true do x = x + 1 end end
                """, for: seconds(10))
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .crashed(.softWatchdog))
        XCTAssertGreaterThanOrEqual(run.device.board.uptimeMicros, 3_200_000)
        XCTAssertLessThan(run.device.board.uptimeMicros, 3_400_000)
    }

    /// The polling loops of the core's own examples (WiFiClient.ino: `while
    /// (!client.available())`) run on a board: available() (WiFiClient.cpp:253-255),
    /// accept() (WiFiServer.cpp:150), parsePacket() (WiFiUdp.cpp:197) and
    /// Serial.available() (HardwareSerial.cpp:104-111) call optimistic_yield, and a
    /// yield feeds the watchdog. Each loop waits 60 s of board time for what comes at 5 s.
    func testPollingLoopsYieldAndFeedTheWatchdog() throws {
        let world = #"""
            { "accessPoints": [ { "ssid": "classroom", "password": "esp8266rocks" } ],
              "visitors": [ { "port": 80, "at": "5s", "send": "hi\n", "close": "after-device" },
                            { "port": 81, "at": "10s", "send": "Q", "close": "after-device" },
                            { "protocol": "udp", "port": 1200, "at": "5s", "send": "ping" } ] }
            """#
        let run = try SketchHarness.run(
            source: Self.join + """
                local server, second, udp = WiFiServer(80), WiFiServer(81), WiFiUDP()
                function setup()
                  join()
                  server:begin(); second:begin(); udp:begin(1200)
                  local client
                  repeat client = server:accept() until client
                  print("accepted at " .. millis() // 1000)
                  while client:available() == 0 do end
                  print("read " .. client:readStringUntil("\\n") .. " at " .. millis() // 1000)
                  client:stop()
                  while udp:parsePacket() == 0 do end
                  print("datagram " .. udp:read(4))
                  local other
                  repeat other = second:available() until other
                  local b
                  repeat b = other:read() until b ~= -1    -- read() polls too (WiFiClient.cpp:259-265)
                  print("byte " .. string.char(b) .. " at " .. millis() // 1000)
                  other:stop()
                  while Serial.available() == 0 do end
                  print("serial " .. string.char(Serial.read()) .. " at " .. millis() // 1000)
                end
                function loop() delay(1000) end
                """, for: seconds(70), world: world,
            prepare: { device in
                device.board.timers.schedule(at: 40_000_000) { device.board.uart.receive(Array("x".utf8)) }
            })
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished, run.transcript)
        XCTAssertTrue(run.transcript.contains("accepted at 5\n"), run.transcript)
        XCTAssertTrue(run.transcript.contains("read hi at 5\n"), run.transcript)
        XCTAssertTrue(run.transcript.contains("datagram ping\n"), run.transcript)
        XCTAssertTrue(run.transcript.contains("byte Q at 10\n"), run.transcript)
        XCTAssertTrue(run.transcript.contains("serial x at 40\n"), run.transcript)
        XCTAssertFalse(run.transcript.contains("Soft WDT"))
    }

    /// An idle server (loop() returns at once, nothing to do) sleeps until its next
    /// event instead of spinning: a board would make ~5 M passes in a minute.
    func testAnIdleServerSleepsUntilItsNextEvent() throws {
        let world = #"""
            { "accessPoints": [ { "ssid": "classroom", "password": "esp8266rocks" } ],
              "visitors": [ { "port": 80, "at": "30s", "send": "GET / HTTP/1.0\r\n\r\n" } ] }
            """#
        let run = try SketchHarness.run(source: Self.server, for: seconds(60), world: world)
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("served at 30\n"), run.transcript)
        XCTAssertLessThan(run.device.board.loop.passes, 20_000, "an idle board does not spin")
        XCTAssertGreaterThan(run.device.board.loop.idleWaits, 0)
        // a sleeping board answers at once: the visit (connect, request, page, close)
        // takes a few round trips, not a wait for lwIP's next timer (250 ms)
        let visit = try XCTUnwrap(run.device.network.visitReports.first)
        XCTAssertEqual(visit.ending, .deviceClosed)
        XCTAssertLessThan(visit.endedAt - visit.startedAt, 5_000, "\(visit)")
    }

    /// lwIP's igmp_tmr (every IGMP_TMR_INTERVAL, 100 ms) and dhcp_fine_tmr (500 ms) only
    /// count down timers that are running (igmp.c igmp_tmr, dhcp.c dhcp_fine_tmr): while
    /// none is, an idle board sleeps through their ticks and wakes about once a second
    /// (etharp_tmr, dns_tmr, ip_reass_tmr) instead of twelve times. A group joined after a
    /// long sleep still gets both reports: igmp_joingroup_netif sends one at once and starts
    /// the group's timer at 1..4 ticks (igmp_start_timer: LWIP_RAND() % 5, 0 becomes 1,
    /// IGMP_JOIN_DELAYING_MEMBER_TMR = 500 / 100); its expiry sends the second.
    func testIdleCyclicTimersLetTheBoardSleepAndStillTickWhenTheyHaveWork() throws {
        let sketch =
            Self.join + """
                local go, joined = false, false
                local t = Ticker()
                function setup()
                  join()
                  t:once_ms(20000, function() go = true end)
                end
                function loop()
                  if go and not joined then
                    joined = true
                    MDNS.begin("esp")
                    print("joined at " .. millis())
                  end
                end
                """
        final class Reports: @unchecked Sendable { var at: [UInt64] = [] }
        let reports = Reports()
        let run = try SketchHarness.run(
            source: sketch, for: seconds(25), world: Self.classroom,
            prepare: { device in
                _ = device.board.events.subscribe(.frame) { time, event in
                    // IPv4, protocol IGMP, header with Router Alert (24 B): v2 report (0x16) for 224.0.0.251
                    guard case .frame(outbound: true, let f) = event, f.count >= 46, f[12] == 8, f[13] == 0, f[23] == 2
                    else { return }
                    let igmp = 14 + Int(f[14] & 0x0f) * 4
                    if f.count >= igmp + 8, f[igmp] == 0x16, Array(f[(igmp + 4)..<(igmp + 8)]) == [224, 0, 0, 251] {
                        reports.at.append(time)
                    }
                }
            })
        defer { run.finish() }
        XCTAssertTrue(run.transcript.contains("joined at 2"), run.transcript)  // 20 s after setup() (~2.5 s to join)
        print("idle waits: \(run.device.board.loop.idleWaits), IGMP reports at \(reports.at) µs")
        // ~20 s idle before the join and 5 s of mDNS probing and announcing after it:
        // once a second while idle; lwIP's 100 ms and 500 ms ticks would be ~240 waits
        XCTAssertLessThan(run.device.board.loop.idleWaits, 90, "an idle board sleeps through no-op lwIP ticks")
        XCTAssertEqual(reports.at.count, 2, "the join's report and the delayed one: \(reports.at)")
        if reports.at.count == 2 {
            XCTAssertGreaterThanOrEqual(reports.at[0], 20_000_000)
            let gap = reports.at[1] - reports.at[0]
            XCTAssertGreaterThan(gap, 0)
            XCTAssertLessThanOrEqual(gap, 500_000, "at most IGMP_JOIN_DELAYING_MEMBER_TMR after the join")
        }
    }

    /// lwIP's TCP timer ticks every 250 ms while any pcb is active or in TIME_WAIT
    /// (src/core/timeouts.c l.144-157); with TIME_WAIT pcbs only, a tick counts
    /// tcp_ticks and removes the pcbs that have waited 2 x TCP_MSL (tcp.c
    /// l.1437-1472). A board holding one TIME_WAIT pcb sleeps through those ticks
    /// and runs them when it wakes: the same run with every tick on time gives the
    /// same connection table at the same board times, the pcb leaves 120 to 120.5 s
    /// after it entered TIME_WAIT (its 241st slow tick), and the TCP timer does not
    /// wake the board four times a second meanwhile.
    func testTheTCPTimersTicksWithOnlyTimeWaitPcbsAreSleptThroughAndMadeUp() throws {
        func run(sleeping: Bool) throws -> (events: [String], leftAfter: UInt64?, idleWaits: Int, transcript: String) {
            Network.sleepsThroughIdleTicks = sleeping
            defer { Network.sleepsThroughIdleTicks = true }
            final class Log: @unchecked Sendable { var events: [(UInt64, String)] = [] }
            let log = Log()
            let r = try SketchHarness.run(
                source: Self.server, for: seconds(130),
                world: """
                    { "accessPoints": [ { "ssid": "classroom", "password": "esp8266rocks", "channel": 6 } ],
                      "visitors": [ { "port": 80, "at": "5s", "send": "GET / HTTP/1.0\\r\\n\\r\\n", "close": "after-device" } ] }
                    """,
                prepare: { device in
                    _ = device.board.events.subscribe(.pcb) { time, event in
                        // (the visitor's host port is the next of a sequence shared by the process's runs)
                        if case .pcb(let t) = event { log.events.append((time, "\(t.localPort) \(t.remoteAddress) \(t.from ?? "-") -> \(t.to ?? "-")")) }
                    }
                })
            defer { r.finish() }
            let entered = log.events.first { $0.1.hasSuffix("-> TIME_WAIT") }?.0
            let left = log.events.first { $0.1.hasSuffix("TIME_WAIT -> -") }?.0
            return (log.events.map { "\($0.0) \($0.1)" }, entered.flatMap { e in left.map { $0 - e } }, r.device.board.loop.idleWaits, r.transcript)
        }
        let onTime = try run(sleeping: false)
        let slept = try run(sleeping: true)
        print(
            "idle waits: \(onTime.idleWaits) with every tick on time, \(slept.idleWaits) sleeping through them; TIME_WAIT lasted \(slept.leftAfter.map(String.init) ?? "-") µs"
        )
        XCTAssertTrue(slept.transcript.contains("served at 5"), slept.transcript)
        XCTAssertEqual(slept.events, onTime.events)
        XCTAssertEqual(slept.transcript, onTime.transcript)
        let lasted = try XCTUnwrap(slept.leftAfter, "the TIME_WAIT pcb left: \(slept.events)")
        XCTAssertGreaterThan(lasted, 120_000_000)
        XCTAssertLessThanOrEqual(lasted, 120_500_000)
        // 120 s with a TIME_WAIT pcb: the TCP timer alone would wake the board 480
        // times; sleeping, the board wakes for lwIP's 1 s timers and its own slirp
        // (its hostfwd listener keeps slirp's 500 ms slow timer going)
        XCTAssertGreaterThan(onTime.idleWaits, 4 * 130)
        XCTAssertLessThan(slept.idleWaits, 4 * 120)
    }

    /// `--pace-loop`: every pass costs its board time (10 µs + 50 ns per instruction),
    /// so a sketch that counts its passes sees a board's figure.
    func testPacedPassesCountAsOnABoard() throws {
        let sketch = """
            local n = 0
            function setup() end
            function loop() n = n + 1; if millis() >= 1000 then print("passes " .. n); while true do delay(1000) end end end
            """
        let paced = try SketchHarness.run(source: sketch, for: seconds(1.5), configure: { $0.paceLoop = true })
        defer { paced.finish() }
        let idle = try SketchHarness.run(source: sketch, for: seconds(1.5))
        defer { idle.finish() }
        func passes(_ r: SketchRun) -> Int { Int(r.transcript.split(separator: " ").last?.trimmingCharacters(in: .whitespacesAndNewlines) ?? "") ?? 0 }
        // ~940 ms of loop() at 10 µs + ~15 instructions x 50 ns per pass
        XCTAssertGreaterThan(passes(paced), 50_000, paced.transcript)
        XCTAssertLessThan(passes(paced), 100_000, paced.transcript)
        // unpaced, a pass that only reads millis() waits for the next millisecond
        XCTAssertLessThan(passes(idle), 3_000, idle.transcript)
    }

    /// `--for` is the end of the run even while the sketch is blocked in a write
    /// that the peer does not let through (the client's 5 s timeout would overshoot).
    func testTheRunEndsOnTimeWhileAWriteIsBlocked() throws {
        let port = try XCTUnwrap(freeLoopbackPort())
        // a peer that never reads, with a small receive buffer
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var small: Int32 = 2048
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, socklen_t(MemoryLayout<Int32>.size))
        var connected = false
        let run = try SketchHarness.run(
            source: Self.join + """
                local server = WiFiServer(80)
                function setup()
                  join()
                  server:begin()
                  print("ready")
                end
                function loop()
                  local c = server:accept()
                  if c then
                    print("accepted")
                    local chunk = string.rep("x", 1024)
                    for i = 1, 100000 do c:write(chunk) end
                    print("wrote it all")
                  end
                end
                """, for: seconds(9), configure: { $0.network.forwards = [Forward(hostPort: port, devicePort: 80)] },
            prepare: { device in
                device.board.timers.schedule(at: 4_000_000) {
                    var a = sockaddr_in()
                    a.sin_family = sa_family_t(AF_INET)
                    a.sin_port = port.bigEndian
                    a.sin_addr.s_addr = UInt32(0x7F00_0001).bigEndian
                    let flags = fcntl(fd, F_GETFL)
                    _ = fcntl(fd, F_SETFL, flags | O_NONBLOCK)
                    _ = withUnsafePointer(to: &a) {
                        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                    }
                    connected = true
                }
            })
        defer { run.finish() }
        XCTAssertTrue(connected)
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertTrue(run.transcript.contains("accepted\n"), run.transcript)
        XCTAssertFalse(run.transcript.contains("wrote it all"), "the peer never reads: the write stays blocked")
        XCTAssertLessThanOrEqual(run.device.board.clock.micros, 9_000_000 + 60_000 + 1000, "ends at --for (boot is 60 ms)")
    }

    /// WiFi events are the SDK's: they run at the next yield, also while the
    /// sketch waits in a blocking call (here Serial's timed read).
    func testCallbacksRunWhileTheSketchWaits() throws {
        let run = try SketchHarness.run(
            source: """
                function setup()
                  WiFi.onStationModeGotIP(function(e) print("got IP " .. e.ip .. " at " .. millis()) end)
                  WiFi.begin("classroom", "esp8266rocks")
                  Serial.setTimeout(5000)
                  local s = Serial.readStringUntil("\\n")
                  print("read '" .. s .. "' at " .. millis())
                end
                function loop() delay(1000) end
                """, for: seconds(8), world: Self.classroom)
        defer { run.finish() }
        let lines = run.transcript.split(separator: "\n").map(String.init)
        XCTAssertEqual(lines.count, 2, run.transcript)
        // association (1.5 s) and DHCP, while readStringUntil waits its 5 s
        let gotIP = try XCTUnwrap(lines.first.flatMap { $0.hasPrefix("got IP 10.0.2.15 at ") ? Int($0.split(separator: " ").last!) : nil })
        XCTAssertGreaterThan(gotIP, 1500)
        XCTAssertLessThan(gotIP, 5000)
        XCTAssertEqual(lines.last, "read '' at 5060")
    }

    /// Commands come in from other threads through the inbox, between passes.
    func testCommandsFromAnotherThreadReachTheBoard() throws {
        let run = try SketchHarness.run(
            source: """
                function setup() Serial.setTimeout(100) end
                function loop()
                  if Serial.available() > 0 then print("echo " .. Serial.readStringUntil("\\n")) end
                end
                """, for: seconds(30),
            prepare: { device in
                let inbox = device.board.loop.inbox
                let t = Thread { inbox.post(.serialInput(Array("hello\n".utf8))) }
                t.start()
                while !t.isFinished { usleep(1000) }
                // once the echo is out, stop the run (a command, posted from a subscriber)
                device.board.events.subscribe(.serialOut) { _, _ in inbox.post(.stop) }
            })
        defer { run.finish() }
        XCTAssertEqual(run.outcome, .finished)
        XCTAssertEqual(run.transcript, "echo hello\n")
        XCTAssertLessThan(run.device.board.clock.micros, 1_000_000, "the stop command ended the run")
    }

    /// Any number of subscribers: a pcap writer and a test recorder on one run
    /// both see every frame; pcb transitions and resets are events too.
    func testEverySubscriberSeesEveryEvent() throws {
        let pcap = FileManager.default.temporaryDirectory.appendingPathComponent("runloop-\(UUID().uuidString).pcap").path
        defer { try? FileManager.default.removeItem(atPath: pcap) }
        final class Box { var frames = 0; var pcbs: [String] = []; var writer: PcapWriter?; var recorder: WireRecorder?; var resets = 0 }
        let box = Box()
        let world = #"""
            { "accessPoints": [ { "ssid": "classroom", "password": "esp8266rocks" } ],
              "visitors": [ { "port": 80, "at": "3s", "send": "GET / HTTP/1.0\r\n\r\n", "close": "after-device" } ] }
            """#
        let run = try SketchHarness.run(
            source: Self.server, for: seconds(10), world: world,
            prepare: { device in
                box.writer = try? PcapWriter(path: pcap, events: device.board.events)
                box.recorder = WireRecorder(device)
                device.board.events.subscribe([.frame, .pcb, .reset]) { _, e in
                    switch e {
                    case .frame: box.frames += 1
                    case .pcb(let t): if t.localPort == 80 { box.pcbs.append("\(t.from ?? "-")>\(t.to ?? "-")") }
                    case .reset: box.resets += 1
                    default: break
                    }
                }
            })
        defer { run.finish() }
        box.writer?.close()
        // count the pcap's records
        let data = try Data(contentsOf: URL(fileURLWithPath: pcap))
        var records = 0, offset = 24
        while offset + 16 <= data.count {
            let len = Int(data[offset + 8]) | Int(data[offset + 9]) << 8 | Int(data[offset + 10]) << 16 | Int(data[offset + 11]) << 24
            records += 1
            offset += 16 + len
        }
        XCTAssertGreaterThan(box.frames, 10)
        XCTAssertEqual(records, box.frames, "the pcap has every frame")
        let segments = try XCTUnwrap(box.recorder?.segments)
        XCTAssertGreaterThanOrEqual(segments.count, 8, "the recorder saw the connection as well")
        XCTAssertTrue(segments.contains { $0.fin && $0.outbound })
        XCTAssertEqual(box.resets, 1)
        XCTAssertEqual(box.pcbs.first, "->LISTEN", "\(box.pcbs)")
        XCTAssertTrue(box.pcbs.contains { $0.hasSuffix(">TIME_WAIT") }, "\(box.pcbs)")
    }
}
