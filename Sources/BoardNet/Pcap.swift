import BoardCore

/// Writes every frame of the device to a classic pcap file (LINKTYPE_ETHERNET),
/// stamped with board time, readable by Wireshark and tshark. Flushed per frame.
/// A subscriber of the board's `.frame` events.
public final class PcapWriter {
    private let file: OutputFile
    private var subscription: BoardEvents.Subscription?

    public init(path: String, events: BoardEvents) throws(OutputFile.OpenError) {
        file = try OutputFile(path: path)
        var header: [UInt8] = []
        header.appendLE(UInt32(0xA1B2_C3D4))  // µs timestamps
        header.appendLE(UInt16(2)); header.appendLE(UInt16(4))
        header.appendLE(UInt32(0)); header.appendLE(UInt32(0))
        header.appendLE(UInt32(65535))
        header.appendLE(UInt32(1))  // LINKTYPE_ETHERNET
        file.write(header)
        subscription = events.subscribe(.frame) { [unowned self] t, event in
            if case .frame(_, let bytes) = event { self.write(bytes, at: t) }
        }
    }

    /// One record: `frame` at board time `t` (µs).
    public func write(_ frame: UnsafeRawBufferPointer, at t: UInt64) {
        var record: [UInt8] = []
        record.reserveCapacity(16 + frame.count)
        record.appendLE(UInt32(t / 1_000_000))
        record.appendLE(UInt32(t % 1_000_000))
        record.appendLE(UInt32(frame.count))
        record.appendLE(UInt32(frame.count))
        record.append(contentsOf: frame)
        file.write(record)
    }

    public func close() {
        subscription?.cancel()
        subscription = nil
        file.close()
    }
}

extension [UInt8] {
    mutating func appendLE<T: FixedWidthInteger>(_ v: T) {
        Swift.withUnsafeBytes(of: v.littleEndian) { append(contentsOf: $0) }
    }
}
