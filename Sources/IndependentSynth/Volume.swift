import Foundation
import SeededRandom
import Synth

/// What fills a voxel, for the later passes (vessels and lesions go into lung only).
/// (`heart` also stands for the aorta: mediastinal blood; `vessel` is a lung vessel.)
enum Tissue: UInt8 { case air, fat, muscle, organ, liver, lung, heart, bone, vessel, table }

/// The scan being drawn: Hounsfield values as Float and a tissue per voxel, x fastest.
struct Volume {
    let body: Body
    var values: [Float]
    var tissue: [Tissue]
    /// Salt for this scan's value noise.
    private var noiseSalt: UInt64 = 0

    init(body: Body) {
        self.body = body
        let count = body.n * body.n * body.nz
        values = [Float](repeating: -1000, count: count)
        tissue = [Tissue](repeating: .air, count: count)
    }

    func index(_ i: Int, _ j: Int, _ k: Int) -> Int { i + body.n * (j + body.n * k) }

    // MARK: Anatomy

    mutating func fillAnatomy(rng: inout SeededGenerator) {
        noiseSalt = rng.next()
        let b = body, n = b.n
        let xs = (0..<n).map(b.x), ys = (0..<n).map(b.y)
        for k in 0..<b.nz {
            let z = b.z(k)
            let (a, bb) = b.torso(at: z)
            let e = b.torsoExponent
            func powers(_ values: [Double], _ centre: Double, _ half: Double, _ exponent: Double) -> [Double] {
                values.map { half > 0 ? pow(abs(($0 - centre) / half), exponent) : .infinity }
            }
            let outerX = powers(xs, 0, a, e), outerY = powers(ys, b.torsoY, bb, e)
            let fatX = powers(xs, 0, a - b.fat, e), fatY = powers(ys, b.torsoY, bb - b.fat, e)
            let cavityX = powers(xs, 0, a - b.fat - b.muscle, e), cavityY = powers(ys, b.torsoY, bb - b.fat - b.muscle, e)
            let scale = b.lungScale(at: z)
            let lungRightX = powers(xs, -b.lungX, b.lungA * scale, b.lungExponent)
            let lungLeftX = powers(xs, b.lungX, b.lungA * scale, b.lungExponent)
            let lungY = powers(ys, b.lungY, b.lungB * scale, b.lungExponent)
            let heartDz = (z - b.heartZ) / b.heartC
            let heartScale = abs(heartDz) < 1 ? (1 - heartDz * heartDz).squareRoot() : 0
            let disc = (z + b.discPhase).truncatingRemainder(dividingBy: b.discPeriod) < 6
            let ribsHere = z > b.baseZ - 25 && z < b.apexZ + 10
            for j in 0..<n {
                let y = ys[j]
                for i in 0..<n {
                    let x = xs[i], p = index(i, j, k)
                    if y > b.tableY && y < b.tableY + 30 && abs(x) < 210 {
                        let shell = y < b.tableY + 2.5 || y > b.tableY + 27.5
                        (values[p], tissue[p]) = (shell ? 220 : -850, .table)
                        continue
                    }
                    guard outerX[i] + outerY[j] < 1 else { continue }
                    guard fatX[i] + fatY[j] < 1 else { (values[p], tissue[p]) = (Float(b.fatHU), .fat); continue }
                    guard cavityX[i] + cavityY[j] < 1 else {
                        let angle = atan2(y - b.torsoY, x) * (a + bb) / 2
                        let rib = ribsHere && sin(2 * Double.pi * (z + b.ribSlope * abs(angle)) / b.ribPeriod) > 1 - 2 * b.ribWidth
                        (values[p], tissue[p]) = rib ? (Float(b.cortexHU), .bone) : (Float(b.muscleHU), .muscle)
                        continue
                    }
                    let spine = (x * x + (y - b.spineY) * (y - b.spineY)).squareRoot()
                    if spine < b.spineR {
                        (values[p], tissue[p]) = disc ? (90, .organ) : (Float(spine > b.spineR - 2 ? b.cortexHU : b.boneHU), .bone)
                        continue
                    }
                    if (x - b.aortaX) * (x - b.aortaX) + (y - b.aortaY) * (y - b.aortaY) < b.aortaR * b.aortaR {
                        (values[p], tissue[p]) = (Float(b.organHU + 5), .heart)  // mediastinal blood, not a lung vessel
                        continue
                    }
                    if heartScale > 0 {
                        let u = (x - b.heartX) / (b.heartA * heartScale), v = (y - b.heartY) / (b.heartB * heartScale)
                        if u * u + v * v < 1 { (values[p], tissue[p]) = (Float(b.organHU), .heart); continue }
                    }
                    let side: Double? = lungRightX[i] + lungY[j] < 1 ? -1 : lungLeftX[i] + lungY[j] < 1 ? 1 : nil
                    if let side, z > b.domeZ(x: x, y: y, side: side) {
                        let texture = valueNoise(x, y, z, cell: 7) * 0.7 + valueNoise(x, y, z, cell: 2.8) * 0.3
                        values[p] = Float(b.lungHU + b.lungSlope * (y - b.lungY) + b.textureHU * texture)
                        tissue[p] = .lung
                        continue
                    }
                    // Below the diaphragm: the liver on the right, other organs on the left.
                    let abdomen = z < b.domeZ(x: x, y: y, side: x < 0 ? -1 : 1) + 15
                    (values[p], tissue[p]) = abdomen && x < 10 ? (Float(b.liverHU), .liver) : (Float(b.organHU), .organ)
                }
            }
        }
    }

