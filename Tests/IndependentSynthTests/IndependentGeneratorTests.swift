import Foundation
import IndependentSynth
import NIfTI
import Preprocess
import Synth
import Testing

/// The second generator: deterministic, chest-like, lesions only where asked and as much as the
/// severity says, and readable by the same pipeline.
@Suite struct IndependentGeneratorTests {
    let small = IndependentGenerator(seed: 9, matrix: 96)

    @Test func theSameArgumentsGiveTheSameScan() {
        #expect(small.make(index: 2, abnormal: true).hounsfield == small.make(index: 2, abnormal: true).hounsfield)
        #expect(IndependentGenerator(seed: 10, matrix: 96).make(index: 2, abnormal: true).hounsfield != small.make(index: 2, abnormal: true).hounsfield)
        #expect(small.make(index: 2, abnormal: false).hounsfield != small.make(index: 2, abnormal: true).hounsfield)
    }

    @Test func aScanLooksLikeAChestCT() {
        let phantom = small.make(index: 0, abnormal: false)
        #expect((36...80).contains(phantom.nz) && phantom.nx == 96 && (3...9.5).contains(phantom.spacing.z))
        let values = phantom.hounsfield.map(Int.init)
        func share(_ range: ClosedRange<Int>) -> Double { Double(values.filter { range.contains($0) }.count) / Double(values.count) }
        // Air around the body, lung, fat, soft tissue and bone are all there in plausible amounts.
        #expect(share(-1024...(-950)) > 0.2, "air \(share(-1024...(-950)))")
        #expect(share(-930...(-760)) > 0.05, "lung \(share(-930...(-760)))")
        #expect(share(-160...(-50)) > 0.01, "fat \(share(-160...(-50)))")
        #expect(share(0...100) > 0.08, "soft tissue \(share(0...100))")
        #expect(share(200...3071) > 0.002, "bone \(share(200...3071))")
    }

    @Test(arguments: [Severity.ct1, .ct2, .ct3, .ct4])
    func lesionsCoverTheSeveritysShareOfTheLungs(severity: Severity) {
        let range: ClosedRange<Double> = switch severity {
        case .ct1: 0...0.27
        case .ct2: 0.23...0.52
        case .ct3: 0.48...0.77
        default: 0.7...1
        }
        for index in 0..<2 {
            let phantom = small.make(index: index, severity: severity)
            #expect(phantom.severity == severity && phantom.lesionCount > 0 && range.contains(phantom.involvement), "\(severity): \(phantom.involvement)")
        }
        #expect(small.make(index: 0, severity: .ct0).lesionCount == 0)
    }

    @Test func abnormalScansHaveDenserLungs() {
        // Ground glass and consolidation raise the lungs' share of -700…+50 HU voxels.
        func share(_ phantom: Phantom) -> Double {
            Double(phantom.hounsfield.filter { (-700...50).contains($0) }.count) / Double(phantom.hounsfield.count)
        }
        let normal = (0..<3).map { share(small.make(index: $0, abnormal: false)) }.reduce(0, +)
        let abnormal = (0..<3).map { share(small.make(index: $0, severity: .ct3)) }.reduce(0, +)
        #expect(abnormal > normal * 1.1, "normal \(normal), abnormal \(abnormal)")
    }

    @Test func itsScansGoThroughThePipeline() throws {
        let phantom = small.make(index: 1, severity: .ct2)
        let bytes = try SyntheticDataset.encode(phantom, level: 1, by: small.name)
        let path = NSTemporaryDirectory() + "\(UUID().uuidString)-independent.nii.gz"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let volume = try NIfTIReader().read(path: path)
        #expect(volume.header.description.hasPrefix("independent: CT-2"))
        let grid = Preprocessor(PreprocessParameters(width: 32, height: 32, depth: 16)).run(volume)
        #expect(grid.values.count == 32 * 32 * 16 && grid.values.allSatisfy { (0...1).contains($0) })
    }

    @Test func aDatasetCanBeWrittenWithIt() throws {
        let folder = NSTemporaryDirectory() + "independent-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let paths = try SyntheticDataset(seed: 3, normal: 1, abnormal: 1, generator: IndependentGenerator(seed: 3, matrix: 64)).write(to: folder)
        #expect(paths.count == 2 && paths[0].contains("/CT-0/") && paths[1].contains("/CT-23/"))
        #expect(try NIfTIReader().read(path: paths[1]).header.description.hasPrefix("independent: CT-"))
    }
}
