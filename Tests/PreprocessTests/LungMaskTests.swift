import CTDTestSupport
import Preprocess
import Testing

/// The rough lung mask: the dark region inside the body, lesions included, the air around it not.
@Suite struct LungMaskTests {
    @Test func theLungIsTheDarkRegionInsideTheBody() {
        let size = 48
        var grid = SmallScans.grid(index: 3, abnormal: true, size: size)
        // Air around the body: the outer 3 voxels of every slice.
        for z in 0..<size { for y in 0..<size { for x in 0..<size where min(x, y, size - 1 - x, size - 1 - y) < 3 {
            grid.values[x + size * (y + size * z)] = 0
        } } }
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
