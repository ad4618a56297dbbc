import BoardCore
import CLwIP

/// The core's LEAmDNS responder behind `MDNS` (libraries/ESP8266mDNS/src, core 3.1.2),
/// on the board's lwIP: one udp pcb bound to 5353 on every interface, the netif
/// joined to 224.0.0.251 with IGMP, multicast TTL 255 (LEAmDNS_Helpers.cpp:176-190,
/// LEAmDNS.cpp:1300-1330, LEAmDNS_Priv.h:130).
///
/// - Queries are answered from lwIP's receive callback, as the core's `onRx`
///   → `_callProcess` does (LEAmDNS_Helpers.cpp:155-160), but only for names whose
///   probing is done (LEAmDNS_Control.cpp:205-212). QU questions or a source port
///   other than 5353 get a unicast reply without the cache-flush bit
///   (LEAmDNS_Control.cpp:270-281); multicast replies set it on A, SRV, TXT.
/// - Probing and announcing run in `update()` (LEAmDNS_Control.cpp:1375-1530): the
///   host's first probe 0-249 ms after the first `update()`, 3 probes 250 ms apart
///   (MDNS_PROBE_COUNT/DELAY), then 8 announcements 1 s apart (MDNS_ANNOUNCE_COUNT/DELAY),
///   each service likewise, its probes starting 250 ms after.
/// - TTLs: 120 s for the host's A (MDNS_HOST_TTL), 4500 s for service records
///   (MDNS_SERVICE_TTL, LEAmDNS_Priv.h:137-138); 0 in the goodbye `end()` sends.
///
/// Heap: the pcb and IGMP group are lwIP's (charged by the port); the `UdpContext`,
/// the host name, each service with its strings and each TXT item are charged
/// as the core's `new`s (struct sizes estimated from their ESP8266 fields).
/// Known answers are suppressed as the core does. Not emulated: conflict resolution
/// after a lost probe (and tiebreaks), dynamic service queries, IPv6, the soft-AP interface.
public final class MDNSResponder {
    public static let hostTTL: UInt32 = 120
    public static let serviceTTL: UInt32 = 4500
    public static let probeDelay: UInt64 = 250_000
    public static let probeCount = 3
    public static let announceDelay: UInt64 = 1_000_000
    public static let announceCount = 8
    /// MDNS_QUERYSERVICES_WAIT_TIME (LEAmDNS.h:169), ms.
    public static let queryWaitMillis = 1000
    /// `sizeof(stcMDNSService)` on the ESP8266 (next, name, service, protocol pointers,
    /// flags, port, reply mask, TXT list, a std::function, the probe information).
    static let serviceBytes = 84
    /// `sizeof(stcMDNSServiceTxt)`: next, key, value, temp flag.
    static let txtBytes = 16
    /// `sizeof(stcMDNSServiceQuery)` and of one `stcAnswer` (estimates).
    static let queryBytes = 40
    static let answerBytes = 72

    enum ProbingStatus { case waiting, readyToStart, inProgress, done }
    struct Probe {
        var status = ProbingStatus.waiting
        var sent = 0
        var deadline: UInt64? = nil  // nil: never expires
        func expired(_ now: UInt64) -> Bool { deadline.map { now >= $0 } ?? false }
    }

    final class Service {
        var name: String
        let service: String  // without the leading "_"
        let proto: String
        let port: UInt16
        var txts: [(key: String, value: String, charges: [Int32])] = []
        var probe = Probe()
        var charges: [Int32] = []
        var replyMask: UInt8 = 0
        init(name: String, service: String, proto: String, port: UInt16) {
            self.name = name
            self.service = service
            self.proto = proto
            self.port = port
        }
        var typeDomain: String { "_\(service)._\(proto).local" }
        var instanceDomain: String { "\(name).\(typeDomain)" }
    }

    /// One answer of `queryService`.
    public struct Answer: Sendable, Equatable {
        public var instance: String
        public var hostDomain: String?
        public var port: UInt16?
        public var address: UInt32?
        public var txts: [String] = []
    }

    // the reply mask bits (LEAmDNS_Priv.h ContentFlag_*)
    static let flagA: UInt8 = 0x01, flagPTRIP4: UInt8 = 0x02, flagPTRType: UInt8 = 0x10
    static let flagPTRName: UInt8 = 0x20, flagTXT: UInt8 = 0x40, flagSRV: UInt8 = 0x80

