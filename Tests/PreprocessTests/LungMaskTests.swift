import CTDTestSupport
import Preprocess
import Testing

/// The rough lung mask: the dark region inside the body, lesions included, the air around it not.
@Suite struct LungMaskTests {
    @Test func theLungIsTheDarkRegionInsideTheBody() {
        let size = 48
        let grid = SmallScans.gridInAir(index: 3, abnormal: true, size: size, margin: 3)
        let mask = LungMask.estimate(grid)
        let n = Double(size)
        var (both, either) = (0, 0)
        for z in 0..<size { for y in 0..<size { for x in 0..<size {
            let (dx, dy, dz) = ((Double(x) - n / 2) / (n * 0.4), (Double(y) - n / 2) / (n * 0.35), (Double(z) - n / 2) / (n * 0.45))
            let lung = dx * dx + dy * dy + dz * dz < 1
            let found = mask[x + size * (y + size * z)]
            if lung && found { both += 1 }
            if lung || found { either += 1 }
        } } }
        #expect(Double(both) / Double(either) > 0.97, "IoU with SmallScans' lung ellipsoid, its opacity included")
        #expect(!mask[0] && !mask[size / 2], "the air around the body is not lung")
    }
}

/// The body: everything but the air connected to a slice's edge, lungs included.
@Suite struct BodyMaskTests {
    @Test func theBodyIsAllButTheAirAroundIt() {
        let size = 48
        let grid = SmallScans.gridInAir(index: 3, abnormal: true, size: size, margin: 3)
        let body = BodyMask.estimate(grid)
        let lungs = LungMask.estimate(grid)
        for z in 0..<size { for y in 0..<size { for x in 0..<size {
            let i = x + size * (y + size * z)
            #expect(body[i] == (min(x, y, size - 1 - x, size - 1 - y) >= 3), "voxel \(x), \(y), \(z)")
            if lungs[i] { #expect(body[i]) }
        } } }
    }
}

/// Growing a mask as scipy.ndimage.binary_dilation(mask, iterations: n) does (6-connected steps).
@Suite struct VoxelMaskTests {
    /// The naive definition: n rounds of "a voxel joins when a face neighbour is in".
    private func naive(_ mask: [Bool], _ n: [Int], steps: Int) -> [Bool] {
        var current = mask
        for _ in 0..<steps {
            var next = current
            for z in 0..<n[2] { for y in 0..<n[1] { for x in 0..<n[0] where !current[x + n[0] * (y + n[1] * z)] {
                let neighbours = [(x - 1, y, z), (x + 1, y, z), (x, y - 1, z), (x, y + 1, z), (x, y, z - 1), (x, y, z + 1)]
                next[x + n[0] * (y + n[1] * z)] = neighbours.contains { a, b, c in
                    (0..<n[0]).contains(a) && (0..<n[1]).contains(b) && (0..<n[2]).contains(c) && current[a + n[0] * (b + n[1] * c)]
                }
            } } }
            current = next
        }
        return current
    }

    @Test func oneVoxelGrowsIntoACityBlockBall() {
        var mask = [Bool](repeating: false, count: 15 * 15 * 15)
        mask[7 + 15 * (7 + 15 * 7)] = true
        // (2r + 1)(2r² + 2r + 3) / 3 voxels within city-block distance r = 5.
        #expect(VoxelMask.dilated(mask, nx: 15, ny: 15, nz: 15, by: 5).filter { $0 }.count == 231)
        #expect(VoxelMask.dilated(mask, nx: 15, ny: 15, nz: 15, by: 0) == mask)
    }

    @Test func itMatchesTheNaiveDilationAtTheEdgesToo() {
        var state: UInt64 = 99
        let n = [9, 7, 5]
        let mask = (0..<(9 * 7 * 5)).map { _ in state = state &* 6364136223846793005 &+ 1442695040888963407; return state >> 60 == 0 }
        for steps in [1, 2, 4] {
            #expect(VoxelMask.dilated(mask, nx: 9, ny: 7, nz: 5, by: steps) == naive(mask, n, steps: steps), "\(steps) steps")
        }
    }
}

/// A mask drawn on a scan's voxels lands where the scan's own voxels land after preprocessing.
@Suite struct MaskResamplingTests {
    @Test func theMaskFollowsTheScanThroughRotationAndResize() {
        let (nx, ny, nz) = (64, 64, 20)
        // A bright box in a dark scan, and the same box as a mask; the box sits off-centre so a
        // wrong turn would move it.
        var mask = [Bool](repeating: false, count: nx * ny * nz)
        for z in 4..<12 { for y in 8..<24 { for x in 36..<56 { mask[x + nx * (y + ny * z)] = true } } }
        let preprocessor = Preprocessor(PreprocessParameters(width: 32, height: 32, depth: 10))
        let scan = preprocessor.rotateAndResize(VoxelGrid(nx: nx, ny: ny, nz: nz, values: mask.map { $0 ? 0.9 : 0.1 }))
        let resampled = preprocessor.resample(mask: mask, nx: nx, ny: ny, nz: nz)
        #expect(resampled == scan.values.map { $0 >= 0.5 })
        // The seed turns slices by 90°: the box's x range becomes its y range, flipped.
        var (xs, ys, zs) = ([Int](), [Int](), [Int]())
        for z in 0..<10 { for y in 0..<32 { for x in 0..<32 where resampled[x + 32 * (y + 32 * z)] { xs.append(x); ys.append(y); zs.append(z) } } }
        #expect(ys.min() == 18 && ys.max() == 27, "y from the original x 36…55 at half size: \(ys.min() ?? -1)…\(ys.max() ?? -1)")
        #expect(xs.min() == 20 && xs.max() == 27, "x from the original y 8…23, flipped: \(xs.min() ?? -1)…\(xs.max() ?? -1)")
        #expect(zs.min() == 2 && zs.max() == 5)
    }
}
