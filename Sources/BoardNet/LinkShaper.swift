import BoardCore
import FoundationEssentials

/// What a board's radio link does to frames: latency, jitter, airtime (a rate
/// and a per-frame 802.11 overhead, so frames are serialized and queue behind
/// each other), loss, duplication and reordering. `ideal` is the wire esplua
/// always had (a frame is there at once); `wifi` is a typical ESP8266 802.11n
/// link to a home access point (figures and sources below and in the README).
public struct LinkProfile: Sendable, Equatable, CustomStringConvertible {
    /// "ideal", "wifi", or "custom" for a profile given field by field.
    public var name: String
    /// One-way delay after the frame left the air (the access point's
    /// forwarding, the SDK's queues), µs.
    public var latencyMicros: UInt64 = 0
    /// Each frame's delay varies by up to this much more (uniform), µs.
    public var jitterMicros: UInt64 = 0
    /// The PHY rate in bit/s; 0: frames take no airtime.
    public var rateBitsPerSecond: UInt64 = 0
    /// Airtime every frame costs besides its bits: DIFS, the mean backoff, the
    /// PHY preamble, SIFS and the 802.11 ACK, µs.
    public var frameOverheadMicros: UInt64 = 0
    /// Bytes an 802.11 frame carries besides the Ethernet frame's: QoS data
    /// header 26 + LLC/SNAP 8 + FCS 4 − the Ethernet header 14.
    public var frameOverheadBytes = 0
    /// Probability that a frame is lost (after the MAC's own retries), 0…1.
    public var loss = 0.0
    /// Probability that a frame arrives twice, 0…1.
    public var duplicate = 0.0
    /// Probability that a frame is held back so the next ones overtake it, 0…1.
    public var reorder = 0.0

    public init(name: String = "custom") { self.name = name }

    /// Today's wire: every frame is there at once, nothing lost (no shaper runs).
    public static let ideal = LinkProfile(name: "ideal")

    /// A typical ESP8266 802.11n (HT20) link to a home access point.
    /// - Rate 72.2 Mbit/s: the ESP8266EX datasheet's 802.11n maximum (MCS7, short GI).
    /// - 170 µs per frame: DIFS 28 + mean backoff 7.5 × 9 µs slots + HT-mixed
    ///   preamble 36 + SIFS 10 + a legacy ACK ≈ 28 (IEEE 802.11-2016, 2.4 GHz ERP/HT timings).
    /// - One-way latency 0.8 ms plus up to 1 ms of jitter: ping round trips of
    ///   2.0–4.4 ms with these, against 1.3–6.3 ms (most 1.4–3 ms) measured from a PC
    ///   to an ESP8266 on a home AP (espressif/ESP8266_NONOS_SDK#371, NONOS SDK 3.0.3).
    /// - No loss: 802.11 retransmits a lost frame at the MAC; the pings above lost none.
    public static let wifi: LinkProfile = {
        var p = LinkProfile(name: "wifi")
        p.latencyMicros = 800
        p.jitterMicros = 1000
        p.rateBitsPerSecond = 72_200_000
        p.frameOverheadMicros = 170
        p.frameOverheadBytes = 24
        return p
    }()

    public static let named: [String: LinkProfile] = ["ideal": ideal, "wifi": wifi]

    /// True when no frame is touched (the shaper is left out altogether).
    public var isIdeal: Bool {
        latencyMicros == 0 && jitterMicros == 0 && rateBitsPerSecond == 0 && frameOverheadMicros == 0 && loss == 0
            && duplicate == 0 && reorder == 0
    }

    /// Airtime of an Ethernet frame of `bytes` on this link, µs.
    public func airtimeMicros(bytes: Int) -> UInt64 {
        guard rateBitsPerSecond > 0 else { return frameOverheadMicros }
        let bits = UInt64(bytes + frameOverheadBytes) * 8
        return frameOverheadMicros + (bits * 1_000_000 + rateBitsPerSecond - 1) / rateBitsPerSecond
    }

    public struct Invalid: Error, CustomStringConvertible, Equatable {
        public let description: String
    }