    unowned(unsafe) let network: Network
    private var pcb: UnsafeMutablePointer<udp_pcb>?
    private var joined = false
    private var contextCharge: Int32?
    public private(set) var hostname: String?
    private var hostnameCharge: Int32?
    private var hostProbe = Probe()
    /// The station's address when `update()` last looked (a change restarts probing).
    private var lastAddress: UInt32 = 0
    /// Newest first, as the core's list (services are added at its head).
    private var services: [Service] = []
    private var query: (domain: String, awaiting: Bool, answers: [Answer], charges: [Int32])?
    /// Every message the responder sent (tests, the trace).
    public var onSend: ((MDNSMessage, _ to: UInt32, _ port: UInt16) -> Void)?

    public init(network: Network) { self.network = network }

    /// `isRunning()`: the UDP context exists (LEAmDNS.h:210-213).
    public var isRunning: Bool { pcb != nil }
    private var now: UInt64 { network.board.clock.micros }
    private var hostDomain: String { "\(hostname ?? "").local" }

    // MARK: the sketch's calls

    /// `begin(hostname)` (LEAmDNS.cpp:82-90): the name (at most 63 characters), then
    /// `_restart`: probing restarts and the UDP context is (re)made.
    public func begin(_ name: String) -> Bool {
        guard setHostnameStorage(name) else { return false }
        return restart()
    }

    /// `setHostname(name)` (LEAmDNS.cpp:179-205): probing restarts, for services named after the host too.
    public func setHostname(_ name: String) -> Bool {
        let old = hostname
        guard setHostnameStorage(name) else { return false }
        hostProbe.status = .readyToStart
        for s in services where s.name == old {
            s.name = name
            s.probe.status = .readyToStart
        }
        return true
    }

    private func setHostnameStorage(_ name: String) -> Bool {
        releaseHostname()
        guard name.utf8.count <= 63 else { return false }
        guard let h = network.board.heap.allocate(name.utf8.count + 1, owner: "mDNS") else { return false }
        hostname = name
        hostnameCharge = h
        return true
    }

    private func releaseHostname() {
        if let h = hostnameCharge { network.board.heap.free(h) }
        hostnameCharge = nil
        hostname = nil
    }

    private func restart() -> Bool {
        lastAddress = network.addressBits
        resetProbeStatus(restart: true)
        return allocUDPContext()
    }

    private func resetProbeStatus(restart: Bool) {
        hostProbe = Probe(status: restart ? .readyToStart : .waiting)
        for s in services { s.probe = Probe(status: restart ? .readyToStart : .waiting) }
    }

    /// `_allocUDPContext` (LEAmDNS_Helpers.cpp:170-193): join the group on the
    /// interface that is up, a context listening on 5353, multicast TTL 255.
    private func allocUDPContext() -> Bool {
        releaseUDPContext()
        joinGroup()
        guard let c = network.board.heap.allocate(UDPContext.contextBytes, owner: "UdpContext") else { return false }
        guard let p = udp_new() else {
            network.board.heap.free(c)
            return false
        }
        var any = ip_addr_t()
        clwip_ip_set_u32(&any, 0)
        guard udp_bind(p, &any, MDNSMessage.port) == err_t(ERR_OK.rawValue) else {
            udp_remove(p)
            network.board.heap.free(c)
            return false
        }
        p.pointee.mcast_ttl = 255  // setMulticastTTL(MDNS_MULTICAST_TTL)
        contextCharge = c
        pcb = p
        udp_recv(
            p,
            { arg, _, p, addr, port in
                guard let arg, let p else { return }
                Unmanaged<MDNSResponder>.fromOpaque(arg).takeUnretainedValue().received(p, from: addr, port: port)
            }, Unmanaged.passUnretained(self).toOpaque())
        return true
    }

    private func releaseUDPContext() {
        if let p = pcb { udp_remove(p) }
        pcb = nil
        if let c = contextCharge { network.board.heap.free(c) }
        contextCharge = nil
        leaveGroup()
    }

    private func joinGroup() {
        guard !joined, network.netifUp else { return }
        var group = ip4_addr_t(addr: MDNSMessage.group)
        joined = igmp_joingroup_netif(network.netif, &group) == err_t(ERR_OK.rawValue)
    }

