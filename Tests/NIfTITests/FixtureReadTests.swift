import CTDTestSupport
import Foundation
import NIfTI
import Testing

/// The reader against nibabel: every committed fixture (written by nibabel, read back by
/// nibabel's get_fdata) must give exactly the same values and facts.
@Suite struct FixtureReadTests {
    @Test(arguments: Fixtures.niftiFiles)
    func valuesMatchNibabelExactly(file: String) throws {
        let volume = try NIfTIReader().read(path: Fixtures.path(file))
        let expected = try Fixtures.npy(Fixtures.caseName(file) + ".fdata.npy")
        #expect(volume.shape.nx == expected.grid.nx && volume.shape.ny == expected.grid.ny && volume.shape.nz == expected.grid.nz)
        let values = volume.scaledValues()
        #expect(values.count == expected.doubles.count)
        let mismatches = zip(values, expected.doubles).filter { $0 != $1 && !($0.isNaN && $1.isNaN) }.count
        #expect(mismatches == 0, "\(file): \(mismatches) voxels differ from nibabel")
    }

    @Test(arguments: Fixtures.niftiFiles)
    func headerFactsMatchNibabel(file: String) throws {
        let facts = try #require(try Fixtures.facts()[file])
        let (header, _, _) = try NIfTIReader().inspect(path: Fixtures.path(file))
        let shape = facts["shape"] as! [Int]
        #expect(Array(header.dim[1...header.dim[0]]) == shape)
        #expect(header.byteOrder.rawValue == facts["byte_order"] as! String)
        #expect(Int(header.voxOffset) == facts["vox_offset"] as! Int)
        let nibabelType = facts["datatype"] as! String
        #expect(header.datatype?.name == nibabelType, "\(file): \(String(describing: header.datatype)) vs \(nibabelType)")
        let pixdim = facts["pixdim"] as! [Double]
        for axis in 0..<3 { #expect(abs(header.pixdim[axis + 1] - pixdim[axis]) < 1e-6) }
    }

    @Test func recognisesVersionsAndCompression() throws {
        let reader = NIfTIReader()
        let v2 = try reader.inspect(path: Fixtures.path("float32_nifti2.nii.gz"))
        #expect(v2.header.version == .nifti2 && v2.compressed)
        let v1 = try reader.inspect(path: Fixtures.path("int16_le.nii"))
        #expect(v1.header.version == .nifti1 && !v1.compressed && v1.header.byteOrder == .little)
    }

    @Test func scalingFollowsNibabelRules() throws {
        let reader = NIfTIReader()
        #expect(try reader.inspect(path: Fixtures.path("uint8_slope0.nii.gz")).header.scaling == nil, "slope 0 means no scaling")
        #expect(try reader.inspect(path: Fixtures.path("slope_nan.nii")).header.scaling == nil, "NaN slope means no scaling")
        let scaled = try #require(try reader.inspect(path: Fixtures.path("int16_be_scaled.nii.gz")).header.scaling)
        #expect(scaled.slope == 2.5 && scaled.intercept == -1024)
    }

    @Test func orientationComesFromSformThenQform() throws {
        var header = try NIfTIReader().inspect(path: Fixtures.path("int16_le.nii")).header
        #expect(header.orientation == "LPS", "sform diag(-0.7, -0.7, 5)")
        header.sformCode = 0
        #expect(header.orientation == "RAS", "identity quaternion")
        header.qformCode = 0
        #expect(header.orientation == nil)
    }
}
