import Scheduling
import Testing

/// Names ctd derives from inbox names always fit NAME_MAX and PATH_MAX, keep the extension and
/// the tag, and print on one line.
@Suite struct FileNamingTests {
    static func lastName(_ path: String) -> String { String(path.split(separator: "/").last!) }

    @Test func copiesOfANameAreToldApartByOneTagRule() {
        let hash = "1f3e5a7c" + String(repeating: "0", count: 56)
        #expect((0..<4).map { FileNaming.tag(attempt: $0, hash: hash) } == ["", "-1f3e5a7c", "-1f3e5a7c-2", "-1f3e5a7c-3"])
        #expect(Set((0..<1000).map { FileNaming.tag(attempt: $0, hash: hash) }).count == 1000)
    }

    @Test func shortNamesAreKeptAsTheyAre() {
        #expect(FileNaming.destination(under: "/s/archive", relative: "CT-0/a.nii.gz") == "/s/archive/CT-0/a.nii.gz")
        #expect(FileNaming.destination(under: "/s/archive", relative: "CT-0/a.nii.gz", tag: "-1f3e5a7c") == "/s/archive/CT-0/a-1f3e5a7c.nii.gz")
    }

    @Test(arguments: [".nii.gz", ".nii"]) func aMaximalNameWithATagAndANoteStillFits(ext: String) {
        let name = String(repeating: "A", count: 255 - ext.utf8.count) + ext
        let path = FileNaming.destination(under: "/s/rejected", relative: "ward-1/" + name, tag: "-53cb9f4e")
        let last = Self.lastName(path)
        #expect((last + FileNaming.noteSuffix).utf8.count <= FileNaming.nameMax)
        #expect(last.hasSuffix("-53cb9f4e" + ext))
        #expect(last.hasPrefix("AAAA"))
        #expect(path.hasPrefix("/s/rejected/ward-1/"))
    }

    @Test func multiByteNamesAreCutBetweenCharacters() {
        let name = String(repeating: "é", count: 126) + ".nii"  // 252 + 4 bytes
        let last = Self.lastName(FileNaming.destination(under: "/s/archive", relative: name, tag: "-00000000"))
        #expect(last.utf8.count + FileNaming.noteSuffix.utf8.count <= FileNaming.nameMax)
        #expect(last.unicodeScalars.allSatisfy { $0 == "é" || "-0.ni".unicodeScalars.contains($0) })
        #expect(last.hasSuffix("-00000000.nii"))
    }

    @Test func aPathPastPathMaxDropsTheInboxFolders() {
        let folders = (0..<20).map { _ in String(repeating: "d", count: 250) }.joined(separator: "/")
        let path = FileNaming.destination(under: "/var/lib/ctd/archive", relative: folders + "/scan.nii", tag: "-1")
        #expect(path == "/var/lib/ctd/archive/scan-1.nii")
    }

    @Test func reportStemsFitWithTheirExtensions() {
        let relative = (0..<3).map { _ in String(repeating: "w", count: 250) }.joined(separator: "/") + "/x.nii.gz"
        let stem = FileNaming.reportStem(under: "/s/outbox", relative: relative, tag: "-abcdef12-2")
        #expect((Self.lastName(stem) + ".json").utf8.count <= FileNaming.nameMax)
        #expect(stem.hasSuffix("-abcdef12-2"))
    }

    @Test func printableEscapesWhatBreaksALine() {
        #expect(FileNaming.printable("a\nb\tc\r") == "a\\nb\\tc\\r")
        #expect(FileNaming.printable("\u{1B}[31mred") == "\\u{1B}[31mred")
        #expect(FileNaming.printable("evil\u{202E}zg.nii") == "evil\\u{202E}zg.nii")
        #expect(FileNaming.printable("back\\slash") == "back\\\\slash")
        #expect(FileNaming.printable("études/ß.nii") == "études/ß.nii")
    }
}