    private func leaveGroup() {
        guard joined else { return }
        joined = false
        guard network.netifUp else { return }
        var group = ip4_addr_t(addr: MDNSMessage.group)
        _ = igmp_leavegroup_netif(network.netif, &group)
    }

    /// `close()` / `end()` (LEAmDNS.cpp:135-169): goodbyes (TTL 0) for the host and
    /// its services, then everything is released; false when not running.
    public func end() -> Bool {
        guard pcb != nil else { return false }
        _ = announce(goodbye: true, includeServices: true)
        resetProbeStatus(restart: false)
        releaseQuery()
        for s in services { release(s) }
        services.removeAll()
        releaseUDPContext()
        releaseHostname()
        return true
    }

    /// `addService(name, service, proto, port)` (LEAmDNS.cpp:226-261, legacy form
    /// :293-298 names it after the host): a leading "_" is optional; nil if the
    /// arguments are bad or the service exists.
    public func addService(name: String?, service: String, proto: String, port: UInt16) -> Bool {
        let svc = service.hasPrefix("_") ? String(service.dropFirst()) : service
        let pr = proto.hasPrefix("_") ? String(proto.dropFirst()) : proto
        let instance = name ?? hostname ?? ""
        guard instance.utf8.count <= 63, !svc.isEmpty, svc.utf8.count <= 15, !pr.isEmpty, pr.utf8.count <= 3, port != 0,
            findService(instance, svc, pr) == nil
        else { return false }
        let s = Service(name: instance, service: svc, proto: pr, port: port)
        for n in [Self.serviceBytes, instance.utf8.count + 1, svc.utf8.count + 1, pr.utf8.count + 1] {
            guard let h = network.board.heap.allocate(n, owner: "mDNS") else {
                release(s)
                return false
            }
            s.charges.append(h)
        }
        s.probe.status = .readyToStart
        services.insert(s, at: 0)
        return true
    }

    /// `addServiceTxt(service, proto, key, value)` (LEAmDNS.cpp:504-511): a TXT item
    /// `key=value` on the host's service; an existing key is replaced.
    public func addServiceTxt(service: String, proto: String, key: String, value: String) -> Bool {
        let svc = service.hasPrefix("_") ? String(service.dropFirst()) : service
        let pr = proto.hasPrefix("_") ? String(proto.dropFirst()) : proto
        guard let s = findService(hostname ?? "", svc, pr), !key.isEmpty else { return false }
        if let i = s.txts.firstIndex(where: { $0.key == key }) {
            for h in s.txts[i].charges { network.board.heap.free(h) }
            s.txts.remove(at: i)
        }
        var charges: [Int32] = []
        for n in [Self.txtBytes, key.utf8.count + 1, value.utf8.count + 1] {
            guard let h = network.board.heap.allocate(n, owner: "mDNS") else {
                for c in charges { network.board.heap.free(c) }
                return false
            }
            charges.append(h)
        }
        s.txts.insert((key, value, charges), at: 0)  // _addServiceTxt adds at the head
        return true
    }

    private func findService(_ name: String, _ svc: String, _ proto: String) -> Service? {
        services.first { MDNSMessage.sameName($0.name, name) && $0.service == svc && $0.proto == proto }
    }

    private func release(_ s: Service) {
        for h in s.charges { network.board.heap.free(h) }
        for t in s.txts { for h in t.charges { network.board.heap.free(h) } }
        s.charges.removeAll()
        s.txts.removeAll()
    }

    /// `announce()` (LEAmDNS.cpp:1256-1259): host and services, once, now.
    public func announce() -> Bool { announce(goodbye: false, includeServices: true) }

