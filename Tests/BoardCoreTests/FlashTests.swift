import Foundation
import XCTest

@testable import BoardCore

final class FlashTests: XCTestCase {
    let size = 4 * 1024 * 1024
    let sector = Flash.sectorSize

    func temporaryPath() -> String {
        FileManager.default.temporaryDirectory.appendingPathComponent("flash-\(UUID().uuidString).bin").path
    }

    func testFreshFlashReadsErasedEverywhere() throws {
        let flash = try Flash()
        XCTAssertEqual(flash.size, size)
        for address in [0, 1, sector - 1, sector, 0x1234, 0x200000, size / 2 + 77, size - 1] {
            XCTAssertEqual(flash.read(address, count: 1), [0xFF], "address \(address)")
        }
        // a read spanning several sectors
        XCTAssertEqual(flash.read(sector - 10, count: 2 * sector + 20), [UInt8](repeating: 0xFF, count: 2 * sector + 20))
        XCTAssertTrue(flash.image().allSatisfy { $0 == 0xFF })
        XCTAssertEqual(flash.image().count, size)
        XCTAssertFalse(flash.dirty)
    }

    func testReadOutsideTheChipFails() throws {
        let flash = try Flash()
        XCTAssertNil(flash.read(-1, count: 1))
        XCTAssertNil(flash.read(size - 1, count: 2))
        XCTAssertNil(flash.read(0, count: -1))
        XCTAssertEqual(flash.read(size, count: 0), [])
        XCTAssertFalse(flash.program(size - 1, [0, 0]))
        XCTAssertFalse(flash.eraseSector(sector + 1))
        XCTAssertFalse(flash.eraseSector(size))
        XCTAssertEqual(flash.operations, 0, "refused before reaching the chip")
    }

    func testProgramOnlyClearsBits() throws {
        let flash = try Flash()
        XCTAssertTrue(flash.program(100, [0x0F, 0xAA]))
        XCTAssertEqual(flash.read(100, count: 2), [0x0F, 0xAA])
        XCTAssertTrue(flash.program(100, [0xF0, 0xFF]))
        XCTAssertEqual(flash.read(100, count: 2), [0x00, 0xAA], "1 -> 0 only; 0xFF changes nothing")
        XCTAssertTrue(flash.program(101, [0x55]))
        XCTAssertEqual(flash.read(99, count: 4), [0xFF, 0x00, 0x00, 0xFF])
        // across a sector boundary
        XCTAssertTrue(flash.program(sector - 2, [1, 2, 3, 4]))
        XCTAssertEqual(flash.read(sector - 3, count: 6), [0xFF, 1, 2, 3, 4, 0xFF])
        XCTAssertEqual(flash.operations, 4)
        XCTAssertTrue(flash.dirty)
    }

    func testEraseRestoresErasedState() throws {
        let flash = try Flash()
        flash.program(sector - 1, [0, 0])
        XCTAssertEqual(flash.sectorsInUse, 2)
        XCTAssertTrue(flash.eraseSector(sector))
        XCTAssertEqual(flash.read(sector - 1, count: 2), [0x00, 0xFF])
        XCTAssertEqual(flash.read(sector, count: sector), [UInt8](repeating: 0xFF, count: sector))
        XCTAssertEqual(flash.sectorsInUse, 1)
        XCTAssertTrue(flash.eraseSector(0))
        XCTAssertEqual(flash.sectorsInUse, 0)
        XCTAssertTrue(flash.image().allSatisfy { $0 == 0xFF })
        // erased bits can be programmed again
        flash.program(0, [0x12])
        XCTAssertEqual(flash.read(0, count: 1), [0x12])
    }

    func testPowerCutFailsThatOperationAndAllLaterOnes() throws {
        let flash = try Flash()
        flash.cutAt = 2
        XCTAssertTrue(flash.program(0, [0x00]))
        XCTAssertTrue(flash.eraseSector(sector))
        XCTAssertFalse(flash.program(1, [0x00]))
        XCTAssertFalse(flash.eraseSector(0))
        XCTAssertEqual(flash.operations, 4)
        XCTAssertEqual(flash.read(0, count: 2), [0x00, 0xFF])
    }

    func testBlankFlashHoldsNoSectors() throws {
        let flash = try Flash()
        XCTAssertEqual(flash.sectorsInUse, 0, "a blank 4 MiB chip allocates nothing")
        _ = flash.read(0, count: size)
        _ = flash.image()
        XCTAssertEqual(flash.sectorsInUse, 0, "reading does not allocate")
        flash.program(0x200000 + 5, [0x00])
        XCTAssertEqual(flash.sectorsInUse, 1)
        XCTAssertLessThan(flash.sectorsInUse * Flash.sectorSize, size)
    }

    func testImageRoundTripsThroughAFile() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let flash = try Flash(path: path)
        XCTAssertTrue(flash.dirty, "a missing image is created on sync")
        var rng = SystemRandomNumberGenerator()
        let noise = (0..<3 * sector).map { _ in UInt8.random(in: 0...255, using: &rng) }
        flash.program(0, [0x00, 0x7F])
        flash.program(0x200000 - 100, noise)  // spans four sectors
        flash.program(size - 1, [0xFE])
        flash.program(0x300000, [0xFF, 0xFF])  // allocates, still all 0xFF
        flash.sync()
        XCTAssertFalse(flash.dirty)
        let written = try XCTUnwrap(FileManager.default.contents(atPath: path))
        XCTAssertEqual(written.count, size)
        XCTAssertEqual(Array(written), flash.image())

        let again = try Flash(path: path)
        XCTAssertFalse(again.dirty)
        XCTAssertEqual(again.image(), flash.image(), "byte for byte")
        XCTAssertEqual(again.read(0x200000 - 100, count: noise.count), noise)
        XCTAssertEqual(again.sectorsInUse, 6, "only sectors that are not all 0xFF are kept")
        again.sync()  // not dirty: leaves the file alone
        XCTAssertEqual(FileManager.default.contents(atPath: path), written)
    }

    func testWrongSizedImageIsRefused() throws {
        let path = temporaryPath()
        defer { try? FileManager.default.removeItem(atPath: path) }
        FileManager.default.createFile(atPath: path, contents: Data(repeating: 0, count: 1000))
        XCTAssertThrowsError(try Flash(path: path)) {
            XCTAssertEqual($0 as? Flash.FlashError, .wrongSize(path, 1000, size))
            XCTAssertEqual(
                "\($0)",
                "flash image '\(path)' is 1000 bytes, not the board's \(size) (4 MB): "
                    + "give a whole flash image, or a new file name to start with a blank flash")
        }
    }
}
