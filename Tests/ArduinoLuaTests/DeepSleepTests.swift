import ArduinoLua
import BoardCore
import BoardTesting
import XCTest

/// Deep sleep and the RTC's user memory as the core has them (cores/esp8266/Esp.cpp):
/// `deepSleep` is `system_deep_sleep` + `esp_suspend` (l.119-131), the wake is a reset
/// whose reason is REASON_DEEP_SLEEP_AWAKE, "Deep-Sleep Wake" (l.484-505); the user
/// memory is 512 bytes in 4-byte blocks, bounds as rtcUserMemoryRead/Write check
/// them (l.176-192), kept across resets and not across power-on.
final class DeepSleepTests: XCTestCase {
    func testACounterInRTCMemorySurvivesFiveWakes() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  local magic, count = string.unpack("<I4I4", ESP.rtcUserMemoryRead(0, 8))
                  if magic ~= 0xC0FFEE then count = 0 end
                  count = count + 1
                  ESP.rtcUserMemoryWrite(0, string.pack("<I4I4", 0xC0FFEE, count))
                  print(count, ESP.getResetReason(), ESP.getResetInfo(), millis())
                  if count < 5 then ESP.deepSleep(10 * 1000000); print("not reached") end
                end
                function loop() delay(1000) end
                """, for: seconds(60))
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript.split(separator: "\n").filter { $0.first?.isNumber == true }.map(String.init),
            [
                "1\tPower On\tPower On\t60", "2\tDeep-Sleep Wake\tDeep-Sleep Wake\t60", "3\tDeep-Sleep Wake\tDeep-Sleep Wake\t60",
                "4\tDeep-Sleep Wake\tDeep-Sleep Wake\t60", "5\tDeep-Sleep Wake\tDeep-Sleep Wake\t60",
            ], r.transcript)
        XCTAssertFalse(r.transcript.contains("not reached"))
        // each wake is a reset: the ROM's boot lines (rst cause 2: GPIO16 pulls the reset pin)
        XCTAssertEqual(r.transcript.components(separatedBy: "ets Jan  8 2013,rst cause:2, boot mode:(3,6)").count - 1, 4)
        // virtual time jumped the four sleeps of 10 s (each boot also takes its 60 ms and a little work)
        let board = r.device.board
        XCTAssertEqual(board.bootCount, 5)
        XCTAssertGreaterThanOrEqual(board.bootedAt, 40_240_000)
        XCTAssertLessThan(board.bootedAt, 40_400_000)
    }

    func testRTCUserMemoryBoundsAreTheCores() throws {
        let r = try SketchHarness.run(
            source: """
                local function r(o, n) local s = ESP.rtcUserMemoryRead(o, n); return s and #s or "nil" end
                print(r(0, 512), r(127, 4), r(127, 5), r(0, 513), r(0, 0), r(128, 1))
                print(ESP.rtcUserMemoryWrite(127, "abcd"), ESP.rtcUserMemoryWrite(127, "abcde"), ESP.rtcUserMemoryWrite(0, ""))
                print(ESP.rtcUserMemoryRead(127, 4), ESP.rtcUserMemoryRead(126, 8):sub(5))
                function setup() end function loop() end
                """, for: seconds(0.1))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "512\t4\tnil\tnil\tnil\tnil\ntrue\tfalse\tfalse\nabcd\tabcd\n")
    }

    // RTC memory lives through a software restart too (only power-on loses it);
    // RAM does not (a Lua global is gone)
    func testRTCMemoryIsKeptAcrossRestartButNotPowerOn() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  local s = ESP.rtcUserMemoryRead(10, 4)
                  print(ESP.getResetReason(), s == "keep", seen)
                  seen = true
                  if s ~= "keep" then ESP.rtcUserMemoryWrite(10, "keep"); ESP.restart() end
                end
                function loop() delay(1000) end
                """, for: seconds(5))
        defer { r.finish() }
        XCTAssertEqual(
            r.transcript.split(separator: "\n").filter { $0.contains("\t") },
            ["Power On\tfalse\tnil", "Software/System restart\ttrue\tnil"])
        // a new board is a power-on: what the last one wrote is gone (the garbage is not "keep")
        let board = Board()
        board.boot(reason: .powerOn)
        XCTAssertNotEqual(board.rtcMemory.read(offset: 10, size: 4), Array("keep".utf8))
    }

    // getResetInfo after an exception: the registers (Esp.cpp:507-516)
    func testResetInfoAfterAnExceptionNamesTheRegisters() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  print(ESP.getResetInfo())
                  if ESP.getResetReason() == "Power On" then local t = nil; print(t.x) end
                end
                function loop() delay(1000) end
                """, for: seconds(5), noReboot: false)
        defer { r.finish() }
        XCTAssertTrue(
            r.transcript.contains(
                "Fatal exception:28 flag:2 (Exception) epc1:0x40201a2c epc2:0x00000000 epc3:0x00000000 excvaddr:0x00000000 depc:0x00000000"),
            r.transcript)
    }

    func testDeepSleepArgumentsAreChecked() throws {
        let r = try SketchHarness.run(source: "ESP.deepSleep(1000, 3) function setup() end function loop() end", for: seconds(1))
        defer { r.finish() }
        guard case .loadFailed(let m) = r.outcome else { return XCTFail("\(r.outcome)") }
        XCTAssertTrue(m.contains("bad argument #2 to 'deepSleep'"), m)
    }
}
