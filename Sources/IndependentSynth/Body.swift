import Foundation
import SeededRandom

/// One patient as implicit solids (lengths in mm; x to the patient's left, y posterior, z superior,
/// z = 0 at the inferior end of the scan).
struct Body {
    // Scan geometry.
    let n: Int
    let pixel: Double
    let nz: Int
    let thickness: Double

    // Torso: a superellipse |x/A|^e + |y/B|^e < 1 centred at (0, torsoY), widening downwards.
    let torsoA, torsoB, torsoY, torsoExponent, torsoFlare: Double
    let fat, muscle: Double

    // Lungs: superquadrics either side of the midline, over diaphragm domes, tapering to the apex.
    let lungX, lungA, lungB, lungY, lungExponent: Double
    let baseZ, apexZ: Double
    let domeHeight: (right: Double, left: Double)

    // Heart, aorta, spine, ribs, table.
    let heartX, heartY, heartZ, heartA, heartB, heartC: Double
    let aortaX, aortaY, aortaR: Double
    let spineY, spineR, discPeriod, discPhase: Double
    let ribPeriod, ribSlope, ribWidth: Double
    let tableY: Double

    // Densities (HU).
    let fatHU, muscleHU, organHU, liverHU, boneHU, cortexHU, lungHU, lungSlope, textureHU: Double
    let noise: Double

    init(rng: inout SeededGenerator, matrix: Int) {
        n = matrix
        torsoA = rng.uniform(140, 185)
        torsoB = torsoA * rng.uniform(0.62, 0.78)
        // A field of view fitted to the body, as a scanner operator would.
        pixel = (2 * torsoA * 1.12 + rng.uniform(20, 80)) / Double(matrix)
        nz = rng.integer(36, 80)
        thickness = rng.uniform(250, 330) / Double(nz)
        torsoY = rng.uniform(-15, 10)
        torsoExponent = rng.uniform(2.1, 3.0)
        torsoFlare = rng.uniform(0, 0.12)
        fat = rng.uniform(4, 32)
        muscle = rng.uniform(7, 15)

        let innerA = torsoA - fat - muscle, innerB = torsoB - fat - muscle
        lungX = innerA * rng.uniform(0.44, 0.52)
        lungA = innerA * rng.uniform(0.38, 0.45)
        lungB = innerB * rng.uniform(0.72, 0.86)
        lungY = torsoY + innerB * rng.uniform(0.02, 0.1)
        lungExponent = rng.uniform(2.2, 3.2)
        let depth = Double(nz) * thickness
        baseZ = depth * rng.uniform(0.12, 0.24)
        apexZ = depth * rng.uniform(0.86, 0.97)
        let dome = (apexZ - baseZ) * rng.uniform(0.1, 0.2)
        domeHeight = (dome * rng.uniform(1.0, 1.2), dome)

        heartX = innerA * rng.uniform(0.06, 0.18)
        heartY = torsoY - innerB * rng.uniform(0.1, 0.25)
        heartZ = baseZ + (apexZ - baseZ) * rng.uniform(0.22, 0.32)
        heartA = innerA * rng.uniform(0.28, 0.36)
        heartB = innerB * rng.uniform(0.42, 0.55)
        heartC = (apexZ - baseZ) * rng.uniform(0.2, 0.27)
        aortaR = rng.uniform(10, 14)
        spineR = rng.uniform(14, 19)
        spineY = torsoY + torsoB - fat - muscle - spineR * rng.uniform(0.6, 1.0)
        aortaX = rng.uniform(12, 22)
        aortaY = spineY - spineR - aortaR - rng.uniform(0, 6)
        discPeriod = rng.uniform(25, 31)
        discPhase = rng.uniform(0, 30)
        ribPeriod = rng.uniform(24, 32)
        ribSlope = rng.uniform(0.15, 0.35)
        ribWidth = rng.uniform(0.18, 0.28)
        tableY = torsoY + torsoB + rng.uniform(1, 6)

        fatHU = rng.uniform(-120, -80)
        muscleHU = rng.uniform(38, 60)
        organHU = rng.uniform(30, 48)
        liverHU = rng.uniform(52, 68)
        boneHU = rng.uniform(220, 420)
        cortexHU = rng.uniform(650, 1100)
        lungHU = rng.uniform(-895, -815)
        lungSlope = rng.uniform(0.1, 0.4)
        textureHU = rng.uniform(18, 40)
        noise = rng.uniform(8, 22)
    }

    /// Millimetres of a voxel's centre.
    func x(_ i: Int) -> Double { (Double(i) + 0.5 - Double(n) / 2) * pixel }
    func y(_ j: Int) -> Double { (Double(j) + 0.5 - Double(n) / 2) * pixel }
    func z(_ k: Int) -> Double { (Double(k) + 0.5) * thickness }

    /// The torso's half-widths at height z (wider towards the abdomen).
    func torso(at z: Double) -> (a: Double, b: Double) {
        let below = max(0, 1 - z / (apexZ + 1))
        return (torsoA * (1 + torsoFlare * below), torsoB * (1 + 0.5 * torsoFlare * below))
    }

    /// How far the lung reaches across at height z, as a share of its half-widths (0 outside it):
    /// a rounded apex above, full width below; the diaphragm is handled per point (`domeZ`).
    func lungScale(at z: Double) -> Double {
        guard z < apexZ else { return 0 }
        let top = baseZ + 0.55 * (apexZ - baseZ)
        guard z > top else { return 1 }
        let t = (z - top) / (apexZ - top)
        return (1 - t * t).squareRoot()
    }

    /// The diaphragm's height under a point of one lung (side −1 right, +1 left): a dome, highest
    /// at the lung's centre.
    func domeZ(x: Double, y: Double, side: Double) -> Double {
        let u = (x - side * lungX) / lungA, v = (y - lungY) / lungB
        let height = side < 0 ? domeHeight.right : domeHeight.left
        return baseZ + height * max(0, 1 - u * u - v * v)
    }
}
