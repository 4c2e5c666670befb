import Foundation
import SeededRandom

/// One synthetic chest CT: int16 Hounsfield units stored x-fastest
/// (index = x + nx·(y + ny·z)), with voxel spacing in millimetres.
///
/// Orientation: x runs across the patient from the patient's right (x = 0) to left, y from
/// anterior (y = 0) to posterior (the table is at high y), z from inferior (z = 0, upper abdomen)
/// to superior (lung apices). Displaying a slice with y as rows and x as columns gives the usual
/// radiological view. Values lie in -1024…3071; air is ≈ -1000.
public struct Phantom: Sendable {
    public let nx: Int
    public let ny: Int
    public let nz: Int
    /// Voxel size (mm) along x, y and z; x and y are equal (0.6–0.8), z is 5–8.
    public let spacing: (x: Double, y: Double, z: Double)
    /// nx·ny·nz values, x fastest.
    public var hounsfield: [Int16]
    /// Whether ground-glass opacities were added (true exactly when `lesionCount > 0`).
    public let abnormal: Bool
    /// Number of ground-glass opacities: 0 for normal scans, as many as the involvement needs otherwise.
    public let lesionCount: Int
    /// Share of the lung volume the opacities cover (estimated by sampling): 0.25–0.75 for abnormal scans.
    public let involvement: Double
}

/// Makes synthetic chest CT phantoms deterministically: the same (seed, index, abnormal) always
/// gives the same scan, and different triples give independent anatomy.
///
/// Each scan is 512×512 with 30–70 slices; anatomy (body habitus, fat, lung size and density,
/// heart, vessels, skeleton), slice spacing, texture and scanner noise (σ 10–20 HU) vary per scan.
/// Abnormal scans add ground-glass opacities (-700…-300 HU, 40–110 mm, soft irregular borders) inside the
/// lungs only, favouring peripheral, bilateral, lower-lobe sites, until they cover 25–75 % of the lung
/// volume, like MosMedData's CT-23 (CT-2: 25–50 % involved; CT-3: 50–75 %).
/// Cost (optimised build, one core): ≈ 0.1–0.2 s per scan (median ≈ 0.13 s, ≈ 3 ms per slice);
/// the result holds ≤ 37 MB and drawing needs ≈ 4 MB more. `make` is safe to call concurrently.
public struct PhantomGenerator: Sendable {
    public let seed: UInt64

    public init(seed: UInt64) {
        self.seed = seed
    }

    /// The scan number `index` of the normal (`abnormal == false`) or abnormal series.
    /// `slices` forces the number of slices (benchmarks want exactly 64); nil lets the scan choose.
    /// - Precondition: `slices`, when given, is between 1 and 1000.
    public func make(index: Int, abnormal: Bool, slices: Int? = nil) -> Phantom {
        precondition(slices.map { (1...1000).contains($0) } ?? true, "slices must be between 1 and 1000")
        var key = SeededGenerator.mix64(seed ^ 0x6A09_E667_F3BC_C909)
        key = SeededGenerator.mix64(key &+ UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15)
        key = SeededGenerator.mix64(key ^ (abnormal ? 0xA5A5_5A5A_C3C3_3C3C : 0x1234_5678_9ABC_DEF0))
        var rng = SeededGenerator(seed: key)

        let anatomy = Anatomy(rng: &rng, slices: slices)
        let vessels = anatomy.vesselTree(rng: &rng)
        let (lesions, involvement) = abnormal ? anatomy.lesions(rng: &rng) : ([], 0)
        let renderer = Renderer(anatomy: anatomy, lesions: lesions, vessels: vessels,
                                seed: SeededGenerator.mix64(key ^ 0xBB67_AE85_84CA_A73B), rng: &rng)

        let plane = anatomy.n * anatomy.n
        let total = plane * anatomy.nz
        let voxels = [Int16](unsafeUninitializedCapacity: total) { buffer, initialised in
            for k in 0..<anatomy.nz {
                renderer.render(slice: k, into: buffer.baseAddress! + k * plane)
            }
            initialised = total
        }
        return Phantom(nx: anatomy.n, ny: anatomy.n, nz: anatomy.nz,
                       spacing: (anatomy.pixel, anatomy.pixel, anatomy.sliceThickness),
                       hounsfield: voxels, abnormal: abnormal, lesionCount: lesions.count,
                       involvement: involvement)
    }
}
