import NIOConcurrencyHelpers
import NIOCore
import NIOWebSocket

/// The browsers watching one board: `publish` (any thread; the board's feed calls
/// it) keeps the message in a bounded replay ring and queues it to every open
/// WebSocket on its own event loop. A browser that joins gets the `hello` and the
/// ring first, so its console and chart start with what came before. A browser
/// that cannot keep up (its socket not writable) misses messages rather than
/// holding memory; the next one's tables are whole again.
public final class UIHub: Sendable {
    private struct State {
        var clients: [ObjectIdentifier: Channel] = [:]
        var ring: [String] = []
        var ringBytes = 0
        var published = 0
        var skipped = 0
    }

    /// Bytes of past messages kept for browsers that join later.
    public let ringLimit: Int
    private let hello: String
    private let state = NIOLockedValueBox(State())

    /// `hello` is the first message every browser gets (what board, which sketch).
    public init(hello: String, ringLimit: Int = 4 * 1024 * 1024) {
        self.hello = hello
        self.ringLimit = ringLimit
    }

    /// Browsers connected now.
    public var clientCount: Int { state.withLockedValue { $0.clients.count } }
    /// Messages published, and messages a slow browser missed.
    public var counts: (published: Int, skipped: Int) { state.withLockedValue { ($0.published, $0.skipped) } }

    /// Sends `text` to every browser. Any thread; never waits for a browser.
    public func publish(_ text: String) {
        let clients = state.withLockedValue { s -> [Channel] in
            s.published += 1
            s.ring.append(text)
            s.ringBytes += text.utf8.count
            while s.ringBytes > ringLimit, s.ring.count > 1 { s.ringBytes -= s.ring.removeFirst().utf8.count }
            return Array(s.clients.values)
        }
        for channel in clients {
            channel.eventLoop.execute {
                guard channel.isActive else { return }
                guard channel.isWritable else {
                    self.state.withLockedValue { $0.skipped += 1 }
                    return
                }
                Self.send(text, on: channel)
            }
        }
    }

    /// A browser joined (its event loop): it gets the hello and the ring, then every message.
    func join(_ channel: Channel) {
        let past = state.withLockedValue { s -> [String] in
            s.clients[ObjectIdentifier(channel)] = channel
            return s.ring
        }
        Self.send(hello, on: channel)
        for text in past { Self.send(text, on: channel) }
    }

    func leave(_ channel: Channel) {
        _ = state.withLockedValue { $0.clients.removeValue(forKey: ObjectIdentifier(channel)) }
    }

    private static func send(_ text: String, on channel: Channel) {
        let buffer = channel.allocator.buffer(string: text)
        channel.writeAndFlush(WebSocketFrame(fin: true, opcode: .text, data: buffer), promise: nil)
    }
}
