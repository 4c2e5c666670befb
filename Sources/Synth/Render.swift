import Foundation
import SeededRandom

/// Draws the axial slices of one phantom, slice by slice, into its int16 volume.
struct Renderer {
    let anatomy: Anatomy
    let canvas: Canvas
    let texture: TextureField
    let vessels: [VesselSegment]
    let lesions: [Lesion]
    /// The patient table, pre-drawn once: rows tableRows, values and labels of those rows.
    private let tableRows: (first: Int, last: Int)
    private let tableValue: [Float]
    private let tableLabel: [UInt8]
    private let seed: UInt64

    init(anatomy: Anatomy, lesions: [Lesion], vessels: [VesselSegment], seed: UInt64, rng: inout SeededGenerator) {
        self.anatomy = anatomy
        self.lesions = lesions
        self.vessels = vessels
        self.seed = seed
        let a = anatomy
        canvas = Canvas(nx: a.n, ny: a.n, sx: a.pixel, sy: a.pixel)
        texture = TextureField(n: a.n, pixel: a.pixel, depth: a.depth, rng: &rng)
        // Carbon-fibre shell (2.5 mm) around a foam core, curved up at the sides.
        let halfWidth = 230.0, thickness = 34.0
        let rows = canvas.rows(a.tableTop - a.tableCurve * halfWidth * halfWidth, a.tableTop + thickness)
        tableRows = rows
        let count = max(0, rows.last - rows.first + 1) * a.n
        var tv = [Float](repeating: -1000, count: count)
        var tl = [UInt8](repeating: Tissue.air, count: count)
        if count > 0 {
            for y in rows.first...rows.last {
                for x in 0..<a.n {
                    let xm = canvas.xmm(x)
                    guard abs(xm) < halfWidth else { continue }
                    let d = canvas.ymm(y) - (a.tableTop - a.tableCurve * xm * xm)
                    guard d >= 0 && d <= thickness else { continue }
                    let i = (y - rows.first) * a.n + x
                    let shell = d < 2.5 || d > thickness - 2.5 || abs(xm) > halfWidth - 3
                    tv[i] = shell ? Float(a.tableHU) : -880
                    tl[i] = Tissue.table
                }
            }
        }
        tableValue = tv
        tableLabel = tl
    }

