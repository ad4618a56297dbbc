import BoardCore
import Synchronization

/// The classic pcap format (LINKTYPE_ETHERNET, µs timestamps): what `PcapWriter`
/// and `PcapBuffer` write.
public enum Pcap {
    /// The file header (magic 0xa1b2c3d4 in little-endian order, version 2.4, snaplen 65535).
    public static let header: [UInt8] = {
        var header: [UInt8] = []
        header.appendLE(UInt32(0xA1B2_C3D4))  // µs timestamps
        header.appendLE(UInt16(2)); header.appendLE(UInt16(4))
        header.appendLE(UInt32(0)); header.appendLE(UInt32(0))
        header.appendLE(UInt32(65535))
        header.appendLE(UInt32(1))  // LINKTYPE_ETHERNET
        return header
    }()

    /// Appends one record: `frame` at board time `t` (µs).
    public static func appendRecord(_ frame: UnsafeRawBufferPointer, at t: UInt64, to out: inout [UInt8]) {
        out.appendLE(UInt32(t / 1_000_000))
        out.appendLE(UInt32(t % 1_000_000))
        out.appendLE(UInt32(frame.count))
        out.appendLE(UInt32(frame.count))
        out.append(contentsOf: frame)
    }
}

/// The run's frames as a pcap kept in memory (the web page's download): records
/// appended on the board's thread, the whole file read from any thread. Bounded:
/// beyond `limit` bytes the oldest records go, a megabyte at a time (the file then
/// starts later in the run), and `droppedFrames` counts them.
public final class PcapBuffer: Sendable {
    private struct State {
        var chunks: [[UInt8]] = [[]]
        var bytes = 0
        var frames: [Int] = [0]
        var dropped = 0
    }
    private static let chunkBytes = 1 << 20
    private let state = Mutex(State())
    public let limit: Int

    public init(limit: Int = 64 << 20) { self.limit = limit }

    /// Records `frame` at board time `t` (µs). Any thread; never waits on a reader for long
    /// (a reader copies the chunks' references, not their bytes, under the lock).
    public func append(_ frame: UnsafeRawBufferPointer, at t: UInt64) {
        state.withLock { s in
            if s.chunks[s.chunks.count - 1].count >= Self.chunkBytes {
                s.chunks.append([])
                s.frames.append(0)
                s.chunks[s.chunks.count - 1].reserveCapacity(Self.chunkBytes + 2048)
            }
            let before = s.chunks[s.chunks.count - 1].count
            Pcap.appendRecord(frame, at: t, to: &s.chunks[s.chunks.count - 1])
            s.bytes += s.chunks[s.chunks.count - 1].count - before
            s.frames[s.frames.count - 1] += 1
            while s.bytes > limit, s.chunks.count > 1 {
                s.bytes -= s.chunks.removeFirst().count
                s.dropped += s.frames.removeFirst()
            }
        }
    }

    /// Frames left out because the capture outgrew `limit`.
    public var droppedFrames: Int { state.withLock { $0.dropped } }

    /// The pcap file of what was captured: the header, then every record kept.
    public func file() -> [UInt8] {
        let chunks = state.withLock { $0.chunks }
        var out = Pcap.header
        out.reserveCapacity(out.count + chunks.reduce(0) { $0 + $1.count })
        for c in chunks { out += c }
        return out
    }
}

/// Writes every frame of the device to a classic pcap file (LINKTYPE_ETHERNET),
/// stamped with board time, readable by Wireshark and tshark. Flushed per frame.
/// A subscriber of the board's `.frame` events.
public final class PcapWriter {
    private let file: OutputFile
    private var subscription: BoardEvents.Subscription?

    public init(path: String, events: BoardEvents) throws(OutputFile.OpenError) {
        file = try OutputFile(path: path)
        file.write(Pcap.header)
        subscription = events.subscribe(.frame) { [unowned self] t, event in
            if case .frame(_, let bytes) = event { self.write(bytes, at: t) }
        }
    }

    /// One record: `frame` at board time `t` (µs).
    public func write(_ frame: UnsafeRawBufferPointer, at t: UInt64) {
        var record: [UInt8] = []
        record.reserveCapacity(16 + frame.count)
        Pcap.appendRecord(frame, at: t, to: &record)
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
