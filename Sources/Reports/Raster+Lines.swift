/// A dash pattern for lines: `on` pixels drawn, `off` pixels skipped, measured along the line.
public struct Dash: Sendable, Equatable {
    public var on: Double
    public var off: Double

    /// `on` and `off` must both be positive.
    public init(on: Double, off: Double) {
        precondition(on > 0 && off > 0, "dash lengths must be positive (on \(on), off \(off))")
        self.on = on
        self.off = off
    }
}

/// A point in raster coordinates (pixel centres sit at half-integers).
public struct Point: Sendable, Equatable {
    public var x: Double
    public var y: Double

    public init(_ x: Double, _ y: Double) {
        self.x = x
        self.y = y
    }
}

extension Raster {
    /// Draws a straight line `width` pixels thick with round ends, anti-aliased, optionally dashed.
    public mutating func drawLine(from start: Point, to end: Point, color: RGBColor, width lineWidth: Double = 1,
                                  dash: Dash? = nil) {
        drawPolyline([start, end], color: color, width: lineWidth, dash: dash)
    }

    /// Draws connected segments through `points` (round joins and ends). The dash pattern runs on across
    /// the joins. Coverage is collected first and blended once, so joins are not darker than the segments.
    /// Non-finite points are a caller's bug; callers split their series at gaps instead.
    public mutating func drawPolyline(_ points: [Point], color: RGBColor, width lineWidth: Double = 1,
                                      dash: Dash? = nil) {
        guard let first = points.first, lineWidth > 0 else { return }
        precondition(points.allSatisfy { $0.x.isFinite && $0.y.isFinite }, "polyline points must be finite")
        let reach = lineWidth / 2 + 1
        var mask = CoverageMask(around: points, reach: reach, in: self)
        guard !mask.isEmpty else { return }
        var travelled = 0.0
        var previous = first
        // A single point is a zero-length segment: a dot as wide as the line.
        for point in points.count == 1 ? points : Array(points.dropFirst()) {
            let length = mask.addSegment(previous, point, halfWidth: lineWidth / 2, dash: dash, dashOffset: travelled)
            travelled += length
            previous = point
        }
        mask.composite(color, onto: &self)
    }

    /// Fills a disc of `radius` pixels, anti-aliased (markers for isolated points).
    public mutating func fillCircle(center: Point, radius: Double, color: RGBColor) {
        guard radius > 0, center.x.isFinite, center.y.isFinite else { return }
        let x0 = max(Int((center.x - radius - 1).rounded(.down)), 0)
        let x1 = min(Int((center.x + radius + 1).rounded(.up)), width - 1)
        let y0 = max(Int((center.y - radius - 1).rounded(.down)), 0)
        let y1 = min(Int((center.y + radius + 1).rounded(.up)), height - 1)
        guard x0 <= x1, y0 <= y1 else { return }
        for y in y0...y1 {
            for x in x0...x1 {
                let dx = Double(x) + 0.5 - center.x, dy = Double(y) + 0.5 - center.y
                blend(x: x, y: y, color: color, coverage: radius + 0.5 - (dx * dx + dy * dy).squareRoot())
            }
        }
    }
}

/// Per-pixel coverage over the bounding box of a shape, taking the maximum where pieces overlap.
private struct CoverageMask {
    let x0, y0, width, height: Int
    var coverage: [Float]

    var isEmpty: Bool { width <= 0 || height <= 0 }

    init(around points: [Point], reach: Double, in raster: Raster) {
        // Clamp before converting: a far-off point must not overflow Int.
        func clampedFloor(_ v: Double, _ limit: Int) -> Int { Int(min(max(v.rounded(.down), -1), Double(limit))) }
        let xs = points.map(\.x), ys = points.map(\.y)
        let left = max(clampedFloor(xs.min()! - reach, raster.width), 0)
        let right = min(clampedFloor(xs.max()! + reach, raster.width) + 1, raster.width)
        let top = max(clampedFloor(ys.min()! - reach, raster.height), 0)
        let bottom = min(clampedFloor(ys.max()! + reach, raster.height) + 1, raster.height)
        x0 = left
        y0 = top
        width = right - left
        height = bottom - top
        coverage = [Float](repeating: 0, count: max(width, 0) * max(height, 0))
    }

