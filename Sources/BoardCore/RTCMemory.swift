/// The RTC's user memory: 512 bytes after the SDK's 256 of system data
/// (Esp.cpp:140-174, the layout comment), addressed by the core in 4-byte blocks.
/// It keeps its content across every reset the chip survives powered (deep
/// sleep, restart, watchdog, exception) and holds garbage at power-on: esplua
/// fills it with a fixed pseudo-random pattern then, so a sketch that trusts it
/// without a check (a CRC, a magic word) misbehaves as on a board, the same way each run.
public final class RTCMemory {
    /// `system_rtc_mem_*`'s user area in bytes (blocks 64-191).
    public static let userBytes = 512
    public private(set) var bytes = [UInt8](repeating: 0, count: RTCMemory.userBytes)

    init() { powerOn(seed: 0x8266) }

    /// Power-on: the content is undefined (here: a pattern from `seed`).
    func powerOn(seed: UInt32) {
        var x = seed | 1
        for i in bytes.indices {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            bytes[i] = UInt8(truncatingIfNeeded: x)
        }
    }

    /// `ESP.rtcUserMemoryRead(offset, data, size)` (Esp.cpp:176-183): false (nil)
    /// when `offset * 4 + size > 512` or `size == 0`.
    public func read(offset: Int, size: Int) -> [UInt8]? {
        guard offset >= 0, size > 0, offset * 4 + size <= RTCMemory.userBytes else { return nil }
        return Array(bytes[(offset * 4)..<(offset * 4 + size)])
    }

    /// `ESP.rtcUserMemoryWrite(offset, data, size)` (Esp.cpp:185-192): same bounds.
    public func write(offset: Int, _ data: [UInt8]) -> Bool {
        guard offset >= 0, !data.isEmpty, offset * 4 + data.count <= RTCMemory.userBytes else { return false }
        bytes.replaceSubrange((offset * 4)..<(offset * 4 + data.count), with: data)
        return true
    }
}
