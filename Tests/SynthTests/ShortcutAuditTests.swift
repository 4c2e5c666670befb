import Foundation
import NIfTI
import Preprocess
import Synth
import Testing

/// The shortcut audit: nothing a model could learn easily, other than the lesions, tells normal
/// synthetic scans from abnormal ones. Simple per-scan features of what the model sees (the
/// preprocessed grid) and of the header go into a logistic regression, scored by 5-fold
/// cross-validated AUC on 200 scans (100 CT-0, 100 CT-1…CT-4 in turn).
///
/// The scans are drawn at a 96-pixel matrix (the same anatomy in coarser pixels) so that 400 of
/// them cost seconds, not minutes.
@Suite struct ShortcutAuditTests {
    static let generator = PhantomGenerator(seed: 2026, matrix: 96)
    static let parameters = PreprocessParameters(width: 48, height: 48, depth: 24)
    static let perClass = 100

    /// Features of one scan: slice count, in-plane and slice spacing, the body's share of a slice,
    /// and the mean and 10th/50th/90th percentiles of the window's values inside the lungs and in
    /// the body outside them.
    static func features(_ phantom: Phantom) -> (header: [Double], body: [Double], lungs: [Double]) {
        let header = NIfTIWriter.header(shape: (phantom.nx, phantom.ny, phantom.nz), datatype: .int16,
                                        spacing: (phantom.spacing.x, phantom.spacing.y, phantom.spacing.z))
        let grid = Preprocessor(parameters).run(Volume(header: header, rawData: NIfTIWriter.rawBytes(phantom.hounsfield)))
        let lungs = LungMask.estimate(grid)
        // The air around the body: dark and not lung (LungMask's dark regions reach the edge).
        var inLungs: [Float] = [], inBody: [Float] = []
        for (index, value) in grid.values.enumerated() {
            if lungs[index] { inLungs.append(value) } else if value >= 0.5 { inBody.append(value) }
        }
        func summary(_ values: [Float]) -> [Double] {
            guard !values.isEmpty else { return [0, 0, 0, 0] }
            let sorted = values.sorted()
            let mean = Double(values.reduce(0, +)) / Double(values.count)
            return [mean] + [0.1, 0.5, 0.9].map { Double(sorted[Int($0 * Double(sorted.count - 1))]) }
        }
        let bodyShare = Double(inLungs.count + inBody.count) / Double(grid.values.count)
        return ([Double(phantom.nz), phantom.spacing.x, phantom.spacing.z, bodyShare], summary(inBody), summary(inLungs))
    }

    /// Every scan's features, normal ones first, drawn with or without their lesions.
    static func audit(withoutLesions: Bool) -> [(features: (header: [Double], body: [Double], lungs: [Double]), abnormal: Bool)] {
        let severities: [Severity] = [.ct1, .ct2, .ct3, .ct4]
        let scans = (0..<perClass).map { (index: $0, severity: Severity.ct0) } + (0..<perClass).map { (index: $0, severity: severities[$0 % 4]) }
        let results = Slots(count: scans.count)
        DispatchQueue.concurrentPerform(iterations: 2) { worker in
            for i in stride(from: worker, to: scans.count, by: 2) {
                let phantom = generator.make(index: scans[i].index, severity: scans[i].severity, slices: nil, withoutLesions: withoutLesions)
                results.set(i, (features(phantom), phantom.abnormal))
            }
        }
        return results.values
    }

    static let withLesions = audit(withoutLesions: false)
    static let lesionsLeftOut = audit(withoutLesions: true)

    @Test func withTheLesionsLeftOutNothingTellsTheClassesApart() {
        let rows = Self.lesionsLeftOut
        let auc = LogisticAudit.crossValidatedAUC(rows.map { $0.features.header + $0.features.body + $0.features.lungs }, labels: rows.map(\.abnormal))
        print("shortcut audit: lesion-free scans, every feature: cross-validated AUC \(String(format: "%.3f", auc))")
        #expect(auc <= 0.65, "lesion-free scans are told apart with AUC \(auc)")
    }

    @Test func nothingButTheLungsTellsTheClassesApart() {
        let rows = Self.withLesions
        let auc = LogisticAudit.crossValidatedAUC(rows.map { $0.features.header + $0.features.body }, labels: rows.map(\.abnormal))
        #expect(auc <= 0.65, "header and body features tell the classes apart with AUC \(auc)")
        // The lungs do, as they should: that is where the lesions are.
        let lungs = LogisticAudit.crossValidatedAUC(rows.map(\.features.lungs), labels: rows.map(\.abnormal))
        print("shortcut audit: header and body features AUC \(String(format: "%.3f", auc)); lung features AUC \(String(format: "%.3f", lungs))")
        #expect(lungs >= 0.75, "lung features: AUC \(lungs)")
    }

    @Test func theAuditCatchesAShortcut() {
        // Abnormal scans a few slices longer: the kind of difference the audit is there to find.
        let rows = Self.lesionsLeftOut
        let features = rows.map { row in [row.features.header[0] + (row.abnormal ? 6 : 0)] + row.features.header.dropFirst() + row.features.body }
        #expect(LogisticAudit.crossValidatedAUC(features, labels: rows.map(\.abnormal)) > 0.8)
    }

