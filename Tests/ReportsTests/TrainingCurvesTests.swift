import Foundation
import Reports
import Testing

/// The two-panel training figure, decoded and inspected pixel by pixel.
@Suite struct TrainingCurvesTests {
    /// A plausible run: loss falling from 0.69, accuracy rising from 0.5, validation noisier.
    static func realisticHistory(epochs: Int) -> [EpochPoint] {
        (1...epochs).map { epoch in
            let t = Double(epoch)
            let wobble = sin(t * 1.7) * 0.03
            return EpochPoint(epoch: epoch, loss: 0.69 * exp(-t / 12) + 0.08,
                              accuracy: 0.5 + 0.45 * (1 - exp(-t / 9)),
                              validationLoss: 0.69 * exp(-t / 15) + 0.15 + wobble,
                              validationAccuracy: 0.5 + 0.33 * (1 - exp(-t / 11)) - wobble)
        }
    }

    /// Pixels of exactly `color` in the left (acc) and right (loss) panel.
    static func counts(_ png: PNGReader, _ color: RGBColor) -> (acc: Int, loss: Int) {
        var left = 0, right = 0
        for y in 0..<png.height {
            for x in 0..<png.width where png.rgb(x, y) == (color.red, color.green, color.blue) {
                if x < png.width / 2 { left += 1 } else { right += 1 }
            }
        }
        return (left, right)
    }

    /// What the legends alone contribute: a figure with nothing to plot (drawn once, it is slow in debug).
    static let legendCounts: (train: (acc: Int, loss: Int), val: (acc: Int, loss: Int))? = {
        let nothing = EpochPoint(epoch: 1, loss: .nan, accuracy: .nan, validationLoss: .nan, validationAccuracy: .nan)
        guard let png = try? PNGReader(TrainingCurves.png([nothing])) else { return nil }
        return (counts(png, TrainingCurves.trainColor), counts(png, TrainingCurves.validationColor))
    }()

    func legendOnly() throws -> (train: (acc: Int, loss: Int), val: (acc: Int, loss: Int)) {
        try #require(Self.legendCounts)
    }

    @Test func thirtyEpochsDrawBothSeriesInBothPanels() throws {
        let file = try TrainingCurves.png(Self.realisticHistory(epochs: 30))
        let png = try PNGReader(file)
        #expect(png.width == 1600 && png.height == 500 && png.colorType == 2)
        #expect(png.chunks.allSatisfy { $0.storedCRC == $0.computedCRC })
        let legend = try legendOnly()
        let train = Self.counts(png, TrainingCurves.trainColor), val = Self.counts(png, TrainingCurves.validationColor)
        // A 2-pixel line across ~700 pixels leaves far more solid pixels than the 30-pixel legend sample.
        #expect(train.acc > legend.train.acc + 300 && train.loss > legend.train.loss + 300)
        #expect(val.acc > legend.val.acc + 300 && val.loss > legend.val.loss + 300)
        #expect(legend.train.acc > 20 && legend.val.loss > 20, "the legend shows both colours")
    }

    @Test func oneEpochIsAVisibleDot() throws {
        let point = EpochPoint(epoch: 1, loss: 0.7, accuracy: 0.5, validationLoss: 0.69, validationAccuracy: 0.55)
        let png = try PNGReader(TrainingCurves.png([point]))
        let legend = try legendOnly()
        let train = Self.counts(png, TrainingCurves.trainColor), val = Self.counts(png, TrainingCurves.validationColor)
        #expect(train.acc > legend.train.acc && val.acc > legend.val.acc)
        #expect(train.loss > legend.train.loss && val.loss > legend.val.loss)
    }

    @Test func nonFiniteValuesAreSkipped() throws {
        var history = Self.realisticHistory(epochs: 20)
        for i in history.indices { history[i].validationLoss = i % 2 == 0 ? .nan : .infinity }
        history[3].accuracy = -.infinity
        history[4].loss = .nan
        let png = try PNGReader(TrainingCurves.png(history))
        let legend = try legendOnly()
        #expect(Self.counts(png, TrainingCurves.validationColor).loss == legend.val.loss,
                "a validation loss with no finite value draws nothing but its legend entry")
        #expect(Self.counts(png, TrainingCurves.trainColor).acc > legend.train.acc + 200, "gaps break the line, not the plot")
    }

    @Test func constantSeriesAndEmptyHistoryStillRender() throws {
        let flat = (1...10).map { EpochPoint(epoch: $0, loss: 0.3, accuracy: 1, validationLoss: 0.3, validationAccuracy: 1) }
        let png = try PNGReader(TrainingCurves.png(flat))
        let legend = try legendOnly()
        #expect(Self.counts(png, TrainingCurves.validationColor).loss > legend.val.loss + 200)
        let empty = try PNGReader(TrainingCurves.png([]))
        #expect(empty.width == 1600 && empty.height == 500)
    }

    @Test func manyEpochsAndWildValuesRender() throws {
        var history = Self.realisticHistory(epochs: 400)
        history[100].loss = 1e30
        history[101].validationLoss = -1e250
        history[102].accuracy = .greatestFiniteMagnitude
        let png = try PNGReader(TrainingCurves.png(history))
        #expect(png.width == 1600 && png.height == 500 && png.pixels.count == 1600 * 500 * 3)
    }

    @Test func epochsAreSortedBeforePlotting() throws {
        let history = Self.realisticHistory(epochs: 12)
        #expect(try TrainingCurves.png(history.reversed()) == TrainingCurves.png(history))
    }

    @Test func titleGoesInAStripAcrossTheTop() throws {
        // The gap between the panels is blank unless a title is centred over it.
        func inkInGap(_ title: String?) throws -> Int {
            let png = try PNGReader(TrainingCurves.png(Self.realisticHistory(epochs: 5), title: title))
            var ink = 0
            for y in 0..<45 { for x in 780..<820 where png.rgb(x, y) != (255, 255, 255) { ink += 1 } }
            return ink
        }
        #expect(try inkInGap(nil) == 0)
        #expect(try inkInGap("run 7 - fold 2") > 20)
    }

    @Test func epochPointsRoundTripThroughJSON() throws {
        let point = EpochPoint(epoch: 3, loss: 0.5, accuracy: 0.75, validationLoss: 0.625, validationAccuracy: 0.5)
        let encoded = try JSONEncoder().encode(point)
        #expect(try JSONDecoder().decode(EpochPoint.self, from: encoded) == point)
    }
}
