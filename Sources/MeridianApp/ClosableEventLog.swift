import MeridianCore
import MeridianEventLog
import MeridianKafka

/// An event log that can be closed outside a service group (by the CLI and the tests).
public protocol ClosableEventLog {
    func close() async
}

extension EmbeddedEventLog: ClosableEventLog {}
extension KafkaEventLog: ClosableEventLog {}
