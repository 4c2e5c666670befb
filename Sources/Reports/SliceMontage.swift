/// A grid of axial slices from a volume, as the seed's `plot_slices` shows a CT scan, with a caption.
///
/// Orientation matches the seed: `plot_slices` displays `np.transpose(np.rot90(volume))[z]`, whose pixel
/// at (row r, column c) is `volume[r, ny − 1 − c, z]`. So each tile is `nx` pixels tall and `ny` wide; x
/// runs down the tile and y runs right to left. (Fed the preprocessed volume, as the seed is, this is the
/// picture the notebook shows.) The seed plots the first `rows × columns` slices; here they are spread
/// evenly through the volume (`sliceIndices`), filling the grid row by row.
///
/// Layout: a caption strip `captionHeight` pixels tall across the top, then the grid from the left
/// edge with no gaps (the seed's `wspace=0, hspace=0`). Values map linearly to gray, 0 → black and
/// 1 → white, with values outside [0, 1] clamped and NaN shown black; unlike matplotlib's `imshow`,
/// tiles are not rescaled one by one, so their brightness can be compared.
public enum SliceMontage {
    /// Height of the caption strip above the grid.
    public static let captionHeight = 34
    /// The picture is at least this wide (or as wide as the caption needs, up to `maxCaptionWidth`),
    /// so a short caption is not cut on a small grid.
    static let maxCaptionWidth = 800
    static let captionScale = 2
    static let captionPadding = 10
    static let captionBackground = RGBColor(gray: 24)
    static let captionInk = RGBColor.white

    /// The montage as a grayscale PNG.
    ///
    /// - Parameters:
    ///   - voxels: `nx × ny × nz` values, x fastest: index = x + nx·(y + ny·z).
    ///   - rows, columns: the grid; it shows `rows × columns` slices.
    ///   - caption: one line, e.g. "abnormal 87.2% — scan.nii.gz"; characters outside ASCII are drawn as
    ///     look-alikes or "?", and a caption wider than the picture ends in "...".
    /// - Throws: `.badGrid` if `rows` or `columns` is below 1; `.badVolume` if a side is below 1 or the
    ///   voxel count is not nx·ny·nz; `.badImageSize` if the picture would exceed `PNGEncoder.maxSide`.
    public static func png(
        voxels: [Float], nx: Int, ny: Int, nz: Int, rows: Int, columns: Int, caption: String
    ) throws(ReportsError) -> [UInt8] {
        try raster(voxels: voxels, nx: nx, ny: ny, nz: nz, rows: rows, columns: columns, caption: caption)
            .png(colorType: .grayscale, rowFilter: .adaptive)
    }

    /// The montage in colour with a saliency map over it: tile k shows slice `slices[k]` (so a
    /// report can show where the map is highest), and where the map (`nx × ny × nz` values in
    /// [0, 1], laid out as `voxels`) exceeds 0.2, a heat colour from red to yellow is blended over
    /// the gray, more opaque where the map is higher.
    /// - Throws: as `png`, and `.badVolume` if the map's size differs from the volume's.
    public static func png(
        voxels: [Float], nx: Int, ny: Int, nz: Int, rows: Int, columns: Int, caption: String, saliency: [Float], slices: [Int]
    ) throws(ReportsError) -> [UInt8] {
        guard saliency.count == voxels.count else { throw .badVolume(nx: nx, ny: ny, nz: nz, voxelCount: saliency.count) }
        return try raster(voxels: voxels, nx: nx, ny: ny, nz: nz, rows: rows, columns: columns, caption: caption,
                          slices: slices.map { min(max($0, 0), nz - 1) }, overlay: saliency)
            .png(colorType: .rgb, rowFilter: .adaptive)
    }

