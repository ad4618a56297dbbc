import BoardCore
import CLwIP
import Glibc

/// Network options of a device.
public struct NetworkConfig: Sendable {
    public var forwards: [Forward] = []
    /// The core 3.x TIME_WAIT cap (MEMP_NUM_TCP_PCB_TIME_WAIT = 5); 0 = unlimited (older cores).
    public var timewaitLimit: UInt32 = 5
    /// Seed for lwIP's random numbers (ISNs, ephemeral ports): fixed for reproducible runs.
    public var seed: UInt32 = 0x8266
    /// Delay between `WiFi.begin` and association (DHCP follows through slirp).
    public var associationMicros: UInt64 = 1_500_000
    /// Access points, names, services and visitors around the board.
    public var world = World()
    /// A VDE network to join instead of the board's own slirp (`--net URL`).
    public var link: String?
    /// The board's addressing on `link`: static, or DHCP from the LAN's server.
    public var lanAddress = LANAddress()
    /// The station MAC (`--mac`); nil: derived (`WiFiStation.macAddress`).
    public var mac: [UInt8]?
    /// The PC-like filter between slirp and the board (`PCFilter`); off only to
    /// show what slirp alone does (`ESPLUA_PC_FILTER=off`).
    public var pcFilter = getenv("ESPLUA_PC_FILTER").map { String(cString: $0) } != "off"
    /// What the radio link does to frames (`--link`): `ideal` (none of it) or a
    /// profile with latency, airtime and loss (`LinkShaper`).
    public var linkProfile = LinkProfile.ideal
    /// Seed of the link's generator (`--seed`): the same seed, the same air.
    public var linkSeed: UInt64 = 0x8266
    /// Faults at board times (`--fault`): the access point away, the link down, a burst of loss.
    public var faults: [LinkFault] = []
    public init() {}
}

/// The device's network: real lwIP 2.1.3 (ESP8266 options) on a station netif,
/// wired to libslirp (or to a VDE network, `NetworkConfig.link`). It is one of the board's event sources (one inbound frame
/// per pass, lwIP's timers, WiFi, the world's peers) and host I/O (slirp's and
/// the peers' sockets), serviced by the board's single loop (`BoardLoop`).
///
/// lwIP is process-global (NO_SYS=1): one `Network` is active per process.
public final class Network: EventSource, HostIO {
    /// Whether boards sleep through lwIP's ticks that have nothing to do and make
    /// up for them when they wake (`clwip_skip_idle_ticks`); false: every tick
    /// wakes the board, as lwIP schedules it (tests compare the two). lwIP is
    /// process-global: this is for every board of the process.
    public static var sleepsThroughIdleTicks: Bool {
        get { clwip_sleep_through_idle_ticks() != 0 }
        set { clwip_set_sleep_through_idle_ticks(newValue ? 1 : 0) }
    }

    public let board: Board
    public let config: NetworkConfig
    /// The board's own slirp, nil on a VDE network.
    let slirp: SlirpBackend?
    /// Where the frames go: `slirp` or a VDE network.
    let link: LinkBackend
    /// Between slirp and the board (nil on a VDE network or when turned off).
    public let filter: PCFilter?
    /// The board's outstanding exchanges with host programs through slirp's NAT
    /// (nil on a VDE network): in virtual time they hold the clock to the host's pace.
    let hostFlows: HostFlows?
    /// Every frame the board sent into slirp (tests), when set.
    var onSlirpInput: (([UInt8]) -> Void)?
    let netifStorage: UnsafeMutablePointer<CLwIP.netif>
    public private(set) var netifUp = false
    public let wifi: WiFiStation
    /// lwIP's SNTP client (`configTime`).
    public let sntp: SNTPClient
    let peers: WorldPeers
    /// What the world's syslog sinks received, one line per datagram.
    public private(set) var syslogLines: [String] = []
    /// Each line a world syslog sink received (`"log.world: <14>…"`).
    public var onSyslog: ((String) -> Void)?
    /// Each finished visit of a world visitor, as the visitor saw it.
    public var onVisit: ((VisitReport) -> Void)? {
        get { peers.report }
        set { peers.report = newValue }
    }
    public var visitReports: [VisitReport] { peers.reports }
    /// Every live connection and server (owned by the sketch), for reboot clean-up.
    var clients: [ObjectIdentifier: TCPClient] = [:]
    var clientSequence = 0
    var servers: [ObjectIdentifier: TCPServer] = [:]
    /// WiFiClientSecure objects (their BearSSL state in host memory), forgotten at reboot.
    var secureClients: [ObjectIdentifier: SecureClient] = [:]
    /// The core's BearSSL second stack: references and its heap charge (StackThunk.cpp:56-96).
    var bearSSLStack: (refs: Int, charge: Int32?) = (0, nil)
    /// Sketch-side allocations that failed (the core's `new` aborts): the runner crashes the sketch.
    public var onSketchOutOfMemory: ((Int) -> Void)?
    /// The pcb table at the last pass, for `.pcb` events (only kept while someone watches).
    private var lastPCBs: [PCBKey: TCPState] = [:]
    /// `WiFiClient::setLocalPortStart`: fixed, incrementing local ports for outgoing connections.
    public var localPortStart: UInt16?
    /// Every UDP context of the sketch, for reboot clean-up.
    var udpContexts: [ObjectIdentifier: UDPContext] = [:]
    /// The `MDNS` responder, made when the sketch first uses it.
    public var mdns: MDNSResponder {
        if let m = mdnsResponder { return m }
        let m = MDNSResponder(network: self)
        mdnsResponder = m
        return m
    }
    private var mdnsResponder: MDNSResponder?
    private var hooks = clwip_hooks()
    /// A raw peer on the board's link (a spec's scripted segments, the soak's
    /// client): sees every frame the board sends and takes those meant for it
    /// (returns true), which then never reach slirp. Its own frames come in as
    /// `injectFrame` commands, as slirp's do.
    public var linkPeer: ((UnsafeRawBufferPointer) -> Bool)?
    /// The link's shaper (nil on an ideal link without faults: frames go at once).
    public private(set) var shaper: LinkShaper?
    /// Frames on the air, in arrival order: from the board (to the network) and to it.
    private var onAir: [(deliverAt: UInt64, toBoard: Bool, frame: [UInt8])] = []
    /// Frames that arrived for the board, waiting for lwIP (one per pass).
    private var arrived: [[UInt8]] = []

