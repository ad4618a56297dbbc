import BoardNet
import NIOCore
import NIOHTTP1

/// Serves the page's files (GET only) and the run's pcap (`/capture.pcap?token=…`,
/// the token and a Host of this server required), and answers everything else,
/// including a WebSocket upgrade the upgrader refused (no token, foreign Origin),
/// with an error status. Runs on the connection's event loop.
final class UIHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let assets: UIAssets
    private let access: AccessHolder
    private let capture: PcapBuffer?
    private let captureName: String
    private var request: HTTPRequestHead?

    init(assets: UIAssets, access: AccessHolder, capture: PcapBuffer?, captureName: String) {
        self.assets = assets
        self.access = access
        self.capture = capture
        self.captureName = captureName
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): request = head
        case .body: break
        case .end:
            guard let head = request else { return }
            request = nil
            respond(to: head, context: context)
        }
    }

    private func respond(to head: HTTPRequestHead, context: ChannelHandlerContext) {
        let (path, _) = UIAccess.split(head.uri)
        if head.headers.contains(name: "upgrade") || path == "/ws" {
            // the upgrader said no (or it was no upgrade at all)
            return send(.forbidden, "text/plain", Array("WebSocket refused: open the URL esplua printed\n".utf8), head, context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return send(.methodNotAllowed, "text/plain", Array("GET only\n".utf8), head, context)
        }
        if path == "/capture.pcap", let capture {
            let refusal = access.value.map { $0.downloadRefusal(uri: head.uri, host: head.headers.first(name: "host")) } ?? "the server is starting"
            if let why = refusal {
                return send(.forbidden, "text/plain", Array("pcap refused (\(why)): open the URL esplua printed\n".utf8), head, context)
            }
            return send(
                .ok, "application/vnd.tcpdump.pcap", capture.file(), head, context,
                extra: [("Content-Disposition", "attachment; filename=\"\(captureName)\"")])
        }
        guard let asset = assets.files[path] else {
            return send(.notFound, "text/plain", Array("not found\n".utf8), head, context)
        }
        send(.ok, asset.contentType, asset.bytes, head, context)
    }

    private func send(
        _ status: HTTPResponseStatus, _ type: String, _ body: [UInt8], _ request: HTTPRequestHead,
        _ context: ChannelHandlerContext, extra: [(String, String)] = []
    ) {
        var headers = HTTPHeaders()
        for (name, value) in extra { headers.add(name: name, value: value) }
        headers.add(name: "Content-Type", value: type)
        headers.add(name: "Content-Length", value: String(body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        let keepAlive = request.isKeepAlive && status == .ok
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let channel = context.channel
            done.whenComplete { _ in channel.close(promise: nil) }
        }
    }
}