    /// `update()` → `_process(true)` → `_updateProbeStatus` (LEAmDNS_Control.cpp:1375-1530).
    @discardableResult public func update() -> Bool {
        guard pcb != nil else { return false }
        // the core's netif status callback (LEAmDNS.cpp:92-115) restarts the responder
        // when the station's address changes: the group is joined, probing starts again
        let address = network.addressBits
        if address != lastAddress {
            lastAddress = address
            if address != 0 {
                joinGroup()
                resetProbeStatus(restart: true)
            }
        }
        if !joined { joinGroup() }
        let t = now
        switch hostProbe.status {
        case .readyToStart:
            // "First probe delay SHOULD be random 0-250 ms" (l.1386-1387)
            hostProbe.deadline = t + UInt64(clwip_rand() % 250) * 1000
            hostProbe.status = .inProgress
        case .inProgress where hostProbe.expired(t):
            if hostProbe.sent < Self.probeCount {
                sendHostProbe()
                hostProbe.deadline = t + Self.probeDelay
                hostProbe.sent += 1
            } else {
                hostProbe.status = .done
                hostProbe.sent = 0
                hostProbe.deadline = t + Self.announceDelay
            }
        case .done where hostProbe.expired(t):
            _ = announce(goodbye: false, includeServices: false)
            hostProbe.sent += 1
            hostProbe.deadline = hostProbe.sent < Self.announceCount ? t + Self.announceDelay : nil
        default: break
        }
        for s in services {
            switch s.probe.status {
            case .readyToStart:
                s.probe.deadline = t + Self.probeDelay
                s.probe.status = .inProgress
            case .inProgress where s.probe.expired(t):
                if s.probe.sent < Self.probeCount {
                    sendServiceProbe(s)
                    s.probe.deadline = t + Self.probeDelay
                    s.probe.sent += 1
                } else {
                    s.probe.status = .done
                    s.probe.sent = 0
                    s.probe.deadline = t + Self.announceDelay
                }
            case .done where s.probe.expired(t):
                announceService(s)
                s.probe.sent += 1
                s.probe.deadline = s.probe.sent < Self.announceCount ? t + Self.announceDelay : nil
            default: break
            }
        }
        return true
    }

    /// When `update()` next has work (a probe or an announcement due): an idle board
    /// wakes then, as a board's `loop()` that spins would call `update()` at that moment.
    var nextDeadline: UInt64? {
        guard pcb != nil else { return nil }
        return ([hostProbe.deadline] + services.map(\.probe.deadline)).compactMap { $0 }.min()
    }

    /// `queryService(service, proto, timeout)` (LEAmDNS.cpp:689-740): a PTR query for
    /// `_service._proto.local` sent at once, then `delay(timeout)`; the answers
    /// received meanwhile are kept (until the next query or `removeQuery`). 0 when not running.
    public func queryService(service: String, proto: String, timeoutMillis: Int = MDNSResponder.queryWaitMillis) -> Int {
        guard pcb != nil, !service.isEmpty, !proto.isEmpty, timeoutMillis > 0 else { return 0 }
        releaseQuery()
        guard let h = network.board.heap.allocate(Self.queryBytes, owner: "mDNS") else { return 0 }
        let svc = service.hasPrefix("_") ? service : "_" + service
        let pr = proto.hasPrefix("_") ? proto : "_" + proto
        let domain = "\(svc).\(pr).local"
        query = (domain, true, [], [h])
        var m = MDNSMessage()
        m.questions = [MDNSMessage.Question(name: domain, type: MDNSMessage.typePTR)]
        send(m, to: MDNSMessage.group, port: MDNSMessage.port)
        network.board.loop.espDelay(UInt64(timeoutMillis) * 1000)
        query?.awaiting = false
        return query?.answers.count ?? 0
    }

    /// `removeQuery()`: the last query's answers are freed.
    @discardableResult public func removeQuery() -> Bool {
        let had = query != nil
        releaseQuery()
        return had
    }

    private func releaseQuery() {
        if let q = query { for h in q.charges { network.board.heap.free(h) } }
        query = nil
    }

    /// The answers of the last `queryService`.
    public var answers: [Answer] { query?.answers ?? [] }

    // MARK: receiving

    private func received(_ p: UnsafeMutablePointer<pbuf>, from addr: UnsafePointer<ip_addr_t>?, port: UInt16) {
        let n = Int(p.pointee.tot_len)
        var bytes = [UInt8](repeating: 0, count: n)
        bytes.withUnsafeMutableBytes { _ = pbuf_copy_partial(p, $0.baseAddress, UInt16(n), 0) }
        pbuf_free(p)
        guard let m = MDNSMessage(bytes), m.opcode == 0 else { return }
        let remote = addr.map { clwip_ip_u32($0) } ?? 0
        if m.isResponse { parseResponse(m) } else { parseQuery(m, from: remote, port: port) }
    }

