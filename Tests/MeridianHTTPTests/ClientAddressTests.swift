import HTTPTypes
import Testing

@testable import MeridianHTTP

@Suite struct CIDRTests {
    @Test func networksContainTheirAddresses() throws {
        let ten = try #require(CIDR("10.0.0.0/8"))
        #expect(ten.contains("10.1.2.3"))
        #expect(!ten.contains("11.0.0.1"))
        #expect(try #require(CIDR("127.0.0.1")).contains("127.0.0.1"))
        #expect(!(try #require(CIDR("127.0.0.1"))).contains("127.0.0.2"))
        let cloudflare = try #require(CIDR("2400:cb00::/32"))
        #expect(cloudflare.contains("2400:cb00:2048:1::c629:d7a2"))
        #expect(!cloudflare.contains("2401:cb00::1"))
        #expect(try #require(CIDR("0.0.0.0/0")).contains("203.0.113.9"))
        #expect(ten.contains("::ffff:10.9.9.9"), "an IPv4-mapped address counts as its IPv4 address")
        #expect(!ten.contains("2400:cb00::1"), "families never match")
    }

    @Test(arguments: ["", "10.0.0.0/33", "10.0.0/8", "example.com", "::/129", "1.2.3.4/-1"])
    func malformedNetworksAreRefused(text: String) {
        #expect(CIDR(text) == nil)
    }
}

@Suite struct ClientAddressTests {
    let resolver = ClientAddressResolver(trustedProxies: [CIDR("127.0.0.1")!, CIDR("10.0.0.0/8")!])

    func headers(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs { fields.append(HTTPField(name: HTTPField.Name(name)!, value: value)) }
        return fields
    }

    @Test func anUntrustedPeerCannotChooseItsAddress() {
        let forged = headers([("X-Forwarded-For", "1.2.3.4"), ("CF-Connecting-IP", "5.6.7.8"), ("Forwarded", "for=9.9.9.9")])
        #expect(resolver.clientAddress(peer: "203.0.113.7", headers: forged) == "203.0.113.7")
    }

    @Test func aTrustedProxyNamesTheClient() {
        #expect(
            resolver.clientAddress(peer: "127.0.0.1", headers: headers([("X-Forwarded-For", "198.51.100.4")])) == "198.51.100.4")
        #expect(
            resolver.clientAddress(peer: "127.0.0.1", headers: headers([("CF-Connecting-IP", "198.51.100.5")])) == "198.51.100.5")
        #expect(
            resolver.clientAddress(peer: "10.1.1.1", headers: headers([("Forwarded", #"for="[2001:db8::7]:443";proto=https"#)]))
                == "2001:db8::7")
        #expect(
            resolver.clientAddress(peer: "10.1.1.1", headers: headers([("Forwarded", "for=198.51.100.9:5555")])) == "198.51.100.9"
        )
        #expect(resolver.clientAddress(peer: "127.0.0.1", headers: [:]) == "127.0.0.1", "no header: the proxy itself")
    }

    @Test func aChainIsReadFromTheRightSkippingOurProxies() {
        // The client forged the first entry; our ingress (10.2.3.4) appended the real one.
        let chain = headers([("X-Forwarded-For", "6.6.6.6, 198.51.100.20, 10.2.3.4")])
        #expect(resolver.clientAddress(peer: "127.0.0.1", headers: chain) == "198.51.100.20")
        // A value that is not an address stops the walk: the peer counts.
        #expect(resolver.clientAddress(peer: "127.0.0.1", headers: headers([("X-Forwarded-For", "nonsense")])) == "127.0.0.1")
    }
}
