import Foundation

// 2-D drawing for one axial slice. Coordinates are millimetres from the slice centre:
// X grows with the column index (towards the patient's left), Y with the row index
// (anterior → posterior). Shapes are painted row by row as spans, so a shape costs one or two
// `pow`/`sqrt` per row instead of per pixel.

/// Tissue labels kept per pixel while a slice is drawn (later steps paint only onto some).
enum Tissue {
    static let air: UInt8 = 0
    static let table: UInt8 = 1
    static let fat: UInt8 = 2
    static let soft: UInt8 = 3
    static let lung: UInt8 = 4
    static let vessel: UInt8 = 5
    static let airway: UInt8 = 6
}

/// A region with a horizontal extent per row.
protocol RowShape {
    var yMin: Double { get }
    var yMax: Double { get }
    /// The x-extent [lo, hi] (mm) of the region on the row at height `y`, or nil if the row misses it.
    func span(_ y: Double) -> (lo: Double, hi: Double)?
}

/// A torso-like superellipse |x/a|^p + |y/b|^p ≤ 1 with separate anterior/posterior half-depths
/// and exponents (a flatter back).
struct SuperEllipse: RowShape {
    var cx, cy, a, bAnt, bPost, pAnt, pPost: Double
    var yMin: Double { cy - bAnt }
    var yMax: Double { cy + bPost }

    func span(_ y: Double) -> (lo: Double, hi: Double)? {
        let dy = y - cy
        let b = dy < 0 ? bAnt : bPost, p = dy < 0 ? pAnt : pPost
        let t = abs(dy) / b
        if t >= 1 { return nil }
        let h = a * pow(1 - pow(t, p), 1 / p)
        return (cx - h, cx + h)
    }

    /// The same shape moved inwards by the given wall thicknesses (lateral, anterior, posterior).
    func inset(_ lat: Double, _ ant: Double, _ post: Double) -> SuperEllipse {
        SuperEllipse(cx: cx, cy: cy, a: max(a - lat, 1), bAnt: max(bAnt - ant, 1), bPost: max(bPost - post, 1),
                     pAnt: pAnt, pPost: pPost)
    }

    /// A point on the boundary: θ = 0 is posterior midline, θ = ±π anterior; `side` ±1 picks x's sign.
    func boundaryPoint(theta: Double, side: Double, grow: Double) -> (x: Double, y: Double) {
        let s = abs(sin(theta)), c = cos(theta)
        let p = c >= 0 ? pPost : pAnt
        let b = (c >= 0 ? bPost : bAnt) + grow
        let x = (a + grow) * pow(s, 2 / p)
        let y = b * pow(abs(c), 2 / p) * (c >= 0 ? 1 : -1)
        return (cx + side * x, cy + y)
    }

    /// Posterior boundary height at x, or nil outside the shape.
    func posteriorY(atX x: Double) -> Double? {
        let t = abs(x - cx) / a
        if t >= 1 { return nil }
        return cy + bPost * pow(1 - pow(t, pPost), 1 / pPost)
    }
}

/// A (possibly rotated) ellipse, stored as its quadratic form A·dx² + 2B·dx·dy + C·dy² ≤ 1.
struct Ellipse: RowShape {
    let cx, cy: Double
    let qa, qb, qc: Double
    let yMin, yMax: Double
    let xMin, xMax: Double
    let minRadius: Double

    init(cx: Double, cy: Double, a: Double, b: Double, angle: Double = 0) {
        let a = max(a, 0.05), b = max(b, 0.05)
        let c = cos(angle), s = sin(angle)
        self.cx = cx
        self.cy = cy
        qa = c * c / (a * a) + s * s / (b * b)
        qb = c * s * (1 / (a * a) - 1 / (b * b))
        qc = s * s / (a * a) + c * c / (b * b)
        let h = (a * a * s * s + b * b * c * c).squareRoot()
        yMin = cy - h
        yMax = cy + h
        let w = (a * a * c * c + b * b * s * s).squareRoot()
        xMin = cx - w
        xMax = cx + w
        minRadius = min(a, b)
    }

