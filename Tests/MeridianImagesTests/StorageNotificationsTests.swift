import Foundation
import MeridianContracts
import Testing

@testable import MeridianImages

@Suite struct StorageNotificationsTests {
    /// An S3 notification as S3 sends it to Lambda (shortened): keys URL-encoded, `+` for a space.
    @Test func s3ObjectCreatedRecordsBecomeUploads() throws {
        let body = """
            {"Records":[
              {"eventName":"ObjectCreated:Put","eventTime":"2026-11-30T10:00:00.000Z",
               "s3":{"bucket":{"name":"shop"},"object":{"key":"uploads/products/p1/u1.JPG","size":1234}}},
              {"eventName":"ObjectCreated:CompleteMultipartUpload","eventTime":"2026-11-30T10:00:01.000Z",
               "s3":{"bucket":{"name":"shop"},"object":{"key":"uploads/products/p%2B2/up+load%C3%A9.png","size":99}}},
              {"eventName":"ObjectRemoved:Delete",
               "s3":{"bucket":{"name":"shop"},"object":{"key":"uploads/products/p1/u2.jpg"}}},
              {"eventName":"ObjectCreated:Put",
               "s3":{"bucket":{"name":"shop"},"object":{"key":"processed/large/p1/u1_800x800.jpg","size":5}}},
              {"eventName":"ObjectCreated:Put",
               "s3":{"bucket":{"name":"shop"},"object":{"key":"uploads/products/p1/notes.txt","size":5}}}
            ]}
            """
        let uploads = try StorageNotifications.uploads(fromS3Notification: Array(body.utf8))
        #expect(
            uploads == [
                ProductImageUploaded(
                    productID: "p1", uploadID: "u1", key: "uploads/products/p1/u1.JPG", contentType: "image/jpeg",
                    sizeBytes: 1234, uploadedAt: "2026-11-30T10:00:00.000Z"),
                ProductImageUploaded(
                    productID: "p+2", uploadID: "up loadé", key: "uploads/products/p+2/up loadé.png", contentType: "image/png",
                    sizeBytes: 99, uploadedAt: "2026-11-30T10:00:01.000Z"),
            ])
        #expect(try StorageNotifications.uploads(fromS3Notification: Array(#"{"Records":[]}"#.utf8)).isEmpty)
        #expect(throws: (any Error).self) { try StorageNotifications.uploads(fromS3Notification: Array("not json".utf8)) }
    }

    @Test func cloudStorageFinalizedObjects() throws {
        let data =
            #"{"bucket":"shop","name":"uploads/products/p3/u3.webp","contentType":"image/webp","size":"4096","timeCreated":"2026-11-30T11:00:00.000Z"}"#
        #expect(
            try StorageNotifications.upload(fromCloudStorageObject: Array(data.utf8))
                == ProductImageUploaded(
                    productID: "p3", uploadID: "u3", key: "uploads/products/p3/u3.webp", contentType: "image/webp",
                    sizeBytes: 4096, uploadedAt: "2026-11-30T11:00:00.000Z"))
        let elsewhere = #"{"bucket":"shop","name":"datasets/customer_id=c/x.csv","contentType":"text/csv","size":"1"}"#
        #expect(try StorageNotifications.upload(fromCloudStorageObject: Array(elsewhere.utf8)) == nil)
    }

    @Test func eventBridgeObjectCreatedEvents() throws {
        let event = #"""
            {"version":"0","id":"e1","detail-type":"Object Created","source":"aws.s3","time":"2026-11-30T12:00:00Z",
             "detail":{"bucket":{"name":"shop"},"object":{"key":"uploads/products/p4/u4.png","size":512}}}
            """#
        #expect(
            try StorageNotifications.upload(fromEventBridge: Array(event.utf8))
                == ProductImageUploaded(
                    productID: "p4", uploadID: "u4", key: "uploads/products/p4/u4.png", contentType: "image/png",
                    sizeBytes: 512, uploadedAt: "2026-11-30T12:00:00Z"))
        let deleted = event.replacingOccurrences(of: "Object Created", with: "Object Deleted")
        #expect(try StorageNotifications.upload(fromEventBridge: Array(deleted.utf8)) == nil)
        #expect(throws: (any Error).self) { try StorageNotifications.upload(fromEventBridge: Array("{}".utf8)) }
    }

    @Test(arguments: [
        "uploads/products/p1/u1", "uploads/products//u1.jpg", "uploads/products/p1/.jpg", "uploads/products/p1/a/u1.jpg",
        "uploads/users/p1/u1.jpg", "uploads/products/p1/u1.exe",
    ])
    func keysOutsideTheLayoutAreNotUploads(_ key: String) {
        #expect(StorageNotifications.upload(key: key, contentType: nil, size: 1, time: "") == nil)
    }
}