    /// Gray `level` with the heat colour of `value` (0…1) over it.
    static func heat(_ level: UInt8, _ value: Float) -> RGBColor {
        guard value > 0.2 else { return RGBColor(gray: level) }
        let v = min(value, 1), alpha = 0.25 + 0.5 * (v - 0.2) / 0.8
        let (r, g, b): (Float, Float, Float) = (255, 255 * v, 0)
        func blend(_ over: Float) -> UInt8 { UInt8((Float(level) * (1 - alpha) + over * alpha).rounded()) }
        return RGBColor(blend(r), blend(g), blend(b))
    }

    /// The z index shown in each of `count` tiles: the middle slice of `count` equal bands of the volume,
    /// so `count == nz` shows every slice and `count > nz` repeats some.
    public static func sliceIndices(nz: Int, count: Int) -> [Int] {
        precondition(nz >= 1 && count >= 1, "need at least one slice and one tile")
        return (0..<count).map { k in (2 * k + 1) * nz / (2 * count) }
    }

    /// The montage before encoding; checks everything `png` promises to.
    static func raster(
        voxels: [Float], nx: Int, ny: Int, nz: Int, rows: Int, columns: Int, caption: String, slices chosen: [Int]? = nil, overlay: [Float]? = nil
    ) throws(ReportsError) -> Raster {
        guard rows >= 1, columns >= 1 else { throw .badGrid(rows: rows, columns: columns) }
        guard nx >= 1, ny >= 1, nz >= 1, voxels.count == checkedProduct([nx, ny, nz]) else {
            throw .badVolume(nx: nx, ny: ny, nz: nz, voxelCount: voxels.count)
        }
        let gridWidth = checkedProduct([columns, ny]) ?? Int.max
        let gridHeight = checkedProduct([rows, nx]) ?? Int.max
        let captionWidth = Raster.textSize(caption, scale: captionScale).width + 2 * captionPadding
        let width = max(gridWidth, min(captionWidth, maxCaptionWidth))
        let height = gridHeight > PNGEncoder.maxSide ? gridHeight : captionHeight + gridHeight
        guard width <= PNGEncoder.maxSide, height <= PNGEncoder.maxSide else {
            throw .badImageSize(width: width, height: height, limit: PNGEncoder.maxSide)
        }

        var raster = Raster(width: width, height: height, background: .black)
        raster.fillRect(x: 0, y: 0, width: width, height: captionHeight, color: captionBackground)
        let text = Raster.fitted(caption, maxWidth: width - 2 * captionPadding, scale: captionScale)
        let textTop = (captionHeight - 7 * captionScale) / 2   // centre the capitals, not the descenders
        raster.drawText(text, x: captionPadding, y: textTop, color: captionInk, scale: captionScale)

        let slices = chosen.map { Array($0.prefix(rows * columns)) } ?? sliceIndices(nz: nz, count: rows * columns)
        for (tile, z) in slices.enumerated() {
            let originX = (tile % columns) * ny
            let originY = captionHeight + (tile / columns) * nx
            let slab = z * nx * ny
            for r in 0..<nx {          // tile row r is x = r
                for c in 0..<ny {      // tile column c is y = ny − 1 − c
                    let index = slab + r + nx * (ny - 1 - c)
                    let level = grayLevel(voxels[index])
                    raster[originX + c, originY + r] = overlay.map { heat(level, $0[index]) } ?? RGBColor(gray: level)
                }
            }
        }
        return raster
    }

    /// 0 → 0, 1 → 255, rounded; outside [0, 1] clamped; NaN → 0.
    static func grayLevel(_ value: Float) -> UInt8 {
        guard value > 0 else { return 0 }     // also catches NaN
        return value >= 1 ? 255 : UInt8((value * 255).rounded())
    }

    /// The product, or nil if it overflows Int.
    private static func checkedProduct(_ factors: [Int]) -> Int? {
        var product = 1
        for factor in factors {
            let (result, overflow) = product.multipliedReportingOverflow(by: factor)
            if overflow { return nil }
            product = result
        }
        return product
    }
}
