/// The world's mDNS responders (`"mdns"` in the world file): hosts on the board's
/// link that answer the board's multicast queries (RFC 6762) for their service
/// type (`_ipp._tcp.local` PTR), their instance (SRV, TXT) and their host name
/// (`name.local` A), as Avahi or Bonjour on a PC would: PTR and TXT with a TTL of
/// 4500 s, SRV and A (records naming a host) 120 s with the cache-flush bit
/// (RFC 6762 §10, §10.2). Replies are multicast from the responder's address to
/// 224.0.0.251:5353, or unicast when the question has the QU bit (§5.4).
///
/// mDNS is link-local (224.0.0.251, IP TTL 255, never routed): with the board on
/// its own slirp the world is its whole link, so the board's mDNS frames end here
/// and never reach slirp's NAT (which would send them to the host's loopback).
enum WorldMDNS {
    /// True for a frame of the board's to 224.0.0.251:5353.
    static func isMDNS(_ frame: UnsafeRawBufferPointer) -> Bool {
        guard frame.count >= 42, frame[12] == 0x08, frame[13] == 0x00, frame[23] == 17,
            frame[30] == 224, frame[31] == 0, frame[32] == 0, frame[33] == 251
        else { return false }
        let u = 14 + Int(frame[14] & 0x0f) * 4
        return frame.count >= u + 8 && frame[u + 2] == 0x14 && frame[u + 3] == 0xe9
    }

    /// The world responders' replies to a board frame (empty if none answers).
    static func answer(_ frame: UnsafeRawBufferPointer, responders: [World.MDNSResponder]) -> [[UInt8]] {
        guard !responders.isEmpty, let udp = MDNSFrame.parseUDP(frame), let query = MDNSMessage(udp.payload),
            !query.isResponse, query.opcode == 0
        else { return [] }
        let boardMAC = Array(UnsafeRawBufferPointer(rebasing: frame[6..<12]))
        var out: [[UInt8]] = []
        for r in responders {
            guard let ip = ipBits(r.address) else { continue }
            let instance = "\(r.name).\(r.service).local", typeDomain = "\(r.service).local", host = "\(r.name).local"
            let ptr = MDNSMessage.Record(name: typeDomain, type: MDNSMessage.typePTR, cacheFlush: false, ttl: 4500, data: .ptr(instance))
            let srv = MDNSMessage.Record(
                name: instance, type: MDNSMessage.typeSRV, cacheFlush: true, ttl: 120,
                data: .srv(priority: 0, weight: 0, port: r.port, target: host))
            let txt = MDNSMessage.Record(name: instance, type: MDNSMessage.typeTXT, cacheFlush: true, ttl: 4500, data: .txt(r.txt))
            let a = MDNSMessage.Record(name: host, type: MDNSMessage.typeA, cacheFlush: true, ttl: 120, data: .a(ip))
            var reply = MDNSMessage(response: true, authoritative: true)
            var unicast = false
            for q in query.questions {
                let any = q.type == MDNSMessage.typeANY
                if MDNSMessage.sameName(q.name, typeDomain), any || q.type == MDNSMessage.typePTR {
                    reply.answers.append(ptr)
                    reply.additional += [srv, txt, a]
                } else if MDNSMessage.sameName(q.name, instance) {
                    if any || q.type == MDNSMessage.typeSRV { reply.answers.append(srv) }
                    if any || q.type == MDNSMessage.typeTXT { reply.answers.append(txt) }
                    reply.additional.append(a)
                } else if MDNSMessage.sameName(q.name, host), any || q.type == MDNSMessage.typeA {
                    reply.answers.append(a)
                } else {
                    continue
                }
                if q.unicast { unicast = true }
            }
            guard !reply.answers.isEmpty else { continue }
            var seen: [MDNSMessage.Record] = []
            reply.additional = reply.additional.filter { r in
                defer { seen.append(r) }
                return !seen.contains(r) && !reply.answers.contains(r)
            }
            let mac: [UInt8] = [0x02, 0x00] + withUnsafeBytes(of: ip) { Array($0) }
            let to = unicast ? (mac: boardMAC, ip: udp.srcIP, port: udp.srcPort) : (mac: MDNSFrame.groupMAC, ip: MDNSMessage.group, port: MDNSMessage.port)
            out.append(MDNSFrame.udp(from: (mac, ip, MDNSMessage.port), to: to, payload: reply.encoded()))
        }
        return out
    }
}
