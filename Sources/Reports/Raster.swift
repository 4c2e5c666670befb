/// An opaque 8-bit sRGB colour.
public struct RGBColor: Sendable, Hashable, CustomStringConvertible {
    public var red, green, blue: UInt8

    public init(_ red: UInt8, _ green: UInt8, _ blue: UInt8) {
        self.red = red
        self.green = green
        self.blue = blue
    }

    /// A gray with all three channels equal to `level`.
    public init(gray level: UInt8) { self.init(level, level, level) }

    public static let black = RGBColor(gray: 0)
    public static let white = RGBColor(gray: 255)

    public var description: String { "rgb(\(red), \(green), \(blue))" }
}

/// An RGB picture in memory, drawn on with clipped, anti-aliased primitives and saved with `png()`.
///
/// Coordinates: x grows to the right, y downwards; pixel (x, y) covers the unit square whose top-left
/// corner is (x, y), so its centre is (x + 0.5, y + 0.5). Integer-rectangle operations (`fillRect`,
/// `strokeRect`) are crisp; lines, polylines and discs take `Double` coordinates and are anti-aliased.
/// Anything drawn partly or wholly outside the raster is clipped, never an error.
public struct Raster: Sendable {
    public let width: Int
    public let height: Int
    /// Row-major from the top, three bytes (r, g, b) a pixel.
    public private(set) var pixels: [UInt8]

    /// A raster filled with `background`. Sides must be in 1…`PNGEncoder.maxSide` (a caller's bug otherwise).
    public init(width: Int, height: Int, background: RGBColor = .white) {
        precondition((1...PNGEncoder.maxSide).contains(width) && (1...PNGEncoder.maxSide).contains(height),
                     "raster size \(width)×\(height) is outside 1…\(PNGEncoder.maxSide)")
        self.width = width
        self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(background)
    }

    /// The colour at (x, y); the point must lie inside the raster.
    public subscript(x: Int, y: Int) -> RGBColor {
        get {
            precondition(contains(x, y), "pixel (\(x), \(y)) is outside \(width)×\(height)")
            let i = 3 * (y * width + x)
            return RGBColor(pixels[i], pixels[i + 1], pixels[i + 2])
        }
        set {
            precondition(contains(x, y), "pixel (\(x), \(y)) is outside \(width)×\(height)")
            let i = 3 * (y * width + x)
            pixels[i] = newValue.red
            pixels[i + 1] = newValue.green
            pixels[i + 2] = newValue.blue
        }
    }

    public func contains(_ x: Int, _ y: Int) -> Bool { x >= 0 && x < width && y >= 0 && y < height }

    /// Paints every pixel.
    public mutating func fill(_ color: RGBColor) {
        fillRect(x: 0, y: 0, width: width, height: height, color: color)
    }

    /// Paints the pixels x..<x+width, y..<y+height (clipped).
    public mutating func fillRect(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor) {
        let x0 = max(x, 0), x1 = min(x + w, width), y0 = max(y, 0), y1 = min(y + h, height)
        guard x0 < x1, y0 < y1 else { return }
        pixels.withUnsafeMutableBufferPointer { buffer in
            for row in y0..<y1 {
                var i = 3 * (row * width + x0)
                for _ in x0..<x1 {
                    buffer[i] = color.red
                    buffer[i + 1] = color.green
                    buffer[i + 2] = color.blue
                    i += 3
                }
            }
        }
    }

    /// Outlines the rectangle x..<x+width, y..<y+height with a border `lineWidth` pixels thick, drawn inside it.
    public mutating func strokeRect(x: Int, y: Int, width w: Int, height h: Int, color: RGBColor, lineWidth: Int = 1) {
        guard w > 0, h > 0, lineWidth > 0 else { return }
        let t = min(lineWidth, (min(w, h) + 1) / 2)
        fillRect(x: x, y: y, width: w, height: t, color: color)
        fillRect(x: x, y: y + h - t, width: w, height: t, color: color)
        fillRect(x: x, y: y, width: t, height: h, color: color)
        fillRect(x: x + w - t, y: y, width: t, height: h, color: color)
    }

    /// Mixes `color` into pixel (x, y) with weight `coverage` in [0, 1]; points outside are ignored.
    public mutating func blend(x: Int, y: Int, color: RGBColor, coverage: Double) {
        guard contains(x, y), coverage > 0 else { return }
        let a = min(coverage, 1)
        let i = 3 * (y * width + x)
        pixels[i] = mix(pixels[i], color.red, a)
        pixels[i + 1] = mix(pixels[i + 1], color.green, a)
        pixels[i + 2] = mix(pixels[i + 2], color.blue, a)
    }

    /// The raster as a PNG file. `.grayscale` stores each pixel's luma (0.299 r + 0.587 g + 0.114 b,
    /// exact for grays), a third of the data for pictures drawn in grays only. `.adaptive` filtering suits
    /// photographs and scans; flat-coloured drawings are smaller and ten times quicker with `.none`.
    ///
    /// - Throws: `ReportsError.compressionFailed` if zlib runs out of memory.
    public func png(colorType: PNGEncoder.ColorType = .rgb, rowFilter: PNGEncoder.RowFilter = .adaptive)
        throws(ReportsError) -> [UInt8] {
        switch colorType {
        case .rgb:
            return try PNGEncoder.encode(pixels: pixels, width: width, height: height, colorType: .rgb, rowFilter: rowFilter)
        case .grayscale:
            var luma = [UInt8](repeating: 0, count: width * height)
            for i in luma.indices {
                // Weights in 256ths summing to 256, so r = g = b = v gives exactly v.
                let sum = 77 * Int(pixels[3 * i]) + 150 * Int(pixels[3 * i + 1]) + 29 * Int(pixels[3 * i + 2])
                luma[i] = UInt8((sum + 128) >> 8)
            }
            return try PNGEncoder.encode(pixels: luma, width: width, height: height, colorType: .grayscale,
                                         rowFilter: rowFilter)
        }
    }
}

@inline(__always)
private func mix(_ under: UInt8, _ over: UInt8, _ alpha: Double) -> UInt8 {
    UInt8((Double(under) + (Double(over) - Double(under)) * alpha).rounded())
}
