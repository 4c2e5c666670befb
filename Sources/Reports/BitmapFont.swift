/// A 5×9 bitmap font for printable ASCII (32–126), drawn for ctd's pictures.
///
/// Each glyph is nine rows, top to bottom, two hex digits a row; bit 4 is the leftmost of the five
/// columns. Capitals and digits use rows 0–6 (row 6 is the baseline); rows 7–8 hold the descenders of
/// g j p q y , ; so they sit on the same baseline as the other letters.
enum BitmapFont {
    /// Glyph width in pixels, before scaling.
    static let glyphWidth = 5
    /// Rows per glyph, descenders included.
    static let glyphHeight = 9
    /// Horizontal distance from one glyph to the next: one blank column between letters.
    static let advance = 6
    /// Height of capitals above the baseline (rows 0–6).
    static let capHeight = 7

    /// The rows of `scalar`'s glyph (after `substitute`), each a 5-bit mask.
    static func rows(_ scalar: Unicode.Scalar) -> [UInt8] {
        let code = Int(scalar.value)
        let index = (32...126).contains(code) ? code - 32 : Int(Character("?").asciiValue!) - 32
        return decoded[index]
    }

    /// The ASCII text drawn for `text`: common typographic characters become their ASCII look-alikes
    /// (so "—" in a caption reads as "-"), anything else without a glyph becomes "?".
    static func substitute(_ text: String) -> [Unicode.Scalar] {
        var out: [Unicode.Scalar] = []
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\u{2010}"..."\u{2015}", "\u{2212}": out.append("-")      // hyphens, dashes, minus
            case "\u{2018}", "\u{2019}", "\u{201A}": out.append("'")
            case "\u{201C}", "\u{201D}", "\u{201E}": out.append("\"")
            case "\u{2026}": out += ["." , ".", "."]
            case "\u{00D7}": out.append("x")
            case "\u{00A0}", "\t": out.append(" ")
            case " "..."~": out.append(scalar)
            default: out.append("?")
            }
        }
        return out
    }

    private static let decoded: [[UInt8]] = table.map { hex in
        let digits = Array(hex.utf8)
        return (0..<glyphHeight).map { row in UInt8(hexValue(digits[2 * row]) << 4 | hexValue(digits[2 * row + 1])) }
    }

    private static func hexValue(_ digit: UInt8) -> UInt8 {
        digit <= UInt8(ascii: "9") ? digit - UInt8(ascii: "0") : digit - UInt8(ascii: "A") + 10
    }

    /// Index = ASCII code − 32.
    private static let table: [String] = [
        "000000000000000000", // space
        "040404040400040000", // !
        "0A0A0A000000000000", // quote
        "0A0A1F0A1F0A0A0000", // #
        "040F140E051E040000", // $
        "181902040813030000", // %
        "0C12140815120D0000", // &
        "0C0408000000000000", // '
        "020408080804020000", // (
        "080402020204080000", // )
        "000A041F040A000000", // *
        "0004041F0404000000", // +
        "00000000000C0C0408", // ,
        "0000001F0000000000", // -
        "00000000000C0C0000", // .
        "000102040810000000", // /
        "0E11131519110E0000", // 0
        "040C040404040E0000", // 1
        "0E11010204081F0000", // 2
        "1F02040201110E0000", // 3
        "02060A121F02020000", // 4
        "1F101E0101110E0000", // 5
        "0608101E11110E0000", // 6
        "1F0102040808080000", // 7
        "0E11110E11110E0000", // 8
        "0E11110F01020C0000", // 9
        "000C0C000C0C000000", // :
        "00000C0C000C0C0408", // ;
        "020408100804020000", // <
        "00001F001F00000000", // =
        "080402010204080000", // >
        "0E1101020400040000", // ?
        "0E11010D15150E0000", // @
        "0E1111111F11110000", // A
        "1E11111E11111E0000", // B
        "0E11101010110E0000", // C
        "1C12111111121C0000", // D
        "1F10101E10101F0000", // E
        "1F10101E1010100000", // F
        "0E11101711110F0000", // G
        "1111111F1111110000", // H
        "0E04040404040E0000", // I
        "0702020202120C0000", // J
        "111214181412110000", // K
        "1010101010101F0000", // L
        "111B15151111110000", // M
        "111119151311110000", // N
        "0E11111111110E0000", // O
        "1E11111E1010100000", // P
        "0E11111115120D0000", // Q
        "1E11111E1412110000", // R
        "0F10100E01011E0000", // S
        "1F0404040404040000", // T
        "1111111111110E0000", // U
        "11111111110A040000", // V
        "1111111515150A0000", // W
        "11110A040A11110000", // X
        "1111110A0404040000", // Y
        "1F01020408101F0000", // Z
        "0E08080808080E0000", // [
        "001008040201000000", // backslash
        "0E02020202020E0000", // ]
        "040A11000000000000", // ^
        "0000000000001F0000", // _
        "080402000000000000", // `
        "00000E010F110F0000", // a
        "1010161911111E0000", // b
        "00000E1010110E0000", // c
        "01010D1311110F0000", // d
        "00000E111F100E0000", // e
        "0609081C0808080000", // f
        "00000F1111110F010E", // g
        "101016191111110000", // h
        "04000C0404040E0000", // i
        "02000602020202120C", // j
        "0808090A0C0A090000", // k
        "0C04040404040E0000", // l
        "00001A151511110000", // m
        "000016191111110000", // n
        "00000E1111110E0000", // o
        "00001E1111111E1010", // p
        "00000F1111110F0101", // q
        "000016191010100000", // r
        "00000E100E011E0000", // s
        "08081C080809060000", // t
        "0000111111130D0000", // u
        "00001111110A040000", // v
        "0000111115150A0000", // w
        "0000110A040A110000", // x
        "0000111111110F010E", // y
        "00001F0204081F0000", // z
        "020404080404020000", // {
        "040404040404040000", // |
        "080404020404080000", // }
        "000008150200000000", // ~
    ]
}
