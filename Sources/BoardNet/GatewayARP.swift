/// The gateway's neighbour table: the boards' addresses as a router on the LAN
/// keeps them, in front of slirp's own.
///
/// libslirp keeps 16 ARP entries and replaces them in turn (arp_table.c,
/// `next_victim`; ARP_TABLE_SIZE in slirp.h). A lab of 30 boards visited in turn
/// therefore made slirp broadcast an ARP request for most visits, and every board
/// on the switch woke to read each one. A router (Linux, an access point) keeps
/// every neighbour it talks to and asks again only when an entry has gone stale:
/// an entry confirmed within its reachable time is used as it is, an older one
/// is confirmed by a request sent to that neighbour alone (Linux's NUD_PROBE, the
/// unicast poll of RFC 1122 2.3.2.1), an unknown address is asked for by broadcast.
///
/// The table learns from what the boards send: the sender of an ARP request or
/// reply (a board's gratuitous ARP at boot, its requests for the gateway, its
/// replies), and an entry is confirmed by any IPv4 frame from the same address
/// and MAC (the upper-layer confirmation of RFC 4861 7.3.1, which Linux applies
/// to ARP too).
struct GatewayARP {
    /// How long a confirmed entry is used without asking (Linux's
    /// base_reachable_time, 30 s; it randomizes 15-45 s).
    static let reachableMicros: UInt64 = 30_000_000
    let reachableMicros: UInt64

    /// Unicast requests sent for a stale entry before it is dropped and the next
    /// request is a broadcast again (Linux's ucast_solicit, 3).
    static let probes = 3

    struct Entry {
        var mac: [UInt8]
        var confirmedAt: UInt64
        var probes = 0
    }

    /// The LAN (slirp's 10.0.2.0/24) and the gateway's own addresses (never learned).
    let network: UInt32, mask: UInt32
    let own: Set<UInt32>
    private(set) var entries: [UInt32: Entry] = [:]

    init(
        network: UInt32 = 0x0A00_0200, mask: UInt32 = 0xFFFF_FF00, own: Set<UInt32> = [0x0A00_0202, 0x0A00_0203],
        reachableMicros: UInt64 = GatewayARP.reachableMicros
    ) {
        self.reachableMicros = reachableMicros
        self.network = network
        self.mask = mask
        self.own = own
    }

    private func onLAN(_ ip: UInt32) -> Bool {
        ip & mask == network && ip != network && ip != network | ~mask && !own.contains(ip)
    }

    private static func u32(_ f: UnsafeRawBufferPointer, _ at: Int) -> UInt32 {
        UInt32(f[at]) << 24 | UInt32(f[at + 1]) << 16 | UInt32(f[at + 2]) << 8 | UInt32(f[at + 3])
    }

    /// An Ethernet/IPv4 ARP packet: (operation, sender MAC, sender IP, target IP).
    private static func arp(_ f: UnsafeRawBufferPointer) -> (op: UInt16, sha: [UInt8], spa: UInt32, tpa: UInt32)? {
        guard f.count >= 42, f[12] == 0x08, f[13] == 0x06, f[14] == 0, f[15] == 1, f[16] == 0x08, f[17] == 0x00,
            f[18] == 6, f[19] == 4
        else { return nil }
        return (UInt16(f[20]) << 8 | UInt16(f[21]), Array(f[22..<28]), u32(f, 28), u32(f, 38))
    }

    /// A frame a board sent onto the LAN.
    mutating func learn(_ f: UnsafeRawBufferPointer, now: UInt64) {
        if let a = Self.arp(f) {
            guard a.op == 1 || a.op == 2, onLAN(a.spa), a.sha[0] & 1 == 0, a.sha != [0, 0, 0, 0, 0, 0] else { return }
            entries[a.spa] = Entry(mac: a.sha, confirmedAt: now)
            return
        }
        guard f.count >= 34, f[12] == 0x08, f[13] == 0x00, f[14] >> 4 == 4 else { return }
        let src = Self.u32(f, 26)
        if let e = entries[src], e.mac.elementsEqual(f[6..<12]) { entries[src] = Entry(mac: e.mac, confirmedAt: now) }
    }

    /// What to do with a frame slirp sent towards the LAN.
    enum Outcome: Equatable {
        /// Not an ARP request for a neighbour the table knows: on to the LAN as it is.
        case pass
        /// The table answers (this ARP reply goes to slirp; nothing to the LAN).
        case answer([UInt8])
        /// A stale entry: the request goes to that neighbour alone (this frame).
        case probe([UInt8])
    }

    mutating func resolve(_ f: UnsafeRawBufferPointer, now: UInt64) -> Outcome {
        guard let a = Self.arp(f), a.op == 1, f[0..<6].allSatisfy({ $0 == 0xFF }), let e = entries[a.tpa] else { return .pass }
        if now &- e.confirmedAt < reachableMicros {
            // as the neighbour would answer: from its MAC, to the asker
            var r = [UInt8](repeating: 0, count: 42)
            r.replaceSubrange(0..<6, with: a.sha)
            r.replaceSubrange(6..<12, with: e.mac)
            r.replaceSubrange(12..<22, with: [0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 2])
            r.replaceSubrange(22..<28, with: e.mac)
            r.replaceSubrange(28..<32, with: f[38..<42])  // the address asked for
            r.replaceSubrange(32..<38, with: a.sha)
            r.replaceSubrange(38..<42, with: f[28..<32])  // the asker's address
            return .answer(r)
        }
        if e.probes >= Self.probes {
            // no answer to the probes: forgotten, asked for by broadcast
            entries[a.tpa] = nil
            return .pass
        }
        entries[a.tpa]?.probes += 1
        var probe = Array(f)
        probe.replaceSubrange(0..<6, with: e.mac)
        return .probe(probe)
    }
}
