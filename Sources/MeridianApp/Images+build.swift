import Logging
import MeridianContracts
import MeridianCore
import MeridianImages
import MeridianMessaging
import ServiceLifecycle

/// The images role: the image function on the `product-images.uploaded` topic, with at most `images.concurrency`
/// uploads processed at once.
func buildImages(
    settings: MeridianSettings, eventLog: any EventLog, objects: any ObjectStore, logger: Logger
) throws -> any Service {
    let function = try makeImageFunction(settings: settings, eventLog: eventLog, objects: objects, logger: logger)
    var handling = EventHandling.Configuration()
    handling.concurrency = settings.images.concurrency
    handling.capacity = max(settings.images.concurrency * 4, 16)
    return ConsumerService(
        eventLog: eventLog,
        options: ConsumerOptions(group: "images", topics: [settings.topics.productImagesUploaded]),
        handling: EventHandling(
            eventLog: eventLog, topics: settings.topics, consumer: "images", configuration: handling, logger: logger),
        logger: logger
    ) { event in
        guard case .productImageUploaded(let upload)? = try CommerceEvent(event) else { return }
        try await function.handle(upload)
    }
}