    /// Renders slice k (0 = inferior) into `out` (nx·ny int16 values); marks its lesions in
    /// `lesionMask` (nx·ny flags, cleared by the caller) when given.
    func render(slice k: Int, into out: UnsafeMutablePointer<Int16>, lesionMask: UnsafeMutablePointer<Bool>? = nil) {
        let a = anatomy, c = canvas
        let h = a.sliceThickness / 2
        let zc = (Double(k) + 0.5) * a.sliceThickness
        let sec = a.section(z: zc)
        var rng = SeededGenerator(seed: SeededGenerator.mix64(seed &+ UInt64(k) &* 0x9E37_79B9_7F4A_7C15))

        c.clear(air: -1000)
        if tableRows.first <= tableRows.last {
            let start = tableRows.first * c.nx
            tableValue.withUnsafeBufferPointer { (c.value + start).update(from: $0.baseAddress!, count: $0.count) }
            tableLabel.withUnsafeBufferPointer { (c.label + start).update(from: $0.baseAddress!, count: $0.count) }
        }

        // Soft tissues, back to front.
        let cav = sec.cavity
        let mid = cav.cy + (cav.bPost - cav.bAnt) / 2, hd = (cav.bAnt + cav.bPost) / 2
        c.paint(sec.body, value: Float(a.fatHU), label: Tissue.fat)
        c.paint(sec.muscle, value: Float(a.muscleHU), label: Tissue.soft)
        c.paint(cav, value: Float(a.softHU), label: Tissue.soft)
        c.setClip(cav)
        if sec.u < 0 {
            c.paint(cav, value: Float(a.liverHU), label: Tissue.soft, xMax: sec.midX, clip: true)
            c.paint(cav, value: Float(a.spleenHU), label: Tissue.soft, xMin: sec.midX, clip: true)
        }
        if sec.lungsPresent {
            if let e = sec.envelope[0] { c.paint(e, value: Float(a.lungHU), label: Tissue.lung, xMax: sec.midX, clip: true) }
            if let e = sec.envelope[1] { c.paint(e, value: Float(a.lungHU), label: Tissue.lung, xMin: sec.midX, clip: true) }
            if let d = sec.dome[0] { c.paint(d, value: Float(a.liverHU), label: Tissue.soft, clip: true) }
            if let d = sec.dome[1] { c.paint(d, value: Float(a.spleenHU), label: Tissue.soft, clip: true) }
            // Mediastinum: narrow behind the sternum and in front of the spine, widest mid-depth.
            let top = cav.cy - cav.bAnt, bottom = sec.vertebraY
            let band = Ellipse(cx: sec.midX, cy: (top + bottom) / 2, a: sec.midHalf, b: (bottom - top) / 2 + 4)
            c.paint(band, value: Float(a.fatHU + 15), label: Tissue.fat, clip: true)
        }
        if let f = sec.heartFat, let hrt = sec.heart {
            c.paint(f, value: Float(a.fatHU + 10), label: Tissue.fat, clip: true)
            c.paint(hrt, value: Float(a.heartHU), label: Tissue.soft, clip: true)
        }
        drawMediastinalVessels(sec, mid: mid, hd: hd)

        // Lung parenchyma: density gradient (dependent lung denser) plus smooth texture.
        let rows = c.rows(cav.yMin, cav.yMax)
        if sec.lungsPresent && rows.first <= rows.last {
            texture.fill(c.texture, z: zc, rows: rows.first, rows.last, rng: &rng)
            let amp = Float(a.textureAmp)
            for y in rows.first...rows.last {
                let base = Float(a.lungHU + a.lungGradient * (c.ymm(y) - mid) / hd)
                let row = y * c.nx
                let x0 = max(0, c.clipLo[y]), x1 = min(c.nx - 1, c.clipHi[y])
                guard x0 <= x1 else { continue }
                for x in x0...x1 where c.label[row + x] == Tissue.lung {
                    c.value[row + x] = base + amp * c.texture[row + x]
                }
            }
            c.drawVessels(vessels, zc: zc, h: h, lungHU: a.lungHU, bloodHU: a.heartHU)
            c.drawLesions(lesions, zc: zc, lungHU: a.lungHU, mask: lesionMask)
        }
        drawSkeleton(sec, zc: zc, h: h)
        composite(into: out, rng: &rng)
    }

