import CTDTestSupport
import Foundation
import NIfTI
import Testing

/// `NIfTIReader.describe` (what `ctd inspect` shows): valid files ctd can't use are described,
/// with the reason apart from any problem with their data, and data that ends early is found.
@Suite struct ReaderDescribeTests {
    let folder = TemporaryFolder()

    func file(_ name: String, dim: [Int], compressed: Bool, keeping fraction: Double = 1) throws -> String {
        var header = NIfTIWriter.header(shape: (8, 6, 1), datatype: .int16)
        header.dim = dim
        let voxels = dim[1...min(dim[0], 7)].reduce(1, *)
        let bytes = try NIfTIWriter.encode(header: header, rawData: NIfTIWriter.rawBytes((0..<voxels).map { Int16($0 % 500) }), compressed: compressed)
        return folder.write(Array(bytes[..<Int(Double(bytes.count) * fraction)]), to: name)
    }

    @Test(arguments: [false, true]) func aVolumeCTDCanUseHasNothingToSay(compressed: Bool) throws {
        let described = try NIfTIReader().describe(path: try file("v.nii", dim: [3, 8, 6, 4, 1, 1, 1, 1], compressed: compressed))
        #expect(described.unusable == nil && described.dataProblem == nil && described.compressed == compressed)
        #expect(described.header.dim[3] == 4)
    }

    @Test(arguments: [false, true]) func aTwoDImageAndASeriesAreDescribedWithWhyCTDCantUseThem(compressed: Bool) throws {
        let image = try NIfTIReader().describe(path: try file("image.nii", dim: [2, 8, 6, 1, 1, 1, 1, 1], compressed: compressed))
        guard case .badHeader(let imageProblem) = image.unusable else { Issue.record("\(String(describing: image.unusable))"); return }
        #expect(imageProblem.check == .shape && imageProblem.message.contains("a 2-D image"))
        #expect(image.dataProblem == nil)

        let series = try NIfTIReader().describe(path: try file("series.nii", dim: [4, 8, 6, 4, 3, 1, 1, 1], compressed: compressed))
        guard case .badHeader(let seriesProblem) = series.unusable else { Issue.record("\(String(describing: series.unusable))"); return }
        #expect(seriesProblem.message.contains("a series of 3 volumes"))
        #expect(series.dataProblem == nil, "all 3 volumes are there")
        // Reading it as ctd does still refuses it.
        #expect(throws: NIfTIError.self) { try NIfTIReader().read(path: folder.path + "/series.nii") }
    }

    @Test(arguments: [false, true]) func dataThatEndsEarlyIsFoundEvenInASeries(compressed: Bool) throws {
        let cut = try NIfTIReader().describe(path: try file("cut.nii", dim: [3, 8, 6, 40, 1, 1, 1, 1], compressed: compressed, keeping: 0.6))
        #expect(cut.unusable == nil)
        #expect(cut.dataProblem?.endsEarly == true, "\(String(describing: cut.dataProblem))")

        // The last volume of a series cut short: the data problem and the shape, each said.
        let series = try NIfTIReader().describe(path: try file("cut-series.nii", dim: [4, 8, 6, 40, 3, 1, 1, 1], compressed: compressed, keeping: 0.9))
        #expect(series.unusable != nil && series.dataProblem?.endsEarly == true)
    }

    @Test func anInvalidHeaderIsStillAnError() throws {
        #expect(throws: NIfTIError.self) { try NIfTIReader().describe(path: try file("bad.nii", dim: [9, 8, 6, 4, 1, 1, 1, 1], compressed: false)) }
    }
}
