import Foundation
import Testing

/// docs/LAYOUT.md is how a newcomer finds their way: it lists every target, in Package.swift's order.
@Suite struct LayoutDocTests {
    static func text(_ path: String) throws -> String { try String(contentsOfFile: InstallScriptTests.repository + "/" + path, encoding: .utf8) }

    /// Names matched by `pattern`'s first group, in order.
    static func names(_ pattern: String, in text: String) throws -> [String] {
        let regex = try NSRegularExpression(pattern: pattern, options: [.anchorsMatchLines])
        return regex.matches(in: text, range: NSRange(text.startIndex..., in: text)).map { String(text[Range($0.range(at: 1), in: text)!]) }
    }

    @Test func layoutListsEveryTargetInPackageOrder() throws {
        let package = try Self.names(#"^\s*\.(?:target|systemLibrary|executableTarget)\(name: "(\w+)""#, in: try Self.text("Package.swift"))
        // A row names one target, or two (`ctd`, `ctctl`).
        let rows = try Self.names(#"^\| ((?:`\w+`(?:, )?)+) \|"#, in: try Self.text("docs/LAYOUT.md"))
        let layout = rows.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: " `")) } }
        #expect(!package.isEmpty)
        #expect(layout == package.filter { $0 != "CTDTestSupport" })
    }
}