    /// Aorta, pulmonary trunk, great vessels, oesophagus, trachea and main bronchi.
    private func drawMediastinalVessels(_ sec: Section, mid: Double, hd: Double) {
        let a = anatomy, c = canvas, u = sec.u, cav = sec.cavity
        let blood = Float(a.heartHU), soft = Float(a.softHU)
        let vbTop = sec.vertebraY - a.vertebraR * 0.9
        c.paint(Ellipse(cx: a.bodyX, cy: sec.vertebraY, r: a.vertebraR * 1.3), value: soft, label: Tissue.soft)
        if u < 0 {
            c.paint(Ellipse(cx: a.bodyX + a.aortaR * 0.6, cy: vbTop - a.aortaR, r: a.aortaR * 0.9), value: blood, label: Tissue.soft)
            return
        }
        let descX = a.bodyX + a.vertebraR * 1.1 + a.aortaR * 0.7, descY = sec.vertebraY - a.vertebraR * 0.5
        let ascX = sec.midX - cav.a * 0.06, ascY = mid - hd * 0.35
        c.paint(Ellipse(cx: sec.midX + 4, cy: vbTop - 6, r: 7), value: soft, label: Tissue.soft)
        if u <= a.uArch {
            c.paint(Ellipse(cx: descX, cy: descY, r: a.aortaR), value: blood, label: Tissue.soft)
        }
        if u > a.heartHigh - 0.15 && u <= a.uArch {
            c.paint(Ellipse(cx: ascX, cy: ascY, r: a.aortaR * 1.2), value: blood, label: Tissue.soft)
        }
        let tr = a.tracheaR, ty = vbTop - 10 - tr, tx = sec.midX - 2
        if abs(u - a.uArch) < 0.03 {
            // The arch curves from the ascending aorta round the left of the trachea to the spine.
            let val = c.value, lab = c.label
            let ctrlX = tx + tr + a.aortaR + 6, ctrlY = ty - 2 * a.aortaR
            var prev = (ascX, ascY)
            for i in 1...8 {
                let t = Double(i) / 8, s = 1 - t
                let pt = (s * s * ascX + 2 * s * t * ctrlX + t * t * descX, s * s * ascY + 2 * s * t * ctrlY + t * t * descY)
                c.forEachNearSegment(prev.0, prev.1, pt.0, pt.1, reach: a.aortaR) { p, _ in
                    val[p] = blood; lab[p] = Tissue.soft
                }
                prev = pt
            }
        }
        if u > a.heartHigh - 0.12 && u < a.heartHigh {
            c.paint(Ellipse(cx: sec.midX + cav.a * 0.1, cy: mid - hd * 0.4, r: a.aortaR * 1.1), value: blood, label: Tissue.soft)
        }
        if u > a.uArch + 0.02 {
            for (dx, r) in [(-0.12, 6.5), (0.0, 5.0), (0.1, 5.5)] {
                c.paint(Ellipse(cx: sec.midX + cav.a * dx, cy: mid - hd * 0.3, r: r), value: blood, label: Tissue.soft)
            }
        }
        if u > a.uCarina {
            c.paint(Ellipse(cx: tx, cy: ty, r: tr + 2), value: soft, label: Tissue.soft)
            c.paint(Ellipse(cx: tx, cy: ty, r: tr), value: -1000, label: Tissue.airway)
        } else if u > a.uCarina - 0.08 {
            let t = (a.uCarina - u) / 0.08
            for s in [-1.0, 1.0] {
                let bx = tx + s * (tr * 0.6 + t * cav.a * 0.2)
                c.paint(Ellipse(cx: bx, cy: ty, r: tr * 0.65 + 1.5), value: soft, label: Tissue.soft)
                c.paint(Ellipse(cx: bx, cy: ty, r: tr * 0.65), value: -1000, label: Tissue.airway)
            }
        }
    }

    /// Vertebra (or disc), posterior arch, ribs with costal cartilage, sternum and scapulae.
    private func drawSkeleton(_ sec: Section, zc: Double, h: Double) {
        let a = anatomy, c = canvas, u = sec.u, cav = sec.cavity
        let cx = a.bodyX
        // Vertebral body, or the disc when the slab lies mostly in a disc space.
        let phase = (zc - a.vertebraPhase).truncatingRemainder(dividingBy: a.vertebraPeriod)
        let p = phase < 0 ? phase + a.vertebraPeriod : phase
        let discOverlap = max(0, min(p + h, a.discThickness) - max(p - h, 0))
            + max(0, min(p + h - a.vertebraPeriod, a.discThickness) - max(p - h - a.vertebraPeriod, 0))
        if discOverlap > h { c.paint(sec.vertebra, value: 80, label: Tissue.soft) } else { c.boneEllipse(sec.vertebra) }
        // Spinal canal with its bony ring, spinous and transverse processes.
        let canalY = sec.vertebraY + a.vertebraR * 0.9 + a.canalR + 1
        c.paint(Ellipse(cx: cx, cy: canalY, r: a.canalR), value: 15, label: Tissue.soft)
        let w = a.canalR + 3.5
        for s in [-1.0, 1.0] {
            c.boneCapsule(cx + s * w, sec.vertebraY + a.vertebraR * 0.5, cx + s * w, canalY, r: 3.2)
            c.boneCapsule(cx + s * w, canalY, cx + s * 2.5, canalY + a.canalR + 3.5, r: 3.2)
            c.boneCapsule(cx + s * w, canalY - 1, cx + s * (w + 14), canalY + 9, r: 4)
        }
        c.boneCapsule(cx, canalY + a.canalR + 3, cx, canalY + a.canalR + 3 + a.spinousLength, r: 3.5)

        // Ribs: rib k leaves the spine at height ribTop − k·spacing and descends anteriorly; the slab
        // shows the stretch of its arc whose height lies within the slab (plus the rib's half-height).
        let hz = a.ribR + 1, theta0 = 0.07 * Double.pi
        for k in 0..<12 {
            let zk = a.ribTop - Double(k) * a.ribSpacing
            let drop = a.ribDrop * (k == 0 ? 0.5 : 1)
            let theta1 = Double.pi * (k < 7 ? 0.8 : max(0.42, 0.8 - Double(k - 6) * 0.07))
            let lo = (zk - (zc + h + hz)) / drop, hi = (zk - (zc - h - hz)) / drop
            if hi >= 0 && lo <= 1 {
                let t0 = pow(max(0, lo), 1 / 1.4), t1 = pow(min(1, hi), 1 / 1.4)
                ribArc(cav, from: theta0 + t0 * (theta1 - theta0), to: theta0 + t1 * (theta1 - theta0), bone: true)
            }
            if k < 7 && abs(zk - drop - zc) < h + hz {
                ribArc(cav, from: theta1, to: 0.93 * Double.pi, bone: false)
            }
        }
        // Sternum (wider manubrium at the top).
        if u > a.heartLow + 0.08 && u < 1.02 {
            let sa = a.sternumA * (u > 0.8 ? 1.5 : 1)
            c.boneEllipse(Ellipse(cx: cav.cx, cy: cav.cy - cav.bAnt - a.sternumB - 2, a: sa, b: a.sternumB))
        }
        // Scapulae: thin blades in the posterior muscles of the upper chest.
        if u > 0.5 && u < 1.15 {
            let f0 = 0.3 + 0.35 * min(max((0.62 - u) / 0.12, 0), 1)
            let m = sec.muscle
            for s in [-1.0, 1.0] {
                var prev: (Double, Double)? = nil
                for i in 0...5 {
                    let f = f0 + (0.82 - f0) * Double(i) / 5
                    let x = m.cx + s * f * m.a
                    guard let py = m.posteriorY(atX: x) else { continue }
                    let pt = (x, py - 5 - 4 * Double(i) / 5)
                    if let q = prev { c.boneCapsule(q.0, q.1, pt.0, pt.1, r: 2.3) }
                    prev = pt
                }
            }
        }
    }

