import Foundation

/// This process's resident memory, from /proc/self/status (Linux).
public enum ProcessMemory {
    /// Current resident set size (VmRSS), in bytes.
    public static func resident() -> Int { field("VmRSS") }

    /// Peak resident set size since start or the last `resetPeak()` (VmHWM), in bytes.
    public static func peak() -> Int { field("VmHWM") }

    /// Resets the peak to the current size (writing 5 to /proc/self/clear_refs, Linux ≥ 4.0).
    /// Returns false where that is not allowed; the peak then covers the whole process.
    @discardableResult
    public static func resetPeak() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        return (try? handle.write(contentsOf: Data("5".utf8))) != nil
    }

    private static func field(_ name: String) -> Int {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return 0 }
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let kilobytes = line.split(separator: " ").compactMap { Int($0) }.first ?? 0
            return kilobytes * 1024
        }
        return 0
    }
}

/// Median of a non-empty list.
public func median(_ values: [Double]) -> Double {
    precondition(!values.isEmpty, "median of nothing")
    let sorted = values.sorted()
    let middle = sorted.count / 2
    return sorted.count % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2
}

/// Seconds taken by `body`, and its result.
public func timed<T>(_ body: () throws -> T) rethrows -> (seconds: Double, value: T) {
    let start = DispatchTime.now().uptimeNanoseconds
    let value = try body()
    return (Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9, value)
}