    nonisolated(unsafe) private static var lwipInitialized = false
    /// The live network (lwIP is process-global). Not weak: a weak reference gives
    /// the object a side table and every retain of it the slow path.
    nonisolated(unsafe) static unowned(unsafe) var active: Network?

    public static let deviceAddress = SlirpBackend.dhcpStart
    public static let hostAlias = SlirpBackend.host

    public init(board: Board, config: NetworkConfig = NetworkConfig()) throws(NetworkError) {
        self.board = board
        self.config = config
        if let url = config.link {
            guard config.forwards.isEmpty, config.world.visitors.isEmpty, config.world.services.isEmpty,
                config.world.udpServices.isEmpty
            else {
                throw .linkFailed(url, "--forward and the world's visitors and services need the board's own slirp (without --net)")
            }
            slirp = nil
            if url.hasPrefix("lockstep:") {
                let l = try LockstepBackend(url: url, clock: board.clock)
                link = l
                cellLink = l
                board.loop.grant = l
            } else {
                // soft-AP cells travel on the same LAN in frames of their own (`CellRadio`)
                let radio = CellRadio(lan: try VDEBackend(url: url), clock: board.clock)
                let faults = config.faults
                if !faults.isEmpty {
                    radio.linkDown = { t in faults.contains { ($0.kind == .accessPointDown || $0.kind == .linkDown) && $0.covers(t) } }
                }
                link = radio
                cellLink = radio
            }
            filter = nil
            hostFlows = nil
        } else {
            let s = try SlirpBackend(clock: board.clock)
            filter = config.pcFilter ? PCFilter(boardMSS: Int(clwip_tcp_mss())) : nil
            s.filter = filter
            slirp = s
            link = s
            cellLink = nil
            hostFlows = HostFlows(world: config.world)
        }
        netifStorage = .allocate(capacity: 1)
        netifStorage.initialize(to: CLwIP.netif())
        if !config.linkProfile.isIdeal || !config.faults.isEmpty {
            shaper = LinkShaper(profile: config.linkProfile, seed: config.linkSeed, faults: config.faults)
        }

        wifi = WiFiStation()
        sntp = SNTPClient(board: board)
        peers = WorldPeers(world: config.world, clock: board.clock)
        wifi.network = self
        Network.active?.shutdown()
        Network.active = self

        hooks.ctx = Unmanaged.passUnretained(self).toOpaque()
        hooks.now_ms = { ctx in
            let me = Unmanaged<Network>.fromOpaque(ctx!).takeUnretainedValue()
            return UInt32(truncatingIfNeeded: me.board.clock.micros / 1000)
        }
        hooks.heap_alloc = { ctx, bytes in
            let me = Unmanaged<Network>.fromOpaque(ctx!).takeUnretainedValue()
            return me.board.heap.allocate(Int(bytes), owner: "lwip") ?? -1
        }
        hooks.heap_free = { ctx, handle in
            let me = Unmanaged<Network>.fromOpaque(ctx!).takeUnretainedValue()
            me.board.heap.free(handle)
        }
        hooks.link_output = { ctx, frame, len in
            let me = Unmanaged<Network>.fromOpaque(ctx!).takeUnretainedValue()
            let buf = UnsafeRawBufferPointer(start: frame, count: Int(len))
            if me.board.events.wants(.frame) { me.board.events.publish(.frame(outbound: true, buf)) }
            if me.shaper != nil {
                me.putOnAir(Array(buf), toBoard: false)
                return
            }
            me.transmit(buf)
        }
        hooks.ap_output = { ctx, frame, len in
            let me = Unmanaged<Network>.fromOpaque(ctx!).takeUnretainedValue()
            let buf = UnsafeRawBufferPointer(start: frame, count: Int(len))
            me.cellLink?.accessPointOutput(buf)
        }
        clwip_set_hooks(&hooks)
        sntp.attach()
        clwip_seed(config.seed)
        clwip_set_timewait_limit(config.timewaitLimit)
        if !Network.lwipInitialized {
            lwip_init()
            Network.lwipInitialized = true
        } else {
            // a new board (tests): lwIP's timers start as at boot on the new clock,
            // and what lwIP holds is charged to the new heap
            clwip_recharge_all()
            clwip_timers_boot()
        }
        do {
            if let slirp {
                for f in config.forwards { try slirp.addForward(f, deviceAddress: Network.deviceAddress) }
                try peers.prepare(slirp: slirp, deviceAddress: Network.deviceAddress)
            }
        } catch {
            shutdown()
            throw error
        }
        board.loop.addSource(self)
        board.loop.addHostIO(self)
        board.loop.commandHandlers.append { [unowned self] command in
            guard case .injectFrame(let frame) = command else { return false }
            self.link.toDevice.append(frame)
            return true
        }
        board.onReboot { [unowned self] in self.reboot() }
        if let hostFlows, board.clock.mode == .virtual {
            let clock = board.clock
            board.loop.heldToHostPace = { hostFlows.active(now: clock.micros) }
            hostFlows.onFirstExchange = { what in
                writeStandardError(
                    "esplua: the board talks to a program on this host (\(what)): while it waits for an answer, board time follows the host's clock, so the answer is not lost to a timeout; such a run is not repeatable to the byte\n"
                )
            }
        }
    }

