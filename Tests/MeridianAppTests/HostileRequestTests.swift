import Configuration
import Foundation
import Logging
import MeridianApp
import MeridianAuth
import MeridianTestSupport
import Testing

/// What an adversary sends to the whole platform (every role in one process, over real HTTP): every answer is a
/// 4xx problem naming the field, never a 500 and never a dead process.
@Suite(.serialized) struct HostileRequestTests {
    /// Creates a product as admin; returns its id.
    func product(_ platform: AllInOne, _ admin: String, stock: Int = 10) async throws -> String {
        let created = try await platform.call(
            "POST", "/api/products", token: admin,
            json: ["name": "Lamp", "category": "home", "price_cents": 4500, "currency": "EUR", "stock": stock])
        #expect(created.status == 201, "\(created)")
        return try #require(created.object["id"] as? String)
    }

    /// The platform still answers (a trap would have ended the process, and every later call with it).
    func expectAlive(_ platform: AllInOne) async throws {
        #expect(try await platform.call("GET", "/health").status == 200)
    }

    func expectProblem(_ answer: APIClient.Answer, _ status: Int, field: String? = nil, _ comment: String = "") {
        #expect(answer.status == status, "\(comment): \(answer)")
        #expect(answer.headers["content-type"] == "application/problem+json", "\(comment): \(answer.headers)")
        if let field { #expect(answer.object["field"] as? String == field, "\(comment): \(answer)") }
    }

    @Test func numbersAtTheEdgesOfIntAre422NamingTheFieldNeverATrap() async throws {
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let lamp = try await product(platform, admin)
            for delta in ["9223372036854775807", "-9223372036854775808", "1000000001", "1e30", "9223372036854775808"] {
                let answer = try await platform.call(
                    "POST", "/api/products/\(lamp)/stock", token: admin, body: Data(#"{"delta": \#(delta)}"#.utf8),
                    headers: ["Content-Type": "application/json"])
                expectProblem(answer, 422, field: "delta", "delta \(delta)")
            }
            // Stock near the top, then one more: refused, not wrapped around.
            #expect(
                try await platform.call("POST", "/api/products/\(lamp)/stock", token: admin, json: ["delta": 999_999_990])
                    .status == 200)
            expectProblem(
                try await platform.call("POST", "/api/products/\(lamp)/stock", token: admin, json: ["delta": 1000]), 422,
                field: "delta", "over the maximum stock")
            try await expectAlive(platform)

            let ada = try await platform.customer("ada@example.com")
            for (body, field) in [
                (#"{"product_id": "\#(lamp)", "quantity": 9223372036854775807}"#, "quantity"),
                (#"{"product_id": "\#(lamp)", "quantity": -9223372036854775808}"#, "quantity"),
                (#"{"product_id": "\#(lamp)", "quantity": 1e300}"#, "quantity"),
            ] {
                let answer = try await platform.call(
                    "POST", "/api/cart/items", token: ada, body: Data(body.utf8), headers: ["Content-Type": "application/json"])
                expectProblem(answer, 422, field: field, body)
            }
            // Adding to a line already at the maximum never overflows the stored quantity.
            #expect(
                try await platform.call("POST", "/api/cart/items", token: ada, json: ["product_id": lamp, "quantity": 1000])
                    .status == 200)
            expectProblem(
                try await platform.call("POST", "/api/cart/items", token: ada, json: ["product_id": lamp, "quantity": 1000]),
                422, field: "quantity", "a line over 1000")
            let order = try await platform.call(
                "POST", "/api/orders", token: ada,
                json: ["payment_method": "pm_card_visa", "items": [["product_id": lamp, "quantity": Int.max]]])
            expectProblem(order, 422, field: "items.0.quantity", "order quantity")
            for path in [
                "/api/products?page=99999999999999999999", "/api/products?per_page=-1",
                "/api/products?min_price_cents=-5", "/api/orders?page=0",
            ] {
                #expect(try await platform.call("GET", path, token: ada).status == 400, "\(path)")
            }
            let price = try await platform.call(
                "POST", "/api/products", token: admin,
                json: ["name": "Gold", "category": "x", "price_cents": Int.max, "currency": "EUR", "stock": 1])
            expectProblem(price, 422, field: "price_cents", "price")
            try await expectAlive(platform)
        }
    }

    @Test func bodiesOverTheLimitAre413OnEveryJSONRoute() async throws {
        try await AllInOne.with(["http.maxJsonBodyBytes": .init(.int(4096), isSecret: false)]) { platform in
            let admin = try await platform.admin()
            let lamp = try await product(platform, admin)
            let ada = try await platform.customer("ada@example.com")
            let big = Data((#"{"name":""# + String(repeating: "a", count: 1_048_576) + #""}"#).utf8)
            let routes: [(String, String, String?)] = [
                ("POST", "/api/users", nil), ("POST", "/api/auth/login", nil), ("PATCH", "/api/users/me", ada),
                ("POST", "/api/products", admin), ("PATCH", "/api/products/\(lamp)", admin),
                ("POST", "/api/products/\(lamp)/stock", admin), ("POST", "/api/cart/items", ada),
                ("PUT", "/api/cart/items/\(lamp)", ada), ("POST", "/api/orders", ada),
            ]
            for (method, path, token) in routes {
                let answer = try await platform.call(
                    method, path, token: token, body: big, headers: ["Content-Type": "application/json"])
                expectProblem(answer, 413, "\(method) \(path)")
            }
            // Without a length (chunked), the limit holds the same.
            var chunked = Array("POST /api/users HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n".utf8)
            chunked += Array("Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n".utf8)
            // One chunk over the limit, and no more: the server has read all that was sent when it answers, so
            // closing the connection afterwards cannot reset the answer away.
            chunked += Array("1010\r\n".utf8) + [UInt8](repeating: 32, count: 4112) + Array("\r\n".utf8)
            let answer = try await rawHTTP(port: platform.port, chunked)
            #expect(answer.status == 413, "\(answer)")
            #expect(answer.headers["content-type"] == "application/problem+json")
            try await expectAlive(platform)
        }
    }

    @Test func onlyApplicationJSONIsJSON() async throws {
        try await AllInOne.with { platform in
            let body = Data(#"{"email":"a@example.com","password":"plum-orchard-42"}"#.utf8)
            for type in ["application/jsonx", "application/json-patch", "text/json", "application/json; charset=latin1", ""] {
                let answer = try await platform.call("POST", "/api/users", body: body, headers: ["Content-Type": type])
                expectProblem(answer, 415, field: "Content-Type", "Content-Type '\(type)'")
            }
            let accepted = try await platform.call(
                "POST", "/api/users", body: body, headers: ["Content-Type": "Application/JSON; charset=UTF-8"])
            #expect(accepted.status == 201, "\(accepted)")
        }
    }

    @Test func controlAndBidiCharactersAreRefusedInTextPathsAndQueries() async throws {
        try await AllInOne.with { platform in
            for (email, password, name, field) in [
                ("a\u{0}b@example.com", "plum-orchard-42", "Ada", "email"),
                ("ada@example.com", "plum\u{0}orchard-42", "Ada", "password"),
                ("ada@example.com", "plum-orchard-42", "Ada\u{0}", "name"),
                ("ada@example.com", "plum-orchard-42", "Ada\u{202E}gnp.exe", "name"),
                ("ada@example.com", "plum-orchard-42", "Ada\nLovelace", "name"),
                ("ada@example.com", "plum-orchard-42", String(repeating: "n", count: 101), "name"),
            ] {
                let answer = try await platform.call(
                    "POST", "/api/users", json: ["email": email, "password": password, "name": name])
                expectProblem(answer, 422, field: field, "\(field) \(name.debugDescription)")
            }
            let admin = try await platform.admin()
            for (key, value) in [
                ("name", "Lamp\u{0}"), ("name", "Lamp\u{202E}"), ("category", "home\u{7}"), ("description", "x\u{0}y"),
                ("name", String(repeating: "L", count: 201)),
            ] {
                var body: [String: Any] = ["name": "Lamp", "category": "home", "price_cents": 100]
                body[key] = value
                expectProblem(
                    try await platform.call("POST", "/api/products", token: admin, json: body), 422, field: key,
                    "\(key) \(value.prefix(20).debugDescription)")
            }
            // A description may hold lines and tabs.
            let described = try await platform.call(
                "POST", "/api/products", token: admin,
                json: ["name": "Lamp", "category": "home", "price_cents": 100, "description": "one\n\ttwo"])
            #expect(described.status == 201, "\(described)")
            for path in ["/api/products/a%00b", "/api/products?q=%00", "/api/products?category=%E2%80%AE", "/api/products?q=%FF"]
            {
                let answer = try await platform.call("GET", path)
                expectProblem(answer, 400, path)
            }
            try await expectAlive(platform)
        }
    }

    @Test func aDisabledUsersTokenIsRefusedOnEveryRouteAtOnce() async throws {
        try await AllInOne.with { platform in
            let admin = try await platform.admin()
            let lamp = try await product(platform, admin, stock: 5)
            let ada = try await platform.customer("ada@example.com")
            #expect(
                try await platform.call("POST", "/api/cart/items", token: ada, json: ["product_id": lamp, "quantity": 2]).status
                    == 200)
            let me = try await platform.call("GET", "/api/users/me", token: ada)
            let id = try #require(me.object["id"] as? String)
            // Her token is cached as valid before she is disabled.
            #expect(try await platform.call("GET", "/api/cart", token: ada).status == 200)
            #expect(try await platform.call("POST", "/api/users/\(id)/disable", token: admin).status == 200)

            for (method, path) in [
                ("GET", "/api/cart"), ("GET", "/api/orders"), ("GET", "/api/notifications"), ("GET", "/api/payments"),
                ("GET", "/api/users/me"),
            ] {
                expectProblem(try await platform.call(method, path, token: ada), 401, field: "Authorization", path)
            }
            let order = try await platform.call(
                "POST", "/api/orders", token: ada, json: ["payment_method": "pm_card_visa"])
            expectProblem(order, 401, field: "Authorization", "placing an order")
            let stock = try await platform.call("GET", "/api/products/\(lamp)").object
            #expect(stock["reserved"] as? Int == 0, "nothing was reserved for the disabled user")
            // She cannot sign in again either, and other users are unaffected.
            #expect(
                try await platform.call(
                    "POST", "/api/auth/login", json: ["email": "ada@example.com", "password": "plum-orchard-42"]
                ).status == 403)
            let bob = try await platform.customer("bob@example.com")
            #expect(try await platform.call("GET", "/api/cart", token: bob).status == 200)
        }
    }

    @Test func internalRoutesValidateLikePublicOnesAndTakeOnlyServiceTokens() async throws {
        // Users and products in a process of their own: the other roles would call their /internal routes.
        try await AllInOne.with(["roles": .init(.stringArray(["users", "products"]), isSecret: false)]) { platform in
            let admin = try await platform.admin()
            let lamp = try await product(platform, admin)
            let tokens = try await buildTokens(settings: platform.application.settings, logger: Logger(label: "test"))
            let service = try await tokens.issue(for: .service("orders"))
            let expires = "2099-01-01T00:00:00.000Z"
            for (quantity, field) in [(0, "items.0.quantity"), (-1, "items.0.quantity"), (Int.max, "items.0.quantity")] {
                let answer = try await platform.call(
                    "POST", "/internal/reservations", token: service,
                    json: ["order": "o1", "items": [["product_id": lamp, "quantity": quantity]], "expires_at": expires])
                expectProblem(answer, 422, field: field, "quantity \(quantity)")
            }
            for (body, field) in [
                (["order": "", "items": [["product_id": lamp, "quantity": 1]], "expires_at": expires], "order"),
                (["order": "o\u{0}", "items": [["product_id": lamp, "quantity": 1]], "expires_at": expires], "order"),
                (["order": "o1", "items": [] as [Any], "expires_at": expires], "items"),
                (["order": "o1", "items": [["product_id": lamp, "quantity": 1]], "expires_at": "tomorrow"], "expires_at"),
            ] as [([String: Any], String)] {
                expectProblem(
                    try await platform.call("POST", "/internal/reservations", token: service, json: body), 422, field: field,
                    field)
            }
            let valid: [String: Any] = ["order": "o1", "items": [["product_id": lamp, "quantity": 1]], "expires_at": expires]
            // A person's token, an admin's included, is refused.
            let ada = try await platform.customer("ada@example.com")
            for token in [admin, ada] {
                expectProblem(try await platform.call("POST", "/internal/reservations", token: token, json: valid), 403)
                expectProblem(try await platform.call("GET", "/internal/products/\(lamp)", token: token), 403)
            }
            expectProblem(try await platform.call("POST", "/internal/reservations", json: valid), 401)
            #expect(try await platform.call("POST", "/internal/reservations", token: service, json: valid).status == 200)
            try await expectAlive(platform)
        }
    }

    @Test func oversizedRequestLinesAndHeadersGetProblemAnswers() async throws {
        try await AllInOne.with { platform in
            let long = try await platform.call("GET", "/api/products?q=" + String(repeating: "a", count: 9000))
            expectProblem(long, 414, "a 9 KB request target")
            for request in [
                "GET /api/products?q=\(String(repeating: "a", count: 100_000)) HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET /api/products HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "b", count: 100_000))\r\n\r\n",
            ] {
                let answer = try await rawHTTP(port: platform.port, Array(request.utf8))
                #expect(answer.status == 431, "\(answer)")
                #expect(answer.headers["content-type"] == "application/problem+json")
                #expect(answer.object["status"] as? Int == 431)
            }
            let broken = try await rawHTTP(port: platform.port, Array("GET / HTTP/1.1\r\nBad Header\r\n\r\n".utf8))
            #expect(broken.status == 400 && broken.headers["content-type"] == "application/problem+json", "\(broken)")
            try await expectAlive(platform)
        }
    }
}