    /// `_replyMaskForHost` / `_replyMaskForService` (LEAmDNS_Helpers.cpp).
    private func hostMask(_ q: MDNSMessage.Question) -> UInt8 {
        guard hostname != nil else { return 0 }
        let any = q.type == MDNSMessage.typeANY
        var mask: UInt8 = 0
        if MDNSMessage.sameName(q.name, hostDomain), any || q.type == MDNSMessage.typeA { mask |= Self.flagA }
        if MDNSMessage.sameName(q.name, reverseDomain), any || q.type == MDNSMessage.typePTR { mask |= Self.flagPTRIP4 }
        return mask
    }

    private func serviceMask(_ q: MDNSMessage.Question, _ s: Service) -> UInt8 {
        let any = q.type == MDNSMessage.typeANY
        var mask: UInt8 = 0
        if MDNSMessage.sameName(q.name, "_services._dns-sd._udp.local"), any || q.type == MDNSMessage.typePTR { mask |= Self.flagPTRType }
        if MDNSMessage.sameName(q.name, s.typeDomain), any || q.type == MDNSMessage.typePTR { mask |= Self.flagPTRName }
        if MDNSMessage.sameName(q.name, s.instanceDomain) {
            if any || q.type == MDNSMessage.typeSRV { mask |= Self.flagSRV }
            if any || q.type == MDNSMessage.typeTXT { mask |= Self.flagTXT }
        }
        return mask
    }

    private var reverseDomain: String {
        let b = withUnsafeBytes(of: network.addressBits) { Array($0) }
        return "\(b[3]).\(b[2]).\(b[1]).\(b[0]).in-addr.arpa"
    }

    /// `_parseQuery` (LEAmDNS_Control.cpp:189-690).
    private func parseQuery(_ m: MDNSMessage, from remote: UInt32, port: UInt16) {
        var host: UInt8 = 0
        var unicast = false
        var legacy = false
        for q in m.questions {
            if hostProbe.status == .done { host |= hostMask(q) }
            for s in services where s.probe.status == .done { s.replyMask |= serviceMask(q, s) }
            if port != MDNSMessage.port || q.unicast { unicast = true }
        }
        // known answers (LEAmDNS_Control.cpp:347-585, RFC 6762 §7.1): a record the asker
        // already holds with at least half its TTL left is not sent again
        for k in m.answers + m.authority + m.additional where k.type != MDNSMessage.typeANY && k.rclass & 0x7fff != MDNSMessage.typeANY {
            let q = MDNSMessage.Question(name: k.name, type: k.type)
            let hostMatch = host & hostMask(q)
            if hostMatch != 0 && k.ttl >= Self.hostTTL / 2 {
                if case .ptr(let target) = k.data, MDNSMessage.sameName(target, hostDomain) {
                    host &= ~Self.flagPTRIP4
                } else if hostMatch & Self.flagA != 0, case .a(let bits) = k.data, bits == network.addressBits {
                    host &= ~Self.flagA
                }
            }
            for s in services {
                let match = s.replyMask & serviceMask(q, s)
                guard match != 0, k.ttl >= Self.serviceTTL / 2 else { continue }
                switch k.data {
                case .ptr(let target):
                    if match & Self.flagPTRType != 0, MDNSMessage.sameName(target, s.typeDomain) { s.replyMask &= ~Self.flagPTRType }
                    if match & Self.flagPTRName != 0, MDNSMessage.sameName(target, s.instanceDomain) { s.replyMask &= ~Self.flagPTRName }
                case .srv(let pri, let weight, let port, let target) where match & Self.flagSRV != 0:
                    if pri == 0, weight == 0, port == s.port, MDNSMessage.sameName(target, hostDomain) { s.replyMask &= ~Self.flagSRV }
                case .txt(let items) where match & Self.flagTXT != 0:
                    if items == s.txts.map({ "\($0.key)=\($0.value)" }) { s.replyMask &= ~Self.flagTXT }
                default: break
                }
            }
        }
        let any = host != 0 || services.contains { $0.replyMask != 0 }
        defer { for s in services { s.replyMask = 0 } }
        guard any else { return }
        // a legacy query (not from 5353, one question) gets its id and question back (l.286-320)
        if port != MDNSMessage.port && m.questions.count == 1 { legacy = true }
        var reply = message(host: host, response: true, unannounce: false, cacheFlush: !unicast)
        if legacy {
            reply.id = m.id
            var q = m.questions[0]
            q.qclass &= ~MDNSMessage.topBit
            reply.questions = [q]
        }
        if unicast { send(reply, to: remote, port: port) } else { send(reply, to: MDNSMessage.group, port: MDNSMessage.port) }
    }