    /// A frame from the board leaves for the network: to a raw peer on the link,
    /// the world's DNS, or slirp through the PC-like filter (or the VDE network).
    private func transmit(_ buf: UnsafeRawBufferPointer) {
        if let peer = linkPeer, peer(buf) {
            return  // an in-process peer on the link took it (tests, the soak)
        }
        guard slirp != nil else {
            link.input(buf)
            return
        }
        if WorldMDNS.isMDNS(buf) {
            // link-local multicast: the world is the whole link (never slirp's NAT)
            link.toDevice += WorldMDNS.answer(buf, responders: config.world.mdns)
            return
        }
        if let reply = WorldDNS.answer(buf, hosts: config.world.hosts) {
            link.toDevice.append(reply)
            return
        }
        if !config.world.udpServices.isEmpty,
            let answer = WorldUDP.answer(buf, world: config.world, boardMicros: board.clock.micros)
        {
            switch answer {
            case .reply(let frame): link.toDevice.append(frame)
            case .log(let line):
                syslogLines.append(line)
                onSyslog?(line)
            case .none: break
            }
            return
        }
        peers.deviceSent(buf)
        switch filter?.fromBoard(buf) ?? .pass {
        case .pass:
            onSlirpInput?(Array(buf))
            hostFlows?.fromBoard(buf, now: board.clock.micros)
            link.input(buf)
        case .drop:
            return
        case .replace(let frame):
            onSlirpInput?(frame)
            frame.withUnsafeBytes {
                hostFlows?.fromBoard($0, now: board.clock.micros)
                link.input($0)
            }
        }
        peers.kick()
    }

    // MARK: the air

    /// A frame goes on the air (`LinkShaper`): it arrives at its time, or never.
    private func putOnAir(_ frame: [UInt8], toBoard: Bool) {
        let now = board.clock.micros
        guard let arrivals = shaper?.schedule(frame: frame, at: now, direction: toBoard ? .toBoard : .fromBoard) else { return }
        for a in arrivals {
            // after every frame due no later (stable: same-time frames keep their order)
            let i = onAir.lastIndex(where: { $0.deliverAt <= a.deliverAt }).map { $0 + 1 } ?? 0
            onAir.insert((a.deliverAt, toBoard, a.frame), at: i)
        }
    }

    /// Frames the network handed over go on the air; frames whose time came arrive.
    private func moveAir(now: UInt64) {
        while !link.toDevice.isEmpty {
            let f = link.toDevice.removeFirst()
            if f.isEmpty {
                // a barrier (PCFilter: a FIN split from its ACK) stays behind what is on the air
                let at = onAir.last(where: { $0.toBoard })?.deliverAt ?? now
                let i = onAir.lastIndex(where: { $0.deliverAt <= at }).map { $0 + 1 } ?? 0
                onAir.insert((at, true, []), at: i)
            } else {
                putOnAir(f, toBoard: true)
            }
        }
        while let first = onAir.first, first.deliverAt <= now {
            onAir.removeFirst()
            if first.toBoard {
                arrived.append(first.frame)
            } else {
                first.frame.withUnsafeBytes { transmit($0) }
            }
        }
    }

