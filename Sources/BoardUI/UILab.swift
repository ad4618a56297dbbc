import BoardCore
import Glibc
import NIOConcurrencyHelpers

/// A lab's page (`esplua lab --ui`): one server for every board. The boards are
/// processes; each runs its own feed and sends its messages up a pipe (`UILabLink`);
/// the lab's process hands each line to `received`, which publishes it to the page
/// as `{"board":NAME,"m":MESSAGE}`. The page's commands name their board: in real
/// time they go down that board's command pipe, as one line, to its inbox; in
/// virtual time to `boardCommand` (the lab's conductor, which hands them to the
/// board at the start of a window). The lab's time controls (`TimeCommand`, no
/// board named) go to `timeCommand`; the conductor's state comes back through
/// `status`, published as `{"lab":{…}}`.
public final class UILab: Sendable {
    /// One board as the page knows it.
    public struct Board: Sendable {
        public let name: String
        public let address: String
        public let sketch: String
        /// The write end of the pipe to the board's `UILabLink` (non-blocking); -1 when
        /// the board's commands go to `boardCommand`.
        public let commands: Int32
        public init(name: String, address: String, sketch: String, commands: Int32) {
            self.name = name
            self.address = address
            self.sketch = sketch
            self.commands = commands
        }
    }

    /// What the page's time controls ask of a lab run in virtual time: `{"pause":true}`,
    /// `{"resume":true}`, `{"step":{"windows":N}}` (the conductor's next N windows),
    /// `{"step":{"ms":N}}` (N ms of board time for every board), `{"speed":K}` (0: as
    /// fast as possible). They name no board: they act on the whole lab.
    public enum TimeCommand: Sendable, Equatable {
        case pause, resume
        case stepWindows(Int)
        case stepMicros(UInt64)
        /// Board time per host time; nil: as fast as possible.
        case speed(Double?)

        /// The time command in a page's message, nil if it is none, or why it is refused.
        static func parse(_ object: [String: Any]) -> Result<TimeCommand, UICommand.Refusal>? {
            if object["pause"] as? Bool == true { return .success(.pause) }
            if object["resume"] as? Bool == true { return .success(.resume) }
            if let step = object["step"] as? [String: Any] {
                if let n = JSON.integer(step["windows"]), (1...1_000_000).contains(n) { return .success(.stepWindows(n)) }
                if let ms = JSON.number(step["ms"]), ms > 0, ms <= 86_400_000 { return .success(.stepMicros(UInt64(ms * 1000))) }
                return .failure(UICommand.Refusal(description: "step: expected {\"windows\":N} or {\"ms\":N} with N > 0"))
            }
            if object["speed"] != nil {
                guard let k = JSON.number(object["speed"]), k >= 0, k <= 1_000_000 else {
                    return .failure(UICommand.Refusal(description: "speed: expected a number ≥ 0 (0: as fast as possible)"))
                }
                return .success(.speed(k > 0 ? k : nil))
            }
            return nil
        }
    }

    public let server: UIServer
    public let hub: UIHub

    /// Serves the lab's page on `address:port` (0: any free port). `virtualTime`: the
    /// lab runs under the conductor, whose controls the page shows; `boardCommand`
    /// (board, JSON) gets the commands of boards without a pipe and `timeCommand` the
    /// time controls, each returning why it refused, or nil (any thread). `captures`
    /// are the boards' pcaps (`/capture.pcap?board=NAME`).
    public init(
        address: String, port: Int, lab: String, virtualTime: Bool = false, gateway: String, boards: [Board],
        boardCommand: (@Sendable (String, String) -> String?)? = nil, timeCommand: (@Sendable (TimeCommand) -> String?)? = nil,
        captures: UICaptures? = nil, log: @escaping @Sendable (String) -> Void
    )
        throws(UIServer.StartError)
    {
        var w = JSONWriter()
        w.raw("{\"hello\":{\"lab\":")
        w.string(lab)
        w.raw(",\"time\":")
        w.string(virtualTime ? "virtual" : "real")
        w.raw(",\"pcap\":")
        w.raw(captures == nil ? "false" : "true")
        w.raw(",\"gateway\":")
        w.string(gateway)
        w.raw(",\"boards\":[")
        for (i, b) in boards.enumerated() {
            if i > 0 { w.raw(",") }
            w.raw("{\"name\":")
            w.string(b.name)
            w.raw(",\"address\":")
            w.string(b.address)
            w.raw(",\"sketch\":")
            w.string(b.sketch)
            w.raw("}")
        }
        w.raw("]}}")
        let hub = UIHub(hello: w.text)
        self.hub = hub
        var pipes: [String: Int32] = [:]
        for b in boards {
            if b.commands >= 0 { _ = fcntl(b.commands, F_SETFL, fcntl(b.commands, F_GETFL) | O_NONBLOCK) }
            pipes[b.name] = b.commands
        }
        let lock = NIOLock()  // one writer at a time per pipe: a line is never interleaved
        server = try UIServer(
            address: address, port: port, hub: hub, page: .lab, captures: captures, log: log,
            commands: { [pipes] text in
                guard let object = try? JSON.parse(Array(text.utf8)) as? [String: Any] else { return "not a JSON object" }
                if let time = TimeCommand.parse(object) {
                    guard let timeCommand else {
                        return "the lab runs in real time: its boards' clocks are the host's (esplua lab --time virtual has pause, step and speed)"
                    }
                    switch time {
                    case .success(let command): return timeCommand(command)
                    case .failure(let why): return why.description
                    }
                }
                guard let name = object["board"] as? String else { return "no board named" }
                guard let fd = pipes[name] else { return "no board '\(name)' in this lab" }
                if case .failure(let why) = UICommand.parse(text) { return why.description }
                guard fd >= 0 else { return boardCommand?(name, text) ?? nil }
                let line = Array((text + "\n").utf8)
                let written = lock.withLock { line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) } }
                return written == line.count ? nil : "board '\(name)' is not reading its commands"
            })
    }

    /// A line `board`'s feed sent (one message). Any thread.
    public func received(board: String, line: String) {
        var w = JSONWriter()
        w.raw("{\"board\":")
        w.string(board)
        w.raw(",\"m\":")
        w.raw(line)
        w.raw("}")
        hub.publish(w.text)
    }

    /// The conductor's state (virtual time): the lab's board time (µs, the end of the
    /// latest window granted), whether it is paused, its speed (0: as fast as
    /// possible) and the page's commands waiting for the lab to run. Any thread.
    public func status(time: UInt64, paused: Bool, speed: Double, waiting: Int) {
        var w = JSONWriter()
        w.raw("{\"lab\":{\"t\":\(time),\"paused\":\(paused),\"speed\":")
        w.raw(speed == speed.rounded() && abs(speed) < 1e15 ? String(Int64(speed)) : String(speed))
        w.raw(",\"waiting\":\(waiting)}}")
        hub.publish(w.text)
    }

    public func stop() { server.stop() }
}
