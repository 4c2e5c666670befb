import Foundation
import SeededRandom

/// A straight piece of pulmonary vessel (mm, scan coordinates).
struct VesselSegment {
    var a: SIMD3<Double>
    var b: SIMD3<Double>
    var r: Double
}

/// What a lesion looks like on CT.
public enum LesionKind: String, Sendable, CaseIterable {
    /// Hazy: -700…-300 HU, the vessels inside stay visible.
    case groundGlass = "ground-glass"
    /// Solid: -150…+30 HU, the vessels inside disappear.
    case consolidation
    /// Ground glass crossed by a network of thickened septa.
    case crazyPaving = "crazy paving"
}

/// A lesion: a rotated ellipsoid with an irregular, soft border.
struct Lesion {
    var kind: LesionKind
    var x: Double, y: Double, z: Double
    var a: Double, b: Double, c: Double
    var cosA: Double, sinA: Double
    /// Target density (HU) at the centre.
    var hu: Double
    /// Relative border irregularity driven by the texture field.
    var irregular: Double
}

@inline(__always)
private func normalized(_ v: SIMD3<Double>) -> SIMD3<Double> {
    v / (v * v).sum().squareRoot()
}

extension Anatomy {
    /// Two branching vessel trees, one per lung, rooted at the hila: 14–18 trunks per side aimed at
    /// random points of the lung (so the whole lung is supplied), each splitting in two six times
    /// with radius ×0.75 per generation (≈3.6 mm → ≈0.6 mm); vessels are densest near the hilum.
    func vesselTree(rng: inout SeededGenerator) -> [VesselSegment] {
        var segments: [VesselSegment] = []
        segments.reserveCapacity(13_000)
        let zh = z(uCarina - rng.uniform(0.1, 0.18))
        let sec = section(z: zh)
        let cav = sec.cavity
        let mid = cav.cy + (cav.bPost - cav.bAnt) / 2
        for side in 0..<2 {
            let s: Double = side == 0 ? -1 : 1
            let hilum = SIMD3(sec.midX + s * (sec.midHalf + rng.uniform(4, 12)), mid + rng.uniform(-6, 8), zh)
            var stack: [(p: SIMD3<Double>, d: SIMD3<Double>, len: Double, r: Double, gen: Int)] = []
            for _ in 0..<rng.integer(14, 18) {
                var target: SIMD3<Double>? = nil
                for _ in 0..<80 {
                    let zz = z(rng.uniform(0.0, 0.95))
                    let ts = section(z: zz)
                    guard let env = ts.envelope[side] else { continue }
                    let x = rng.uniform(env.xMin, env.xMax), y = rng.uniform(env.yMin, env.yMax)
                    if ts.lungSide(x, y) == side { target = SIMD3(x, y, zz); break }
                }
                guard let t = target else { continue }
                let v = t - hilum
                let dist = (v * v).sum().squareRoot()
                guard dist > 1 else { continue }
                stack.append((hilum, v / dist, max(12, dist / 2.4), rng.uniform(3.0, 4.3), 0))
            }
            while let t = stack.popLast() {
                let end = t.p + t.d * t.len
                // Three pieces with a slight random bend, so long vessels are not ruler-straight.
                var from = t.p
                for piece in 1...3 {
                    var to = t.p + t.d * (t.len * Double(piece) / 3)
                    if piece < 3 {
                        to += SIMD3(rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()) * (0.06 * t.len)
                    }
                    segments.append(VesselSegment(a: from, b: to, r: t.r))
                    from = to
                }
                guard t.gen < 6 else { continue }
                for _ in 0..<2 {
                    let jitter = SIMD3(rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()) * 0.5
                    let d = normalized(t.d + jitter)
                    stack.append((end, d, t.len * rng.uniform(0.68, 0.88), t.r * 0.75, t.gen + 1))
                }
            }
        }
        return segments
    }

