/// Which side of the train/validation split a scan is on, decided by its content hash alone: the
/// hash's first 64 bits read as a fraction of 2^64, validation when below `fraction`. A scan never
/// changes sides as data grows, and each class ends up close to the fraction (binomially).
public enum ValidationSplit {
    /// - Precondition: `hash` starts with at least 16 hex digits.
    public static func isValidation(hash: String, fraction: Double) -> Bool {
        let prefix = hash.prefix(16)
        guard prefix.count == 16, let value = UInt64(prefix, radix: 16) else {
            preconditionFailure("content hash \(hash) is not hex")
        }
        return Double(value) / 0x1p64 < fraction
    }
}
