import Foundation
import MeridianContracts

/// What the object stores say when an object is created, turned into the uploads the image function handles: the
/// part the AWS Lambda runtime (S3 `ObjectCreated` notifications) and the CloudEvents runtime (Cloud Storage's
/// `google.cloud.storage.object.v1.finalized`, and S3 notifications through EventBridge) share.
///
/// Only keys of the upload layout (`uploads/products/<product_id>/<upload_id>.<ext>`, CONTRACTS.md) become uploads;
/// anything else in the bucket is not the function's business and is skipped.
public enum StorageNotifications {
    /// The uploads in an S3 event notification (`{"Records": [...]}`), in order; records of other events
    /// (`ObjectRemoved:*`) and keys outside the upload layout are left out. Keys arrive URL-encoded (`+` for a space).
    public static func uploads(fromS3Notification body: [UInt8]) throws -> [ProductImageUploaded] {
        try s3Notification(body).uploads
    }

    /// The uploads of an S3 event notification, and how many of its records were something else (other events,
    /// keys outside the upload layout).
    public static func s3Notification(_ body: [UInt8]) throws -> (uploads: [ProductImageUploaded], skipped: Int) {
        struct Notification: Decodable {
            struct Record: Decodable {
                struct S3: Decodable {
                    struct Object: Decodable {
                        var key: String
                        var size: Int64?
                    }
                    var object: Object
                }
                var eventName: String?
                var eventTime: String?
                var s3: S3
            }
            var Records: [Record]?
        }
        let records = try JSONDecoder().decode(Notification.self, from: Data(body)).Records ?? []
        let uploads = records.compactMap { record -> ProductImageUploaded? in
            guard record.eventName?.hasPrefix("ObjectCreated:") ?? true,
                let key = record.s3.object.key.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
            else { return nil }
            return upload(key: key, contentType: nil, size: record.s3.object.size ?? 0, time: record.eventTime ?? "")
        }
        return (uploads, records.count - uploads.count)
    }

    /// The upload in an S3 event delivered by Amazon EventBridge (`{"detail-type": "Object Created", "detail":
    /// {"object": {"key", "size"}}, "time"}`), or nil for another event or a key outside the upload layout.
    /// EventBridge gives the key as it is (not URL-encoded).
    public static func upload(fromEventBridge body: [UInt8]) throws -> ProductImageUploaded? {
        struct Event: Decodable {
            struct Detail: Decodable {
                struct Object: Decodable {
                    var key: String
                    var size: Int64?
                }
                var object: Object
            }
            var detailType: String
            var time: String?
            var detail: Detail

            enum CodingKeys: String, CodingKey {
                case detailType = "detail-type"
                case time, detail
            }
        }
        let event = try JSONDecoder().decode(Event.self, from: Data(body))
        guard event.detailType == "Object Created" else { return nil }
        return upload(key: event.detail.object.key, contentType: nil, size: event.detail.object.size ?? 0, time: event.time ?? "")
    }

    /// The upload in a Cloud Storage `object.v1.finalized` event's data (`{"bucket", "name", "contentType", "size"}`),
    /// or nil for an object outside the upload layout.
    public static func upload(fromCloudStorageObject data: [UInt8]) throws -> ProductImageUploaded? {
        struct Object: Decodable {
            var name: String
            var contentType: String?
            /// Cloud Storage sends the size as a string.
            var size: String?
            var timeCreated: String?
        }
        let object = try JSONDecoder().decode(Object.self, from: Data(data))
        return upload(
            key: object.name, contentType: object.contentType, size: Int64(object.size ?? "") ?? 0,
            time: object.timeCreated ?? "")
    }

    /// The upload a key names, if it follows `uploads/products/<product_id>/<upload_id>.<ext>`.
    public static func upload(key: String, contentType: String?, size: Int64, time: String) -> ProductImageUploaded? {
        guard let (product, uploadID, ext) = ProductImageLayout.upload(inKey: key) else { return nil }
        // A content type the store gives wins if the image function takes it; else the extension's.
        let given = contentType?.lowercased()
        guard let type = given.flatMap({ ImageProcessor.loaders[$0] == nil ? nil : $0 }) ?? ProductImageLayout.contentTypes[ext]
        else {
            return nil
        }
        return ProductImageUploaded(
            productID: product, uploadID: uploadID, key: key, contentType: type, sizeBytes: size, uploadedAt: time)
    }
}
