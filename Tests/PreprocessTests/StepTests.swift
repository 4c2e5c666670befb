import CTDTestSupport
import NIfTI
import Preprocess
import Testing

/// Each preprocessing step on small grids built in memory, against the definitions.
@Suite struct StepTests {
    func ramp(_ nx: Int, _ ny: Int, _ nz: Int) -> VoxelGrid {
        VoxelGrid(nx: nx, ny: ny, nz: nz, values: (0..<(nx * ny * nz)).map { Float($0) / Float(nx * ny * nz) })
    }

    @Test func windowClipsAndScales() {
        let window = HounsfieldWindow.seed
        #expect(window.apply(-3000) == 0)
        #expect(window.apply(-1000) == 0)
        #expect(window.apply(400) == 1)
        #expect(window.apply(5000) == 1)
        #expect(window.apply(-300) == 0.5)
        #expect(window.apply(0) == Float(1000.0 / 1400.0))
        #expect(window.apply(.nan) == 0, "NaN must not reach the model")
    }

    @Test func splineRotationAt90IsThePermutation() {
        let grid = ramp(9, 9, 2)
        let spline = rotatePlanes(grid.values, nx: 9, ny: 9, nz: 2, degrees: 90)
        // scipy's spline at the knots reproduces the data up to float rounding (e.g. 1e-17 for 0).
        #expect(maxAbsDifference(spline, referenceRotate90(grid).values) <= 1e-6)
    }

    @Test func foldedQuarterTurnEqualsRotatingThenZooming() {
        let grid = ramp(11, 11, 5)
        for (w, h, d) in [(11, 11, 5), (4, 6, 3), (16, 9, 8)] {
            let folded = zoomTrilinear(grid, width: w, height: h, depth: d, quarterTurn: true)
            let separate = zoomTrilinear(referenceRotate90(grid), width: w, height: h, depth: d)
            #expect(folded == separate, "\(w)×\(h)×\(d)")
        }
    }

    @Test func tabulatedWindowEqualsDirectWindow() throws {
        for datatype in [Datatype.int16, .uint16, .int8, .uint8] {
            var header = NIfTIWriter.header(shape: (64, 64, 20), datatype: datatype, byteOrder: datatype == .uint16 ? .big : .little)
            header.sclSlope = 1.5
            header.sclInter = -900
            let raw = (0..<(64 * 64 * 20 * datatype.bytesPerVoxel!)).map { UInt8(truncatingIfNeeded: $0 &* 7919 >> 3) }
            let volume = Volume(header: header, rawData: raw)
            let window = HounsfieldWindow.seed
            #expect(volume.mapValuesTabulated { window.apply($0) } == volume.mapValues { window.apply($0) }, "\(datatype)")
        }
    }

    @Test func zoomToTheSameSizeIsTheIdentity() {
        let grid = ramp(5, 4, 3)
        #expect(zoomTrilinear(grid, width: 5, height: 4, depth: 3) == grid)
    }

    @Test func zoomKeepsCornersAndInterpolatesLinearly() {
        // A linear function is reproduced exactly by trilinear interpolation.
        let (nx, ny, nz) = (5, 7, 4)
        var values: [Float] = []
        for z in 0..<nz { for y in 0..<ny { for x in 0..<nx { values.append(Float(x) + 2 * Float(y) + 3 * Float(z)) } } }
        let zoomed = zoomTrilinear(VoxelGrid(nx: nx, ny: ny, nz: nz, values: values), width: 9, height: 4, depth: 7)
        for z in 0..<7 { for y in 0..<4 { for x in 0..<9 {
            let expected = Float(x) * 4 / 8 + 2 * Float(y) * 6 / 3 + 3 * Float(z) * 3 / 6
            #expect(abs(zoomed[x, y, z] - expected) < 1e-4)
        } } }
        #expect(zoomed[8, 3, 6] == values.last!)
    }

    @Test func parametersKeyChangesWithEveryField() {
        let base = PreprocessParameters.seed
        var keys: Set<String> = [base.key]
        keys.insert(PreprocessParameters(width: 64, height: 128, depth: 64).key)
        keys.insert(PreprocessParameters(width: 128, height: 128, depth: 32).key)
        keys.insert(PreprocessParameters(width: 128, height: 128, depth: 64, window: HounsfieldWindow(lower: -1000, upper: 300)).key)
        keys.insert(PreprocessParameters(width: 128, height: 128, depth: 64, rotationDegrees: 0).key)
        #expect(keys.count == 5)
        #expect(base.key == "v1-128x128x64-w-1000_400-r90")
    }

    @Test func npyRoundTrips() throws {
        let grid = ramp(3, 4, 5)
        let bytes = NumPyFile.encode(grid)
        #expect((bytes.count - 4 * 60) % 64 == 0, "header padded to 64 bytes")
        #expect(try NumPyFile.decode(bytes).grid == grid)
        #expect(throws: NumPyFile.FormatError.self) { try NumPyFile.decode(Array(bytes[..<50])) }
    }
}
