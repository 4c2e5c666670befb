@testable import Reports
import Testing

/// Tick choice and labels for the curves' axes.
@Suite struct AxisTicksTests {
    @Test func stepsAreNice() {
        #expect(AxisTicks.niceStep(0.07, integers: false) == 0.1)
        #expect(AxisTicks.niceStep(0.023, integers: false) == 0.025)
        #expect(AxisTicks.niceStep(3.2, integers: false) == 5)
        #expect(AxisTicks.niceStep(13, integers: true) == 20)
        #expect(AxisTicks.niceStep(0.3, integers: true) == 1, "epochs never get fractional ticks")
        #expect(AxisTicks.niceStep(2.3, integers: true) == 5, "2.5 is not an integer step")
    }

    @Test func ticksCoverTheDataRange() {
        let ticks = AxisTicks(low: 0.52, high: 0.91)
        #expect(ticks.lower < 0.52 && ticks.upper > 0.91)
        #expect(ticks.values.count >= 3 && ticks.values.count <= 8)
        #expect(ticks.values.allSatisfy { $0 >= ticks.lower && $0 <= ticks.upper })
        // Span 0.39 plus 5% each side, over ~5 ticks: a step of 0.1.
        #expect(ticks.values.map(ticks.label) == ["0.6", "0.7", "0.8", "0.9"])
    }

    @Test func aFlatSeriesStillGetsARange() {
        let constant = AxisTicks(low: 0.693, high: 0.693)
        #expect(constant.upper - constant.lower > 0.01)
        #expect(constant.values.count >= 2)
        let zero = AxisTicks(low: 0, high: 0)
        #expect(zero.lower < 0 && zero.upper > 0)
        let oneEpoch = AxisTicks(low: 1, high: 1, integers: true)
        #expect(oneEpoch.values == [0, 1, 2])
        #expect(oneEpoch.values.map(oneEpoch.label) == ["0", "1", "2"])
    }

    @Test func manyEpochsGetFewTicks() {
        let ticks = AxisTicks(low: 1, high: 150, integers: true)
        #expect(ticks.step == 50 && ticks.values == [0, 50, 100, 150])
    }

    @Test func labelsAreFixedPoint() {
        #expect(AxisTicks.format(0.25, decimals: 2) == "0.25")
        #expect(AxisTicks.format(-1.5, decimals: 1) == "-1.5")
        #expect(AxisTicks.format(-0.0001, decimals: 2) == "0.00", "no negative zero")
        #expect(AxisTicks.format(12, decimals: 0) == "12")
        #expect(AxisTicks.format(0.05, decimals: 3) == "0.050")
        #expect(AxisTicks.format(1e20, decimals: 0) == "1e+20")
    }

    @Test func hugeSpansDoNotOverflow() {
        let ticks = AxisTicks(low: -1e300, high: 1e300)
        #expect(ticks.lower.isFinite && ticks.upper.isFinite && !ticks.values.isEmpty)
    }
}
