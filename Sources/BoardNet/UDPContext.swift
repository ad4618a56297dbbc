import BoardCore
import CLwIP

/// The core's `UdpContext` behind `WiFiUDP` (reference §6, UdpContext.h):
/// a udp_pcb, a receive chain of the pbufs lwIP delivered, each datagram after the
/// first preceded by a small pbuf holding its addresses (the core's `AddrHelper`),
/// all charged to the heap; a datagram is dropped when that chain already holds
/// `rxBufMaxDepth * 2` = 8 pbufs, which with lwIP's one pbuf per datagram keeps 5;
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
    /// `_currentAddr`: the addresses of the datagram at the head of the chain.
    private var currentAddress: (remoteIP: UInt32, remotePort: UInt16, destinationIP: UInt32) = (0, 0, 0)
    private var tx: [UInt8] = []
    private var txDestination: (ip: UInt32, port: UInt16)?
    /// `rxBufMaxDepth` (UdpContext.h:620): the chain may hold up to twice as many pbufs.
    public static let rxBufMaxDepth = 4
    /// The heap a helper pbuf's payload takes: `sizeof(AddrHelper) + PBUF_ALIGNER_ADJUST`
    /// (UdpContext.h:548) = 24 + 4 on the ESP8266 without IPv6 (two 8-byte
    /// IPAddress objects, vtable pointer and ip_addr_t; an int16_t port padded to 4;
    /// a netif pointer).
    static let helperPayloadBytes: UInt16 = 28
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

    /// Pbufs in the core's `_rx_buf` chain: every datagram held (the one being
    /// read included) with its pbufs, and an address helper before each but the head.
    private var chainPbufs: Int {
        var n = 0
        if let c = current { n += Int(pbuf_clen(c.data)) }
        for d in queue { n += Int(pbuf_clen(d.data)) + (d.addresses == nil ? 0 : 1) }
        return n
    }

    /// `_recv` (UdpContext.h:512-583): drop when the chain is `rxBufMaxDepth * 2`
    /// pbufs deep (the walk stops at the 8th pbuf, l.521); otherwise the first
    /// datagram of an empty chain takes the addresses itself (l.565-576) and a later
    /// one is chained behind a helper pbuf holding them (l.548-563).
    private func received(_ p: UnsafeMutablePointer<pbuf>, from addr: UnsafePointer<ip_addr_t>?, port: UInt16) {
        guard chainPbufs < UDPContext.rxBufMaxDepth * 2 else {
            dropped += 1
            pbuf_free(p)
            return
        }
        let remote = addr.map { clwip_ip_u32($0) } ?? 0
        // the packet's own destination (a broadcast's is 255.255.255.255 or the subnet's),
        // as the core's AddrHelper takes ip_current_dest_addr() (UdpContext.h:556, 568)
        let destination = clwip_current_dest()
        var helper: UnsafeMutablePointer<pbuf>? = nil
        if current != nil || !queue.isEmpty {
            guard let h = pbuf_alloc(PBUF_RAW, UDPContext.helperPayloadBytes, PBUF_RAM) else {
                dropped += 1
                pbuf_free(p)
                return
            }
            helper = h
        } else {
            currentAddress = (remote, port, destination)
        }
        queue.append(Datagram(data: p, addresses: helper, remoteIP: remote, remotePort: port, destinationIP: destination))
    }

    // MARK: receiving

    /// `parsePacket()` = `next()` (UdpContext.h:259-312): the datagram read so far and
    /// the next one's helper pbuf are freed, the next one becomes current with its
    /// addresses; returns its size (0 if none).
    public func parsePacket() -> Int {
        dropCurrent()
        guard !queue.isEmpty else { return 0 }
        let next = queue.removeFirst()
        if let a = next.addresses { pbuf_free(a) }
        current = Datagram(
            data: next.data, addresses: nil, remoteIP: next.remoteIP, remotePort: next.remotePort, destinationIP: next.destinationIP)
        currentAddress = (next.remoteIP, next.remotePort, next.destinationIP)
        currentOffset = 0
        return Int(next.data.pointee.tot_len)
    }

    private func dropCurrent() {
        guard let c = current else { return }
        pbuf_free(c.data)
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

    /// `remoteIP()` etc. read `_currentAddr`, which outlives its datagram and is set
    /// as soon as a datagram arrives to an empty chain.
    public var remoteIP: String { ipString(currentAddress.remoteIP) }
    public var remotePort: Int { Int(currentAddress.remotePort) }
    public var destinationIP: String { ipString(currentAddress.destinationIP) }
    /// Datagrams waiting behind the current one.
    public var queued: Int { queue.count }

    // MARK: sending

    /// A context with a pcb, made by `begin` or the first `beginPacket` (WiFiUdp.cpp:146-153).
    private func makeContext() -> Bool {
        if pcb != nil { return true }
        guard let h = network.board.heap.allocate(UDPContext.contextBytes, owner: "UdpContext") else { return false }
        guard let p = udp_new() else { network.board.heap.free(h); return false }
        charge = h
        pcb = p
        network.udpContexts[ObjectIdentifier(self)] = self
        return true
    }

    /// `beginPacket(ip, port)`: `UdpContext::connect` only records the destination
    /// in the pcb (UdpContext.h:95-106); it stays for later `endPacket`s.
    public func beginPacket(address: UInt32, port: UInt16) -> Bool {
        guard makeContext() else { return false }
        txDestination = (address, port)
        return true
    }

    /// `write` appends to the transmit buffer of an existing context (WiFiUdp.cpp:183-189).
    public func write(_ bytes: [UInt8]) -> Int {
        guard pcb != nil else { return 0 }
        tx.append(contentsOf: bytes)
        return bytes.count
    }

    /// `endPacket()` = `UdpContext::send` → `trySend` (UdpContext.h:403-460): the buffer,
    /// even empty, goes as one datagram with `udp_sendto` to the destination the pcb
    /// holds, and is dropped whatever the outcome. False without a context.
    public func endPacket() -> Bool {
        guard let pcb else { return false }
        defer { tx.removeAll() }
        guard tx.count <= 65_507, let p = pbuf_alloc(PBUF_TRANSPORT, UInt16(tx.count), PBUF_RAM) else { return false }
        defer { pbuf_free(p) }
        _ = tx.withUnsafeBytes { pbuf_take(p, $0.baseAddress, UInt16(tx.count)) }
        var dst = ip_addr_t()
        clwip_ip_set_u32(&dst, txDestination?.ip ?? 0)
        return udp_sendto(pcb, p, &dst, txDestination?.port ?? 0) == err_t(ERR_OK.rawValue)
    }

    /// `flush()`: in the core it is `endPacket()` (WiFiUdp.cpp:228-231), not a
    /// discard of the received datagram.
    public func flush() -> Bool { endPacket() }

    // MARK: closing

    /// `stop()`: the pcb and every queued datagram are freed.
    public func stop() {
        dropCurrent()
        for d in queue { pbuf_free(d.data); if let a = d.addresses { pbuf_free(a) } }
        queue.removeAll()
        currentAddress = (0, 0, 0)
        tx.removeAll()
        txDestination = nil
        if let pcb { udp_remove(pcb) }
        pcb = nil
        if let c = charge { network.board.heap.free(c) }
        charge = nil
        network.udpContexts.removeValue(forKey: ObjectIdentifier(self))
    }

    /// Reboot: drop everything without touching the wire.
    func forget() { stop() }
}
