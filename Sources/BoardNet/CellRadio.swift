import BoardCore
import Glibc

/// What carries a board's soft-AP cell and its station's membership of another
/// board's cell: a lab's lockstep conductor (virtual time, `LockstepBackend`) or
/// the board's radio on a VDE LAN (real time, `CellRadio`).
protocol CellLink: AnyObject {
    /// The other boards' open cells, as a scan sees them.
    var cells: [LabCell] { get }
    /// Stations of other boards joined to this board's cell.
    var stationCount: Int { get }
    /// Frames for the soft-AP interface, due now.
    var toAccessPoint: [[UInt8]] { get set }
    /// A frame the soft-AP interface sent, to the stations of its cell.
    func accessPointOutput(_ frame: UnsafeRawBufferPointer)
    /// The board's soft-AP opened (`cell`) or closed (nil).
    func announce(_ cell: LabCell?)
    /// The station (MAC `station`) joined `cell`, or left the one it was in (nil).
    func join(_ cell: LabCell?, station: [UInt8])
    /// When the first beacon of the cell `bssid` that did not come was due, if
    /// beacons are heard (a station counts its beacon timeout from there).
    func firstMissedBeacon(bssid: [UInt8]) -> UInt64?
}

extension CellLink {
    func firstMissedBeacon(bssid: [UInt8]) -> UInt64? { nil }
}