    /// One stretch of rib (bone) or costal cartilage on both sides, just outside the cavity.
    private func ribArc(_ cav: SuperEllipse, from t0: Double, to t1: Double, bone: Bool) {
        let a = anatomy, c = canvas
        let steps = max(1, Int(((t1 - t0) / 0.05).rounded(.up)))
        for s in [-1.0, 1.0] {
            var prev = cav.boundaryPoint(theta: t0, side: s, grow: a.ribR + 2.5)
            for i in 1...steps {
                let pt = cav.boundaryPoint(theta: t0 + (t1 - t0) * Double(i) / Double(steps), side: s, grow: a.ribR + 2.5)
                if bone {
                    c.boneCapsule(prev.x, prev.y, pt.x, pt.y, r: a.ribR)
                } else {
                    let val = c.value, lab = c.label, hu = Float(a.cartilageHU)
                    c.forEachNearSegment(prev.x, prev.y, pt.x, pt.y, reach: a.ribR * 0.9) { p, _ in
                        if lab[p] == Tissue.soft || lab[p] == Tissue.fat { val[p] = hu }
                    }
                }
                prev = pt
            }
        }
    }

    /// Composites bone (anti-aliased edge, cortex rim, marrow), adds scanner noise and offset,
    /// and writes clamped int16 HU.
    private func composite(into out: UnsafeMutablePointer<Int16>, rng: inout SeededGenerator) {
        let a = anatomy, c = canvas
        let n = c.nx * c.ny
        let px = Float(c.sx), half = Float(c.sx) / 2, cortexT: Float = 1.3
        let cortex = Float(a.cortexHU), marrow = Float(a.marrowHU)
        let sigma = Float(a.noiseSigma), offset = Float(a.offsetHU)
        for p in 0..<n {
            var v = c.value[p]
            let d = c.boneDepth[p]
            if d > -half {
                let frac = min(1, (d + half) / px)
                let bone = d > cortexT ? marrow : cortex
                v += (bone - v) * frac
            }
            v += offset + sigma * rng.fastGaussian()
            out[p] = Int16(min(max(v.rounded(), -1024), 3071))
        }
    }
}
