import CPluginABI
import LittleFSCore

/// The file-system partition of the board's flash as littlefs's block device:
/// 8 KiB blocks over the chip's 4 KiB NOR sectors, through the host (so a power
/// cut at the host's flash fails the operation, as on a board).
final class FlashBlockDevice: BlockDevice {
    let host: UnsafePointer<esplua_host>
    let board: OpaquePointer?
    let base: Int
    let blockSize: Int
    let blockCount: Int

    init(
        host: UnsafePointer<esplua_host>, board: OpaquePointer?, base: Int = ESP8266Layout.fsStart,
        blockSize: Int = ESP8266Layout.blockSize, blockCount: Int = ESP8266Layout.blockCount
    ) {
        self.host = host; self.board = board; self.base = base; self.blockSize = blockSize; self.blockCount = blockCount
    }

    private func address(_ block: Int, _ offset: Int, _ length: Int) throws -> UInt32 {
        guard block >= 0, block < blockCount, offset >= 0, offset + length <= blockSize else {
            throw BlockDeviceError.outOfRange(block: block, offset: offset, length: length)
        }
        return UInt32(base + block * blockSize + offset)
    }

    func read(block: Int, offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws {
        let a = try address(block, offset, buffer.count)
        guard host.pointee.flash_read(board, a, buffer.baseAddress, buffer.count) == 0 else { throw BlockDeviceError.failure("flash read failed") }
    }

    func program(block: Int, offset: Int, _ data: UnsafeRawBufferPointer) throws {
        let a = try address(block, offset, data.count)
        guard host.pointee.flash_program(board, a, data.baseAddress, data.count) == 0 else { throw BlockDeviceError.failure("flash program failed") }
    }

    func erase(block: Int) throws {
        let a = try address(block, 0, blockSize)
        for sector in stride(from: 0, to: blockSize, by: 4096) {
            guard host.pointee.flash_erase_sector(board, a + UInt32(sector)) == 0 else { throw BlockDeviceError.failure("flash erase failed") }
        }
    }

    func sync() throws {}
}
