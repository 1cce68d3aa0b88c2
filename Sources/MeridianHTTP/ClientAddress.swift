import Foundation
import HTTPTypes
import Hummingbird

#if canImport(Glibc)
    import Glibc
#endif

/// An IPv4 or IPv6 network in CIDR notation (`10.0.0.0/8`, `2400:cb00::/32`, or one address).
///
/// Written by hand: no available package parses CIDR ranges; addresses are parsed with `inet_pton`.
public struct CIDR: Sendable, Hashable, CustomStringConvertible {
    let bytes: [UInt8]
    let prefixLength: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let address = Self.parse(String(parts[0])) else { return nil }
        let length: Int
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...(address.count * 8)).contains(value) else { return nil }
            length = value
        } else {
            length = address.count * 8
        }
        bytes = address
        prefixLength = length
        description = text
    }

    /// True when `address` (text) lies in this network.
    public func contains(_ address: String) -> Bool {
        guard let other = Self.parse(address), other.count == bytes.count else { return false }
        var remaining = prefixLength
        for (mine, theirs) in zip(bytes, other) {
            if remaining <= 0 { return true }
            let mask: UInt8 = remaining >= 8 ? 0xFF : ~(0xFF >> UInt8(remaining))
            if mine & mask != theirs & mask { return false }
            remaining -= 8
        }
        return true
    }

    /// The address's bytes (4 or 16), or nil when it is not an IP address. An IPv4-mapped IPv6 address
    /// (`::ffff:1.2.3.4`) counts as its IPv4 address.
    static func parse(_ text: String) -> [UInt8]? {
        var text = text.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("[") && text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        if text.lowercased().hasPrefix("::ffff:"), text.contains(".") { text = String(text.dropFirst(7)) }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}

/// Who the client is: the peer's address, or, when the peer is a trusted proxy (`http.trustedProxies`), the
/// address the proxy reports: `CF-Connecting-IP` (Cloudflare), else `Forwarded: for=`, else
/// `X-Forwarded-For`. Chains are read from the right, skipping trusted proxies, so a client cannot choose its
/// address by sending the header itself.
public struct ClientAddressResolver: Sendable {
    public let trustedProxies: [CIDR]

    public init(trustedProxies: [CIDR]) {
        self.trustedProxies = trustedProxies
    }

    func isTrusted(_ address: String) -> Bool {
        trustedProxies.contains { $0.contains(address) }
    }

    /// The client's address for a request from `peer` with `headers`.
    public func clientAddress(peer: String, headers: HTTPFields) -> String {
        guard isTrusted(peer) else { return peer }
        if let connecting = headers[Self.cfConnectingIP], CIDR.parse(connecting) != nil {
            return connecting.trimmingCharacters(in: .whitespaces)
        }
        var chain: [String] = []
        let forwarded = headers[values: .forwarded]
        if !forwarded.isEmpty {
            for element in forwarded.joined(separator: ",").split(separator: ",") {
                for pair in element.split(separator: ";") {
                    let parts = pair.split(separator: "=", maxSplits: 1)
                    guard parts.count == 2, parts[0].trimmingCharacters(in: .whitespaces).lowercased() == "for" else { continue }
                    var value = parts[1].trimmingCharacters(in: .whitespaces)
                    if value.hasPrefix("\"") && value.hasSuffix("\"") && value.count >= 2 {
                        value = String(value.dropFirst().dropLast())
                    }
                    if value.hasPrefix("["), let end = value.firstIndex(of: "]") {
                        value = String(value[value.index(after: value.startIndex)..<end])
                    } else if value.filter({ $0 == ":" }).count == 1, let colon = value.firstIndex(of: ":") {
                        value = String(value[..<colon])  // IPv4 with a port
                    }
                    chain.append(value)
                }
            }
        } else {
            chain = headers[values: Self.xForwardedFor].joined(separator: ",").split(separator: ",").map {
                $0.trimmingCharacters(in: .whitespaces)
            }
        }
        // The nearest hop that is not one of ours is the client.
        for hop in chain.reversed() {
            guard CIDR.parse(hop) != nil else { return peer }
            if !isTrusted(hop) { return hop }
        }
        return chain.first.flatMap { CIDR.parse($0) != nil ? $0 : nil } ?? peer
    }

    static let cfConnectingIP = HTTPField.Name("CF-Connecting-IP")!
    static let xForwardedFor = HTTPField.Name("X-Forwarded-For")!
}

extension HTTPField.Name {
    public static let forwarded = Self("Forwarded")!
    public static let xForwardedFor = Self("X-Forwarded-For")!
}

/// Puts the client's address (``ClientAddressResolver``) in the context for every later middleware and route.
public struct ClientAddressMiddleware: RouterMiddleware {
    public typealias Context = MeridianRequestContext
    let resolver: ClientAddressResolver

    public init(resolver: ClientAddressResolver) {
        self.resolver = resolver
    }

    public func handle(
        _ request: Request,
        context: MeridianRequestContext,
        next: (Request, MeridianRequestContext) async throws -> Response
    ) async throws -> Response {
        var context = context
        context.clientAddress = resolver.clientAddress(peer: context.peerAddress, headers: request.headers)
        return try await next(request, context)
    }
}
