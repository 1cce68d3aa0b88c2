import Foundation
import Testing

@testable import MeridianS3

/// Checked against AWS's own published examples (the Signature V4 test suite and the S3 documentation).
@Suite struct SignatureV4Tests {
    static let date = Date(timeIntervalSince1970: 1_369_353_600)  // 2013-05-24T00:00:00Z
    static let s3 = SignatureV4(
        credentials: S3Credentials(
            accessKeyID: "AKIAIOSFODNN7EXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"),
        region: "us-east-1")

    /// The test suite's `get-vanilla`.
    @Test func getVanilla() {
        let signer = SignatureV4(
            credentials: S3Credentials(
                accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"),
            region: "us-east-1", service: "service")
        let headers = signer.authorization(
            method: "GET", path: "/", query: [], headers: ["host": "example.amazonaws.com"],
            payloadHash: SignatureV4.emptyPayloadHash, date: Date(timeIntervalSince1970: 1_440_938_160))
        #expect(
            headers.first { $0.0 == "Authorization" }?.1
                == "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
                + "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")
    }

    /// S3's "GET Object" example (a Range header signed).
    @Test func s3GetObject() {
        let headers = Self.s3.authorization(
            method: "GET", path: "/test.txt", query: [],
            headers: ["host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9"],
            payloadHash: SignatureV4.emptyPayloadHash, date: Self.date)
        #expect(
            headers.first { $0.0 == "Authorization" }?.1
                == "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
                + "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
                + "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    /// S3's presigned URL example (query-string authentication, 24 hours).
    @Test func s3PresignedURL() {
        let query = Self.s3.presignedQuery(
            method: "GET", host: "examplebucket.s3.amazonaws.com", path: "/test.txt", expires: 86_400, date: Self.date)
        #expect(query.contains("X-Amz-Signature=aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"))
        #expect(query.contains("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"))
    }

    @Test func encodingIsRFC3986OnceWithSlashesKeptInPaths() {
        #expect(SignatureV4.encodePath("/a b/ü+~.jpg") == "/a%20b/%C3%BC%2B~.jpg")
        #expect(SignatureV4.encode("a/b=c&d") == "a%2Fb%3Dc%26d")
        #expect(SignatureV4.canonicalQuery([("b", "2"), ("a", "z"), ("a", "y"), ("uploads", "")]) == "a=y&a=z&b=2&uploads=")
    }
}
