import CRDKafka
import Foundation
import Logging
import MeridianCore
import Metrics
import Synchronization

/// Waits for the delivery reports of one `append` call and resumes its caller once all are in.
///
/// Each message's librdkafka opaque points into one buffer of slots (batch, index) allocated per call, not
/// to an object per message; the batch keeps itself alive until its last report came.
final class DeliveryBatch: Sendable {
    struct Slot {
        let batch: Unmanaged<DeliveryBatch>
        let index: Int
    }

    private struct State {
        var results: [Result<RecordPosition, EventLogError>?]
        var remaining: Int
    }

    private let state: Mutex<State>
    private let continuation: CheckedContinuation<[Result<RecordPosition, EventLogError>], Never>
    private let records: [EventRecord]
    private nonisolated(unsafe) let slots: UnsafeMutablePointer<Slot>

    /// A batch for `records`, retained until every record has its result (``complete(_:_:)``).
    static func start(
        _ records: [EventRecord], continuation: CheckedContinuation<[Result<RecordPosition, EventLogError>], Never>
    ) -> DeliveryBatch {
        let batch = DeliveryBatch(records, continuation: continuation)
        let retained = Unmanaged.passRetained(batch)
        for index in records.indices {
            (batch.slots + index).initialize(to: Slot(batch: retained, index: index))
        }
        return batch
    }

    private init(_ records: [EventRecord], continuation: CheckedContinuation<[Result<RecordPosition, EventLogError>], Never>) {
        self.state = Mutex(State(results: Array(repeating: nil, count: records.count), remaining: records.count))
        self.continuation = continuation
        self.records = records
        self.slots = .allocate(capacity: records.count)
    }

    deinit {
        slots.deinitialize(count: records.count)
        slots.deallocate()
    }

    /// The opaque of message `index`.
    func opaque(_ index: Int) -> UnsafeMutableRawPointer { UnsafeMutableRawPointer(slots + index) }

    /// Completes the message whose opaque this is.
    static func complete(opaque: UnsafeMutableRawPointer, partition: Int32, offset: Int64, error: rd_kafka_resp_err_t) {
        let slot = opaque.assumingMemoryBound(to: Slot.self).pointee
        let batch = slot.batch.takeUnretainedValue()
        if error == RD_KAFKA_RESP_ERR_NO_ERROR {
            batch.complete(
                slot.index, .success(RecordPosition(topic: batch.records[slot.index].topic, partition: partition, offset: offset))
            )
        } else {
            batch.complete(slot.index, .failure(EventLogError(kafka: error)))
        }
    }

    func complete(_ index: Int, _ result: Result<RecordPosition, EventLogError>) {
        let done = state.withLock { state -> [Result<RecordPosition, EventLogError>]? in
            precondition(state.results[index] == nil, "delivery reported twice")
            state.results[index] = result
            state.remaining -= 1
            return state.remaining == 0 ? state.results.map { $0! } : nil
        }
        if let done {
            continuation.resume(returning: done)
            Unmanaged.passUnretained(self).release()
        }
    }
}

/// An idempotent (acks=all) librdkafka producer whose appends return when the broker acknowledged.
///
/// Delivery reports are served by a dedicated thread blocked in `rd_kafka_poll`, never by polling
/// on a timer from a task. The buffer is bounded by `queue.buffering.max.*`; when it is full an
/// append fails at once with `queueFull`, which callers answer with backpressure.
final class KafkaProducer: Sendable {
    private enum Lifecycle { case running, closing, closed }

    let handle: KafkaHandle
    private let context: KafkaClientContext
    private let lifecycle = Mutex(Lifecycle.running)
    private let stopPolling = Atomic<Bool>(false)
    private let pollerDone = DispatchSemaphore(value: 0)

    init(configuration: KafkaConfiguration, logger: Logger, metrics: any MetricsFactory) throws {
        let conf = try makeConf(configuration.producerProperties)
        let context = KafkaClientContext(logger: logger, group: nil, metrics: metrics)
        installCallbacks(conf: conf, context: context)
        rd_kafka_conf_set_dr_msg_cb(conf) { _, message, _ in
            guard let message, let opaque = message.pointee._private else { return }
            DeliveryBatch.complete(
                opaque: opaque, partition: message.pointee.partition, offset: message.pointee.offset,
                error: message.pointee.err)
        }
        var errorText = [CChar](repeating: 0, count: 512)
        guard let raw = rd_kafka_new(RD_KAFKA_PRODUCER, conf, &errorText, errorText.count) else {
            rd_kafka_conf_destroy(conf)
            throw EventLogError(.other, "cannot create the Kafka producer: \(errorString(errorText))")
        }
        self.handle = KafkaHandle(raw: raw)
        self.context = context
    }

    /// Starts the thread that serves delivery reports (once): appends complete from then on.
    func startPolling() {
        guard !pollerStarted.exchange(true, ordering: .acquiringAndReleasing) else { return }
        let handle = self.handle
        let stop = UnsafeSendableBox(self)
        let thread = Thread {
            while !stop.value.stopPolling.load(ordering: .acquiring) {
                rd_kafka_poll(handle.raw, 100)
            }
            stop.value.pollerDone.signal()
        }
        thread.name = "meridian-kafka-delivery"
        thread.start()
    }

