import ArduinoLua
import BoardCore
import BoardTesting
import Foundation
import XCTest

/// EEPROM against the core's (libraries/EEPROM/EEPROM.cpp at core 3.1.2+): a RAM copy
/// of the flash sector at EEPROM_start (0x3FB000 on a 4M2M board, eagle.flash.4m2m.ld).
final class EEPROMLibraryTests: XCTestCase {
    // begin rounds up to 4 and caps at a sector (EEPROM.cpp:51-56); read outside is 0,
    // write outside ignored (:94-124); commit before begin false, unchanged true (:126-131)
    func testSizesBoundsAndCommitResults() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  print(EEPROM.commit(), EEPROM.length(), EEPROM.read(0))
                  EEPROM.begin(10); print(EEPROM.length(), EEPROM.read(0), EEPROM.commit())
                  EEPROM.write(12, 7); EEPROM.write(-1, 7); print(EEPROM.read(12), EEPROM.commit())
                  EEPROM.write(3, 0x1AB); print(EEPROM.read(3))
                  EEPROM.begin(5000); print(EEPROM.length())
                  print(EEPROM.end_(), EEPROM.length(), EEPROM["end"]())
                end
                function loop() delay(100) end
                """, for: seconds(0.2))
        defer { r.finish() }
        XCTAssertEqual(r.transcript, "false\t0\t0\n12\t255\ttrue\n0\ttrue\n171\n4096\ntrue\t0\tfalse\n")
    }

    // commit erases the sector and programs the copy (EEPROM.cpp:134-136): the bytes are
    // in flash at 0x3FB000 and survive a reboot; the copy costs its size on the heap
    func testCommittedBytesAreInTheCoresSectorAndSurviveAReboot() throws {
        let r = try SketchHarness.run(
            source: """
                function setup()
                  local before = ESP.getFreeHeap()
                  EEPROM.begin(512)
                  print(ESP.getResetReason(), EEPROM.read(0), before - ESP.getFreeHeap())
                  if EEPROM.read(0) == 255 then
                    EEPROM.write(0, 42); EEPROM.put(4, 123456789); EEPROM.put(8, 2.5); EEPROM.put(12, "esp")
                    EEPROM.commit()
                    ESP.restart()
                  end
                  print(EEPROM.get(4), EEPROM.get(8, "<f"), EEPROM.get(12, "z"))
                  EEPROM.end_()
                  print(before - ESP.getFreeHeap())
                end
                function loop() delay(100) end
                """, for: seconds(1), noReboot: false)
        defer { r.finish() }
        // the boot messages of the restart (ets Jan 8 2013 …) sit between the lines
        let lines = r.transcript.split(separator: "\n").map(String.init)
        for expected in ["Power On\t255\t520", "Software/System restart\t42\t520", "123456789\t2.5\tesp"] {
            XCTAssertTrue(lines.contains(expected), r.transcript)
        }
        XCTAssertTrue(r.transcript.hasSuffix("\n0\n"), r.transcript)
        let bytes = try XCTUnwrap(r.device.board.flash.read(0x3FB000, count: 16))
        XCTAssertEqual(Array(bytes[0..<8]), [42, 0xFF, 0xFF, 0xFF, 0x15, 0xCD, 0x5B, 0x07])
        XCTAssertEqual(Array(bytes[12..<16]), Array("esp\0".utf8))
    }

    // --flash FILE keeps the sector between runs
    func testTheFlashFileKeepsEEPROMBetweenRuns() throws {
        let image = FileManager.default.temporaryDirectory.appendingPathComponent("eeprom-\(UUID().uuidString).bin").path
        defer { try? FileManager.default.removeItem(atPath: image) }
        let sketch = """
            function setup()
              EEPROM.begin(4)
              local n = EEPROM.read(0) == 255 and 1 or EEPROM.read(0) + 1
              EEPROM.write(0, n); EEPROM.commit()
              print("run " .. n)
            end
            function loop() delay(100) end
            """
        var out: [String] = []
        for _ in 0..<3 {
            let r = try SketchHarness.run(source: sketch, for: seconds(0.1), configure: { $0.flashPath = image })
            out.append(r.transcript)
            r.finish()
        }
        XCTAssertEqual(out, ["run 1\n", "run 2\n", "run 3\n"])
    }
}
