import ArduinoLua
import BoardCore
import BoardNet

/// A TCP segment seen on the device's wire (Ethernet II / IPv4 / TCP), for tests.
public struct TCPSegment: Equatable, CustomStringConvertible {
    public let outbound: Bool
    public let time: UInt64
    public let source: String
    public let sourcePort: UInt16
    public let destination: String
    public let destinationPort: UInt16
    public let flags: UInt8
    public let payload: Int

    public var syn: Bool { flags & 0x02 != 0 }
    public var fin: Bool { flags & 0x01 != 0 }
    public var rst: Bool { flags & 0x04 != 0 }
    public var ack: Bool { flags & 0x10 != 0 }
    /// The port on the host side (10.0.2.2's end of the connection).
    public var peerPort: UInt16 { outbound ? destinationPort : sourcePort }

    public init?(frame: UnsafeRawBufferPointer, outbound: Bool, time: UInt64) {
        guard frame.count >= 54, frame[12] == 0x08, frame[13] == 0x00, frame[14] >> 4 == 4, frame[23] == 6 else { return nil }
        let ihl = Int(frame[14] & 0x0f) * 4
        let total = Int(frame[16]) << 8 | Int(frame[17])
        let tcp = 14 + ihl
        guard frame.count >= tcp + 20 else { return nil }
        let dataOffset = Int(frame[tcp + 12] >> 4) * 4
        self.outbound = outbound
        self.time = time
        source = "\(frame[26]).\(frame[27]).\(frame[28]).\(frame[29])"
        destination = "\(frame[30]).\(frame[31]).\(frame[32]).\(frame[33])"
        sourcePort = UInt16(frame[tcp]) << 8 | UInt16(frame[tcp + 1])
        destinationPort = UInt16(frame[tcp + 2]) << 8 | UInt16(frame[tcp + 3])
        flags = frame[tcp + 13]
        payload = max(0, total - ihl - dataOffset)
    }

    public var description: String {
        let names = [(0x02, "SYN"), (0x01, "FIN"), (0x04, "RST"), (0x08, "PSH"), (0x10, "ACK")].filter { flags & UInt8($0.0) != 0 }.map(\.1)
        return "\(Double(time) / 1e6) \(source):\(sourcePort) > \(destination):\(destinationPort) [\(names.joined(separator: ","))] len \(payload)"
    }
}

/// Records every TCP segment of a device (install before `run()`): a subscriber
/// of the board's `.frame` events, beside any other (a pcap writer).
public final class WireRecorder {
    public private(set) var segments: [TCPSegment] = []
    private var subscription: BoardEvents.Subscription?
    public init(_ device: Device) {
        subscription = device.board.events.subscribe(.frame) { [unowned self] t, event in
            guard case .frame(let outbound, let frame) = event else { return }
            if let s = TCPSegment(frame: frame, outbound: outbound, time: t) { segments.append(s) }
        }
    }
}
