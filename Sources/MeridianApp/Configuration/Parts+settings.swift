import Foundation
import MeridianGateway
import MeridianHTTP
import MeridianOrders
import MeridianPayments
import MeridianServiceClients
import MeridianUsers

// Each part's settings, read from its own scope (`reader.scoped(to: "part")`); ``MeridianSettings`` assembles
// them. docs/configuration.md lists every key with its variable and default.

extension RequestLimits {
    /// `http.maxJsonBodyBytes` (64 KiB) and `http.maxUriBytes` (8 KiB).
    init(reader config: SettingsReader) throws {
        self.init()
        jsonBodyBytes = try config.int("maxJsonBodyBytes", default: jsonBodyBytes, in: 1024...(64 * 1_048_576))
        uriBytes = try config.int("maxUriBytes", default: uriBytes, in: 256...65_536)
    }
}

extension RateLimitMiddleware.Configuration {
    /// `gateway.userRate` (20), `gateway.userBurst` (40), `gateway.addressRate` (50), `gateway.addressBurst` (100).
    init(reader config: SettingsReader) throws {
        self.init()
        userRate = try config.double("userRate", default: userRate, in: 0...1_000_000)
        userBurst = try config.double("userBurst", default: userBurst, in: 0...1_000_000)
        addressRate = try config.double("addressRate", default: addressRate, in: 0...1_000_000)
        addressBurst = try config.double("addressBurst", default: addressBurst, in: 0...1_000_000)
    }
}

extension UsersController.Configuration {
    /// `users.bcryptCost` (12).
    init(reader config: SettingsReader) throws {
        self.init()
        bcryptCost = UInt8(try config.int("bcryptCost", default: Int(bcryptCost), in: 4...31))
    }
}

extension OrdersController.Configuration {
    /// `orders.reservationTtlSeconds` (600) and `orders.maxWaitSeconds` (30).
    init(reader config: SettingsReader) throws {
        self.init()
        reservationTTL = .seconds(try config.int("reservationTtlSeconds", default: 600, in: 1...(7 * 86_400)))
        maxWait = .seconds(try config.int("maxWaitSeconds", default: 30, in: 0...300))
    }
}

extension SimulatedPaymentProvider.Configuration {
    /// `payments.failureRate` (0) and `payments.latencyMs` (0).
    init(reader config: SettingsReader) throws {
        self.init()
        failureRate = try config.double("failureRate", default: failureRate, in: 0...1)
        latency = .milliseconds(try config.int("latencyMs", default: 0, in: 0...60_000))
    }
}

extension ServiceClient.Configuration {
    /// `services.connectTimeoutMs` (1000) and `services.requestTimeoutMs` (5000).
    init(reader config: SettingsReader) throws {
        self.init()
        connectTimeout = .milliseconds(try config.int("connectTimeoutMs", default: 1000, in: 1...60_000))
        requestTimeout = .milliseconds(try config.int("requestTimeoutMs", default: 5000, in: 1...600_000))
    }
}
