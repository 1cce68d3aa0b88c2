/// Record headers as one blob: a count, then each name and value with its length (big-endian).
///
/// Written by hand: a fixed, tiny binary layout for the embedded log's `headers` column and the outbox.
public enum HeaderCoding {
    public static func encode(_ headers: [EventHeader]) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(4 + headers.reduce(0) { $0 + 8 + $1.name.utf8.count + $1.byteCount })
        append(UInt32(headers.count), to: &out)
        for header in headers {
            let name = Array(header.name.utf8)
            append(UInt32(name.count), to: &out)
            out.append(contentsOf: name)
            append(UInt32(header.byteCount), to: &out)
            header.withValueBytes { out.append(contentsOf: $0) }
        }
        return out
    }

    public static func decode(_ bytes: [UInt8]) -> [EventHeader] {
        var index = 0
        func readLength() -> Int? {
            guard index + 4 <= bytes.count else { return nil }
            let value = bytes[index..<index + 4].reduce(0) { $0 << 8 | Int($1) }
            index += 4
            return value
        }
        guard let count = readLength() else { return [] }
        var headers: [EventHeader] = []
        // The count comes from stored bytes: a corrupt one must not reserve gigabytes (each header takes ≥ 8 bytes).
        headers.reserveCapacity(min(count, bytes.count / 8))
        for _ in 0..<count {
            guard let nameLength = readLength(), index + nameLength <= bytes.count else { break }
            let name = String(decoding: bytes[index..<index + nameLength], as: UTF8.self)
            index += nameLength
            guard let valueLength = readLength(), index + valueLength <= bytes.count else { break }
            headers.append(EventHeader(name: name, value: Array(bytes[index..<index + valueLength])))
            index += valueLength
        }
        return headers
    }

    private static func append(_ value: UInt32, to out: inout [UInt8]) {
        out.append(UInt8(truncatingIfNeeded: value >> 24))
        out.append(UInt8(truncatingIfNeeded: value >> 16))
        out.append(UInt8(truncatingIfNeeded: value >> 8))
        out.append(UInt8(truncatingIfNeeded: value))
    }
}