    /// `_parseResponse` → `_processAnswers` (LEAmDNS_Control.cpp:720-1250): the
    /// answers of a running service query: PTRs make answers, SRV/TXT fill them, A
    /// records give their hosts' addresses.
    private func parseResponse(_ m: MDNSMessage) {
        guard var q = query, q.awaiting else { return }
        let records = m.answers + m.authority + m.additional
        for r in records where r.type == MDNSMessage.typePTR && MDNSMessage.sameName(r.name, q.domain) && r.ttl > 0 {
            guard case .ptr(let instance) = r.data, !q.answers.contains(where: { MDNSMessage.sameName($0.instance, instance) }) else {
                continue
            }
            guard let h = network.board.heap.allocate(Self.answerBytes, owner: "mDNS") else { continue }
            q.charges.append(h)
            q.answers.append(Answer(instance: instance))
        }
        for i in q.answers.indices {
            for r in records where MDNSMessage.sameName(r.name, q.answers[i].instance) {
                switch r.data {
                case .srv(_, _, let port, let target):
                    q.answers[i].port = port
                    q.answers[i].hostDomain = target
                case .txt(let items): q.answers[i].txts = items
                default: break
                }
            }
            guard let host = q.answers[i].hostDomain else { continue }
            for r in records where r.type == MDNSMessage.typeA && MDNSMessage.sameName(r.name, host) {
                if case .a(let bits) = r.data { q.answers[i].address = bits }
            }
        }
        query = q
    }

    // MARK: sending

    /// `_prepareMDNSMessage` (LEAmDNS_Transfer.cpp:164-400): answers (or, in a query,
    /// the authority section) for the host mask and each service's mask, then the
    /// additional SRV/TXT for a PTR_NAME without them and the A record for any service
    /// instance or SRV.
    private func message(host: UInt8, response: Bool, unannounce: Bool, cacheFlush: Bool) -> MDNSMessage {
        var m = MDNSMessage(response: response, authoritative: response)
        let ip = network.addressBits
        func ttl(_ t: UInt32) -> UInt32 { unannounce ? 0 : t }
        let a = MDNSMessage.Record(
            name: hostDomain, type: MDNSMessage.typeA, cacheFlush: cacheFlush, ttl: ttl(Self.hostTTL), data: .a(ip))
        func srv(_ s: Service) -> MDNSMessage.Record {
            .init(
                name: s.instanceDomain, type: MDNSMessage.typeSRV, cacheFlush: cacheFlush, ttl: ttl(Self.serviceTTL),
                data: .srv(priority: 0, weight: 0, port: s.port, target: hostDomain))
        }
        func txt(_ s: Service) -> MDNSMessage.Record {
            .init(
                name: s.instanceDomain, type: MDNSMessage.typeTXT, cacheFlush: cacheFlush, ttl: ttl(Self.serviceTTL),
                data: .txt(s.txts.map { "\($0.key)=\($0.value)" }))
        }
        var answers: [MDNSMessage.Record] = []
        if host & Self.flagA != 0 { answers.append(a) }
        if host & Self.flagPTRIP4 != 0 {
            answers.append(
                .init(name: reverseDomain, type: MDNSMessage.typePTR, cacheFlush: cacheFlush, ttl: ttl(Self.hostTTL), data: .ptr(hostDomain)))
        }
        for s in services {
            if s.replyMask & Self.flagPTRType != 0 {
                answers.append(
                    .init(
                        name: "_services._dns-sd._udp.local", type: MDNSMessage.typePTR, cacheFlush: false, ttl: ttl(Self.serviceTTL),
                        data: .ptr(s.typeDomain)))
            }
            if s.replyMask & Self.flagPTRName != 0 {
                answers.append(
                    .init(name: s.typeDomain, type: MDNSMessage.typePTR, cacheFlush: false, ttl: ttl(Self.serviceTTL), data: .ptr(s.instanceDomain)))
            }
            if s.replyMask & Self.flagSRV != 0 { answers.append(srv(s)) }
            if s.replyMask & Self.flagTXT != 0 { answers.append(txt(s)) }
        }
        var needsA = false
        for s in services {
            if s.replyMask & Self.flagPTRName != 0 && s.replyMask & Self.flagSRV == 0 { m.additional.append(srv(s)) }
            if s.replyMask & Self.flagPTRName != 0 && s.replyMask & Self.flagTXT == 0 { m.additional.append(txt(s)) }
            if s.replyMask & (Self.flagPTRName | Self.flagSRV) != 0 && host & Self.flagA == 0 { needsA = true }
        }
        if needsA { m.additional.append(a) }
        if response { m.answers = answers } else { m.authority = answers }
        return m
    }

