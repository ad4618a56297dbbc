import BoardCore
import CLwIP

/// The core's `UdpContext` behind `WiFiUDP` (reference §6, UdpContext.h):
/// a udp_pcb, a receive queue of at most 4 datagrams (more are dropped, as
/// `rxBufMaxDepth` does), each kept as the pbuf lwIP delivered plus a small
/// pbuf holding its addresses (the core's `AddrHelper`), all charged to the heap;
/// and a transmit buffer sent with `udp_sendto` by `endPacket`.
public final class UDPContext {
    unowned(unsafe) let network: Network
    private var pcb: UnsafeMutablePointer<udp_pcb>?
    private var charge: Int32?
    private struct Datagram {
        let data: UnsafeMutablePointer<pbuf>
        let addresses: UnsafeMutablePointer<pbuf>?
        let remoteIP: UInt32
        let remotePort: UInt16
        let destinationIP: UInt32
    }
    private var queue: [Datagram] = []
    private var current: Datagram?
    private var currentOffset = 0
    private var tx: [UInt8] = []
    private var txDestination: (ip: UInt32, port: UInt16)?
    /// `rxBufMaxDepth`.
    public static let maxQueuedDatagrams = 4
    /// Heap charged for a UdpContext object (its ESP8266 fields; an estimate, see README).
    public static let contextBytes = 64
    /// Datagrams dropped because the queue was full (or the heap was).
    public private(set) var dropped = 0

    public init(network: Network) {
        self.network = network
    }

    /// `begin(port)`: a pcb bound to `port` on every interface; false if it cannot be.
    public func begin(port: UInt16) -> Bool {
        stop()
        guard let h = network.board.heap.allocate(UDPContext.contextBytes, owner: "UdpContext") else { return false }
        guard let pcb = udp_new() else { network.board.heap.free(h); return false }
        var any = ip_addr_t()
        clwip_ip_set_u32(&any, 0)
        guard udp_bind(pcb, &any, port) == err_t(ERR_OK.rawValue) else {
            udp_remove(pcb)
            network.board.heap.free(h)
            return false
        }
        charge = h
        self.pcb = pcb
        network.udpContexts[ObjectIdentifier(self)] = self
        udp_recv(
            pcb,
            { arg, _, p, addr, port in
                guard let arg, let p else { return }
                Unmanaged<UDPContext>.fromOpaque(arg).takeUnretainedValue().received(p, from: addr, port: port)
            }, Unmanaged.passUnretained(self).toOpaque())
        return true
    }

    public var localPort: Int { pcb.map { Int(clwip_udp_local_port($0)) } ?? 0 }

    private func received(_ p: UnsafeMutablePointer<pbuf>, from addr: UnsafePointer<ip_addr_t>?, port: UInt16) {
        // the datagram being read is still in the core's chain: it counts
        guard queue.count + (current == nil ? 0 : 1) < UDPContext.maxQueuedDatagrams else {
            dropped += 1
            pbuf_free(p)
            return
        }
        // the core keeps the addresses in a pbuf of their own, chained to the data
        guard let helper = pbuf_alloc(PBUF_RAW, 16, PBUF_RAM) else {
            dropped += 1
            pbuf_free(p)
            return
        }
        let remote = addr.map { clwip_ip_u32($0) } ?? 0
        let destination = network.netifUp ? network.addressBits : 0
        queue.append(Datagram(data: p, addresses: helper, remoteIP: remote, remotePort: port, destinationIP: destination))
    }

    // MARK: receiving

    /// `parsePacket()`: drops the rest of the current datagram, makes the next one
    /// current and returns its size (0 if none).
    public func parsePacket() -> Int {
        dropCurrent()
        guard !queue.isEmpty else { return 0 }
        current = queue.removeFirst()
        currentOffset = 0
        return Int(current!.data.pointee.tot_len)
    }

    private func dropCurrent() {
        guard let c = current else { return }
        pbuf_free(c.data)
        if let a = c.addresses { pbuf_free(a) }
        current = nil
        currentOffset = 0
    }

    /// Bytes left in the current datagram.
    public var available: Int { current.map { Int($0.data.pointee.tot_len) - currentOffset } ?? 0 }

    public func read(max: Int) -> [UInt8] {
        guard let c = current else { return [] }
        let n = Swift.min(max, available)
        guard n > 0 else { return [] }
        var out = [UInt8](repeating: 0, count: n)
        out.withUnsafeMutableBytes { _ = pbuf_copy_partial(c.data, $0.baseAddress, UInt16(n), UInt16(currentOffset)) }
        currentOffset += n
        return out
    }

    public func peek() -> UInt8? {
        guard let c = current, available > 0 else { return nil }
        return pbuf_get_at(c.data, UInt16(currentOffset))
    }

    public var remoteIP: String { ipString(current?.remoteIP ?? 0) }
    public var remotePort: Int { Int(current?.remotePort ?? 0) }
    public var destinationIP: String { ipString(current?.destinationIP ?? 0) }
    /// Datagrams waiting behind the current one.
    public var queued: Int { queue.count }

    // MARK: sending

    /// `beginPacket(ip, port)`.
    public func beginPacket(address: UInt32, port: UInt16) -> Bool {
        tx.removeAll()
        txDestination = (address, port)
        return true
    }

    public func write(_ bytes: [UInt8]) -> Int {
        guard txDestination != nil else { return 0 }
        tx.append(contentsOf: bytes)
        return bytes.count
    }

    /// `endPacket()`: one datagram with `udp_sendto` (a pcb is made if `begin` was not called).
    public func endPacket() -> Bool {
        guard let (ip, port) = txDestination else { return false }
        txDestination = nil
        defer { tx.removeAll() }
        if pcb == nil {
            guard let h = network.board.heap.allocate(UDPContext.contextBytes, owner: "UdpContext") else { return false }
            guard let p = udp_new() else { network.board.heap.free(h); return false }
            charge = h
            pcb = p
            network.udpContexts[ObjectIdentifier(self)] = self
        }
        guard tx.count <= 65_507, let p = pbuf_alloc(PBUF_TRANSPORT, UInt16(tx.count), PBUF_RAM) else { return false }
        defer { pbuf_free(p) }
        _ = tx.withUnsafeBytes { pbuf_take(p, $0.baseAddress, UInt16(tx.count)) }
        var dst = ip_addr_t()
        clwip_ip_set_u32(&dst, ip)
        return udp_sendto(pcb, p, &dst, port) == err_t(ERR_OK.rawValue)
    }

    // MARK: closing

    /// `stop()`: the pcb and every queued datagram are freed.
    public func stop() {
        dropCurrent()
        for d in queue { pbuf_free(d.data); if let a = d.addresses { pbuf_free(a) } }
        queue.removeAll()
        if let pcb { udp_remove(pcb) }
        pcb = nil
        if let c = charge { network.board.heap.free(c) }
        charge = nil
        network.udpContexts.removeValue(forKey: ObjectIdentifier(self))
    }

    /// Reboot: drop everything without touching the wire.
    func forget() { stop() }
}
