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
    /// Whether lesions were added (true exactly when `severity > .ct0`).
    public var abnormal: Bool { severity > .ct0 }
    public let severity: Severity
    /// The lesions drawn, by kind: none for normal scans, as many as the involvement needs otherwise
    /// (also when the scan was drawn `withoutLesions`, which leaves them out of the picture only).
    public let lesionKinds: [LesionKind]
    public var lesionCount: Int { lesionKinds.count }
    /// Share of the lung volume the lesions cover (estimated by sampling), within the severity's range.
    public let involvement: Double
    /// Where the lesions are drawn at half their density or more (nx·ny·nz flags, x fastest), when
    /// the generator was asked for it: the ground truth a saliency map is checked against.
    public let lesionMask: [Bool]?

    /// - Precondition: `lesionMask`, when given, has as many flags as `hounsfield` has values.
    public init(nx: Int, ny: Int, nz: Int, spacing: (x: Double, y: Double, z: Double), hounsfield: [Int16],
                severity: Severity, lesionKinds: [LesionKind], involvement: Double, lesionMask: [Bool]? = nil) {
        precondition(hounsfield.count == nx * ny * nz, "hounsfield holds nx·ny·nz values")
        precondition(lesionMask.map { $0.count == hounsfield.count } ?? true, "lesionMask holds nx·ny·nz flags")
        (self.nx, self.ny, self.nz, self.spacing, self.hounsfield) = (nx, ny, nz, spacing, hounsfield)
        (self.severity, self.lesionKinds, self.involvement, self.lesionMask) = (severity, lesionKinds, involvement, lesionMask)
    }
}

/// Something that draws synthetic chest CTs: `PhantomGenerator` here, and independent ones
/// elsewhere (so that a model can be checked on scans it was not trained to recognise).
public protocol ScanGenerator: Sendable {
    /// A short name for reports, e.g. "ctd synth".
    var name: String { get }
    /// The scan number `index` of a severity's series; the same arguments give the same scan.
    func make(index: Int, severity: Severity) -> Phantom
    /// The scan number `index` of the normal or the abnormal (CT-23: CT-2 or CT-3) series.
    func make(index: Int, abnormal: Bool) -> Phantom
}

/// Makes synthetic chest CT phantoms deterministically: the same (seed, index, abnormal) always
/// gives the same scan, and different triples give independent anatomy.
///
/// Each scan is 512×512 with 30–70 slices; anatomy (body habitus, fat, lung size and density,
/// heart, vessels, skeleton), slice spacing, texture and scanner noise (σ 10–20 HU) vary per scan.
/// Abnormal scans add lesions inside the lungs only (`Severity`: ground glass, -700…-300 HU;
/// consolidation, -150…+30 HU, hiding the vessels; crazy paving, ground glass with septal lines;
/// 10–45 mm at CT-1, 40–130 mm patches beyond, soft irregular borders), favouring peripheral,
/// bilateral, lower-lobe sites, until they cover the severity's share of the lung volume. Nothing
/// else depends on the severity: body, anatomy, spacing, slice count, texture and noise are drawn
/// from the same distributions for every class.
/// Cost (optimised build, one core): ≈ 0.1–0.2 s per scan (median ≈ 0.13 s, ≈ 3 ms per slice);
/// the result holds ≤ 37 MB and drawing needs ≈ 4 MB more. `make` is safe to call concurrently.
public struct PhantomGenerator: ScanGenerator {
    public var name: String { "ctd synth" }
    public let seed: UInt64
    /// Pixels across a slice: 512 as on a scanner; less (the same anatomy in coarser pixels) for
    /// tests that need hundreds of scans.
    public let matrix: Int

    /// - Precondition: `matrix` is between 32 and 1024.
    public init(seed: UInt64, matrix: Int = 512) {
        precondition((32...1024).contains(matrix), "matrix must be between 32 and 1024")
        (self.seed, self.matrix) = (seed, matrix)
    }

