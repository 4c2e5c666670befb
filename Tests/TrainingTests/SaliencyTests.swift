import CTDTestSupport
import Model
import Preprocess
import Testing
@testable import Training

/// The Grad-CAM map brought to the scan's grid: placement where each map voxel looks, kept to the
/// body, scaled; slices; shares.
@Suite struct SaliencyTests {
    /// A 48³ scan with air around the body (its outer 3 voxels in x and y).
    private func scan() -> VoxelGrid { SmallScans.gridInAir(index: 1, abnormal: false, size: 48, margin: 3) }

    @Test func theMapIsPlacedWhereItsVoxelsLookAndKeptToTheBody() {
        let scan = scan()
        // A 2×2×2 map (z fastest) whose voxels look at input 8 and 32 on each axis, hot only at
        // x 1, y 0, z 1.
        var values = [Float](repeating: 0, count: 8)
        values[(1 * 2 + 0) * 2 + 1] = 3
        let saliency = Saliency(GradCAMMap(logit: 1, block: 2, values: values, size: [2, 2, 2], origin: 8, step: 24), scan: scan)
        func at(_ x: Int, _ y: Int, _ z: Int) -> Float { saliency.grid.values[x + 48 * (y + 48 * z)] }
        #expect(saliency.grid.values.max() == 1 && saliency.grid.values.min() == 0)
        #expect(at(32, 8, 32) == 1 && at(40, 5, 40) == 1, "the hot voxel's value, to its centre and beyond it")
        #expect(abs(at(20, 5, 40) - 0.5) < 1e-6, "halfway between the centres along x")
        #expect(at(8, 5, 40) == 0 && at(32, 32, 40) == 0 && at(32, 5, 8) == 0, "the other voxels' centres")
        #expect(at(46, 5, 40) == 0 && at(32, 1, 40) == 0, "nothing outside the body")
        #expect(Array(saliency.slicesByShare.prefix(16)) == Array(32...47))
        #expect(saliency.blockGrid == [2, 2, 2] && saliency.block == 2)
    }

    @Test func sharesAreTheMapsMassInAMask() throws {
        let scan = scan()
        let values = (0..<27).map { Float($0 % 5) }
        let saliency = Saliency(GradCAMMap(logit: 1, block: 2, values: values, size: [3, 3, 3], origin: 4, step: 12), scan: scan)
        let lungs = LungMask.estimate(scan)
        let map = saliency.grid.values
        let expected = zip(map, lungs).reduce(Float(0)) { $0 + ($1.1 ? $1.0 : 0) } / map.reduce(0, +)
        #expect(abs(try #require(saliency.insideLungs) - Double(expected)) < 1e-5)
        #expect(saliency.share(within: [Bool](repeating: true, count: map.count)) == 1)
        #expect(saliency.share(within: [Bool](repeating: false, count: map.count)) == 0)
        // Nothing pushed towards abnormal: an empty map, no share.
        let empty = Saliency(GradCAMMap(logit: -1, block: 2, values: [Float](repeating: 0, count: 8), size: [2, 2, 2], origin: 8, step: 16), scan: scan)
        #expect(empty.grid.values.allSatisfy { $0 == 0 } && empty.insideLungs == nil && empty.share(within: lungs) == nil)
    }
}
