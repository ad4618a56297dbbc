/// The raw peer of packetdrill-style scripts (`b:tcp[[ … ]]`): a host on the
/// board's link that only exists in the script.
final class RawPeer {
    /// Takes the frames the board sends to the script's peer.
    func take(_ frame: UnsafeRawBufferPointer, board: SpecBoard) -> Bool {
        guard let s = board.script else { return false }
        return s.take(frame, board: board)
    }
}

/// A packetdrill-style script in progress.
final class TCPScript {
    let deadline: UInt64
    let location: String
    init(_ text: String, start: UInt64, where location: String) throws {
        self.location = location
        deadline = start
        throw SpecError("b:tcp is not supported yet")
    }
    var done = true
    var nextInjection: UInt64? { nil }
    func step(board: SpecBoard, now: UInt64) -> String? { nil }
    func take(_ frame: UnsafeRawBufferPointer, board: SpecBoard) -> Bool { false }
}