    private func send(_ m: MDNSMessage, to ip: UInt32, port: UInt16) {
        guard let pcb else { return }
        let bytes = m.encoded()
        guard let p = pbuf_alloc(PBUF_TRANSPORT, UInt16(bytes.count), PBUF_RAM) else { return }
        defer { pbuf_free(p) }
        _ = bytes.withUnsafeBytes { pbuf_take(p, $0.baseAddress, UInt16(bytes.count)) }
        var dst = ip_addr_t()
        clwip_ip_set_u32(&dst, ip)
        onSend?(m, ip, port)
        _ = udp_sendto(pcb, p, &dst, port)
    }

    /// `_sendHostProbe` (LEAmDNS_Control.cpp:1596-1638): "name.local ANY" with the QU
    /// bit, the A record in the authority section, no cache flush (RFC 6762 §10.2).
    private func sendHostProbe() {
        guard network.addressBits != 0 else { return }
        var m = message(host: Self.flagA, response: false, unannounce: false, cacheFlush: false)
        m.questions = [MDNSMessage.Question(name: hostDomain, type: MDNSMessage.typeANY, unicast: true)]
        send(m, to: MDNSMessage.group, port: MDNSMessage.port)
    }

    /// `_sendServiceProbe` (LEAmDNS_Control.cpp:1652-1695): "instance ANY" QU, with
    /// PTR_NAME and SRV as known answers.
    private func sendServiceProbe(_ s: Service) {
        guard network.addressBits != 0 else { return }
        s.replyMask = Self.flagSRV | Self.flagPTRName
        defer { for s in services { s.replyMask = 0 } }
        var m = message(host: 0, response: false, unannounce: false, cacheFlush: false)
        m.questions = [MDNSMessage.Question(name: s.instanceDomain, type: MDNSMessage.typeANY, unicast: true)]
        send(m, to: MDNSMessage.group, port: MDNSMessage.port)
    }

    /// `_announce` (LEAmDNS_Control.cpp:1761-1812): A and PTR_IP4 of the host (and
    /// every probed service's records), only once the host's probing is done.
    private func announce(goodbye: Bool, includeServices: Bool) -> Bool {
        guard hostProbe.status == .done, network.addressBits != 0 else { return false }
        if includeServices {
            for s in services where s.probe.status == .done {
                s.replyMask = Self.flagPTRType | Self.flagPTRName | Self.flagSRV | Self.flagTXT
            }
        }
        defer { for s in services { s.replyMask = 0 } }
        send(
            message(host: Self.flagA | Self.flagPTRIP4, response: true, unannounce: goodbye, cacheFlush: true),
            to: MDNSMessage.group, port: MDNSMessage.port)
        return true
    }

    /// `_announceService` (LEAmDNS_Control.cpp:1817-1845): PTR_TYPE, PTR_NAME, SRV, TXT (and the A record).
    private func announceService(_ s: Service) {
        guard network.addressBits != 0 else { return }
        s.replyMask = Self.flagPTRType | Self.flagPTRName | Self.flagSRV | Self.flagTXT
        defer { s.replyMask = 0 }
        send(message(host: 0, response: true, unannounce: false, cacheFlush: true), to: MDNSMessage.group, port: MDNSMessage.port)
    }

    /// The station went down (its IGMP groups go with the netif): as the core's
    /// status-change callback restarts the responder (LEAmDNS.cpp:92-115), probing
    /// starts again and the group is joined again once the netif is back.
    func netifDown() {
        joined = false
        if pcb != nil { resetProbeStatus(restart: true) }
    }

    /// Reboot: everything is dropped without goodbyes (the board lost power).
    func forget() {
        releaseQuery()
        for s in services { release(s) }
        services.removeAll()
        if let p = pcb { udp_remove(p) }
        pcb = nil
        if let c = contextCharge { network.board.heap.free(c) }
        contextCharge = nil
        joined = false
        releaseHostname()
        hostProbe = Probe()
    }
}
