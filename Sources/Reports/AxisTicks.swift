/// Tick positions and labels for a plot axis: "nice" steps (1, 2, 2.5 or 5 × 10^k), as matplotlib picks.
struct AxisTicks: Equatable {
    /// The data range the axis shows, lower < upper.
    let lower: Double
    let upper: Double
    /// The tick values inside [lower, upper], ascending.
    let values: [Double]
    let step: Double

    /// Ticks for data spanning `low...high` (finite), padded by `margin` of the span on each side.
    /// A zero span (one epoch, a constant series) is widened first so the axis never divides by zero.
    /// `integers` keeps steps whole (epochs) and picks from 1, 2, 5 × 10^k only.
    init(low: Double, high: Double, margin: Double = 0.05, target: Int = 5, integers: Bool = false) {
        precondition(low.isFinite && high.isFinite && low <= high, "axis data range must be finite and ordered")
        var lo = low, hi = high
        if hi - lo <= max(abs(lo), abs(hi)) * 1e-9 {
            // A flat series: a band around the value, wide enough to show ticks either side.
            let pad = integers ? 1 : max(abs(lo) * 0.05, 0.05)
            lo -= pad
            hi += pad
        }
        // The margin keeps end ticks and lines off the frame; halving first keeps ±1e300 finite.
        let pad = (hi / 2 - lo / 2) * 2 * margin
        lo -= pad
        hi += pad
        lower = lo
        upper = hi
        step = AxisTicks.niceStep((hi - lo) / Double(max(target, 1)), integers: integers)
        var ticks: [Double] = []
        var k = (lo / step).rounded(.up)
        // The count is bounded by construction (span / step ≈ target); the cap guards rounding surprises.
        while k * step <= hi + step * 1e-9, ticks.count < 4 * target + 4 {
            ticks.append(k * step == 0 ? 0 : k * step)  // no "-0"
            k += 1
        }
        values = ticks
    }

    /// The smallest of 1, 2, 2.5, 5 (× 10^k) at least `raw`.
    static func niceStep(_ raw: Double, integers: Bool) -> Double {
        guard raw > 0, raw.isFinite else { return 1 }
        var magnitude = 1.0
        while magnitude * 10 <= raw { magnitude *= 10 }
        while magnitude > raw { magnitude /= 10 }
        let mantissas: [Double] = integers ? [1, 2, 5, 10] : [1, 2, 2.5, 5, 10]
        let step = mantissas.map { $0 * magnitude }.first { $0 >= raw * (1 - 1e-12) } ?? 10 * magnitude
        return integers ? max(step.rounded(), 1) : step
    }

    /// The decimals a label needs so that neighbouring ticks read differently ("0.25" for a 0.25 step).
    var decimals: Int {
        var d = 0
        var scaled = step
        while d < 12, abs(scaled - scaled.rounded()) > 1e-9 * max(1, abs(scaled)) {
            scaled *= 10
            d += 1
        }
        return d
    }

    /// `value` written with `decimals` digits after the point.
    func label(_ value: Double) -> String { AxisTicks.format(value, decimals: decimals) }

    /// Fixed-point text without Foundation; falls back to Swift's shortest form when the value is too
    /// large for whole-number arithmetic (a diverged loss of 1e20 still gets a label).
    static func format(_ value: Double, decimals: Int) -> String {
        var power = 1.0
        for _ in 0..<decimals { power *= 10 }
        let scaled = (abs(value) * power).rounded()
        guard scaled < 9e15 else { return "\(value)" }
        let whole = Int(scaled)
        let divisor = Int(power)
        var text = String(whole / divisor)
        if decimals > 0 {
            let fraction = String(whole % divisor)
            text += "." + String(repeating: "0", count: decimals - fraction.count) + fraction
        }
        return value < 0 && whole != 0 ? "-" + text : text
    }
}