    /// Lesions placed inside the lungs, favouring the lower lobes, the periphery and both sides,
    /// added until they cover a share of the lung volume drawn from the severity's range.
    /// Returns the lesions and the share of the lung volume they cover.
    func lesions(severity: Severity, rng: inout SeededGenerator) -> (lesions: [Lesion], involvement: Double) {
        guard severity > .ct0 else { return ([], 0) }
        let target = rng.uniform(severity.involvement.lowerBound, severity.involvement.upperBound)
        let (maxCount, maxAttempts) = severity == .ct4 ? (70, 160) : (40, 80)
        let lung = lungSamples(count: 3000, rng: &rng)
        var covered = [Bool](repeating: false, count: lung.count)
        var coveredWeight = 0.0
        let totalWeight = lung.reduce(0) { $0 + $1.weight }
        let baseHU = rng.uniform(-570, -370)
        var result: [Lesion] = []
        var side = rng.chance(0.55) ? 0 : 1
        var attempt = 0
        while coveredWeight < target * totalWeight && result.count < maxCount && attempt < maxAttempts {
            attempt += 1
            if attempt > 1 && rng.chance(0.6) { side = 1 - side }
            let peripheral = rng.chance(0.75)
            let sizes = severity.diameter
            let diameter = sizes.lowerBound + (sizes.upperBound - sizes.lowerBound) * pow(rng.nextUnit(), 1.2)
            var best: (x: Double, y: Double, z: Double, score: Double)? = nil
            for _ in 0..<400 {
                let u = 0.04 + 0.8 * pow(rng.nextUnit(), 1.5)
                let zz = z(u)
                let sec = section(z: zz)
                guard let env = sec.envelope[side] else { continue }
                let x = rng.uniform(env.xMin, env.xMax), y = rng.uniform(env.yMin, env.yMax)
                let q = diameter * 0.25
                guard sec.lungSide(x, y) == side,
                      [(q, 0.0), (-q, 0.0), (0.0, q), (0.0, -q)].filter({ sec.lungSide(x + $0.0, y + $0.1) == side }).count >= 3
                else { continue }
                // Peripheral: as far from the hilum (medial, mid-depth) as possible among candidates.
                let score = peripheral ? abs(x - sec.midX) + 0.6 * abs(y - env.cy) : rng.nextUnit()
                if best == nil || score > best!.score { best = (x, y, zz, score) }
                if best != nil && rng.chance(0.12) { break }
            }
            guard let c = best else { continue }
            let angle = rng.uniform(0, Double.pi)
            let radius = diameter / 2
            let mix = severity.lesionMix, pick = rng.nextUnit()
            let kind: LesionKind = pick < mix.groundGlass ? .groundGlass : pick < mix.groundGlass + mix.crazyPaving ? .crazyPaving : .consolidation
            let hu = kind == .consolidation ? rng.uniform(-150, 30) : min(max(baseHU + rng.uniform(-80, 80), -700), -300)
            let lesion = Lesion(kind: kind, x: c.x, y: c.y, z: c.z,
                                a: radius * rng.uniform(0.9, 1.1), b: radius * rng.uniform(0.7, 1.0),
                                c: max(radius * rng.uniform(0.8, 1.3), 1.5 * sliceThickness),
                                cosA: cos(angle), sinA: sin(angle),
                                hu: hu,
                                irregular: rng.uniform(0.08, 0.2))
            result.append(lesion)
            for (i, point) in lung.enumerated() where !covered[i] && lesion.covers(point.position) {
                covered[i] = true
                coveredWeight += point.weight
            }
        }
        return (result, totalWeight > 0 ? coveredWeight / totalWeight : 0)
    }

    /// Random points of the lungs, each weighted by the area it was drawn from, so that weighted
    /// counts estimate shares of the lung volume.
    private func lungSamples(count: Int, rng: inout SeededGenerator) -> [(position: SIMD3<Double>, weight: Double)] {
        var points: [(position: SIMD3<Double>, weight: Double)] = []
        for _ in 0..<count {
            let zz = rng.uniform(0, depth)
            let side = rng.chance(0.5) ? 0 : 1
            let sec = section(z: zz)
            guard let env = sec.envelope[side] else { continue }
            let x = rng.uniform(env.xMin, env.xMax), y = rng.uniform(env.yMin, env.yMax)
            guard sec.lungSide(x, y) == side else { continue }
            points.append((SIMD3(x, y, zz), (env.xMax - env.xMin) * (env.yMax - env.yMin)))
        }
        return points
    }
}

extension Lesion {
    /// Whether the point lies where the lesion is drawn at more than half its density
    /// (border irregularity left out).
    func covers(_ p: SIMD3<Double>) -> Bool {
        let dx = p.x - x, dy = p.y - y, dz = (p.z - z) / c
        let u = (dx * cosA + dy * sinA) / a
        let v = (-dx * sinA + dy * cosA) / b
        return u * u + v * v + dz * dz < 0.91 * 0.91
    }
}

