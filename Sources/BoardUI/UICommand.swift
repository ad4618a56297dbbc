import BoardCore

/// What the page may ask of the board, read from a WebSocket text message:
/// `{"serial":"text"}` (typed into the serial monitor), `{"reset":true}` (the reset
/// button), `{"control":"part.name","value":30}` (a part's control), and in virtual
/// time `{"pause":true}`, `{"resume":true}`, `{"step":{"passes":1}}` or
/// `{"step":{"ms":100}}`, `{"speed":10}` (0: as fast as possible). Anything else is
/// refused. The commands go through the board's inbox (DESIGN.md 15).
public enum UICommand {
    /// The board command a message asks for, or nil with the reason it is refused.
    public static func parse(_ text: String) -> Result<BoardCommand, Refusal> {
        guard let object = try? JSON.parse(Array(text.utf8)) as? [String: Any] else {
            return .failure(Refusal(description: "not a JSON object"))
        }
        if let s = object["serial"] as? String { return .success(.serialInput(Array(s.utf8))) }
        if object["reset"] as? Bool == true { return .success(.reset) }
        if object["pause"] as? Bool == true { return .success(.pause) }
        if object["resume"] as? Bool == true { return .success(.resume) }
        if let step = object["step"] as? [String: Any] {
            if let n = JSON.integer(step["passes"]), (1...1_000_000).contains(n) { return .success(.step(.passes(n))) }
            if let ms = JSON.number(step["ms"]), ms > 0, ms <= 86_400_000 { return .success(.step(.micros(UInt64(ms * 1000)))) }
            return .failure(Refusal(description: "step: expected {\"passes\":N} or {\"ms\":N} with N > 0"))
        }
        if object["speed"] != nil {
            guard let k = JSON.number(object["speed"]), k >= 0, k <= 1_000_000 else {
                return .failure(Refusal(description: "speed: expected a number ≥ 0 (0: as fast as possible)"))
            }
            return .success(.setSpeed(k))
        }
        if let name = object["control"] as? String {
            let parts = name.split(separator: ".", maxSplits: 1).map(String.init)
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty else {
                return .failure(Refusal(description: "control '\(name)': expected PART.CONTROL"))
            }
            guard let value = JSON.number(object["value"]) else {
                return .failure(Refusal(description: "control '\(name)': the value is not a number"))
            }
            return .success(.setControl(part: parts[0], control: parts[1], value: value))
        }
        return .failure(Refusal(description: "unknown command"))
    }

    /// Why a message was not a command.
    public struct Refusal: Error, Equatable, CustomStringConvertible {
        public let description: String
    }
}