    /// Smooth noise in −1…1 with features about `cell` mm across: random values on a lattice,
    /// blended with smoothstep weights.
    func valueNoise(_ x: Double, _ y: Double, _ z: Double, cell: Double, salt: UInt64 = 0) -> Double {
        let fx = x / cell, fy = y / cell, fz = z / cell
        let ix = Int(fx.rounded(.down)), iy = Int(fy.rounded(.down)), iz = Int(fz.rounded(.down))
        func smooth(_ t: Double) -> Double { t * t * (3 - 2 * t) }
        let tx = smooth(fx - Double(ix)), ty = smooth(fy - Double(iy)), tz = smooth(fz - Double(iz))
        func lattice(_ a: Int, _ b: Int, _ c: Int) -> Double {
            let h = SeededGenerator.mix64(UInt64(bitPattern: Int64(a)) &* 0x9E37_79B9_7F4A_7C15
                                          ^ UInt64(bitPattern: Int64(b)) &* 0xC2B2_AE3D_27D4_EB4F
                                          ^ UInt64(bitPattern: Int64(c)) &* 0x1656_67B1_9E37_79F9 ^ noiseSalt ^ salt)
            return Double(h >> 11) * 0x1.0p-52 - 1
        }
        var sum = 0.0
        for (dz, wz) in [(0, 1 - tz), (1, tz)] {
            for (dy, wy) in [(0, 1 - ty), (1, ty)] {
                sum += wz * wy * ((1 - tx) * lattice(ix, iy + dy, iz + dz) + tx * lattice(ix + 1, iy + dy, iz + dz))
            }
        }
        return sum
    }

    // MARK: Vessels

    /// Random walks out of each hilum (30–42 a side), thinning as they go, drawn into the lungs only.
    mutating func drawVessels(rng: inout SeededGenerator) {
        let b = body
        for side in [-1.0, 1.0] {
            let hilum = SIMD3(side * b.lungX * 0.45, b.lungY - b.lungB * 0.1, b.baseZ + 0.55 * (b.apexZ - b.baseZ))
            for _ in 0..<rng.integer(30, 42) {
                var point = hilum
                var direction = normalised(SIMD3(side * rng.uniform(0.3, 1), rng.uniform(-1, 1), rng.uniform(-0.9, 0.9)))
                var radius = rng.uniform(3.5, 5)
                for _ in 0..<rng.integer(14, 22) {
                    let next = point + direction * rng.uniform(7, 11)
                    guard let end = voxel(next), tissue[end] == .lung || tissue[end] == .vessel else { break }
                    drawTube(from: point, to: next, radius: radius)
                    point = next
                    radius = max(0.7, radius * 0.88)
                    direction = normalised(direction + SIMD3(rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()) * 0.35)
                }
            }
        }
    }

    private func voxel(_ p: SIMD3<Double>) -> Int? {
        let b = body
        let i = Int((p.x / b.pixel + Double(b.n) / 2).rounded(.down)), j = Int((p.y / b.pixel + Double(b.n) / 2).rounded(.down))
        let k = Int((p.z / b.thickness).rounded(.down))
        guard (0..<b.n).contains(i), (0..<b.n).contains(j), (0..<b.nz).contains(k) else { return nil }
        return index(i, j, k)
    }

