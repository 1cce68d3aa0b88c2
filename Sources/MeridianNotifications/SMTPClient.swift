import Foundation
import NIOCore
import NIOPosix

/// A minimal SMTP client (RFC 5321): one connection per message, `EHLO`, `MAIL FROM`, `RCPT TO`, `DATA`, `QUIT`.
///
/// Written by hand: none of the packages available here speaks SMTP. No TLS and no authentication: point it
/// at a local relay (a sidecar or the node's MTA) that holds the provider's credentials and speaks TLS onwards.
public struct SMTPClient: Sendable {
    public var host: String
    public var port: Int
    /// The name this client gives in `EHLO`.
    public var heloName: String
    public var timeout: Duration

    public init(host: String, port: Int, heloName: String = "meridian.localhost", timeout: Duration = .seconds(15)) {
        self.host = host
        self.port = port
        self.heloName = heloName
        self.timeout = timeout
    }

    /// The server answered a command with something else than what it had to.
    public struct Refused: Error, CustomStringConvertible {
        public var command: String
        public var reply: String
        public var description: String { "SMTP \(command): \(reply)" }
    }

    /// Sends one message from `from` to `to`.
    public func send(from: String, to: String, subject: String, body: String, messageID: String) async throws {
        let message = Self.message(from: from, to: to, subject: subject, body: body, messageID: messageID)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<ByteBuffer, ByteBuffer>(wrappingChannelSynchronously: channel)
                }
            }
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                try await channel.executeThenClose { inbound, outbound in
                    var replies = ReplyReader(inbound.makeAsyncIterator())
                    func expect(_ command: String?, _ codes: Set<Int>) async throws {
                        if let command { try await outbound.write(ByteBuffer(string: command + "\r\n")) }
                        let reply = try await replies.next()
                        guard codes.contains(reply.code) else {
                            throw Refused(command: command?.components(separatedBy: " ").first ?? "greeting", reply: reply.text)
                        }
                    }
                    try await expect(nil, [220])
                    try await expect("EHLO \(heloName)", [250])
                    try await expect("MAIL FROM:<\(from)>", [250])
                    try await expect("RCPT TO:<\(to)>", [250, 251])
                    try await expect("DATA", [354])
                    try await expect(message + ".", [250])
                    try await outbound.write(ByteBuffer(string: "QUIT\r\n"))
                }
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                throw Refused(command: "session", reply: "timed out after \(timeout)")
            }
            try await group.next()
            group.cancelAll()
        }
    }

    /// The message text: headers, a blank line, the body with CRLF line ends and dot-stuffing, ending in CRLF.
    static func message(from: String, to: String, subject: String, body: String, messageID: String) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        let headers = [
            "From: <\(from)>",
            "To: <\(to)>",
            "Subject: \(encodedWord(subject))",
            "Date: \(formatter.string(from: Date()))",
            "Message-ID: <\(messageID)@meridian>",
            "MIME-Version: 1.0",
            "Content-Type: text/plain; charset=utf-8",
            "Content-Transfer-Encoding: 8bit",
        ]
        let lines = body.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasPrefix(".") ? "." + $0 : String($0) }
        return (headers + [""] + lines).joined(separator: "\r\n") + "\r\n"
    }

    /// A header value as is when it is printable ASCII, else as an RFC 2047 encoded word.
    static func encodedWord(_ text: String) -> String {
        let flat = text.replacingOccurrences(of: "\r", with: " ").replacingOccurrences(of: "\n", with: " ")
        if flat.utf8.allSatisfy({ (32...126).contains($0) }) { return flat }
        return "=?UTF-8?B?\(Data(flat.utf8).base64EncodedString())?="
    }

    /// Reads SMTP replies (`250-first line`, ..., `250 last line`) off the connection.
    struct ReplyReader {
        var iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator
        var pending = ""

        init(_ iterator: NIOAsyncChannelInboundStream<ByteBuffer>.AsyncIterator) {
            self.iterator = iterator
        }

        mutating func next() async throws -> (code: Int, text: String) {
            var text: [String] = []
            while true {
                while !pending.contains("\r\n") {
                    guard let chunk = try await iterator.next() else {
                        throw Refused(command: "read", reply: "connection closed")
                    }
                    pending += String(buffer: chunk)
                }
                let end = pending.range(of: "\r\n")!
                let line = String(pending[..<end.lowerBound])
                pending = String(pending[end.upperBound...])
                text.append(line)
                let characters = Array(line)
                guard characters.count >= 3, let code = Int(String(characters[0..<3])) else {
                    throw Refused(command: "read", reply: "not an SMTP reply: \(line)")
                }
                if characters.count == 3 || characters[3] == " " {
                    return (code, text.joined(separator: "\n"))
                }
            }
        }
    }
}