    /// `ideal`, `wifi`, or a JSON object (`{"latency":"5ms","jitter":"1ms",
    /// "rate":"20Mbit","loss":0.01,"dup":0,"reorder":0}`, optionally `"like":"wifi"`
    /// to start from a named profile).
    public static func parse(_ text: String, field: String = "link") throws(Invalid) -> LinkProfile {
        let t = String(text.drop(while: { $0 == " " }).reversed().drop(while: { $0 == " " }).reversed())
        if let p = named[t] { return p }
        guard t.hasPrefix("{") else {
            throw Invalid(description: "\(field): unknown profile '\(t)' (expected ideal, wifi or a JSON object like {\"latency\":\"5ms\",\"loss\":0.01})")
        }
        let value: Any
        do { value = try JSON.parse(Array(t.utf8)) } catch { throw Invalid(description: "\(field) is not valid JSON (\(error))") }
        return try parse(value: value, field: field)
    }

    /// A lab file's or a parsed `--link`'s value: a name or an object.
    public static func parse(value: Any, field: String = "link") throws(Invalid) -> LinkProfile {
        func bad(_ why: String) -> Invalid { Invalid(description: "\(field)\(why)") }
        if let s = value as? String {
            guard let p = named[s] else { throw bad(": unknown profile '\(s)' (expected ideal or wifi)") }
            return p
        }
        guard let o = value as? [String: Any] else { throw bad(" must be \"ideal\", \"wifi\" or an object like {\"latency\":\"5ms\"}") }
        let known = ["like", "latency", "jitter", "rate", "loss", "dup", "reorder"]
        if let k = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad(": unknown key '\(k)' (expected \(known.joined(separator: ", ")))")
        }
        var p = LinkProfile()
        if let like = o["like"] {
            guard let s = like as? String, let base = named[s] else { throw bad(".like must be ideal or wifi") }
            p = base
        }
        p.name = "custom"
        for key in ["latency", "jitter"] {
            guard let v = o[key] else { continue }
            guard let s = v as? String, let us = parseDurationMicros(s), us <= 60_000_000 else {
                throw bad(".\(key) must be a duration like \"5ms\" or \"800us\", at most 60s")
            }
            if key == "latency" { p.latencyMicros = us } else { p.jitterMicros = us }
        }
        if let v = o["rate"] {
            guard let s = v as? String, let r = parseRate(s), r > 0 else { throw bad(".rate must be a rate like \"20Mbit\", \"500kbit\" or \"72.2Mbit\"") }
            p.rateBitsPerSecond = r
            if o["like"] == nil {
                // a rate alone is 802.11's: the per-frame overhead comes with it
                p.frameOverheadMicros = LinkProfile.wifi.frameOverheadMicros
                p.frameOverheadBytes = LinkProfile.wifi.frameOverheadBytes
            }
        }
        for key in ["loss", "dup", "reorder"] {
            guard let v = o[key] else { continue }
            guard !(v is Bool), let x = JSON.number(v), x >= 0, x <= 1 else { throw bad(".\(key) must be a probability from 0 to 1, like 0.01") }
            switch key {
            case "loss": p.loss = x
            case "dup": p.duplicate = x
            default: p.reorder = x
            }
        }
        return p
    }

    /// "20Mbit", "500kbit", "1Gbit", "9600bit" (also with "/s") → bit/s.
    public static func parseRate(_ text: String) -> UInt64? {
        var t = text.lowercased()
        if t.hasSuffix("/s") { t.removeLast(2) }
        if t.hasSuffix("bps") { t.removeLast(3); t += "bit" }
        let units: [(String, Double)] = [("gbit", 1e9), ("mbit", 1e6), ("kbit", 1e3), ("bit", 1)]
        for (suffix, scale) in units where t.hasSuffix(suffix) {
            guard let v = Double(t.dropLast(suffix.count)), v > 0, v.isFinite, v * scale < 1e12 else { return nil }
            return UInt64((v * scale).rounded())
        }
        return nil
    }

    /// The canonical JSON of this profile (how a lab hands a board its link).
    public var json: String {
        if let (n, _) = LinkProfile.named.first(where: { $0.value == self }) { return n }
        func num(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
        var fields = ["\"latency\":\"\(latencyMicros)us\"", "\"jitter\":\"\(jitterMicros)us\""]
        if rateBitsPerSecond > 0 { fields.append("\"rate\":\"\(rateBitsPerSecond)bit\"") }
        fields += ["\"loss\":\(num(loss))", "\"dup\":\(num(duplicate))", "\"reorder\":\(num(reorder))"]
        return "{" + fields.joined(separator: ",") + "}"
    }

    public var description: String {
        if name != "custom" { return name }
        var parts = ["latency \(Format.fixed(Double(latencyMicros) / 1000, decimals: 3)) ms"]
        if jitterMicros > 0 { parts.append("jitter \(Format.fixed(Double(jitterMicros) / 1000, decimals: 3)) ms") }
        if rateBitsPerSecond > 0 { parts.append("rate \(Format.fixed(Double(rateBitsPerSecond) / 1e6, decimals: 1)) Mbit/s") }
        if loss > 0 { parts.append("loss \(loss)") }
        if duplicate > 0 { parts.append("dup \(duplicate)") }
        if reorder > 0 { parts.append("reorder \(reorder)") }
        return parts.joined(separator: ", ")
    }
}