    /// Drops everything lwIP holds for the sketch and closes slirp (host sockets).
    public func shutdown() {
        reboot()
        peers.close()
        link.close()
        board.loop.removeSource(self)
        board.loop.removeHostIO(self)
        board.loop.heldToHostPace = nil
        if board.loop.grant === link as AnyObject { board.loop.grant = nil }
        if Network.active === self { Network.active = nil }
    }

    deinit {
        if Network.active === self { shutdown() }
        netifStorage.deallocate()
        hostnameBuffer.deallocate()
    }

    /// Adds a port forward while the network runs (a test's peer reaching the
    /// device's `devicePort` through slirp, as `--forward` does at start).
    public func addForward(_ f: Forward) throws(NetworkError) {
        guard let slirp else { throw .forwardFailed(f, "the board is on a VDE network (--net), which has no host forwards") }
        try slirp.addForward(f, deviceAddress: Network.deviceAddress)
    }

    // MARK: event source

    /// What carries soft-AP cells (`LabCell`) between boards: a lab's conductor in
    /// virtual time, the board's radio on a VDE LAN in real time; nil alone (slirp).
    let cellLink: CellLink?
    /// The lab's conductor, when the board is in a lab run in virtual time.
    var lockstep: LockstepBackend? { link as? LockstepBackend }
    /// In a lab run in virtual time, gets each command the lab's page sent this board
    /// (its JSON, `UICommand`) when its board time comes: the conductor stamps it with
    /// the start of a window, so where it lands in the run does not depend on the host.
    public var onLabCommand: ((String) -> Void)? {
        get { lockstep?.onCommand }
        set { lockstep?.onCommand = newValue }
    }
    /// In a lab run in virtual time, called every 100 ms of host time while the board
    /// waits for the conductor's next grant (a paused lab, a slower board): the page's
    /// feed keeps sending. Nil (the default) costs the wait nothing.
    public var whileWaitingForGrant: (() -> Void)? {
        get { lockstep?.whileWaiting }
        set { lockstep?.whileWaiting = newValue }
    }
    /// The station joined another board's soft-AP (its netif takes DHCP there).
    var inCell = false
    /// The soft-AP's DHCP server (the SDK's, for the stations of a lab's cell).
    let dhcpServer = SoftAPDHCPServer()

    /// Frames from the stations of this board's cell reach the soft-AP interface
    /// (DHCP to its server first, as the SDK's dhcps takes port 67).
    private func serviceAccessPoint() {
        guard let cell = cellLink, !cell.toAccessPoint.isEmpty else { return }
        let frames = cell.toAccessPoint
        cell.toAccessPoint.removeAll()
        for f in frames {
            board.loop.noteEvent()
            guard let nif = wifi.apNetif else { continue }
            if let reply = dhcpServer.answer(
                f, mac: wifi.softAPMacAddress, address: clwip_netif_ip(nif), mask: clwip_netif_mask(nif), leaseStart: wifi.softAPLeaseStart)
            {
                reply.withUnsafeBytes { cell.accessPointOutput($0) }
                continue
            }
            f.withUnsafeBytes { buf in
                _ = clwip_netif_input(nif, buf.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt16(buf.count))
            }
        }
    }

    public func service(now: UInt64) {
        // lwIP's ticks the board slept through come first (the TCP timer's count:
        // a frame's new pcb reads tcp_ticks), then the frame, then what is due now
        clwip_skip_idle_ticks()
        link.due(now: now)
        serviceAccessPoint()
        if shaper != nil { moveAir(now: now) }
        deliverFrame(now: now)
        sys_check_timeouts()
        clwip_enforce_timewait_limit()
        wifi.service(now: now)
        peers.service(now: board.clock.micros)
        if board.events.wants(.pcb) { publishPCBTransitions() }
    }

