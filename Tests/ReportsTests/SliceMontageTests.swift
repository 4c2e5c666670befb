import Reports
import Testing

/// The slice montage: tile placement and orientation, the caption strip, and what it refuses.
@Suite struct SliceMontageTests {
    let caption = "abnormal 87.2% — scan.nii.gz"

    /// A volume whose every voxel has its own value: (x + nx·(y + ny·z)) / (count − 1).
    func ramp(_ nx: Int, _ ny: Int, _ nz: Int) -> [Float] {
        let count = nx * ny * nz
        return (0..<count).map { Float($0) / Float(count - 1) }
    }

    func level(_ value: Float) -> UInt8 { UInt8((min(max(value, 0), 1) * 255).rounded()) }

    @Test func tilesFollowTheSeedsOrientation() throws {
        let (nx, ny, nz) = (5, 3, 6)
        let voxels = ramp(nx, ny, nz)
        let png = try PNGReader(SliceMontage.png(voxels: voxels, nx: nx, ny: ny, nz: nz, rows: 2, columns: 2,
                                                 caption: caption))
        #expect(png.chunks.allSatisfy { $0.storedCRC == $0.computedCRC })
        #expect(png.colorType == 0, "a montage is all grays: stored as grayscale")
        let strip = SliceMontage.captionHeight
        #expect(png.height == strip + 2 * nx)
        let slices = SliceMontage.sliceIndices(nz: nz, count: 4)
        #expect(slices == [0, 2, 3, 5])
        // np.transpose(np.rot90(v))[z][r, c] == v[r, ny - 1 - c, z]: tiles are nx tall and ny wide.
        for (tile, z) in slices.enumerated() {
            let originX = (tile % 2) * ny, originY = strip + (tile / 2) * nx
            for r in 0..<nx {
                for c in 0..<ny {
                    let expected = level(voxels[r + nx * (ny - 1 - c + ny * z)])
                    #expect(png.gray(originX + c, originY + r) == expected,
                            "tile \(tile) (z = \(z)) at row \(r), column \(c)")
                }
            }
        }
        // Spot checks written out: the first tile's top-left is x = 0, y = ny − 1, z = 0.
        #expect(png.gray(0, strip) == level(voxels[0 + nx * 2]))
        // Last tile's bottom-right: x = nx − 1, y = 0, z = 5.
        let last = level(voxels[(nx - 1) + nx * ny * 5])
        #expect(png.gray(2 * ny - 1, strip + 2 * nx - 1) == last)
    }

    /// With a saliency map: the chosen slices, gray where the map is low, heat colour where it is high.
    @Test func aSaliencyMapIsOverlaidOnTheChosenSlices() throws {
        let (nx, ny, nz) = (4, 3, 5)
        let voxels = [Float](repeating: 0.5, count: nx * ny * nz)
        var saliency = [Float](repeating: 0, count: nx * ny * nz)
        saliency[0 + nx * (ny - 1) + nx * ny * 3] = 1   // x 0, y ny − 1, z 3: tile 0's top-left when slice 3 comes first
        let png = try PNGReader(SliceMontage.png(voxels: voxels, nx: nx, ny: ny, nz: nz, rows: 1, columns: 2, caption: caption,
                                                 saliency: saliency, slices: [3, 4]))
        #expect(png.colorType == 2)
        let strip = SliceMontage.captionHeight
        let hot = png.rgb(0, strip), cold = png.rgb(1, strip), other = png.rgb(ny, strip)
        #expect(hot.0 > hot.2 + 100 && hot.1 > hot.2 + 100, "yellow over gray: \(hot)")
        #expect(cold == (level(0.5), level(0.5), level(0.5)) && other == cold)
        #expect(throws: ReportsError.self) {
            try SliceMontage.png(voxels: voxels, nx: nx, ny: ny, nz: nz, rows: 1, columns: 2, caption: caption, saliency: [0], slices: [0])
        }
    }

    @Test func captionStripHoldsTheTextAndTheRestIsBlack() throws {
        let (nx, ny, nz) = (16, 16, 8)
        let png = try PNGReader(SliceMontage.png(voxels: ramp(nx, ny, nz), nx: nx, ny: ny, nz: nz, rows: 2,
                                                 columns: 4, caption: caption))
        let captionWidth = Raster.textSize(caption, scale: 2).width
        // The grid is 64 pixels wide; the picture widens so the caption fits.
        #expect(png.width == captionWidth + 20 && png.width > 4 * ny)
        var white = 0, other = 0
        for y in 0..<SliceMontage.captionHeight {
            for x in 0..<png.width {
                switch png.gray(x, y) {
                case 255: white += 1
                case 24: break
                default: other += 1
                }
            }
        }
        #expect(white > 200 && other == 0, "white text on the dark strip only")
        // Right of the grid, under the strip: black.
        for y in SliceMontage.captionHeight..<png.height {
            for x in (4 * ny)..<png.width { #expect(png.gray(x, y) == 0) }
        }
        // The em dash is drawn as "-": the same strip as the ASCII caption.
        let ascii = try PNGReader(SliceMontage.png(voxels: ramp(nx, ny, nz), nx: nx, ny: ny, nz: nz, rows: 2,
                                                   columns: 4, caption: "abnormal 87.2% - scan.nii.gz"))
        #expect(ascii.pixels == png.pixels)
    }

    @Test func seedSizedMontageIsTheGridExactly() throws {
        let (nx, ny, nz) = (128, 128, 64)
        let png = try PNGReader(SliceMontage.png(voxels: [Float](repeating: 0.5, count: nx * ny * nz), nx: nx, ny: ny,
                                                 nz: nz, rows: 4, columns: 10, caption: caption))
        #expect(png.width == 1280 && png.height == SliceMontage.captionHeight + 512)
        #expect(png.gray(640, 300) == 128)
    }

    @Test func valuesAreClampedAndNaNIsBlack() throws {
        let voxels: [Float] = [-3, 2, .nan, 0.5, .infinity, -.infinity]
        let png = try PNGReader(SliceMontage.png(voxels: voxels, nx: 6, ny: 1, nz: 1, rows: 1, columns: 1, caption: ""))
        let column = (0..<6).map { png.gray(0, SliceMontage.captionHeight + $0) }
        #expect(column == [0, 255, 0, 128, 255, 0])
    }

    @Test func slicesAreSpreadEvenly() {
        let indices = SliceMontage.sliceIndices(nz: 64, count: 40)
        #expect(indices.count == 40 && indices.first! >= 0 && indices.last! <= 63)
        #expect(zip(indices, indices.dropFirst()).allSatisfy { $0 < $1 })
        #expect(SliceMontage.sliceIndices(nz: 7, count: 7) == Array(0..<7))
        #expect(SliceMontage.sliceIndices(nz: 1, count: 3) == [0, 0, 0])
        #expect(SliceMontage.sliceIndices(nz: 100, count: 1) == [50])
    }

    @Test func rejectsMismatchedOrBadSizes() {
        let voxels = ramp(4, 4, 4)
        #expect(throws: ReportsError.badVolume(nx: 4, ny: 4, nz: 5, voxelCount: 64)) {
            try SliceMontage.png(voxels: voxels, nx: 4, ny: 4, nz: 5, rows: 1, columns: 1, caption: "")
        }
        #expect(throws: ReportsError.badVolume(nx: 0, ny: 4, nz: 4, voxelCount: 0)) {
            try SliceMontage.png(voxels: [], nx: 0, ny: 4, nz: 4, rows: 1, columns: 1, caption: "")
        }
        #expect(throws: ReportsError.badVolume(nx: -4, ny: -4, nz: 4, voxelCount: 64)) {
            try SliceMontage.png(voxels: voxels, nx: -4, ny: -4, nz: 4, rows: 1, columns: 1, caption: "")
        }
        #expect(throws: ReportsError.badVolume(nx: Int.max, ny: 2, nz: 1, voxelCount: 64)) {
            try SliceMontage.png(voxels: voxels, nx: Int.max, ny: 2, nz: 1, rows: 1, columns: 1, caption: "")
        }
        #expect(throws: ReportsError.badGrid(rows: 0, columns: 3)) {
            try SliceMontage.png(voxels: voxels, nx: 4, ny: 4, nz: 4, rows: 0, columns: 3, caption: "")
        }
        #expect(throws: ReportsError.badImageSize(width: 20_000 * 4, height: 34 + 4, limit: 16_384)) {
            try SliceMontage.png(voxels: voxels, nx: 4, ny: 4, nz: 4, rows: 1, columns: 20_000, caption: "")
        }
        #expect(throws: ReportsError.badImageSize(width: 800, height: Int.max, limit: 16_384)) {
            try SliceMontage.png(voxels: voxels, nx: 4, ny: 4, nz: 4, rows: Int.max, columns: 1,
                                 caption: String(repeating: "x", count: 100))
        }
    }
}