/// Something that happens to a board's link at a board time, for a while
/// (a lab file's `faults`, `esplua run --fault`).
public struct LinkFault: Sendable, Equatable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// The access point goes away: no frames either way, and the station
        /// loses it (beacon timeout), then joins again when it is back.
        case accessPointDown
        /// The link drops every frame both ways (the station stays associated).
        case linkDown
        /// A burst of loss: each frame is lost with this probability.
        case loss(Double)
    }
    public var at: UInt64
    public var duration: UInt64
    public var kind: Kind
    public var end: UInt64 { at > UInt64.max - duration ? .max : at + duration }

    public init(at: UInt64, duration: UInt64, kind: Kind) {
        self.at = at
        self.duration = duration
        self.kind = kind
    }

    public func covers(_ t: UInt64) -> Bool { t >= at && t < end }

    /// A fault object: `{"at":"10s","for":"5s","ap":"down"}`, `{"at":"3s","for":"2s","link":"down"}`
    /// or `{"at":"3s","for":"500ms","loss":0.5}` (and `"board"`, read by the lab).
    public static func parse(value: Any, field: String) throws(LinkProfile.Invalid) -> LinkFault {
        func bad(_ why: String) -> LinkProfile.Invalid { LinkProfile.Invalid(description: "\(field)\(why)") }
        guard let o = value as? [String: Any] else { throw bad(" must be an object like {\"at\":\"10s\",\"for\":\"5s\",\"ap\":\"down\"}") }
        let known = ["at", "for", "ap", "link", "loss", "board", "comment"]
        if let k = o.keys.sorted().first(where: { !known.contains($0) }) {
            throw bad(": unknown key '\(k)' (expected at, for, and one of ap, link, loss)")
        }
        guard let a = o["at"] as? String, let at = parseDurationMicros(a) else { throw bad(".at must be a board time like \"10s\"") }
        guard let f = o["for"] as? String, let d = parseDurationMicros(f), d > 0 else { throw bad(".for must be a duration like \"5s\"") }
        let kinds = ["ap", "link", "loss"].filter { o[$0] != nil }
        guard kinds.count == 1 else { throw bad(" needs one of \"ap\":\"down\", \"link\":\"down\" or \"loss\":0.5") }
        switch kinds[0] {
        case "ap":
            guard o["ap"] as? String == "down" else { throw bad(".ap must be \"down\"") }
            return LinkFault(at: at, duration: d, kind: .accessPointDown)
        case "link":
            guard o["link"] as? String == "down" else { throw bad(".link must be \"down\"") }
            return LinkFault(at: at, duration: d, kind: .linkDown)
        default:
            guard !(o["loss"] is Bool), let x = JSON.number(o["loss"]), x >= 0, x <= 1 else {
                throw bad(".loss must be a probability from 0 to 1, like 0.5")
            }
            return LinkFault(at: at, duration: d, kind: .loss(x))
        }
    }

    /// `--fault` on run: `ap-down@10s+5s`, `link-down@3s+2s`, `loss=0.5@3s+500ms`, or the JSON object.
    public static func parse(_ text: String) throws(LinkProfile.Invalid) -> LinkFault {
        if text.hasPrefix("{") {
            let value: Any
            do { value = try JSON.parse(Array(text.utf8)) } catch { throw LinkProfile.Invalid(description: "--fault is not valid JSON (\(error))") }
            return try parse(value: value, field: "--fault")
        }
        let bad = LinkProfile.Invalid(
            description: "bad --fault '\(text)': expected ap-down@TIME+DURATION, link-down@TIME+DURATION or loss=P@TIME+DURATION, like ap-down@10s+5s")
        let parts = text.split(separator: "@", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw bad }
        let span = parts[1].split(separator: "+", maxSplits: 1).map(String.init)
        guard span.count == 2, let at = parseDurationMicros(span[0]), let d = parseDurationMicros(span[1]), d > 0 else { throw bad }
        switch parts[0] {
        case "ap-down": return LinkFault(at: at, duration: d, kind: .accessPointDown)
        case "link-down": return LinkFault(at: at, duration: d, kind: .linkDown)
        default:
            guard parts[0].hasPrefix("loss="), let x = Double(parts[0].dropFirst(5)), x >= 0, x <= 1 else { throw bad }
            return LinkFault(at: at, duration: d, kind: .loss(x))
        }
    }

    /// The `--fault` text of this fault (how a lab hands it to a board).
    public var argument: String {
        let span = "@\(at)us+\(duration)us"
        switch kind {
        case .accessPointDown: return "ap-down" + span
        case .linkDown: return "link-down" + span
        case .loss(let p): return "loss=\(p)" + span
        }
    }

    public var description: String {
        let when = "at \(Format.fixed(Double(at) / 1e6, decimals: 3)) s for \(Format.fixed(Double(duration) / 1e6, decimals: 3)) s"
        switch kind {
        case .accessPointDown: return "the access point goes down " + when
        case .linkDown: return "the link goes down " + when
        case .loss(let p): return "loss \(p) " + when
        }
    }
}

