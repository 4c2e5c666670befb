import Crypto
import Foundation

/// A scan's identity: the SHA-256 of its file's bytes, as 64 lowercase hex digits. Used to
/// deduplicate scans and to decide, once and for all, which side of the train/validation split a
/// scan is on. (Cryptographic, so a crafted file cannot impersonate another scan.)
public enum ContentHash {
    /// Hashes the file in 1 MiB pieces (constant memory).
    public static func sha256(file path: String) throws -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            throw CocoaError(.fileReadNoSuchFile, userInfo: [NSFilePathErrorKey: path])
        }
        defer { try? handle.close() }
        var hasher = SHA256()
        while let chunk = try handle.read(upToCount: 1 << 20), !chunk.isEmpty {
            hasher.update(data: chunk)
        }
        return hex(hasher.finalize())
    }

    /// A hash fed piece by piece, for bytes that are read once and used as they pass.
    public struct Running {
        private var hasher = SHA256()
        public init() {}
        public mutating func update(_ bytes: [UInt8]) { hasher.update(data: bytes) }
        public func finish() -> String { hex(hasher.finalize()) }
    }

    /// Hashes bytes already in memory.
    public static func sha256(_ bytes: [UInt8]) -> String {
        hex(SHA256.hash(data: bytes))
    }

    private static func hex(_ digest: SHA256.Digest) -> String {
        digest.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }
}