    /// A cylinder of blood through the lung voxels it crosses, with the partial volume a thick slice gives.
    private mutating func drawTube(from a: SIMD3<Double>, to c: SIMD3<Double>, radius: Double) {
        let b = body
        let blood = Float(b.organHU + 5)
        let fill = min(1, 0.15 + 1.6 * radius / b.thickness)
        let reach = radius + b.pixel
        let (i0, i1) = range(min(a.x, c.x) - reach, max(a.x, c.x) + reach, scale: b.pixel, offset: Double(b.n) / 2, count: b.n)
        let (j0, j1) = range(min(a.y, c.y) - reach, max(a.y, c.y) + reach, scale: b.pixel, offset: Double(b.n) / 2, count: b.n)
        let (k0, k1) = range(min(a.z, c.z) - reach - b.thickness, max(a.z, c.z) + reach + b.thickness, scale: b.thickness, offset: 0, count: b.nz)
        guard i0 <= i1, j0 <= j1, k0 <= k1 else { return }
        let d = c - a, length2 = max(1e-9, (d * d).sum())
        for k in k0...k1 {
            let z = b.z(k)
            for j in j0...j1 {
                for i in i0...i1 {
                    let p = index(i, j, k)
                    guard tissue[p] == .lung || tissue[p] == .vessel else { continue }
                    let q = SIMD3(b.x(i), b.y(j), z)
                    let t = min(1, max(0, ((q - a) * d).sum() / length2))
                    let closest = a + d * t
                    let dz = max(0, abs(closest.z - z) - b.thickness / 2)
                    let dxy = ((q.x - closest.x) * (q.x - closest.x) + (q.y - closest.y) * (q.y - closest.y)).squareRoot()
                    let distance = (dxy * dxy + dz * dz).squareRoot()
                    let w = Float(min(1, max(0, (radius - distance) / b.pixel + 0.5)) * fill)
                    guard w > 0 else { continue }
                    let value = values[p] + (blood - values[p]) * w
                    if value > values[p] { values[p] = value }
                    if w > 0.5 { tissue[p] = .vessel }
                }
            }
        }
    }

    /// The voxel indices whose centres lie in lo…hi (mm), clamped to the grid.
    private func range(_ lo: Double, _ hi: Double, scale: Double, offset: Double, count: Int) -> (Int, Int) {
        (max(0, Int((lo / scale + offset).rounded(.up))), min(count - 1, Int((hi / scale + offset).rounded(.down))))
    }

    // MARK: Lesions

    /// A lesion: a cluster of Gaussian puffs, inside where their summed density passes 0.5.
    struct Lesion {
        let kind: LesionKind
        let hu: Double
        let puffs: [(centre: SIMD3<Double>, sigma: Double)]
        let septa: Double

        func density(_ p: SIMD3<Double>) -> Double {
            puffs.reduce(0) { sum, puff in
                let d = p - puff.centre
                return sum + exp(-(d * d).sum() / (2 * puff.sigma * puff.sigma))
            }
        }
    }

    /// Lesions added until they cover a share of the lungs drawn from the severity's range.
    mutating func drawLesions(severity: Severity, rng: inout SeededGenerator) -> (kinds: [LesionKind], involvement: Double) {
        guard severity > .ct0 else { return ([], 0) }
        let b = body
        // Sizes and kinds are this generator's own; the shares are the scale's.
        let (size, mix): (ClosedRange<Double>, (consolidation: Double, crazyPaving: Double)) = switch severity {
        case .ct0, .ct1: (6...20, (0.05, 0.15))
        case .ct2: (18...45, (0.2, 0.25))
        case .ct3: (18...45, (0.3, 0.25))
        case .ct4: (25...55, (0.45, 0.25))
        }
        let share = severity.involvement
        let target = rng.uniform(share.lowerBound, share.upperBound)
        // Lung voxels on a coarse lattice: where lesions go, and how much of the lungs they cover.
        var samples: [SIMD3<Double>] = []
        for k in 0..<b.nz { for j in stride(from: 0, to: b.n, by: 3) { for i in stride(from: 0, to: b.n, by: 3) where [.lung, .vessel].contains(tissue[index(i, j, k)]) {
            samples.append(SIMD3(b.x(i), b.y(j), b.z(k)))
        } } }
        guard !samples.isEmpty else { return ([], 0) }
        var covered = [Bool](repeating: false, count: samples.count), coveredCount = 0
        var lesions: [Lesion] = []
        var attempts = 0
        let (maxLesions, maxAttempts) = severity == .ct4 ? (90, 220) : (60, 150)
        while Double(coveredCount) < target * Double(samples.count) && lesions.count < maxLesions && attempts < maxAttempts {
            attempts += 1
            // The periphery and the lower lobes first: the best of a few candidates, most of the time.
            var centre = samples[rng.integer(0, samples.count - 1)]
            if rng.chance(0.7) {
                for _ in 0..<12 {
                    let candidate = samples[rng.integer(0, samples.count - 1)]
                    func score(_ p: SIMD3<Double>) -> Double { abs(p.x) / b.lungA + 0.5 * (p.y - b.lungY) / b.lungB - 0.8 * (p.z - b.baseZ) / (b.apexZ - b.baseZ) }
                    if score(candidate) > score(centre) { centre = candidate }
                }
            }
            let pick = rng.nextUnit()
            let kind: LesionKind = pick < mix.consolidation ? .consolidation : pick < mix.consolidation + mix.crazyPaving ? .crazyPaving : .groundGlass
            let radius = rng.uniform(size.lowerBound, size.upperBound)
            let puffs = (0..<rng.integer(3, 10)).map { _ in
                (centre: centre + SIMD3(rng.nextGaussian(), rng.nextGaussian(), 0.8 * rng.nextGaussian()) * radius * 0.5,
                 sigma: radius * rng.uniform(0.3, 0.6))
            }
            let lesion = Lesion(kind: kind, hu: kind == .consolidation ? rng.uniform(-90, 45) : rng.uniform(-680, -320), puffs: puffs,
                                septa: rng.uniform(6, 10))
            lesions.append(lesion)
            for (s, point) in samples.enumerated() where !covered[s] && lesion.density(point) >= 0.5 {
                covered[s] = true
                coveredCount += 1
            }
        }
        for (number, lesion) in lesions.enumerated() { draw(lesion, salt: UInt64(number + 1)) }
        return (lesions.map(\.kind), Double(coveredCount) / Double(samples.count))
    }