/// A board's radio on a VDE LAN (a lab in real time, `--net vde://…`): soft-AP
/// cells travel over the LAN's switch as frames of their own EtherType
/// (0x88B5, IEEE 802's Local Experimental EtherType 1), which no IP stack on
/// the LAN takes (lwIP, slirp and Linux drop an unknown EtherType), so a cell is
/// its own broadcast domain on the same wire: 802.11's BSS on a shared medium.
///
/// | kind | from → to (Ethernet addresses) | body |
/// |---|---|---|
/// | `B` beacon | soft-AP (BSSID) → broadcast, every 102.4 ms | `LabCell` without owner |
/// | `X` closed | soft-AP → broadcast (softAPdisconnect, the mode, reboot, end) | — |
/// | `A` associate, `D` disassociate, `K` keep-alive | station → BSSID | — |
/// | `U` to the soft-AP | station → BSSID | the station's Ethernet frame |
/// | `W` from the soft-AP | BSSID → the inner frame's destination | an Ethernet frame |
///
/// Each is `kind`, then the BSSID (6 bytes), then the body, after the 14-byte
/// Ethernet header. The soft-AP relays its stations' broadcasts and their frames
/// to each other (802.11's intra-BSS relay), and its DHCP server answers on its
/// board (`Network.serviceAccessPoint`). A station in a cell takes nothing from
/// the LAN and sends nothing onto it; a board not in a cell takes nothing of it.
/// A scan lists the cells whose beacons came in the last scan time (1.68 s); a
/// joined station whose soft-AP falls silent counts its beacon timeout from the
/// first beacon missed.
/// A station that disassociates (leaves, reboots, or its process ends) is gone
/// from `softAPgetStationNum()` at once; one that goes silent (its process was
/// killed, its link is down) after the soft-AP's keep-alive time of 5 minutes,
/// as Espressif's soft-AP does (espressif/esp-idf#4401; nodemcu/nodemcu-firmware#2288
/// measured about 5 minutes on an ESP8266). A joined station sends a keep-alive
/// (802.11's null frame) after 60 s without a frame to its soft-AP.
final class CellRadio: LinkBackend, CellLink {
    static let etherType: UInt16 = 0x88B5
    static let beaconMicros: UInt64 = 102_400
    static let keepAliveMicros: UInt64 = 60_000_000
    static let inactiveMicros: UInt64 = 300_000_000
    static let broadcast: [UInt8] = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff]

    /// The LAN (the lab's switch).
    let lan: LinkBackend
    private let clock: BoardClock
    /// Whether the board's link is down at a board time (its `ap` and `link` faults):
    /// the radio's own frames (association, keep-alives) are lost then too.
    var linkDown: (UInt64) -> Bool = { _ in false }
    var toDevice: [[UInt8]] = []
    var toAccessPoint: [[UInt8]] = []

    /// This board's open cell and its stations (MAC → when last heard).
    private var own: LabCell?
    private var stations: [[UInt8]: UInt64] = [:]
    private var nextBeacon: UInt64 = 0
    /// Cells heard, by BSSID, with the time of their last beacon.
    private var heard: [[UInt8]: (cell: LabCell, at: UInt64)] = [:]
    /// The cell the station joined, its MAC, and whether that cell closed since
    /// (its frames go nowhere until it joins again).
    private var joined: (bssid: [UInt8], mac: [UInt8])?
    private var orphaned = false
    private var lastToAccessPoint: UInt64 = 0

    init(lan: LinkBackend, clock: BoardClock) {
        self.lan = lan
        self.clock = clock
    }

    var cells: [LabCell] {
        let now = clock.micros
        return heard.values.filter { now < $0.at + WiFiStation.scanMicros }.map(\.cell)
            .sorted { $0.bssid.lexicographicallyPrecedes($1.bssid) }
    }

    var stationCount: Int { own == nil ? 0 : stations.count }

    func firstMissedBeacon(bssid: [UInt8]) -> UInt64? { heard[bssid].map { $0.at + CellRadio.beaconMicros } }

    // MARK: frames of the radio

    private func send(_ kind: UInt8, to: [UInt8], from: [UInt8], bssid: [UInt8], body: UnsafeRawBufferPointer? = nil) {
        var f = to + from + [UInt8(CellRadio.etherType >> 8), UInt8(CellRadio.etherType & 0xff), kind] + bssid
        if let body { f += body }
        f.withUnsafeBytes { lan.input($0) }
    }

    private func beacon() {
        guard let own else { return }
        own.encode(withOwner: false).withUnsafeBytes {
            send(UInt8(ascii: "B"), to: CellRadio.broadcast, from: own.bssid, bssid: own.bssid, body: $0)
        }
    }

    /// A station's control frame to its soft-AP, unless its link is down.
    private func control(_ kind: Character) {
        guard let j = joined, !orphaned, !linkDown(clock.micros) else { return }
        send(kind.asciiValue!, to: j.bssid, from: j.mac, bssid: j.bssid)
        lastToAccessPoint = clock.micros
    }

    // MARK: CellLink

    func announce(_ cell: LabCell?) {
        // a cell that opens again is a new one: its stations join it again (as in virtual time)
        if let old = own { send(UInt8(ascii: "X"), to: CellRadio.broadcast, from: old.bssid, bssid: old.bssid) }
        stations.removeAll()
        own = cell
        if cell != nil {
            beacon()
            nextBeacon = clock.micros + CellRadio.beaconMicros
        }
    }

    func join(_ cell: LabCell?, station: [UInt8]) {
        if joined != nil { control("D") }
        joined = cell.map { ($0.bssid, station) }
        orphaned = false
        if cell != nil { control("A") }
    }

    func accessPointOutput(_ frame: UnsafeRawBufferPointer) {
        guard let own, frame.count >= 14 else { return }
        send(UInt8(ascii: "W"), to: Array(frame[0..<6]), from: own.bssid, bssid: own.bssid, body: frame)
    }

    // MARK: LinkBackend

    /// A frame of the board's station: into the cell it joined, else onto the LAN.
    func input(_ frame: UnsafeRawBufferPointer) {
        guard let j = joined else {
            lan.input(frame)
            return
        }
        guard !orphaned else { return }
        send(UInt8(ascii: "U"), to: j.bssid, from: j.mac, bssid: j.bssid, body: frame)
        lastToAccessPoint = clock.micros
    }

    func addDescriptors(to fds: inout [pollfd]) { lan.addDescriptors(to: &fds) }

    func handle(_ results: UnsafeMutableBufferPointer<pollfd>, failed: Bool) -> Bool {
        let ready = lan.handle(results, failed: failed)
        let frames = lan.toDevice
        lan.toDevice.removeAll()
        for f in frames { receive(f) }
        return ready
    }

    /// One frame from the LAN's switch.
    func receive(_ f: [UInt8]) {
        guard f.count >= 21, f[12] == UInt8(CellRadio.etherType >> 8), f[13] == UInt8(CellRadio.etherType & 0xff) else {
            // the LAN's own frames: not for a station in a cell
            if joined == nil { toDevice.append(f) }
            return
        }
        let now = clock.micros
        let kind = f[14], bssid = Array(f[15..<21]), source = Array(f[6..<12]), body = f[21...]
        switch kind {
        case UInt8(ascii: "B"):
            if var c = LabCell.decode(body, withOwner: false).first {
                c.bssid = bssid
                heard[bssid] = (c, now)
            }
        case UInt8(ascii: "X"):
            heard[bssid] = nil
            if joined?.bssid == bssid { orphaned = true }
        case UInt8(ascii: "A"), UInt8(ascii: "D"), UInt8(ascii: "K"), UInt8(ascii: "U"):
            guard let own, own.bssid == bssid else { return }
            if kind == UInt8(ascii: "A") { stations[source] = now }
            if kind == UInt8(ascii: "D") { stations[source] = nil }
            // a frame from a station that is not associated is dropped (the AP deauthenticates it)
            guard stations[source] != nil else { return }
            stations[source] = now
            guard kind == UInt8(ascii: "U"), body.count >= 14 else { return }
            let inner = Array(body)
            let to = Array(inner[0..<6])
            let group = to[0] & 1 != 0
            if group || to == own.bssid { toAccessPoint.append(inner) }
            // 802.11's intra-BSS relay: to the other stations of the cell
            if group || (stations[to] != nil && to != source) {
                inner.withUnsafeBytes { send(UInt8(ascii: "W"), to: to, from: own.bssid, bssid: own.bssid, body: $0) }
            }
        case UInt8(ascii: "W"):
            guard let j = joined, !orphaned, j.bssid == bssid, body.count >= 14 else { return }
            let to = Array(body[body.startIndex..<body.startIndex + 6])
            let from = Array(body[body.startIndex + 6..<body.startIndex + 12])
            // a station drops its own broadcasts relayed back to it
            guard (to[0] & 1 != 0 && from != j.mac) || to == j.mac else { return }
            toDevice.append(Array(body))
        default:
            return
        }
    }

    func nextDeadline(now: UInt64) -> UInt64? {
        var next = lan.nextDeadline(now: now)
        func consider(_ t: UInt64) { next = min(next ?? t, t) }
        if own != nil { consider(nextBeacon) }
        if let j = joined, !orphaned {
            consider(lastToAccessPoint + CellRadio.keepAliveMicros)
            // when its soft-AP's beacons are missing from a scan's time: the station looks again
            if let h = heard[j.bssid], now < h.at + WiFiStation.scanMicros { consider(h.at + WiFiStation.scanMicros) }
        }
        if own != nil, let oldest = stations.values.min() { consider(oldest + CellRadio.inactiveMicros) }
        return next
    }

    func due(now: UInt64) {
        lan.due(now: now)
        if own != nil && now >= nextBeacon {
            beacon()
            // the next beacon on the interval's grid (a late pass does not shift it)
            nextBeacon += ((now - nextBeacon) / CellRadio.beaconMicros + 1) * CellRadio.beaconMicros
        }
        if joined != nil && !orphaned && now >= lastToAccessPoint + CellRadio.keepAliveMicros {
            control("K")
            lastToAccessPoint = now  // sent, or lost to a link fault: the next in a minute
        }
        for (mac, at) in stations where now >= at + CellRadio.inactiveMicros { stations[mac] = nil }
    }

    func close() {
        lan.close()
    }
}
