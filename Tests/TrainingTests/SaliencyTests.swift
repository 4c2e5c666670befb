import CTDTestSupport
import Preprocess
import Testing
@testable import Training

/// The Grad-CAM map brought to the scan's grid: placement, scale, slices, share in the lungs.
@Suite struct SaliencyTests {
    @Test func theBlockMapIsPlacedScaledAndSummarised() {
        let scan = SmallScans.grid(index: 1, abnormal: false, size: 32)
        // A 2×2×2 block map (z fastest) hot only at x 1, y 0, z 1: the high-x, low-y, high-z corner.
        var map = [Float](repeating: 0, count: 8)
        map[(1 * 2 + 0) * 2 + 1] = 3
        let saliency = Saliency(blockMap: map, size: [2, 2, 2], scan: scan)
        let values = saliency.grid.values
        #expect(values.max() == 1 && values.min() == 0)
        func at(_ x: Int, _ y: Int, _ z: Int) -> Float { values[x + 32 * (y + 32 * z)] }
        #expect(at(31, 0, 31) == 1 && at(0, 31, 0) == 0 && at(31, 0, 0) < at(31, 0, 31))
        #expect(saliency.slicesByShare.first == 31 && saliency.slicesByShare.last == 0)
        // The share in the lungs is the map's mass on the lung mask.
        let lungs = LungMask.estimate(scan)
        let expected = zip(values, lungs).reduce(Float(0)) { $0 + ($1.1 ? $1.0 : 0) } / values.reduce(0, +)
        #expect(abs((saliency.insideLungs ?? -1) - Double(expected)) < 1e-6)
        // Nothing pushed towards abnormal: an empty map, no share.
        let empty = Saliency(blockMap: [Float](repeating: 0, count: 8), size: [2, 2, 2], scan: scan)
        #expect(empty.grid.values.allSatisfy { $0 == 0 } && empty.insideLungs == nil)
    }
}
