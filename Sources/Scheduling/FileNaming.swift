/// Names for what ctd writes about an inbox file — its copy under archive/ or rejected/, the
/// `.error.txt` note beside a rejected one, its outbox report — that always fit the file
/// system's limits, and file names made safe to print.
///
/// A writer chooses inbox names, so any name must be usable: a 255-byte name plus a tag or a
/// note suffix would exceed NAME_MAX, and a deep folder tree under a longer state folder could
/// exceed PATH_MAX. Names that would are shortened, keeping the extension and the tag.
public enum FileNaming {
    /// Linux's NAME_MAX (bytes in one name) and PATH_MAX (bytes in a path, with its NUL).
    public static let nameMax = 255
    public static let pathMax = 4096
    /// The longest suffix ctd adds to a destination name of its own: rejected/…/a.nii.gz.error.txt.
    public static let noteSuffix = ".error.txt"

    /// `.nii.gz`, `.nii` or "" (another kind of name).
    /// The tag that tells copies of a name apart, attempt by attempt: none, then the content
    /// hash's first 8 digits, then those and a counter ("", "-1f3e5a7c", "-1f3e5a7c-2", ...).
    public static func tag(attempt: Int, hash: String) -> String {
        attempt == 0 ? "" : attempt == 1 ? "-\(hash.prefix(8))" : "-\(hash.prefix(8))-\(attempt)"
    }

    public static func scanExtension(of name: String) -> String {
        for suffix in [".nii.gz", ".nii"] where name.hasSuffix(suffix) { return suffix }
        return ""
    }

    /// `stem` + `tag` + `ext`, with the stem cut (at a character boundary) so the whole name,
    /// plus `reserve` bytes that will be appended to it later, fits in `nameMax` bytes.
    public static func fit(stem: String, tag: String, extension ext: String, reserve: Int = 0) -> String {
        let room = nameMax - reserve - tag.utf8.count - ext.utf8.count
        return prefix(of: stem, bytes: max(1, room)) + tag + ext
    }

    /// Where the inbox file `relative` goes under `folder` (archive/ or rejected/): the same
    /// folders and name, `tag` (e.g. "-1f3e5a7c") before the extension, shortened to leave
    /// `reserve` bytes for a suffix. When even that path would pass PATH_MAX, the inbox folders
    /// are left out and the file goes straight under `folder`.
    public static func destination(under folder: String, relative: String, tag: String = "", reserve: Int = noteSuffix.utf8.count) -> String {
        var components = relative.split(separator: "/").map(String.init)
        let name = components.popLast() ?? "scan"
        let ext = scanExtension(of: name)
        let fitted = fit(stem: String(name.dropLast(ext.count)), tag: tag, extension: ext, reserve: reserve)
        let nested = ([folder] + components + [fitted]).joined(separator: "/")
        if nested.utf8.count + reserve < pathMax { return nested }
        return folder + "/" + fitted
    }

    /// The outbox stem (without `.json`/`.png`) for a request at `relative`: its folders and name
    /// joined by "_" so requests with the same name in different folders do not collide, without
    /// the scan extension, `tag` appended, shortened to leave room for `.json` and `.png`.
    public static func reportStem(under folder: String, relative: String, tag: String = "") -> String {
        let joined = relative.split(separator: "/").joined(separator: "_")
        let stem = String(joined.dropLast(scanExtension(of: joined).count))
        return folder + "/" + fit(stem: stem, tag: tag, extension: "", reserve: ".json".utf8.count)
    }

    /// The longest prefix of `text` that is at most `bytes` bytes of UTF-8, cut between characters.
    static func prefix(of text: String, bytes: Int) -> String {
        var result = ""
        var used = 0
        for scalar in text.unicodeScalars {
            let width = String(scalar).utf8.count
            if used + width > bytes { break }
            result.unicodeScalars.append(scalar)
            used += width
        }
        return result
    }

    /// `text` on one line, safe for a log, a table or a terminal: control characters (newlines,
    /// tabs, terminal escapes) and the invisible marks that reorder text (bidi controls) are
    /// written as escapes (`\n`, `\t`, `\u{1B}`), and a backslash as `\\`.
    public static func printable(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\\": out += "\\\\"
            default:
                let value = scalar.value
                let isControl = value < 0x20 || (0x7F...0x9F).contains(value)
                let reorders = (0x202A...0x202E).contains(value) || (0x2066...0x2069).contains(value) || value == 0x200E || value == 0x200F
                if isControl || reorders {
                    out += "\\u{" + String(value, radix: 16, uppercase: true) + "}"
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }
}
