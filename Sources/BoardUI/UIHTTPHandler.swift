import BoardNet
import NIOCore
import NIOHTTP1

/// Serves the page's files (GET only) and the run's pcap (`/capture.pcap?token=…`,
/// on a lab's page `&board=NAME`; the token and a Host of this server required),
/// and answers everything else,
/// including a WebSocket upgrade the upgrader refused (no token, foreign Origin),
/// with an error status. Runs on the connection's event loop.
/// The pcaps a page offers: the file and its download name for `board` (the
/// `board=` of a lab page's download; nil on a board's page), nil when there is
/// none. Called on the server's thread.
public typealias UICaptures = @Sendable (_ board: String?) -> (file: [UInt8], name: String)?

final class UIHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let assets: UIAssets
    private let access: AccessHolder
    private let captures: UICaptures?
    private var request: HTTPRequestHead?

    init(assets: UIAssets, access: AccessHolder, captures: UICaptures?) {
        self.assets = assets
        self.access = access
        self.captures = captures
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
        let (path, query) = UIAccess.split(head.uri)
        if head.headers.contains(name: "upgrade") || path == "/ws" {
            // the upgrader said no (or it was no upgrade at all)
            return send(.forbidden, "text/plain", Array("WebSocket refused: open the URL esplua printed\n".utf8), head, context)
        }
        guard head.method == .GET || head.method == .HEAD else {
            return send(.methodNotAllowed, "text/plain", Array("GET only\n".utf8), head, context)
        }
        if path == "/capture.pcap", let captures {
            let refusal = access.value.map { $0.downloadRefusal(uri: head.uri, host: head.headers.first(name: "host")) } ?? "the server is starting"
            if let why = refusal {
                return send(.forbidden, "text/plain", Array("pcap refused (\(why)): open the URL esplua printed\n".utf8), head, context)
            }
            let board = UIAccess.parameter("board", in: query).map(UIAccess.percentDecoded)
            guard let capture = captures(board) else {
                return send(.notFound, "text/plain", Array("no capture for board '\(board ?? "")' (the page names its boards)\n".utf8), head, context)
            }
            return send(
                .ok, "application/vnd.tcpdump.pcap", capture.file, head, context,
                extra: [("Content-Disposition", "attachment; filename=\"\(capture.name)\"")])
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
