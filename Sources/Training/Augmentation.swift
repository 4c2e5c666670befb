import Dispatch
import Preprocess

/// Disjoint slices of one output buffer, handed to concurrent workers.
private struct UnsafeSendablePointer: @unchecked Sendable {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
}

/// The seed's training augmentation: rotate each (x, y) plane by an angle drawn from a fixed set
/// (cubic spline, zero fill, as `scipy.ndimage.rotate(v, angle, reshape=False)`), then clip to [0, 1].
public enum Augmentation {
    /// A volume in the network's layout ([X][Y][Z], see `ModelInput`) rotated by `degrees` in
    /// every (x, y) plane and clipped, ready to feed. Float32 spline arithmetic (see
    /// `rotatePlanesZFastest`): ~1e-6 from scipy, several times faster than the exact path.
    public static func rotatedModelInput(_ values: [Float], nx: Int, ny: Int, nz: Int, degrees: Double) -> [Float] {
        rotatePlanesZFastest(values, nx: nx, ny: ny, nz: nz, degrees: degrees)
    }

    /// A training batch: each sample rotated by its angle (0: as is) and clipped, concatenated.
    /// The samples are rotated in parallel: between training steps the cores are otherwise idle.
    public static func batch(_ samples: [[Float]], angles: [Double], nx: Int, ny: Int, nz: Int) -> [Float] {
        precondition(samples.count == angles.count, "Augmentation.batch: one angle per sample")
        let size = nx * ny * nz
        precondition(samples.allSatisfy { $0.count == size }, "Augmentation.batch: every sample must hold nx * ny * nz values")
        return [Float](unsafeUninitializedCapacity: size * samples.count) { out, initialised in
            let base = UnsafeSendablePointer(out.baseAddress!)
            DispatchQueue.concurrentPerform(iterations: samples.count) { item in
                let target = base.pointer + item * size
                if angles[item] == 0 {
                    samples[item].withUnsafeBufferPointer { target.update(from: $0.baseAddress!, count: size) }
                } else {
                    rotatePlanesZFastest(samples[item], nx: nx, ny: ny, nz: nz, degrees: angles[item], into: target)
                }
            }
            initialised = size * samples.count
        }
    }

    /// The same on a grid in the file's layout, exactly as scipy computes it (for tests and tools).
    public static func rotated(_ grid: VoxelGrid, degrees: Double) -> VoxelGrid {
        var values = rotatePlanes(grid.values, nx: grid.nx, ny: grid.ny, nz: grid.nz, degrees: degrees)
        for index in values.indices { values[index] = min(max(values[index], 0), 1) }
        return VoxelGrid(nx: grid.nx, ny: grid.ny, nz: grid.nz, values: values)
    }
}