    private let pollerStarted = Atomic<Bool>(false)

    /// Appends records; each result arrives with the broker's acknowledgement or a final error.
    func produce(_ records: [EventRecord]) async -> [Result<RecordPosition, EventLogError>] {
        guard !records.isEmpty else { return [] }
        return await withCheckedContinuation { continuation in
            let batch = DeliveryBatch.start(records, continuation: continuation)
            let running = lifecycle.withLock { $0 == .running }
            for (index, record) in records.enumerated() {
                guard running else {
                    batch.complete(index, .failure(EventLogError(.closed, "the Kafka producer is shutting down")))
                    continue
                }
                let code = send(record, opaque: batch.opaque(index))
                if code != RD_KAFKA_RESP_ERR_NO_ERROR {
                    batch.complete(index, .failure(EventLogError(kafka: code)))
                }
            }
        }
    }

    private func send(_ record: EventRecord, opaque: UnsafeMutableRawPointer) -> rd_kafka_resp_err_t {
        let headers = rd_kafka_headers_new(record.headers.count)
        for header in record.headers {
            _ = header.withValueBytes { value in
                rd_kafka_header_add(headers, header.name, -1, value.baseAddress, value.count)
            }
        }
        let key = record.key ?? []
        let code: rd_kafka_resp_err_t = record.topic.withCString { topic in
            record.value.withUnsafeBytes { value in
                key.withUnsafeBytes { keyBytes in
                    withUnsafeTemporaryAllocation(of: rd_kafka_vu_t.self, capacity: 6) { fields in
                        fields.initialize(repeating: rd_kafka_vu_t())
                        fields[0].vtype = RD_KAFKA_VTYPE_TOPIC
                        fields[0].u.cstr = topic
                        fields[1].vtype = RD_KAFKA_VTYPE_VALUE
                        fields[1].u.mem.ptr = UnsafeMutableRawPointer(mutating: value.baseAddress)
                        fields[1].u.mem.size = value.count
                        fields[2].vtype = RD_KAFKA_VTYPE_KEY
                        fields[2].u.mem.ptr = record.key == nil ? nil : UnsafeMutableRawPointer(mutating: keyBytes.baseAddress)
                        fields[2].u.mem.size = record.key == nil ? 0 : keyBytes.count
                        fields[3].vtype = RD_KAFKA_VTYPE_OPAQUE
                        fields[3].u.ptr = opaque
                        fields[4].vtype = RD_KAFKA_VTYPE_MSGFLAGS
                        fields[4].u.i = RD_KAFKA_MSG_F_COPY
                        fields[5].vtype = RD_KAFKA_VTYPE_HEADERS
                        fields[5].u.headers = headers
                        guard let error = rd_kafka_produceva(handle.raw, fields.baseAddress, fields.count) else {
                            return RD_KAFKA_RESP_ERR_NO_ERROR
                        }
                        let code = rd_kafka_error_code(error)
                        rd_kafka_error_destroy(error)
                        return code
                    }
                }
            }
        }
        if code != RD_KAFKA_RESP_ERR_NO_ERROR {
            // On failure the headers were not handed over.
            rd_kafka_headers_destroy(headers)
        }
        return code
    }

    /// Stops taking records, waits up to `timeout` for the queued ones, fails what is left, and
    /// destroys the client. Every pending append has its answer when this returns.
    func close(timeout: Duration) {
        let proceed = lifecycle.withLock { state -> Bool in
            guard state == .running else { return false }
            state = .closing
            return true
        }
        guard proceed else { return }
        stopPolling.store(true, ordering: .releasing)
        if pollerStarted.load(ordering: .acquiring) { pollerDone.wait() }
        let milliseconds = Int32(clamping: timeout.components.seconds * 1000)
        let flushed = rd_kafka_flush(handle.raw, milliseconds)
        if flushed != RD_KAFKA_RESP_ERR_NO_ERROR {
            context.logger.error(
                "Kafka producer flush timed out; failing the records still queued",
                metadata: ["queued": .stringConvertible(rd_kafka_outq_len(handle.raw))])
            rd_kafka_purge(handle.raw, Int32(RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT))
            rd_kafka_poll(handle.raw, 0)
        }
        rd_kafka_destroy(handle.raw)
        lifecycle.withLock { $0 = .closed }
    }

    /// Checks the cluster answers a metadata request within `timeout`.
    func isReachable(timeout: Duration) -> Bool {
        guard lifecycle.withLock({ $0 == .running }) else { return false }
        var metadata: UnsafePointer<rd_kafka_metadata>?
        let code = rd_kafka_metadata(
            handle.raw, 0, nil, &metadata, Int32(clamping: timeout.components.seconds * 1000 + 1))
        if let metadata { rd_kafka_metadata_destroy(metadata) }
        return code == RD_KAFKA_RESP_ERR_NO_ERROR
    }
}

/// Hands a value to a thread whose lifetime the owner guarantees.
struct UnsafeSendableBox<Value>: @unchecked Sendable {
    let value: Value
    init(_ value: Value) { self.value = value }
}
