import BoardCore
import BoardNet
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket

/// The web page of one board (`esplua run --ui`): an HTTP server on its own
/// thread (one SwiftNIO event loop) with the page's files and one WebSocket,
/// `/ws`, that streams the hub's messages to the browser and carries the page's
/// commands to the board's inbox. The board's thread never waits for it.
public final class UIServer: Sendable {
    /// Where the page is, with its token: what esplua prints on stderr.
    public let url: String
    public let access: UIAccess
    public let hub: UIHub
    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel

    /// Why the server could not start: one sentence with the remedy.
    public struct StartError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Binds `address:port` (0: any free port) and serves a board's page, whose
    /// commands go to `inbox`. `capture` is served as `/capture.pcap` (named
    /// `captureName`) to whoever has the token. `log` gets the server's own messages
    /// (a refused command); any thread.
    public convenience init(
        address: String, port: Int, hub: UIHub, inbox: BoardInbox, capture: PcapBuffer? = nil, captureName: String = "board.pcap",
        libraryRoot: String = "", log: @escaping @Sendable (String) -> Void
    ) throws(StartError) {
        try self.init(
            address: address, port: port, hub: hub, page: .board,
            captures: capture.map { c -> UICaptures in { _ in (c.file(), captureName) } }, libraryRoot: libraryRoot, log: log,
            commands: { text in
                switch UICommand.parse(text) {
                case .success(let command):
                    inbox.post(command)
                    return nil
                case .failure(let why): return why.description
                }
            })
    }

    /// Binds `address:port` and serves `page` (a board's, or a lab's); each text
    /// message of the page's WebSocket goes to `commands` (any thread), which returns
    /// why it refused it, or nil; `captures` are the pcap downloads.
    public init(
        address: String, port: Int, hub: UIHub, page: UIAssets.Page, captures: UICaptures? = nil,
        libraryRoot: String = "", log: @escaping @Sendable (String) -> Void, commands: @escaping @Sendable (String) -> String?
    ) throws(StartError) {
        let assets = UIAssets(page: page, libraryRoot: libraryRoot)
        for m in assets.missing { log("esplua: ui: cannot read \(m); the page will lack it") }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        // the token is fixed once the port is known (the Host check needs it)
        let token = UIAccess.randomToken()
        let accessBox = AccessHolder()
        let upgrader = NIOWebSocketServerUpgrader(
            shouldUpgrade: { channel, head in
                guard let access = accessBox.value else { return channel.eventLoop.makeSucceededFuture(nil) }
                let refusal = access.refusal(uri: head.uri, host: head.headers.first(name: "host"), origin: head.headers.first(name: "origin"))
                if let refusal { log("esplua: ui: WebSocket refused: \(refusal)") }
                return channel.eventLoop.makeSucceededFuture(refusal == nil ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, _ in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UIWebSocketHandler(hub: hub, commands: commands, log: log))
                }
            })
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let http = UIHTTPHandler(assets: assets, access: accessBox, captures: captures)
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(
                        withServerUpgrade: (
                            upgraders: [upgrader],
                            completionHandler: { context in
                                context.pipeline.syncOperations.removeHandler(http, promise: nil)
                            }
                        ))
                    try channel.pipeline.syncOperations.addHandler(http)
                }
            }
        do {
            channel = try bootstrap.bind(host: address, port: port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw StartError(description: "cannot serve the page on \(address):\(port) (\(error)); choose another port with --ui")
        }
        let bound = channel.localAddress?.port ?? port
        access = UIAccess(token: token, address: address, port: bound)
        accessBox.value = access
        self.group = group
        self.hub = hub
        let host = address.contains(":") ? "[\(address)]" : address
        url = "http://\(host):\(bound)/?token=\(token)"
    }

    /// Closes the listening socket and every browser's connection, and ends the thread.
    public func stop() {
        try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }
}

/// The upgrader's view of `UIAccess`, set once the port is bound.
final class AccessHolder: Sendable {
    private let box = NIOLockedValueBox<UIAccess?>(nil)
    var value: UIAccess? {
        get { box.withLockedValue { $0 } }
        set { box.withLockedValue { $0 = newValue } }
    }
}
