import CTDTestSupport
import Foundation
import NIfTI
import Preprocess
import Testing

/// The whole preprocessing against the seed's own code (nibabel + scipy), from the committed
/// fixtures: square and non-square slices (odd and even differences), up- and down-sampling,
/// every datatype and scaling rule.
@Suite struct ParityTests {
    /// Every (fixture, reference output) pair: "<case>.pre-WxHxD.npy".
    static let references: [(file: String, reference: String)] = Fixtures.niftiFiles.flatMap { file in
        let prefix = Fixtures.caseName(file) + ".pre-"
        let outputs = ((try? FileManager.default.contentsOfDirectory(atPath: Fixtures.folder)) ?? []).filter { $0.hasPrefix(prefix) }
        return outputs.sorted().map { (file, $0) }
    }

    @Test func thereAreReferencesForEveryFixture() {
        #expect(Self.references.count >= Fixtures.niftiFiles.count)
        #expect(Set(Self.references.map(\.file)) == Set(Fixtures.niftiFiles))
    }

    @Test(arguments: references.map { [$0.file, $0.reference] })
    func matchesTheSeedWithin1e5(pair: [String]) throws {
        let expected = try Fixtures.npy(pair[1]).grid
        let volume = try NIfTIReader().read(path: Fixtures.path(pair[0]))
        let parameters = PreprocessParameters(width: expected.nx, height: expected.ny, depth: expected.nz)
        let output = Preprocessor(parameters).run(volume)
        #expect(output.nx == expected.nx && output.ny == expected.ny && output.nz == expected.nz)
        let error = maxAbsDifference(output.values, expected.values)
        #expect(error <= 1e-5, "\(pair[1]): max |error| \(error)")
    }
}