    /// The scan number `index` of the normal (`abnormal == false`) or abnormal series; abnormal
    /// scans are CT-23 as in the seed: CT-2 three times in four, else CT-3.
    /// `slices` forces the number of slices (benchmarks want exactly 64); nil lets the scan choose.
    /// - Precondition: `slices`, when given, is between 1 and 1000.
    public func make(index: Int, abnormal: Bool) -> Phantom { make(index: index, abnormal: abnormal, slices: nil) }

    public func make(index: Int, severity: Severity) -> Phantom { make(index: index, severity: severity, slices: nil) }

    public func make(index: Int, abnormal: Bool, slices: Int?, withoutLesions: Bool = false, withLesionMask: Bool = false) -> Phantom {
        make(key: key(index: index, abnormal: abnormal, salt: 0), severity: abnormal ? nil : .ct0, slices: slices, withoutLesions: withoutLesions,
             withLesionMask: withLesionMask)
    }

    /// The scan number `index` of a severity's series (each severity's series is its own; CT-0 is
    /// the normal series). `withoutLesions` draws the same scan, lesions left out of the picture:
    /// for checking that nothing but the lesions tells the classes apart. `withLesionMask` also
    /// records where the lesions are (`Phantom.lesionMask`); the scan itself is the same.
    public func make(index: Int, severity: Severity, slices: Int?, withoutLesions: Bool = false, withLesionMask: Bool = false) -> Phantom {
        make(key: key(index: index, abnormal: severity > .ct0, salt: UInt64(severity.rawValue)), severity: severity, slices: slices,
             withoutLesions: withoutLesions, withLesionMask: withLesionMask)
    }

    private func key(index: Int, abnormal: Bool, salt: UInt64) -> UInt64 {
        var key = SeededGenerator.mix64(seed ^ 0x6A09_E667_F3BC_C909)
        key = SeededGenerator.mix64(key &+ UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15)
        key = SeededGenerator.mix64(key ^ (abnormal ? 0xA5A5_5A5A_C3C3_3C3C : 0x1234_5678_9ABC_DEF0))
        return salt == 0 ? key : SeededGenerator.mix64(key ^ salt &* 0x3C6E_F372_FE94_F82B)
    }

    /// - Parameter severity: nil draws CT-2 or CT-3 (3 : 1), as MosMedData's CT-23 holds them.
    private func make(key: UInt64, severity: Severity?, slices: Int?, withoutLesions: Bool, withLesionMask: Bool) -> Phantom {
        precondition(slices.map { (1...1000).contains($0) } ?? true, "slices must be between 1 and 1000")
        var rng = SeededGenerator(seed: key)

        let anatomy = Anatomy(rng: &rng, slices: slices, matrix: matrix)
        let vessels = anatomy.vesselTree(rng: &rng)
        let severity = severity ?? (rng.chance(0.75) ? .ct2 : .ct3)
        let (lesions, involvement) = anatomy.lesions(severity: severity, rng: &rng)
        let renderer = Renderer(anatomy: anatomy, lesions: withoutLesions ? [] : lesions, vessels: vessels,
                                seed: SeededGenerator.mix64(key ^ 0xBB67_AE85_84CA_A73B), rng: &rng)

        let plane = anatomy.n * anatomy.n
        let total = plane * anatomy.nz
        var mask = withLesionMask ? [Bool](repeating: false, count: total) : nil
        let voxels = [Int16](unsafeUninitializedCapacity: total) { buffer, initialised in
            for k in 0..<anatomy.nz {
                if mask != nil {
                    mask!.withUnsafeMutableBufferPointer { renderer.render(slice: k, into: buffer.baseAddress! + k * plane, lesionMask: $0.baseAddress! + k * plane) }
                } else {
                    renderer.render(slice: k, into: buffer.baseAddress! + k * plane)
                }
            }
            initialised = total
        }
        return Phantom(nx: anatomy.n, ny: anatomy.n, nz: anatomy.nz,
                       spacing: (anatomy.pixel, anatomy.pixel, anatomy.sliceThickness),
                       hounsfield: voxels, severity: severity, lesionKinds: lesions.map(\.kind),
                       involvement: involvement, lesionMask: mask)
    }
}