/// A board's link in board time: given a frame and when it was sent, when (and
/// whether, and how many times) it arrives. Pure and deterministic: the same
/// profile, seed, faults and sequence of calls give the same answers, so a lab
/// run twice (or a conductor stepping boards in lockstep) sees the same air.
///
/// The air is one half-duplex medium shared by both directions: a frame starts
/// when the air is free (the previous frame's airtime is over), occupies it for
/// `profile.airtimeMicros(bytes:)` and then arrives `latency` + up to `jitter`
/// later. Frames of one direction arrive in the order sent unless `reorder`
/// holds one back. A lost frame still used its airtime (the MAC tried).
public struct LinkShaper: Sendable {
    /// Which way a frame goes: from the board to the network, or to the board.
    public enum Direction: Int, Sendable { case fromBoard = 0, toBoard = 1 }

    public let profile: LinkProfile
    public let seed: UInt64
    public var faults: [LinkFault]
    /// SplitMix64 (as `BoardCore.SplitMix`), kept here so the shaper stays a plain value.
    private var state: UInt64
    /// Board time at which the air is free again.
    public private(set) var airFreeAt: UInt64 = 0
    /// The last in-order arrival per direction (frames never overtake it unless reordered).
    private var lastArrival: [UInt64] = [0, 0]
    /// Frames lost, duplicated and reordered so far (both directions).
    public private(set) var lost = 0, duplicated = 0, reordered = 0

    public init(profile: LinkProfile, seed: UInt64 = 0x8266, faults: [LinkFault] = []) {
        self.profile = profile
        self.seed = seed
        self.faults = faults
        state = seed
    }

    /// A uniform number in [0, 1).
    private mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(UInt64(1) << 53)
    }

    /// When `frame`, sent at board time `at`, arrives: nothing (lost), once, or
    /// twice (duplicated), in increasing time. Each call draws the same count of
    /// random numbers, so one frame's fate does not shift the others'.
    public mutating func schedule(frame: [UInt8], at: UInt64, direction: Direction = .fromBoard) -> [(deliverAt: UInt64, frame: [UInt8])] {
        let (rLoss, rDup, rReorder, rJitter) = (uniform(), uniform(), uniform(), uniform())
        var lossP = profile.loss
        for f in faults where f.covers(at) {
            switch f.kind {
            case .accessPointDown, .linkDown: lossP = 1
            case .loss(let p): lossP = max(lossP, p)
            }
        }
        let air = profile.airtimeMicros(bytes: frame.count)
        let start = max(at, airFreeAt)
        let onAir = start + air
        airFreeAt = onAir
        if rLoss < lossP {
            lost += 1
            return []
        }
        let jitter = profile.jitterMicros == 0 ? 0 : UInt64(rJitter * Double(profile.jitterMicros + 1))
        var arrival = onAir + profile.latencyMicros + jitter
        let d = direction.rawValue
        if rReorder < profile.reorder {
            // held back behind the frames that follow (a retry after a lost 802.11 ACK)
            reordered += 1
            arrival = max(arrival, lastArrival[d]) + max(1000, 2 * profile.latencyMicros)
        } else {
            arrival = max(arrival, lastArrival[d])
            lastArrival[d] = arrival
        }
        var out = [(deliverAt: arrival, frame: frame)]
        if rDup < profile.duplicate {
            duplicated += 1
            out.append((arrival + air, frame))
        }
        return out
    }

    /// Whether the access point is away at `t` (an `ap` fault covers it).
    public func accessPointDown(at t: UInt64) -> Bool {
        faults.contains { $0.kind == .accessPointDown && $0.covers(t) }
    }
}
