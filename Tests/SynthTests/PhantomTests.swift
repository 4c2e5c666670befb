import NIfTI
import Preprocess
import Synth
import Testing

/// The synthetic scans: realistic geometry, deterministic, lesions only where asked.
@Suite struct PhantomTests {
    let generator = PhantomGenerator(seed: 42)

    @Test func geometryIsRealistic() {
        for index in 0..<2 {
            let phantom = generator.make(index: index, abnormal: index == 1)
            #expect(phantom.nx == 512 && phantom.ny == 512)
            #expect((30...70).contains(phantom.nz))
            #expect((0.6...0.8).contains(phantom.spacing.x) && phantom.spacing.x == phantom.spacing.y)
            #expect((5...8).contains(phantom.spacing.z))
            #expect(phantom.hounsfield.count == 512 * 512 * phantom.nz)
        }
    }

    @Test func sameSeedAndIndexGiveTheSameScan() {
        let a = generator.make(index: 3, abnormal: true, slices: 32)
        let b = PhantomGenerator(seed: 42).make(index: 3, abnormal: true, slices: 32)
        #expect(a.hounsfield == b.hounsfield)
        #expect(PhantomGenerator(seed: 43).make(index: 3, abnormal: true, slices: 32).hounsfield != a.hounsfield)
    }

    @Test func lesionsOnlyInAbnormalScans() {
        let normal = generator.make(index: 0, abnormal: false, slices: 40)
        let abnormal = generator.make(index: 0, abnormal: true, slices: 40)
        #expect(normal.lesionCount == 0 && normal.involvement == 0 && !normal.abnormal)
        #expect(abnormal.lesionCount > 0 && abnormal.abnormal)
    }

    /// Abnormal scans look like MosMedData's CT-23: a quarter to three quarters of the lungs in ground glass,
    /// judged from the rendered voxels, not from the generator's own estimate.
    @Test(arguments: 0..<2) func abnormalScansHaveCT23Involvement(index: Int) {
        func groundGlassShare(_ phantom: Phantom) -> Double {
            // Outside air (≈ -1000 HU plus noise) stays below -960.
            let aerated = phantom.hounsfield.filter { (-960)...(-700) ~= $0 }.count
            let groundGlass = phantom.hounsfield.filter { (-650)...(-250) ~= $0 }.count
            return Double(groundGlass) / Double(aerated + groundGlass)
        }
        let normal = generator.make(index: index, abnormal: false, slices: 48)
        let abnormal = generator.make(index: index, abnormal: true, slices: 48)
        #expect((0.25...0.8).contains(abnormal.involvement), "estimated involvement \(abnormal.involvement)")
        let baseline = groundGlassShare(normal), share = groundGlassShare(abnormal)
        #expect(share - baseline > 0.1, "ground-glass share \(share) against \(baseline) in the normal scan")
    }

    /// The lesion mask is where the lesions changed the picture: against the same scan drawn without
    /// them, nearly every voxel raised by 100 HU or more is in the mask, and the mask is mostly raised
    /// voxels. Asking for it leaves the scan as it was; normal scans have an empty one.
    @Test func theLesionMaskIsWhereTheLesionsAre() throws {
        let small = PhantomGenerator(seed: 42, matrix: 128)
        let phantom = small.make(index: 2, severity: .ct2, slices: 40, withLesionMask: true)
        let twin = small.make(index: 2, severity: .ct2, slices: 40, withoutLesions: true)
        let mask = try #require(phantom.lesionMask)
        #expect(phantom.hounsfield == small.make(index: 2, severity: .ct2, slices: 40).hounsfield)
        #expect(small.make(index: 2, severity: .ct2, slices: 40).lesionMask == nil)
        let raised = zip(phantom.hounsfield, twin.hounsfield).map { Int($0) - Int($1) >= 100 }
        let both = zip(raised, mask).filter { $0 && $1 }.count
        #expect(Double(both) / Double(raised.filter { $0 }.count) > 0.9, "raised voxels inside the mask")
        #expect(Double(both) / Double(mask.filter { $0 }.count) > 0.8, "mask voxels that were raised")
        let normal = small.make(index: 2, severity: .ct0, slices: 40, withLesionMask: true)
        #expect(normal.lesionMask?.contains(true) == false)
    }

    @Test func tissuesHaveChestCTValues() {
        let phantom = generator.make(index: 1, abnormal: false)
        let values = phantom.hounsfield
        let air = values.filter { $0 < -950 }.count
        let lung = values.filter { (-920)...(-780) ~= $0 }.count
        let soft = values.filter { (-150)...(150) ~= $0 }.count
        let bone = values.filter { $0 > 250 }.count
        // Air around the body, a large lung share, soft tissue and some bone: all present.
        for (name, count) in [("air", air), ("lung", lung), ("soft tissue", soft), ("bone", bone)] {
            #expect(count > values.count / 200, "\(name): \(count) of \(values.count)")
        }
        #expect(values.min()! >= -1024 && values.max()! <= 3071)
    }

    @Test func forcedSliceCountIsHonoured() {
        #expect(generator.make(index: 0, abnormal: false, slices: 64).nz == 64)
    }

    @Test func encodedScanReadsBackWithLPSOrientation() throws {
        let phantom = generator.make(index: 2, abnormal: true, slices: 31)
        let bytes = try SyntheticDataset.encode(phantom, level: 1)
        let path = FileManager.temporaryPath("synth-rt.nii.gz")
        try bytes.write(to: path)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let volume = try NIfTIReader().read(path: path)
        #expect(volume.header.orientation == "LPS")
        #expect(volume.header.datatype == .int16 && volume.header.shape.nz == 31)
        #expect(volume.scaledValues().map { Int16($0) } == phantom.hounsfield)
    }
}

import Foundation

extension FileManager {
    static func temporaryPath(_ name: String) -> String { NSTemporaryDirectory() + "\(UUID().uuidString)-\(name)" }
}

extension [UInt8] {
    func write(to path: String) throws { try Data(self).write(to: URL(fileURLWithPath: path)) }
}