    /// One inbound frame into lwIP: the sketch may run before the next (on a board
    /// WiFi airtime spaces frames; a FIN right behind an ACK must not overtake a
    /// `stop()` that waits for that ACK).
    /// After a busy stretch (`BoardLoop.catchingUp`) every waiting frame goes in,
    /// up to a barrier (`PCFilter`: a FIN split from its ACK waits for the next pass).
    private func deliverFrame(now: UInt64) {
        // a catching-up pass services its sources again and again (same `now`):
        // once held at a barrier, it delivers nothing more
        if board.loop.catchingUp && now == heldAtBarrier { return }
        var delivered = false
        let shaped = shaper != nil
        // on a shaped link, what arrived from the air; else what the network handed over
        while shaped ? !arrived.isEmpty : !link.toDevice.isEmpty {
            if (shaped ? arrived[0] : link.toDevice[0]).isEmpty {
                if shaped { arrived.removeFirst() } else { link.toDevice.removeFirst() }
                if delivered {
                    heldAtBarrier = now
                    return
                }
                continue
            }
            if delivered && !board.loop.catchingUp { return }
            let f = shaped ? arrived.removeFirst() : link.toDevice.removeFirst()
            delivered = true
            board.loop.noteEvent()
            f.withUnsafeBytes { buf in
                hostFlows?.toBoard(buf)
                // a station that has not joined a network receives nothing (its pcap neither)
                if board.events.wants(.frame) && netifUp { board.events.publish(.frame(outbound: false, buf)) }
                if netifUp {
                    _ = clwip_netif_input(netifStorage, buf.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt16(buf.count))
                }
            }
        }
    }

    public func nextDeadline(now: UInt64) -> UInt64? {
        if !link.toDevice.isEmpty || !arrived.isEmpty || !(cellLink?.toAccessPoint.isEmpty ?? true) { return now }
        var next = link.nextDeadline(now: now) ?? now + 1_000_000
        // the next frame to come off the air
        if let f = onAir.first { next = min(next, max(f.deliverAt, now)) }
        // (igmp_tmr and dhcp_fine_tmr tick only when they have work: an idle board
        // sleeps through their no-op ticks)
        let sleep = clwip_timeouts_sleeptime()
        if sleep != UInt32.max {
            // lwIP's timers are in ms; wake at the start of the due millisecond
            let due = (now / 1000 + UInt64(sleep)) * 1000
            next = min(next, max(due, now + 1))
        }
        if let w = wifi.nextDeadline { next = min(next, w) }
        // (a deadline already past waits for the sketch's next update(): nothing to wake for)
        if let m = mdnsResponder?.nextDeadline, m > now { next = min(next, m) }
        if let p = peers.nextDeadline(now: now) { next = min(next, max(p, now)) }
        return next
    }

    // MARK: host I/O

    private var slirpDescriptors = 0
    /// Board time of the pass that stopped at a barrier (`PCFilter`).
    private var heldAtBarrier: UInt64 = .max

    public func addDescriptors(to fds: inout [pollfd]) { addDescriptors(to: &fds, mayWait: true) }

    public func addDescriptors(to fds: inout [pollfd], mayWait: Bool) {
        let start = fds.count
        link.addDescriptors(to: &fds, mayWait: mayWait)
        slirpDescriptors = fds.count - start
        peers.addDescriptors(to: &fds)
    }

