/// UART0 (`Serial`): output to a sink (stdout by default), input from a buffer
/// that the host fills (stdin, or a test).
public final class UART {
    /// Where TX bytes go.
    public var sink: (UnsafeRawBufferPointer) -> Void
    private var rx: [UInt8] = []
    private var rxHead = 0
    /// Default RX buffer: 256 bytes (the core's `setRxBufferSize` default); more is dropped.
    public var rxCapacity = 256
    /// `Serial.setDebugOutput(true)`: the SDK's own messages (`os_printf`) go out on
    /// this UART (`uart_set_debug`, HardwareSerial.cpp). Off at boot.
    public var debugOutput = false
    public private(set) var baud = 115200
    public private(set) var begun = false
    public private(set) var overrun = false
    /// The board's event stream (serial bytes out and in are published there).
    unowned(unsafe) var events: BoardEvents?  // owned by the same Board, gone with it
    /// Who hears TX besides the sink (a part on the UART), in the order they came.
    private var taps: [(id: Int, fn: (UnsafeRawBufferPointer) -> Void)] = []
    private var nextTap = 1

    /// Calls `fn` with every byte run the sketch transmits; returns an id for `untap`.
    public func tap(_ fn: @escaping (UnsafeRawBufferPointer) -> Void) -> Int {
        defer { nextTap += 1 }
        taps.append((nextTap, fn))
        return nextTap
    }

    public func untap(_ id: Int) { taps.removeAll { $0.id == id } }

    public init(sink: @escaping (UnsafeRawBufferPointer) -> Void) {
        self.sink = sink
    }

    public func begin(baud: Int) { self.baud = baud; begun = true }

    public func write(_ bytes: [UInt8]) { bytes.withUnsafeBytes { transmit($0) } }
    public func write(_ string: String) {
        var s = string
        s.withUTF8 { transmit(UnsafeRawBufferPointer($0)) }
    }

    private func transmit(_ bytes: UnsafeRawBufferPointer) {
        sink(bytes)
        for t in taps { t.fn(bytes) }
        if let e = events, e.wants(.serialOut) { e.publish(.serialOut(bytes)) }
    }

    /// Bytes arriving on RX; beyond the RX buffer they are lost (overrun), as on the chip.
    /// Returns how many were kept.
    @discardableResult
    public func receive<C: Collection>(_ bytes: C) -> Int where C.Element == UInt8 {
        var accepted: [UInt8] = []
        for b in bytes {
            if rx.count - rxHead >= rxCapacity { overrun = true; continue }
            rx.append(b)
            accepted.append(b)
        }
        if let e = events, e.wants(.serialIn), !accepted.isEmpty { accepted.withUnsafeBytes { e.publish(.serialIn($0)) } }
        return accepted.count
    }

    /// Room left in the RX buffer (stdin is read no faster than the sketch makes room).
    public var rxSpace: Int { max(0, rxCapacity - available) }

    public var available: Int { rx.count - rxHead }

    public func read() -> UInt8? {
        guard rxHead < rx.count else { return nil }
        let b = rx[rxHead]
        rxHead += 1
        if rxHead > 4096 && rxHead * 2 > rx.count { rx.removeFirst(rxHead); rxHead = 0 }
        return b
    }

    public func peek() -> UInt8? { rxHead < rx.count ? rx[rxHead] : nil }
}

/// Standard output as a UART sink: unbuffered writes, so the transcript interleaves
/// correctly with stderr and survives a crash.
public func standardOutputSink(_ bytes: UnsafeRawBufferPointer) {
    writeAll(1, bytes)
}
