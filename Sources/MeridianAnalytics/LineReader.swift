import Foundation

/// The lines of a file as bytes, read in chunks of 1 MiB (constant memory whatever the file's size).
public struct LineReader: Sequence, IteratorProtocol {
    let handle: FileHandle
    var buffer: [UInt8] = []
    /// Where the next line starts in `buffer`.
    var start = 0
    var done = false

    public init(_ handle: FileHandle) {
        self.handle = handle
    }

    public mutating func next() -> [UInt8]? {
        while true {
            if let newline = buffer[start...].firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(buffer[start..<newline])
                start = newline + 1
                return line
            }
            if done {
                guard start < buffer.count else { return nil }
                defer { start = buffer.count }
                return Array(buffer[start...])
            }
            // What is left of the last chunk, then the next chunk.
            buffer.removeSubrange(..<start)
            start = 0
            let chunk = (try? handle.read(upToCount: 1_048_576)) ?? nil
            if let chunk, !chunk.isEmpty { buffer += chunk } else { done = true }
        }
    }
}
