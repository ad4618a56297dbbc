/// The core's `EEPROMClass` (libraries/EEPROM/EEPROM.cpp, core 3.1.2+): a RAM copy of
/// up to one flash sector, read from flash by `begin`, written back (erase, then
/// program) by `commit` when something changed. The sector is the one the linker
/// script names `_EEPROM_start`: 0x405FB000 in eagle.flash.4m2m.ld, flash offset
/// 0x3FB000, the sector after the file system (0x200000–0x3FA000) and before the
/// SDK's RF calibration and WiFi sectors. The RAM copy is charged to the heap.
public final class EEPROM {
    /// `(EEPROM_start - 0x40200000) / SPI_FLASH_SEC_SIZE` (EEPROM.cpp:42) for a 4M2M board.
    public static let defaultSector = 0x3FB
    public let sector: Int
    private unowned let board: Board
    private var data: [UInt8] = []
    private var charge: Int32?
    private var dirty = false

    public init(board: Board, sector: Int = EEPROM.defaultSector) {
        self.board = board
        self.sector = sector
    }

    /// `length()`: the size given to `begin`, rounded up to 4; 0 before.
    public var length: Int { data.count }

    public enum BeginError: Error { case outOfMemory(Int) }

    /// `begin(size)` (EEPROM.cpp:46-73): 0 does nothing, more than a sector is a sector,
    /// rounded up to a multiple of 4; reads the sector's first `size` bytes.
    public func begin(size requested: Int) throws(BeginError) {
        guard requested > 0 else { return }
        let size = (min(requested, Flash.sectorSize) + 3) & ~3
        if charge == nil || size != data.count {
            if let c = charge { board.heap.free(c) }
            charge = nil
            guard let c = board.heap.allocate(size, owner: "EEPROM") else { throw .outOfMemory(size) }
            charge = c
        }
        data = board.flash.read(sector * Flash.sectorSize, count: size) ?? [UInt8](repeating: 0xFF, count: size)
        dirty = false
    }

    /// `read(address)` (EEPROM.cpp:94-105): 0 outside the area or before `begin`.
    public func read(_ address: Int) -> UInt8 {
        guard address >= 0, address < data.count else { return 0 }
        return data[address]
    }

    /// `write(address, value)` (EEPROM.cpp:107-124): ignored outside the area; marks
    /// the copy dirty only when the byte changes.
    public func write(_ address: Int, _ value: UInt8) {
        guard address >= 0, address < data.count else { return }
        if data[address] != value {
            data[address] = value
            dirty = true
        }
    }

    /// `commit()` (EEPROM.cpp:126-143): false before `begin`, true with nothing to
    /// write; otherwise erase the sector and program the copy.
    public func commit() -> Bool {
        guard !data.isEmpty else { return false }
        guard dirty else { return true }
        let address = sector * Flash.sectorSize
        guard board.flash.eraseSector(address), board.flash.program(address, data) else { return false }
        dirty = false
        return true
    }

    /// `end()` (EEPROM.cpp:75-91): commit, then free the copy.
    @discardableResult
    public func end() -> Bool {
        guard !data.isEmpty else { return false }
        let ok = commit()
        if let c = charge { board.heap.free(c) }
        charge = nil
        data = []
        dirty = false
        return ok
    }
}
