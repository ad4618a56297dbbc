import BoardCore
import NIOCore
import NIOWebSocket

/// One browser's WebSocket: it joins the hub when added (hello, the past, then
/// every message) and hands its text messages to `commands` (a board's: `UICommand`
/// posted to its inbox; a lab's: to the board named). Pings are answered, a close is
/// echoed. Runs on the connection's event loop; `commands` is the only way to a board.
final class UIWebSocketHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let hub: UIHub
    private let commands: @Sendable (String) -> String?
    private let log: @Sendable (String) -> Void
    private var text: [UInt8] = []

    init(hub: UIHub, commands: @escaping @Sendable (String) -> String?, log: @escaping @Sendable (String) -> Void) {
        self.hub = hub
        self.commands = commands
        self.log = log
    }

    func handlerAdded(context: ChannelHandlerContext) { hub.join(context.channel) }

    func channelInactive(context: ChannelHandlerContext) {
        hub.leave(context.channel)
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.opcode {
        case .text, .continuation:
            var data = frame.unmaskedData
            text += data.readBytes(length: data.readableBytes) ?? []
            guard frame.fin else { return }
            let message = String(decoding: text, as: UTF8.self)
            text.removeAll()
            if let why = commands(message) { log("esplua: ui: a message from the page was refused: \(why)") }
        case .ping:
            var data = frame.unmaskedData
            let pong = WebSocketFrame(fin: true, opcode: .pong, data: data.readSlice(length: data.readableBytes) ?? ByteBuffer())
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        case .connectionClose:
            let close = WebSocketFrame(fin: true, opcode: .connectionClose, data: ByteBuffer())
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(close)).whenComplete { _ in channel.close(promise: nil) }
        default:
            break
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