    public func handle(_ fds: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool {
        let n = min(slirpDescriptors, fds.count)
        var ready = link.handle(UnsafeMutableBufferPointer(rebasing: fds[0..<n]), failed: failed)
        for p in fds[n...] where p.revents != 0 { ready = true }
        // slirp may have written to a peer's socket, or a peer's socket is ready
        if ready { peers.kick() }
        return ready || !link.toDevice.isEmpty || !arrived.isEmpty
    }

    // MARK: connection-table events

    private struct PCBKey: Hashable {
        let localIP: UInt32, localPort: UInt16, remoteIP: UInt32, remotePort: UInt16, listening: Bool
    }

    /// Compares lwIP's pcbs with the last pass and publishes each change of state.
    private func publishPCBTransitions() {
        var rows = [clwip_pcb_info](repeating: clwip_pcb_info(), count: 64)
        var n = Int(clwip_pcb_table(&rows, Int32(rows.count)))
        if n > rows.count {
            rows = [clwip_pcb_info](repeating: clwip_pcb_info(), count: n)
            n = Int(clwip_pcb_table(&rows, Int32(rows.count)))
        }
        var now: [PCBKey: TCPState] = [:]
        for r in rows.prefix(n) {
            let state = TCPState(rawValue: Int(r.state)) ?? .closed
            now[
                PCBKey(
                    localIP: r.local_ip, localPort: r.local_port, remoteIP: r.remote_ip, remotePort: r.remote_port,
                    listening: state == .listen)] = state
        }
        guard now != lastPCBs else { return }
        func publish(_ k: PCBKey, _ from: TCPState?, _ to: TCPState?) {
            board.events.publish(
                .pcb(
                    PCBTransition(
                        localAddress: ipString(k.localIP), localPort: k.localPort,
                        remoteAddress: ipString(k.remoteIP), remotePort: k.remotePort,
                        from: from?.description, to: to?.description)))
        }
        for (k, s) in now.sorted(by: { ($0.key.localPort, $0.key.remotePort) < ($1.key.localPort, $1.key.remotePort) })
        where lastPCBs[k] != s { publish(k, lastPCBs[k], s) }
        for (k, s) in lastPCBs.sorted(by: { ($0.key.localPort, $0.key.remotePort) < ($1.key.localPort, $1.key.remotePort) })
        where now[k] == nil { publish(k, s, nil) }
        lastPCBs = now
    }

    // MARK: netif (used by WiFiStation)

    var netif: UnsafeMutablePointer<CLwIP.netif> { netifStorage }

    /// The SDK's `wifi_station_hostname` buffer (32 characters and a NUL), which the
    /// station netif's `hostname` points at: DHCP sends it as option 12.
    let hostnameBuffer: UnsafeMutablePointer<CChar> = {
        let b = UnsafeMutablePointer<CChar>.allocate(capacity: 33)
        b.initialize(repeating: 0, count: 33)
        return b
    }()

    /// The SDK's host name until the sketch sets one: "ESP-" and the MAC's last three
    /// bytes in hex (what routers list for an ESP8266 on core 3.x; not in the core's source).
    public static func defaultHostname(mac: [UInt8]) -> String {
        "ESP-" + mac.suffix(3).map { String($0, radix: 16, uppercase: true).leftPadded(2) }.joined()
    }

    /// The station's DHCP host name (`wifi_station_hostname`).
    public var hostname: String {
        hostnameBuffer[0] == 0 ? Network.defaultHostname(mac: wifi.macAddress) : String(cString: hostnameBuffer)
    }

    /// Copies `name` (at most 32 bytes) into the hostname buffer; with the netif up (DHCP
    /// is started with it), the lease is renewed so the server learns it (LwipIntf.cpp:174-193).
    func setHostname(_ name: [UInt8]) -> Bool {
        let n = min(name.count, 32)
        for i in 0..<n { hostnameBuffer[i] = CChar(bitPattern: name[i]) }
        hostnameBuffer[n] = 0
        guard netifUp else { return true }
        netifStorage.pointee.hostname = UnsafePointer(hostnameBuffer)
        return dhcp_renew(netifStorage) == err_t(ERR_OK.rawValue)
    }

    func bringUp(mac: [UInt8]) {
        guard !netifUp else { return }
        mac.withUnsafeBufferPointer { m in
            let name: [CChar] = [CChar(UInt8(ascii: "s")), CChar(UInt8(ascii: "t"))]
            _ = name.withUnsafeBufferPointer { clwip_netif_add(netifStorage, m.baseAddress, $0.baseAddress) }
        }
        netif_set_default(netifStorage)
        netif_set_up(netifStorage)
        netif_set_link_up(netifStorage)
        // before netifUp: no lease to renew yet
        if hostnameBuffer[0] == 0 { _ = setHostname(Array(Network.defaultHostname(mac: mac).utf8)) }
        netifStorage.pointee.hostname = UnsafePointer(hostnameBuffer)  // netif_add cleared it
        netifUp = true
        if slirp == nil && !config.lanAddress.dhcp && !inCell {
            // a LAN without slirp: static addressing, as `WiFi.config` sets it
            let a = config.lanAddress
            var ip = ip4_addr_t(addr: ipBits(a.address) ?? 0), mask = ip4_addr_t(addr: ipBits(a.netmask) ?? 0)
            var gw = ip4_addr_t(addr: ipBits(a.gateway) ?? 0)
            netif_set_addr(netifStorage, &ip, &mask, &gw)
            var dns = ip_addr_t(addr: ipBits(a.dns) ?? 0)
            dns_setserver(0, &dns)
        } else if wifi.staticAddress != nil {
            useStaticAddress()
        } else {
            _ = dhcp_start(netifStorage)
        }
    }

    /// The access point is gone: the station netif's link goes down (no route,
    /// nothing sent), lwIP keeps its pcbs and address.
    func linkLost() {
        guard netifUp else { return }
        netif_set_link_down(netifStorage)
    }

    /// The access point is back: the link comes up (lwIP confirms a DHCP lease).
    func linkBack() {
        guard netifUp else { return }
        netif_set_link_up(netifStorage)
    }

    /// `WiFi.config`'s address on the station interface, DHCP stopped (`wifi_station_dhcpc_stop`,
    /// `wifi_set_ip_info`, `dns_setserver`); applied when the interface comes up if it is down.
    func useStaticAddress() {
        guard netifUp, let a = wifi.staticAddress else { return }
        dhcp_stop(netifStorage)
        var ip = ip4_addr_t(addr: a.ip), mask = ip4_addr_t(addr: a.mask), gw = ip4_addr_t(addr: a.gateway)
        netif_set_addr(netifStorage, &ip, &mask, &gw)
        if a.dns1 != 0 { var d = ip_addr_t(addr: a.dns1); dns_setserver(0, &d) }
        if a.dns2 != 0 { var d = ip_addr_t(addr: a.dns2); dns_setserver(1, &d) }
    }

    /// `wifi_station_dhcpc_start()`: back to DHCP (`WiFi.config(0, 0, 0)`).
    func useDHCP() {
        guard netifUp, slirp != nil || config.lanAddress.dhcp, clwip_dhcp_bound(netifStorage) == 0 else { return }
        var zero = ip4_addr_t(addr: 0)
        netif_set_addr(netifStorage, &zero, &zero, &zero)
        _ = dhcp_start(netifStorage)
    }

    func bringDown() {
        guard netifUp else { return }
        dropConnections()
        mdnsResponder?.netifDown()
        clwip_forget_all(netifStorage)
        netifStorage.initialize(to: CLwIP.netif())
        netifUp = false
    }

    /// The station's address, 0 before DHCP (network byte order).
    var addressBits: UInt32 { netifUp ? clwip_netif_ip(netifStorage) : 0 }
    var dhcpBound: Bool {
        netifUp
            && ((slirp == nil && !config.lanAddress.dhcp && !inCell) || wifi.staticAddress != nil
                || clwip_dhcp_bound(netifStorage) != 0)
    }

    // MARK: reboot

    private func dropConnections() {
        for c in clients.values { c.forget() }
        clients.removeAll()
        for u in udpContexts.values { u.forget() }
        udpContexts.removeAll()
        for s in servers.values { s.forget() }
        servers.removeAll()
        for s in secureClients.values { s.forget() }
        secureClients.removeAll()
        if let s = bearSSLStack.charge { board.heap.free(s) }
        bearSSLStack = (0, nil)
    }

    /// Forgets everything the sketch held (reboot): connections, servers, the station.
    public func reset() { reboot() }

    func reboot() {
        sntp.reset()
        dropConnections()
        hostFlows?.forget()
        mdnsResponder?.forget()
        if netifUp {
            clwip_forget_all(netifStorage)
            netifStorage.initialize(to: CLwIP.netif())
            netifUp = false
        } else {
            clwip_forget_all(nil)
        }
        wifi.reset()
        hostnameBuffer[0] = 0  // SDK RAM: the default again
        localPortStart = nil
    }

    // MARK: DNS

    /// `WiFi.hostByName(name, timeout)`: a dotted quad as it is, else lwIP's DNS
    /// client through the network's DNS server; nil on failure or timeout (10 s default).
    public func hostByName(_ name: String, timeoutMillis: UInt64 = 10_000) -> String? {
        if let bits = ipBits(name) { return ipString(bits) }
        guard netifUp, !name.isEmpty, name.utf8.count <= 255 else { return nil }
        final class Lookup { var done = false; var address: UInt32? }
        let lookup = Lookup()
        let box = Unmanaged.passRetained(lookup)
        defer { box.release() }
        var addr = ip_addr_t()
        let err = dns_gethostbyname(
            name, &addr,
            { _, ip, arg in
                let l = Unmanaged<Lookup>.fromOpaque(arg!).takeUnretainedValue()
                l.done = true
                if let ip { l.address = clwip_ip_u32(ip) }
            }, box.toOpaque())
        if err == err_t(ERR_OK.rawValue) { return ipString(clwip_ip_u32(&addr)) }
        guard err == err_t(ERR_INPROGRESS.rawValue) else { return nil }
        board.loop.espDelay(timeoutMillis * 1000) { !lookup.done }
        if !lookup.done {
            // lwIP still holds `box` as the callback argument: keep it alive for good
            _ = box.retain()
            return nil
        }
        return lookup.address.map(ipString)
    }

    // MARK: tables

    /// One row of the connection table (`lwip.pcbs()`, `--netstat`).
    public struct PCBRow: Sendable, Equatable {
        public let state: TCPState
        public let localAddress: String
        public let localPort: UInt16
        public let remoteAddress: String
        public let remotePort: UInt16
        public let unacked: Int
        public let unsent: Int
        public let unread: Int
        public let timeWaitMillisLeft: Int
        public let priority: Int
        /// Bytes of the emulated heap the connection holds, as the heap charged them
        /// (umm_malloc's cost of each block at its ESP8266 size): the pcb, its queued
        /// segments and their pbufs, refused and out-of-order data, and the sketch's
        /// `ClientContext` with the data it holds unread, if one owns the pcb.
        public var heap: Int = 0
    }

    public func pcbTable() -> [PCBRow] {
        var rows = [clwip_pcb_info](repeating: clwip_pcb_info(), count: 64)
        var n = Int(clwip_pcb_table(&rows, Int32(rows.count)))
        if n > rows.count {
            rows = [clwip_pcb_info](repeating: clwip_pcb_info(), count: n)
            n = Int(clwip_pcb_table(&rows, Int32(rows.count)))
        }
        var contexts: [UnsafeRawPointer: TCPClient] = [:]
        for c in clients.values { if let pcb = c.pcb { contexts[UnsafeRawPointer(pcb)] = c } }
        return rows.prefix(n).map { r in
            PCBRow(
                state: TCPState(rawValue: Int(r.state)) ?? .closed,
                localAddress: ipString(r.local_ip), localPort: r.local_port,
                remoteAddress: ipString(r.remote_ip), remotePort: r.remote_port,
                unacked: Int(r.unacked), unsent: Int(r.unsent), unread: Int(r.unread),
                timeWaitMillisLeft: Int(r.timewait_ms_left), priority: Int(r.prio),
                heap: Int(r.heap) + (r.pcb.flatMap { contexts[$0]?.heapHeld } ?? 0))
        }
    }

    /// pcbs per state, e.g. `[.timeWait: 5, .listen: 1]`.
    public func pcbCounts() -> [TCPState: Int] {
        var counts: [TCPState: Int] = [:]
        for r in pcbTable() { counts[r.state, default: 0] += 1 }
        return counts
    }

    // MARK: handles the sketch lets go of

    /// Sketch handles whose connection is over (stopped, aborted, failed, reset)
    /// and that still hold their ClientContext. The core frees a context when its
    /// last WiFiClient goes (`ClientContext::unref`); Lua frees the handle only when
    /// its collector finds it unreferenced, so these are what a collection may give back.
    public var finishedHandles: Int {
        if clients.isEmpty { return 0 }
        return clients.values.reduce(0) { $0 + ($1.handleSequence != nil && $1.pcb == nil ? 1 : 0) }
    }
    private var releaseKnown = 0
    /// Nothing to look for and nothing remembered: the per-pass check stops here.
    @inline(__always) public var releaseIdle: Bool { clients.isEmpty && releaseKnown == 0 }
    private var releaseBackoff: UInt64 = 0
    private var releaseNextTry: UInt64 = 0

    /// Whether the sketch's VM should collect now to find finished handles it
    /// dropped: at once when one more finished since the last collection, then, while
    /// some survive (the sketch still holds them), after 1 ms, 2 ms, 4 ms … at most
    /// every second, so a sketch that keeps a stopped client costs almost nothing.
    public func releaseCollectionDue(now: UInt64) -> Bool {
        let finished = finishedHandles
        guard finished > 0 else {
            releaseKnown = 0
            releaseBackoff = 0
            return false
        }
        return finished > releaseKnown || now >= releaseNextTry
    }

    /// A collection ran at `now`: remember what survived and when to look again.
    public func releaseCollectionDone(now: UInt64, before: Int) {
        let after = finishedHandles
        releaseBackoff = after < before || releaseBackoff == 0 ? 1000 : min(releaseBackoff * 2, 1_000_000)
        releaseKnown = after
        releaseNextTry = now + releaseBackoff
    }

    /// `WiFiClient::stopAll()` (WiFiClient.cpp:390-395): `stop()` on every WiFiClient
    /// object in the core's list, newest first (slist.h:11-15 adds at the head);
    /// connections still waiting in a server's queue have no WiFiClient and stay.
    public func stopAllClients() {
        let handles = clients.values.filter { $0.handleSequence != nil }
        for c in handles.sorted(by: { $0.handleSequence! > $1.handleSequence! }) { c.stop() }
    }

    /// `tcp_kill_timewait()`: frees the oldest TIME_WAIT pcb, no RST.
    @discardableResult public func killTimeWait() -> Bool { clwip_kill_timewait() != 0 }
    /// `tcpCleanup()`: frees every TIME_WAIT pcb; returns how many.
    @discardableResult public func tcpCleanup() -> Int { Int(clwip_tcp_cleanup()) }

    /// lwIP's live heap allocations (count, ESP8266 bytes), for leak checks.
    public static var lwipAllocations: (count: Int, bytes: Int) {
        (Int(clwip_live_allocations()), Int(clwip_live_bytes()))
    }
}

/// lwIP's `enum tcp_state`, with the numbers `WiFiClient::status()` reports.
public enum TCPState: Int, Sendable, CaseIterable, CustomStringConvertible {
    case closed = 0, listen, synSent, synReceived, established, finWait1, finWait2, closeWait, closing, lastAck, timeWait

    public var description: String {
        [
            "CLOSED", "LISTEN", "SYN_SENT", "SYN_RCVD", "ESTABLISHED", "FIN_WAIT_1", "FIN_WAIT_2",
            "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
        ][rawValue]
    }
}

/// Dotted quad of an address in network byte order.
public func ipString(_ bits: UInt32) -> String {
    let b = withUnsafeBytes(of: bits) { Array($0) }
    return "\(b[0]).\(b[1]).\(b[2]).\(b[3])"
}

/// Network-byte-order bits of a dotted quad, nil if it is not one.
public func ipBits(_ text: String) -> UInt32? {
    var a = in_addr()
    guard inet_pton(AF_INET, text, &a) == 1 else { return nil }
    return a.s_addr
}
