import Dispatch

/// Accumulates wall time per named stage ("block1 conv forward", ...), for the benchmark's
/// layer-by-layer table. A network without a profiler pays nothing.
public final class Profiler {
    public private(set) var seconds: [String: Double] = [:]
    /// Stage names in first-seen order.
    public private(set) var order: [String] = []

    public init() {}

    public func reset() {
        seconds = [:]
        order = []
    }

    func measure<T, E: Error>(_ stage: String, _ body: () throws(E) -> T) throws(E) -> T {
        let start = DispatchTime.now().uptimeNanoseconds
        let value = try body()
        let elapsed = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        if seconds[stage] == nil { order.append(stage) }
        seconds[stage, default: 0] += elapsed
        return value
    }
}

extension Optional where Wrapped == Profiler {
    /// Runs `body`, timed when there is a profiler.
    func measure<T, E: Error>(_ stage: @autoclosure () -> String, _ body: () throws(E) -> T) throws(E) -> T {
        guard let profiler = self else { return try body() }
        return try profiler.measure(stage(), body)
    }
}