    private mutating func draw(_ lesion: Lesion, salt: UInt64) {
        let b = body
        let lo = lesion.puffs.reduce(SIMD3(repeating: Double.infinity)) { pointwiseMin($0, $1.centre - 2.5 * $1.sigma) }
        let hi = lesion.puffs.reduce(SIMD3(repeating: -Double.infinity)) { pointwiseMax($0, $1.centre + 2.5 * $1.sigma) }
        let (i0, i1) = range(lo.x, hi.x, scale: b.pixel, offset: Double(b.n) / 2, count: b.n)
        let (j0, j1) = range(lo.y, hi.y, scale: b.pixel, offset: Double(b.n) / 2, count: b.n)
        let (k0, k1) = range(lo.z, hi.z, scale: b.thickness, offset: 0, count: b.nz)
        guard i0 <= i1, j0 <= j1, k0 <= k1 else { return }
        for k in k0...k1 {
            let z = b.z(k)
            for j in j0...j1 {
                for i in i0...i1 {
                    let p = index(i, j, k)
                    guard tissue[p] == .lung || (lesion.kind == .consolidation && tissue[p] == .vessel) else { continue }
                    let q = SIMD3(b.x(i), b.y(j), z)
                    let density = lesion.density(q)
                    guard density > 0.25 else { continue }
                    let t = min(1, (density - 0.25) / 0.5)
                    var w = t * t * (3 - 2 * t) * (1 + 0.2 * valueNoise(q.x, q.y, q.z, cell: 4, salt: salt))
                    var hu = lesion.hu
                    if lesion.kind == .crazyPaving {
                        // Thickened septa: a grid of thin lines over the ground glass.
                        let line = min(abs(sin(Double.pi * q.x / lesion.septa)), abs(sin(Double.pi * q.y / lesion.septa)))
                        if line < 0.12 { hu += 220 * (1 - line / 0.12) }
                    }
                    w = min(1, max(0, w))
                    let value = values[p] + (Float(hu) - values[p]) * Float(w)
                    if value > values[p] { values[p] = value }
                }
            }
        }
    }

    // MARK: Noise

    /// Scanner noise (correlated along x, as a reconstruction kernel leaves it) and int16 HU.
    func finish(rng: inout SeededGenerator) -> [Int16] {
        let n = body.n, sigma = Float(body.noise) / 0.6124  // 0.25² + 0.5² + 0.25² = 0.375 = 0.6124²
        var out = [Int16](repeating: 0, count: values.count)
        var white = [Float](repeating: 0, count: n + 2)
        for row in 0..<(values.count / n) {
            for i in white.indices { white[i] = rng.fastGaussian() }
            let base = row * n
            for i in 0..<n {
                let noise = 0.25 * white[i] + 0.5 * white[i + 1] + 0.25 * white[i + 2]
                out[base + i] = Int16(min(max((values[base + i] + sigma * noise).rounded(), -1024), 3071))
            }
        }
        return out
    }
}

private func normalised(_ v: SIMD3<Double>) -> SIMD3<Double> {
    let length = (v * v).sum().squareRoot()
    return length > 0 ? v / length : SIMD3(1, 0, 0)
}
