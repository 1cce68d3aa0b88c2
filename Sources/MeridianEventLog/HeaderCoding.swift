import MeridianCore

/// Partitioning by key: FNV-1a over the key bytes, so a key always lands in the same partition.
public enum KeyPartitioner {
    public static func partition(for key: [UInt8], partitions: Int32) -> Int32 {
        var hash: UInt32 = 2_166_136_261
        for byte in key {
            hash ^= UInt32(byte)
            hash = hash &* 16_777_619
        }
        return Int32(hash % UInt32(max(partitions, 1)))
    }
}
