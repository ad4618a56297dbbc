import BoardCore

/// What the page may ask of the board, read from a WebSocket text message:
/// `{"serial":"text"}` (typed into the serial monitor), `{"reset":true}` (the reset
/// button), `{"control":"part.name","value":30}` (a part's control). Anything else
/// is refused. The commands go through the board's inbox (DESIGN.md 15).
public enum UICommand {
    /// The board command a message asks for, or nil with the reason it is refused.
    public static func parse(_ text: String) -> Result<BoardCommand, Refusal> {
        guard let object = try? JSON.parse(Array(text.utf8)) as? [String: Any] else {
            return .failure(Refusal(description: "not a JSON object"))
        }
        if let s = object["serial"] as? String { return .success(.serialInput(Array(s.utf8))) }
        if object["reset"] as? Bool == true { return .success(.reset) }
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
