@testable import Reports
import Testing

/// Drawing primitives and the bitmap font.
@Suite struct RasterTests {
    let red = RGBColor(255, 0, 0)

    /// The rows of `raster` as strings, "#" where the pixel is not the background.
    func picture(_ raster: Raster, background: RGBColor = .white) -> [String] {
        (0..<raster.height).map { y in String((0..<raster.width).map { raster[$0, y] == background ? "." : "#" }) }
    }

    @Test func rectanglesAreClipped() {
        var raster = Raster(width: 4, height: 3)
        raster.fillRect(x: -2, y: 1, width: 4, height: 10, color: red)
        #expect(picture(raster) == ["....", "##..", "##.."])
        raster.strokeRect(x: 1, y: 0, width: 3, height: 3, color: .black)
        #expect(picture(raster) == [".###", "##.#", "####"])
        #expect(raster[2, 1] == .white)
    }

    @Test func drawsAGlyphPixelForPixel() {
        var raster = Raster(width: 5, height: 9)
        raster.drawText("I", x: 0, y: 0, color: .black)
        #expect(picture(raster) == [".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###.", ".....", "....."])
        var twice = Raster(width: 10, height: 18)
        twice.drawText("I", x: 0, y: 0, color: .black, scale: 2)
        #expect(picture(twice)[0] == "..######.." && picture(twice)[13] == "..######..")
        #expect(picture(twice)[2] == "....##....")
    }

    @Test func everyPrintableCharacterHasItsOwnGlyph() {
        var seen: [[String]: Character] = [:]
        for code in 33...126 {
            let character = Character(Unicode.Scalar(UInt8(code)))
            var raster = Raster(width: 5, height: 9)
            raster.drawText(String(character), x: 0, y: 0, color: .black)
            let image = picture(raster)
            #expect(image.contains { $0.contains("#") }, "\(character) is blank")
            #expect(seen[image] == nil, "\(character) looks like \(seen[image].map(String.init) ?? "")")
            seen[image] = character
        }
    }

    @Test func descendersGoBelowTheBaseline() {
        func inkBelowBaseline(_ text: String) -> Bool {
            var raster = Raster(width: 5, height: 9)
            raster.drawText(text, x: 0, y: 0, color: .black)
            return picture(raster)[7...].contains { $0.contains("#") }
        }
        for letter in ["g", "j", "p", "q", "y", ",", ";"] { #expect(inkBelowBaseline(letter), "\(letter)") }
        for letter in ["a", "o", "A", "0", "."] { #expect(!inkBelowBaseline(letter), "\(letter)") }
    }

    @Test func nonASCIIBecomesALookAlikeOrAQuestionMark() {
        func render(_ text: String) -> [String] {
            var raster = Raster(width: 40, height: 9)
            raster.drawText(text, x: 0, y: 0, color: .black)
            return picture(raster)
        }
        #expect(render("a—b") == render("a-b"))
        #expect(render("5×5") == render("5x5"))
        #expect(render("é") == render("?"))
        #expect(Raster.textSize("ab—c", scale: 2) == (width: (4 * 6 - 1) * 2, height: 18))
        #expect(Raster.textSize("", scale: 3).width == 0)
    }

    @Test func upwardTextIsHorizontalTextTurnedAnticlockwise() {
        var flat = Raster(width: 11, height: 9)
        flat.drawText("Lp", x: 0, y: 0, color: .black)
        var upward = Raster(width: 9, height: 11)
        upward.drawText("Lp", x: 0, y: 0, color: .black, direction: .upward)
        for y in 0..<9 {
            for x in 0..<11 {
                // Turning anticlockwise sends (x, y) to (y, width − 1 − x).
                #expect(flat[x, y] == upward[y, 10 - x])
            }
        }
    }

    @Test func longTextIsCutWithAnEllipsis() {
        let fitted = Raster.fitted("a very long caption indeed", maxWidth: 60, scale: 1)
        #expect(fitted.hasSuffix("...") && Raster.textSize(fitted).width <= 60)
        #expect(Raster.fitted("short", maxWidth: 60, scale: 1) == "short")
    }

    @Test func oneMiddleLineCoversExactlyItsRow() {
        var raster = Raster(width: 12, height: 5)
        raster.drawLine(from: Point(0.5, 2.5), to: Point(9.5, 2.5), color: red)
        #expect(picture(raster) == ["............", "............", "##########..", "............", "............"])
        #expect((0...9).allSatisfy { raster[$0, 2] == red })
    }

    @Test func diagonalLinesAreAntialiasedAndSymmetric() {
        var raster = Raster(width: 20, height: 20)
        raster.drawLine(from: Point(2, 2), to: Point(18, 18), color: .black, width: 2)
        #expect(raster[10, 10] == .black)
        let nearby = raster[11, 10]
        #expect(nearby != .black && nearby != .white, "edge pixels are partly covered")
        #expect(raster[11, 10] == raster[10, 11])
        #expect(raster[15, 5] == .white)
    }

    @Test func dashesLeaveGapsThatContinueAcrossJoins() {
        var raster = Raster(width: 40, height: 3)
        // Starting at x = 0, pixel centres sit mid-way along each dash: whole pixels in, whole pixels out.
        raster.drawPolyline([Point(0, 1.5), Point(16, 1.5), Point(40, 1.5)], color: .black, dash: Dash(on: 4, off: 4))
        let row = picture(raster)[1]
        #expect(row == "####....####....####....####....####....", "\(row)")
        #expect((0..<4).allSatisfy { raster[$0, 1] == .black } && raster[16, 1] == .black)
        var solid = Raster(width: 40, height: 3)
        solid.drawPolyline([Point(0.5, 1.5), Point(39.5, 1.5)], color: .black)
        #expect(picture(solid)[1] == String(repeating: "#", count: 40))
    }

    @Test func partlyOutsideShapesAreClippedAndFarPointsDoNotTrap() {
        var raster = Raster(width: 10, height: 10)
        raster.drawLine(from: Point(-1e9, 5.5), to: Point(1e9, 5.5), color: .black)
        #expect((0..<10).allSatisfy { raster[$0, 5] == .black })
        raster.fillCircle(center: Point(0, 0), radius: 3, color: red)
        #expect(raster[0, 0] == red && raster[9, 9] == .white)
    }

    @Test func discsAreFullInTheMiddleAndSoftAtTheEdge() {
        var raster = Raster(width: 11, height: 11)
        raster.fillCircle(center: Point(5.5, 5.5), radius: 3.5, color: .black)
        #expect(raster[5, 5] == .black && raster[5, 2] == .black)
        #expect(raster[0, 0] == .white && raster[5, 0] == .white)
        // (8.5, 7.5) is 3.6 pixels from the centre: partly inside a radius of 3.5.
        let edge = raster[8, 7]
        #expect(edge != .black && edge != .white && edge == raster[7, 8])
    }

    @Test func grayscaleOutputKeepsGraysExactly() throws {
        var raster = Raster(width: 256, height: 2)
        for x in 0..<256 { raster[x, 0] = RGBColor(gray: UInt8(x)) }
        raster[0, 1] = RGBColor(255, 0, 0)
        raster[1, 1] = RGBColor(0, 255, 0)
        let png = try PNGReader(raster.png(colorType: .grayscale))
        #expect(png.colorType == 0 && png.width == 256)
        #expect((0..<256).allSatisfy { png.gray($0, 0) == UInt8($0) })
        #expect(png.gray(0, 1) == 77 && png.gray(1, 1) == 149, "luma weights 0.299, 0.587")
        #expect(png.gray(2, 1) == 255)
    }
}
