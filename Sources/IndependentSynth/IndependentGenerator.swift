import Foundation
import SeededRandom
import Synth

/// A second generator of synthetic chest CTs, written apart from `Synth.PhantomGenerator` and
/// sharing none of its drawing code (it sees only Synth's public `Phantom`, `Severity` and
/// `LesionKind`). Its anatomy is implicit solids evaluated voxel by voxel (a superellipse torso,
/// superquadric lungs over domed diaphragms, an ellipsoid heart, a cylinder spine with discs, ribs
/// as a modulated band), its lung texture value noise, its vessels random walks, its noise
/// correlated along x, and its lesions clusters of Gaussian puffs. A model that learned the
/// disease rather than one generator's habits scores well on both.
///
/// Scans are `matrix`² (512 by default) with 36–80 slices of 3–9 mm; same orientation as
/// `PhantomGenerator` (x to the patient's left, y posterior, z superior).
public struct IndependentGenerator: ScanGenerator {
    public let seed: UInt64
    public let matrix: Int
    public var name: String { "independent" }

    /// - Precondition: `matrix` is between 32 and 1024.
    public init(seed: UInt64, matrix: Int = 512) {
        precondition((32...1024).contains(matrix), "matrix must be between 32 and 1024")
        (self.seed, self.matrix) = (seed, matrix)
    }

    /// Abnormal scans are CT-23: CT-2 or CT-3, evenly.
    public func make(index: Int, abnormal: Bool) -> Phantom {
        var rng = SeededGenerator(seed: key(index: index, salt: abnormal ? 23 : 0))
        let severity: Severity = abnormal ? (rng.chance(0.5) ? .ct2 : .ct3) : .ct0
        return draw(severity: severity, rng: &rng)
    }

    public func make(index: Int, severity: Severity) -> Phantom {
        var rng = SeededGenerator(seed: key(index: index, salt: 100 + UInt64(severity.rawValue)))
        return draw(severity: severity, rng: &rng)
    }

    private func key(index: Int, salt: UInt64) -> UInt64 {
        SeededGenerator.mix64(SeededGenerator.mix64(seed ^ 0x5851_F42D_4C95_7F2D) &+ UInt64(bitPattern: Int64(index)) &* 0xD1B5_4A32_D192_ED03 ^ salt)
    }

    private func draw(severity: Severity, rng: inout SeededGenerator) -> Phantom {
        let body = Body(rng: &rng, matrix: matrix)
        var volume = Volume(body: body)
        volume.fillAnatomy(rng: &rng)
        volume.drawVessels(rng: &rng)
        let (kinds, involvement) = volume.drawLesions(severity: severity, rng: &rng)
        let hounsfield = volume.finish(rng: &rng)
        return Phantom(nx: body.n, ny: body.n, nz: body.nz, spacing: (body.pixel, body.pixel, body.thickness), hounsfield: hounsfield,
                       severity: severity, lesionKinds: kinds, involvement: involvement)
    }
}