    init(cx: Double, cy: Double, r: Double) { self.init(cx: cx, cy: cy, a: r, b: r) }

    func span(_ y: Double) -> (lo: Double, hi: Double)? {
        let dy = y - cy
        let d = qb * qb * dy * dy - qa * (qc * dy * dy - 1)
        if d < 0 { return nil }
        let r = d.squareRoot()
        return (cx + (-qb * dy - r) / qa, cx + (-qb * dy + r) / qa)
    }

    /// (normalised radius)²: < 1 inside, 1 on the boundary.
    @inline(__always)
    func radius2(_ x: Double, _ y: Double) -> Double {
        let dx = x - cx, dy = y - cy
        return qa * dx * dx + 2 * qb * dx * dy + qc * dy * dy
    }

    func contains(_ x: Double, _ y: Double) -> Bool { radius2(x, y) <= 1 }
}

/// Working buffers for drawing one 2-D slice; allocated once per phantom, reused for every
/// slice, and freed with the canvas (a class, so no copy can free them twice or keep them alive).
final class Canvas {
    let nx: Int, ny: Int
    let sx: Double, sy: Double
    /// Hounsfield units being drawn.
    let value: UnsafeMutablePointer<Float>
    let label: UnsafeMutablePointer<UInt8>
    /// Unit-variance smooth texture (only rows inside the thoracic cavity are valid).
    let texture: UnsafeMutablePointer<Float>
    /// Signed depth (mm) inside the nearest bone; bone is composited at the very end.
    let boneDepth: UnsafeMutablePointer<Float>
    /// Lesion HU increments already applied (for union of overlapping lesions).
    let lesion: UnsafeMutablePointer<Float>
    /// Per-row pixel clip [clipLo, clipHi] used by `paint(clip: true)` (the thoracic cavity).
    let clipLo: UnsafeMutablePointer<Int>
    let clipHi: UnsafeMutablePointer<Int>

    init(nx: Int, ny: Int, sx: Double, sy: Double) {
        self.nx = nx; self.ny = ny; self.sx = sx; self.sy = sy
        let n = nx * ny
        value = .allocate(capacity: n)
        label = .allocate(capacity: n)
        texture = .allocate(capacity: n)
        texture.initialize(repeating: 0, count: n)
        boneDepth = .allocate(capacity: n)
        lesion = .allocate(capacity: n)
        lesion.initialize(repeating: 0, count: n)
        clipLo = .allocate(capacity: ny)
        clipHi = .allocate(capacity: ny)
    }

    deinit {
        value.deallocate(); label.deallocate(); texture.deallocate(); boneDepth.deallocate()
        lesion.deallocate(); clipLo.deallocate(); clipHi.deallocate()
    }

    @inline(__always) func xmm(_ x: Int) -> Double { (Double(x) + 0.5 - Double(nx) * 0.5) * sx }
    @inline(__always) func ymm(_ y: Int) -> Double { (Double(y) + 0.5 - Double(ny) * 0.5) * sy }

    /// Columns whose centres lie in [lo, hi] mm (empty when first > last).
    @inline(__always)
    func cols(_ lo: Double, _ hi: Double) -> (first: Int, last: Int) {
        let h = Double(nx) * 0.5 - 0.5, n = Double(nx)
        let a = min(max(lo / sx + h, -1), n), b = min(max(hi / sx + h, -1), n)
        return (max(0, Int(a.rounded(.up))), min(nx - 1, Int(b.rounded(.down))))
    }

    /// Rows whose centres lie in [lo, hi] mm (empty when first > last).
    @inline(__always)
    func rows(_ lo: Double, _ hi: Double) -> (first: Int, last: Int) {
        let h = Double(ny) * 0.5 - 0.5, n = Double(ny)
        let a = min(max(lo / sy + h, -1), n), b = min(max(hi / sy + h, -1), n)
        return (max(0, Int(a.rounded(.up))), min(ny - 1, Int(b.rounded(.down))))
    }