extension Canvas {
    /// Draws the vessels crossing the slab [zc − h, zc + h] onto lung pixels, with the partial-volume
    /// dimming a thick slice gives small in-plane vessels.
    func drawVessels(_ vessels: [VesselSegment], zc: Double, h: Double, lungHU: Double, bloodHU: Double) {
        let thick = 2 * h
        for v in vessels {
            let zlo = min(v.a.z, v.b.z) - v.r, zhi = max(v.a.z, v.b.z) + v.r
            guard zhi >= zc - h, zlo <= zc + h else { continue }
            let d = v.b - v.a
            var t0 = 0.0, t1 = 1.0
            if abs(d.z) > 1e-6 {
                let ta = (zc - h - v.r - v.a.z) / d.z, tb = (zc + h + v.r - v.a.z) / d.z
                t0 = max(0, min(ta, tb)); t1 = min(1, max(ta, tb))
                guard t0 <= t1 else { continue }
            }
            let p0 = v.a + d * t0, p1 = v.a + d * t1
            let len = (d * d).sum().squareRoot()
            let sinAlpha = len > 0 ? (d.x * d.x + d.y * d.y).squareRoot() / len : 0
            let fill = min(1, 0.1 + 1.8 * v.r / (thick * max(sinAlpha, 0.05)))
            let peak = Float(lungHU + (bloodHU - lungHU) * fill)
            let r = v.r, px = sx
            let val = value, lab = label
            forEachNearSegment(p0.x, p0.y, p1.x, p1.y, reach: r + 0.5 * px) { p, dist in
                let l = lab[p]
                guard l == Tissue.lung || l == Tissue.vessel else { return }
                let w = Float(min(1, max(0, (r - dist) / px + 0.5)))
                let cur = val[p]
                if peak > cur { val[p] = cur + (peak - cur) * w }
                if w > 0.5 { lab[p] = Tissue.vessel }
            }
        }
    }

    /// Raises lung-parenchyma pixels of the slice at height zc towards each lesion's density.
    /// Vessels inside ground glass stay visible; consolidation covers them; crazy paving adds
    /// thin septal lines (contours of the texture field) on top of its ground glass.
    /// `mask`, when given (nx·ny flags), is set where a lesion is drawn at half its density or more.
    func drawLesions(_ lesions: [Lesion], zc: Double, lungHU: Double, mask: UnsafeMutablePointer<Bool>? = nil) {
        var touched: [(Int, Int, Int, Int)] = []
        for les in lesions {
            let dzn = (zc - les.z) / les.c
            guard abs(dzn) < 1.15 else { continue }
            let reach = max(les.a, les.b) * 1.3
            let r = rows(les.y - reach, les.y + reach), c = cols(les.x - reach, les.x + reach)
            guard r.first <= r.last, c.first <= c.last else { continue }
            touched.append((r.first, r.last, c.first, c.last))
            let dz2 = dzn * dzn
            let delta = les.hu - lungHU
            for y in r.first...r.last {
                let dy = ymm(y) - les.y
                let row = y * nx
                for x in c.first...c.last where label[row + x] == Tissue.lung || (les.kind == .consolidation && label[row + x] == Tissue.vessel) {
                    let dx = xmm(x) - les.x
                    let u = (dx * les.cosA + dy * les.sinA) / les.a
                    let v = (-dx * les.sinA + dy * les.cosA) / les.b
                    let t = Double(texture[row + x])
                    let rr = (u * u + v * v + dz2).squareRoot() * (1 + les.irregular * t)
                    guard rr < 1.05 else { continue }
                    let s = min(1, max(0, (1.05 - rr) / 0.28))
                    let w = s * s * (3 - 2 * s)
                    var inc = Float(w * delta * (1 + 0.12 * t))
                    if les.kind == .crazyPaving {
                        // Distance to the nearest contour of the texture: a polygonal network of lines.
                        let level = abs((2.5 * t).rounded() - 2.5 * t)
                        if level < 0.09 { inc += Float(w * 220 * (1 - level / 0.09)) }
                    }
                    let p = row + x
                    if w >= 0.5 { mask?[p] = true }
                    if label[p] == Tissue.vessel {
                        // Consolidation over a vessel: the vessel's density, or the lesion's where denser.
                        value[p] = max(value[p], Float(lungHU) + inc)
                        continue
                    }
                    if inc > lesion[p] { value[p] += inc - lesion[p]; lesion[p] = inc }
                }
            }
        }
        for (y0, y1, x0, x1) in touched {
            for y in y0...y1 { (lesion + y * nx + x0).update(repeating: 0, count: x1 - x0 + 1) }
        }
    }
}
