import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import NIOHTTPTypes

/// Answers requests the HTTP parser refuses with a problem document instead of Hummingbird's bare 400:
/// 431 when the request line and headers exceed the parser's limits (80 KiB), 400 for anything else
/// malformed. The connection is closed afterwards, as the parser's state is lost.
///
/// Written by hand: Hummingbird answers parser errors itself with an empty 400. This handler sits after
/// the HTTP codec (`HTTP1Channel`'s additional handlers) and takes the error before Hummingbird sees it.
public final class ParserErrorHandler: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundOut = HTTPResponsePart

    public init() {}

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    public func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let error = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        let status: HTTPResponse.Status
        let detail: String
        switch error {
        case .headerOverflow:
            status = .requestHeaderFieldsTooLarge
            detail = "the request line and headers exceed 80 KiB"
        default:
            status = .badRequest
            detail = "the request is not valid HTTP/1.1 (\(error))"
        }
        let slug = status == .badRequest ? "malformed-request" : "headers-too-large"
        let body = Array(
            #"{"detail":"\#(detail)","status":\#(status.code),"title":"\#(status.reasonPhrase)","type":"https://meridian.dev/problems/\#(slug)"}"#
                .utf8)
        let head = HTTPResponse(
            status: status,
            headerFields: [.contentType: "application/problem+json", .contentLength: String(body.count), .connection: "close"])
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.write(wrapOutboundOut(.body(ByteBuffer(bytes: body))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }
}