    /// Resets the slice to air and clears the bone layer.
    func clear(air: Float) {
        let n = nx * ny
        value.update(repeating: air, count: n)
        label.update(repeating: Tissue.air, count: n)
        boneDepth.update(repeating: -1e9, count: n)
    }

    /// Sets the per-row clip to the shape's spans (rows it misses get an empty clip).
    func setClip<S: RowShape>(_ shape: S) {
        for y in 0..<ny {
            if let s = shape.span(ymm(y)) {
                let c = cols(s.lo, s.hi)
                clipLo[y] = c.first; clipHi[y] = c.last
            } else {
                clipLo[y] = 1; clipHi[y] = 0
            }
        }
    }

    /// Paints `shape` with a constant value and label; `xMin`/`xMax` cut it to a band of columns
    /// and `clip` to the per-row clip.
    func paint<S: RowShape>(_ shape: S, value v: Float, label l: UInt8,
                            xMin: Double = -.infinity, xMax: Double = .infinity,
                            clip: Bool = false) {
        let r = rows(shape.yMin, shape.yMax)
        guard r.first <= r.last else { return }
        for y in r.first...r.last {
            guard let s = shape.span(ymm(y)) else { continue }
            var (a, b) = cols(max(s.lo, xMin), min(s.hi, xMax))
            if clip { a = max(a, clipLo[y]); b = min(b, clipHi[y]) }
            guard a <= b else { continue }
            let row = y * nx
            for x in a...b { value[row + x] = v; label[row + x] = l }
        }
    }

    /// Calls `body(pixelIndex, distance)` for every pixel whose centre is within `reach` mm of
    /// the segment a–b (a capsule), with `distance` its distance (mm) to the segment.
    @inline(__always)
    func forEachNearSegment(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, reach: Double,
                            _ body: (Int, Double) -> Void) {
        let r = rows(min(ay, by) - reach, max(ay, by) + reach)
        let c = cols(min(ax, bx) - reach, max(ax, bx) + reach)
        guard r.first <= r.last, c.first <= c.last else { return }
        let dx = bx - ax, dy = by - ay
        let len2 = dx * dx + dy * dy
        let inv = len2 > 1e-12 ? 1 / len2 : 0
        let reach2 = reach * reach
        for y in r.first...r.last {
            let py = ymm(y) - ay
            let row = y * nx
            for x in c.first...c.last {
                let px = xmm(x) - ax
                let t = min(1, max(0, (px * dx + py * dy) * inv))
                let ex = px - t * dx, ey = py - t * dy
                let d2 = ex * ex + ey * ey
                if d2 <= reach2 { body(row + x, d2.squareRoot()) }
            }
        }
    }

    /// Adds a bone capsule of radius `r` around the segment a–b to the bone layer.
    func boneCapsule(_ ax: Double, _ ay: Double, _ bx: Double, _ by: Double, r: Double) {
        let bd = boneDepth
        forEachNearSegment(ax, ay, bx, by, reach: r + sx) { p, d in
            let depth = Float(r - d)
            if depth > bd[p] { bd[p] = depth }
        }
    }

    /// Adds a bone ellipse to the bone layer (depth approximated from the normalised radius).
    func boneEllipse(_ e: Ellipse) {
        let r = rows(e.yMin - sy, e.yMax + sy)
        let c = cols(e.xMin - sx, e.xMax + sx)
        guard r.first <= r.last, c.first <= c.last else { return }
        let grow = 1 + 1.5 * sx / e.minRadius
        for y in r.first...r.last {
            let ym = ymm(y)
            let row = y * nx
            for x in c.first...c.last {
                let q = e.radius2(xmm(x), ym)
                if q > grow * grow { continue }
                let depth = Float((1 - q.squareRoot()) * e.minRadius)
                if depth > boneDepth[row + x] { boneDepth[row + x] = depth }
            }
        }
    }
}
