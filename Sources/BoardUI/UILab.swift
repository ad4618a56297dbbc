import BoardCore
import Glibc
import NIOConcurrencyHelpers

/// A lab's page (`esplua lab --ui`): one server for every board. The boards are
/// processes; each runs its own feed and sends its messages up a pipe (`UILabLink`);
/// the lab's process hands each line to `received`, which publishes it to the page
/// as `{"board":NAME,"m":MESSAGE}`. The page's commands name their board and go
/// down that board's command pipe, as one line, to its inbox.
public final class UILab: Sendable {
    /// One board as the page knows it.
    public struct Board: Sendable {
        public let name: String
        public let address: String
        public let sketch: String
        /// The write end of the pipe to the board's `UILabLink` (non-blocking).
        public let commands: Int32
        public init(name: String, address: String, sketch: String, commands: Int32) {
            self.name = name
            self.address = address
            self.sketch = sketch
            self.commands = commands
        }
    }

    public let server: UIServer
    public let hub: UIHub

    /// Serves the lab's page on `address:port` (0: any free port).
    public init(
        address: String, port: Int, lab: String, gateway: String, boards: [Board], log: @escaping @Sendable (String) -> Void
    )
        throws(UIServer.StartError)
    {
        var w = JSONWriter()
        w.raw("{\"hello\":{\"lab\":")
        w.string(lab)
        w.raw(",\"time\":\"real\",\"gateway\":")
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
            _ = fcntl(b.commands, F_SETFL, fcntl(b.commands, F_GETFL) | O_NONBLOCK)
            pipes[b.name] = b.commands
        }
        let lock = NIOLock()  // one writer at a time per pipe: a line is never interleaved
        server = try UIServer(
            address: address, port: port, hub: hub, page: .lab, log: log,
            commands: { [pipes] text in
                guard let object = try? JSON.parse(Array(text.utf8)) as? [String: Any], let name = object["board"] as? String else {
                    return "no board named"
                }
                guard let fd = pipes[name] else { return "no board '\(name)' in this lab" }
                if case .failure(let why) = UICommand.parse(text) { return why.description }
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

    public func stop() { server.stop() }
}