    /// Adds the segment a–b, `halfWidth` either side of its centre line, and returns its length.
    /// Only pixels near the segment are visited: along its major axis, a short run across it.
    mutating func addSegment(_ a: Point, _ b: Point, halfWidth: Double, dash: Dash?, dashOffset: Double) -> Double {
        let dx = b.x - a.x, dy = b.y - a.y
        let length2 = dx * dx + dy * dy
        let length = length2.squareRoot()
        let xMajor = abs(dx) >= abs(dy)
        // Across the major axis the stroke spans at most halfWidth·√2 (the line is ≤ 45° off the axis).
        let across = halfWidth * 1.5 + 1.5
        let (lo, hi) = xMajor ? (min(a.x, b.x), max(a.x, b.x)) : (min(a.y, b.y), max(a.y, b.y))
        let majorStart = Int(max((lo - halfWidth - 1).rounded(.down), Double(xMajor ? x0 : y0)))
        let majorEnd = Int(min((hi + halfWidth + 1).rounded(.up), Double(xMajor ? x0 + width : y0 + height) - 1))
        guard majorStart <= majorEnd else { return length }
        for m in majorStart...majorEnd {
            let centre = Double(m) + 0.5
            // Where the centre line crosses this column (or row), held to the segment's ends.
            var t = length2 > 0 ? ((xMajor ? centre - a.x : centre - a.y) / (xMajor ? dx : dy)) : 0
            if !t.isFinite { t = 0 }
            t = min(max(t, 0), 1)
            let minorCentre = xMajor ? a.y + t * dy : a.x + t * dx
            let (minorLow, minorHigh) = xMajor ? (y0, y0 + height - 1) : (x0, x0 + width - 1)
            let minorStart = Int(max((minorCentre - across).rounded(.down), Double(minorLow)))
            let minorEnd = Int(min((minorCentre + across).rounded(.up), Double(minorHigh)))
            guard minorStart <= minorEnd else { continue }
            for n in minorStart...minorEnd {
                let (px, py) = xMajor ? (m, n) : (n, m)
                let cx = Double(px) + 0.5, cy = Double(py) + 0.5
                // Distance from the pixel centre to the segment.
                var u = length2 > 0 ? ((cx - a.x) * dx + (cy - a.y) * dy) / length2 : 0
                u = min(max(u, 0), 1)
                let ex = cx - (a.x + u * dx), ey = cy - (a.y + u * dy)
                var c = halfWidth + 0.5 - (ex * ex + ey * ey).squareRoot()
                if c <= 0 { continue }
                if let dash {
                    // Position along the whole polyline, unclamped so that a round cap reaching back
                    // past a join gets the previous segment's phase; soft ends keep dashes anti-aliased.
                    let period = dash.on + dash.off
                    let along = length > 0 ? ((cx - a.x) * dx + (cy - a.y) * dy) / length : 0
                    var s = (dashOffset + along).truncatingRemainder(dividingBy: period)
                    if s < 0 { s += period }
                    c = min(c, s + 0.5, dash.on - s + 0.5)
                    if c <= 0 { continue }
                }
                add(px, py, Float(min(c, 1)))
            }
        }
        return length
    }

    private mutating func add(_ x: Int, _ y: Int, _ c: Float) {
        let lx = x - x0, ly = y - y0
        guard lx >= 0, lx < width, ly >= 0, ly < height else { return }
        let i = ly * width + lx
        if c > coverage[i] { coverage[i] = c }
    }

    func composite(_ color: RGBColor, onto raster: inout Raster) {
        for ly in 0..<height {
            for lx in 0..<width where coverage[ly * width + lx] > 0 {
                raster.blend(x: x0 + lx, y: y0 + ly, color: color, coverage: Double(coverage[ly * width + lx]))
            }
        }
    }
}