    @Test func severitiesInvolveTheirShareOfTheLungsWithEveryKindOfLesion() {
        var kinds: Set<LesionKind> = []
        for severity in Severity.allCases.dropFirst() {
            for index in 0..<3 {
                let phantom = Self.generator.make(index: index, severity: severity, slices: 24)
                kinds.formUnion(phantom.lesionKinds)
                let range: ClosedRange<Double> = switch severity {
                case .ct1: 0...0.27
                case .ct2: 0.23...0.52
                case .ct3: 0.48...0.77
                default: 0.7...1
                }
                #expect(phantom.severity == severity && range.contains(phantom.involvement), "\(severity): \(phantom.involvement)")
            }
        }
        #expect(kinds == Set(LesionKind.allCases))
    }

    @Test func severitiesAreReadFromRangesAndLists() {
        #expect(Severity.abnormal("1-4") == [.ct1, .ct2, .ct3, .ct4])
        #expect(Severity.abnormal("2,3") == [.ct2, .ct3] && Severity.abnormal("4") == [.ct4] && Severity.abnormal("1, 3-4") == [.ct1, .ct3, .ct4])
        for bad in ["0", "5", "0-2", "3-2", "", "2,", "a", "1-2-3", "-1"] { #expect(Severity.abnormal(bad) == nil, "\(bad)") }
    }

    @Test func theHeaderSaysTheSeverityAndTheLesions() throws {
        let phantom = Self.generator.make(index: 1, severity: .ct4, slices: 16)
        let text = SyntheticDataset.describe(phantom)
        #expect(text.hasPrefix("ctd synth: CT-4, ") && text.utf8.count <= 80 && text.contains("% of lung"), "\(text)")
        #expect(SyntheticDataset.describe(Self.generator.make(index: 1, severity: .ct0, slices: 16)) == "ctd synth: normal")
    }

    @Test func aScanWithoutItsLesionsIsTheSameScanElsewhere() {
        let with = Self.generator.make(index: 5, severity: .ct3, slices: 20)
        let without = Self.generator.make(index: 5, severity: .ct3, slices: 20, withoutLesions: true)
        #expect(with.lesionKinds == without.lesionKinds && with.involvement == without.involvement)
        let differing = zip(with.hounsfield, without.hounsfield).filter { $0 != $1 }.count
        #expect(differing > 0 && differing < with.hounsfield.count / 4, "\(differing) voxels differ")
    }
}

/// Logistic regression on standardised features (gradient descent, a little L2), scored by
/// the AUC of its out-of-fold predictions.
enum LogisticAudit {
    static func crossValidatedAUC(_ features: [[Double]], labels: [Bool], folds: Int = 5) -> Double {
        var scores = [Double](repeating: 0, count: features.count)
        for fold in 0..<folds {
            let train = features.indices.filter { $0 % folds != fold }, test = features.indices.filter { $0 % folds == fold }
            let model = fit(train.map { features[$0] }, train.map { labels[$0] })
            for i in test { scores[i] = model(features[i]) }
        }
        return auc(scores, labels)
    }

    static func fit(_ x: [[Double]], _ y: [Bool]) -> ([Double]) -> Double {
        let d = x[0].count, count = Double(x.count)
        var mean = [Double](repeating: 0, count: d), sd = [Double](repeating: 0, count: d)
        for row in x { for j in 0..<d { mean[j] += row[j] / count } }
        for row in x { for j in 0..<d { sd[j] += (row[j] - mean[j]) * (row[j] - mean[j]) / count } }
        sd = sd.map { max(1e-9, $0.squareRoot()) }
        func standardised(_ row: [Double]) -> [Double] { (0..<d).map { (row[$0] - mean[$0]) / sd[$0] } }
        let z = x.map(standardised)
        var w = [Double](repeating: 0, count: d), b = 0.0
        func logit(_ row: [Double]) -> Double {
            var sum = b
            for j in 0..<d { sum += w[j] * row[j] }
            return sum
        }
        for _ in 0..<400 {
            var gw = w.map { 0.01 * $0 }, gb = 0.0
            for (row, label) in zip(z, y) {
                let p = 1 / (1 + exp(-logit(row)))
                let e = (p - (label ? 1 : 0)) / count
                for j in 0..<d { gw[j] += e * row[j] }
                gb += e
            }
            for j in 0..<d { w[j] -= 0.5 * gw[j] }
            b -= 0.5 * gb
        }
        let (weights, bias) = (w, b)
        return { row in
            let z = standardised(row)
            var sum = bias
            for j in 0..<d { sum += weights[j] * z[j] }
            return sum
        }
    }

    /// The probability that an abnormal scan scores above a normal one (ties count half).
    static func auc(_ scores: [Double], _ labels: [Bool]) -> Double {
        let positive = zip(scores, labels).filter(\.1).map(\.0), negative = zip(scores, labels).filter { !$0.1 }.map(\.0)
        var wins = 0.0
        for p in positive { for n in negative { wins += p > n ? 1 : p == n ? 0.5 : 0 } }
        return wins / Double(positive.count * negative.count)
    }
}

private final class Slots: @unchecked Sendable {
    typealias Row = (features: (header: [Double], body: [Double], lungs: [Double]), abnormal: Bool)
    private var rows: [Row?]
    private let lock = NSLock()
    init(count: Int) { rows = Array(repeating: nil, count: count) }
    func set(_ index: Int, _ row: Row) { lock.withLock { rows[index] = row } }
    var values: [Row] { lock.withLock { rows.map { $0! } } }
}
