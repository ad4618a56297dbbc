import BoardCore
import FoundationEssentials

/// The wiring file beside a sketch (`<sketch>.wiring.json`, or `--wiring FILE`):
/// which parts sit on which pins or bus addresses, the starting values of their
/// controls, and changes of those controls over board time (a lesson warming a
/// sensor up).
///
/// ```json
/// { "parts": [ { "name": "sensor", "part": "bmp280", "address": "0x76",
///                "controls": { "temperature": 21.5, "pressure": 1013.25 } },
///              { "name": "button", "part": "button", "pin": 0 } ],
///   "schedule": [ { "at": "10s", "set": "sensor.temperature", "value": 30 } ] }
/// ```
/// Every other key of a part is a setting its plugin reads (`address`, `pin`, `cs` …).
public struct Wiring {
    public struct PartSpec {
        public var name: String
        public var part: String
        public var settings: [String: Any]
        public var controls: [String: Double]
    }
    public struct Change: Sendable {
        public var at: UInt64; public var part: String; public var control: String; public var value: Double

        /// `part.control=value` or `part.control=value@10s` (the command line's --set).
        public init?(parsing text: String) {
            let (lhs, rhs) = (
                text.split(separator: "=", maxSplits: 1).first.map(String.init) ?? "",
                text.split(separator: "=", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            )
            let target = lhs.split(separator: ".", maxSplits: 1).map(String.init)
            let valueAndTime = rhs.split(separator: "@", maxSplits: 1).map(String.init)
            guard target.count == 2, !target[0].isEmpty, !target[1].isEmpty, let first = valueAndTime.first, let v = Double(first) else { return nil }
            var at: UInt64 = 0
            if valueAndTime.count == 2 { guard let t = parseDurationMicros(valueAndTime[1]) else { return nil }; at = t }
            self.init(at: at, part: target[0], control: target[1], value: v)
        }

        public init(at: UInt64, part: String, control: String, value: Double) {
            self.at = at; self.part = part; self.control = control; self.value = value
        }
    }

    public var parts: [PartSpec] = []
    public var schedule: [Change] = []

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    public static func load(path: String) throws(LoadError) -> Wiring {
        guard let data = FileManager.default.contents(atPath: path) else { throw LoadError(description: "cannot read the wiring file '\(path)'") }
        return try parse(Array(data), name: path)
    }

    /// Parses the JSON form of a wiring file; errors start with `name`.
    public static func parse(_ data: [UInt8], name path: String) throws(LoadError) -> Wiring {
        func bad(_ why: String) -> LoadError { LoadError(description: "\(path): \(why)") }
        guard let root = (try? JSON.parse(data)) as? [String: Any] else {
            throw bad("not a JSON object")
        }
        if let k = root.keys.sorted().first(where: { !["parts", "schedule", "comment"].contains($0) }) {
            throw bad("unknown key '\(k)' (expected parts, schedule)")
        }
        var w = Wiring()
        for (i, item) in ((root["parts"] as? [Any]) ?? []).enumerated() {
            guard let d = item as? [String: Any], let type = d["part"] as? String else { throw bad("parts[\(i)].part is missing") }
            let name = d["name"] as? String ?? type
            if w.parts.contains(where: { $0.name == name }) { throw bad("parts[\(i)]: two parts are named '\(name)'") }
            var controls: [String: Double] = [:]
            if let c = d["controls"] {
                guard let c = c as? [String: Any] else { throw bad("parts[\(i)].controls must be an object of numbers") }
                for (k, v) in c {
                    guard let n = JSON.number(v) else { throw bad("parts[\(i)].controls.\(k) must be a number") }
                    controls[k] = n
                }
            }
            var settings = d
            for k in ["part", "name", "controls", "comment"] { settings.removeValue(forKey: k) }
            w.parts.append(PartSpec(name: name, part: type, settings: settings, controls: controls))
        }
        for (i, item) in ((root["schedule"] as? [Any]) ?? []).enumerated() {
            guard let d = item as? [String: Any], let target = d["set"] as? String, let value = JSON.number(d["value"]) else {
                throw bad("schedule[\(i)] needs \"set\": \"part.control\" and a number \"value\"")
            }
            let parts = target.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, w.parts.contains(where: { $0.name == parts[0] }) else {
                throw bad("schedule[\(i)].set must name a part and a control, like \"sensor.temperature\"")
            }
            var at: UInt64 = 0
            if let s = d["at"] as? String {
                guard let t = parseDurationMicros(s) else { throw bad("schedule[\(i)].at must be a duration like \"10s\"") }; at = t
            }
            w.schedule.append(Change(at: at, part: parts[0], control: parts[1], value: value))
        }
        return w
    }

    /// `<sketch>.wiring.json` beside `sketchPath`, if there is one.
    public static func beside(_ sketchPath: String) -> String? {
        let base = sketchPath.hasSuffix(".lua") ? String(sketchPath.dropLast(4)) : sketchPath
        let path = base + ".wiring.json"
        return FileManager.default.fileExists(atPath: path) ? path : nil
    }
}
