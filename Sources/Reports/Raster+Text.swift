/// Which way text runs.
public enum TextDirection: Sendable {
    /// Left to right, upright.
    case horizontal
    /// Bottom to top, turned 90° anticlockwise, as on a y-axis label.
    case upward
}

extension Raster {
    /// The size in pixels of `text` drawn horizontally at `scale` (swap the two for `.upward`). The height
    /// includes the descender rows; a trailing blank column is not counted.
    public static func textSize(_ text: String, scale: Int = 1) -> (width: Int, height: Int) {
        let count = BitmapFont.substitute(text).count
        let width = count == 0 ? 0 : (count * BitmapFont.advance - (BitmapFont.advance - BitmapFont.glyphWidth)) * scale
        return (width, BitmapFont.glyphHeight * scale)
    }

    /// Draws one line of `text` in the built-in 5×9 font, each font pixel a `scale`×`scale` block.
    ///
    /// (x, y) is the top-left corner of the text's box as drawn: for `.upward` text that box is
    /// `textSize(text).height` wide and `textSize(text).width` tall. Characters outside printable ASCII
    /// are drawn as ASCII look-alikes ("—" as "-") or "?"; the text is clipped at the raster's edges.
    public mutating func drawText(_ text: String, x: Int, y: Int, color: RGBColor, scale: Int = 1,
                                  direction: TextDirection = .horizontal) {
        precondition(scale >= 1, "text scale must be at least 1")
        let scalars = BitmapFont.substitute(text)
        let run = Raster.textSize(text, scale: scale).width
        for (index, scalar) in scalars.enumerated() {
            let rows = BitmapFont.rows(scalar)
            let originAlong = index * BitmapFont.advance * scale
            for (row, bits) in rows.enumerated() where bits != 0 {
                for column in 0..<BitmapFont.glyphWidth where bits & (0x10 >> UInt8(column)) != 0 {
                    // (along, down) in unrotated text space, then placed by direction.
                    let along = originAlong + column * scale, down = row * scale
                    switch direction {
                    case .horizontal:
                        fillRect(x: x + along, y: y + down, width: scale, height: scale, color: color)
                    case .upward:
                        fillRect(x: x + down, y: y + run - along - scale, width: scale, height: scale, color: color)
                    }
                }
            }
        }
    }
}

extension Raster {
    /// `text`, cut and ended with "..." if it would be wider than `maxWidth` at `scale`.
    static func fitted(_ text: String, maxWidth: Int, scale: Int) -> String {
        if textSize(text, scale: scale).width <= maxWidth { return text }
        // Glyphs that fit: n·advance − blank column ≤ maxWidth / scale.
        let room = (maxWidth / scale + BitmapFont.advance - BitmapFont.glyphWidth) / BitmapFont.advance
        let kept = BitmapFont.substitute(text).prefix(max(room - 3, 0))
        return String(String.UnicodeScalarView(kept)) + "..."
    }
}
