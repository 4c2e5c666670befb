import Yams

/// The keys a configuration file sets, checked against `DaemonConfig.keys` before anything is
/// applied: a misspelled key would otherwise be ignored and its default silently used.
enum ConfigFileKeys {
    /// Every problem with `text` (a YAML file named `file`): one line for a YAML error, with its
    /// line and column; one line per unknown key, with the nearest known key when one is close;
    /// one line per known key whose value is a list or a mapping instead of a single value.
    /// Aliases are refused before the YAML is composed (see `firstAlias`); only known sections are
    /// walked.
    static func problems(in text: String, file: String, known: [String] = DaemonConfig.keys) -> [String] {
        if let alias = firstAlias(in: text) {
            return ["\(file): line \(alias.line), column \(alias.column): YAML aliases (`*name`) are not accepted here; write the value out in full"]
        }
        let document: Node?
        do {
            document = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            return ["\(file): not valid YAML: \(oneLine(error))"]
        } catch {
            return ["\(file): not valid YAML: \(error)".replacingOccurrences(of: "\n", with: " ")]
        }
        guard let document, document.scalar?.string.isEmpty != true else { return [] }  // an empty file sets nothing
        guard let mapping = document.mapping else { return ["\(file): the top level must be a mapping of keys to values"] }
        let knownSet = Set(known)
        // A section (`model:`) is known when some key lies under it.
        let sections = Set(known.flatMap { key in
            let parts = key.split(separator: ".")
            return (1..<max(parts.count, 1)).map { parts.prefix($0).joined(separator: ".") }
        })
        var problems: [String] = []
        func walk(_ mapping: Node.Mapping, under prefix: String) {
            for (keyNode, value) in mapping {
                let path = prefix.isEmpty ? (keyNode.string ?? "?") : prefix + "." + (keyNode.string ?? "?")
                if sections.contains(path), let nested = value.mapping {
                    walk(nested, under: path)
                } else if sections.contains(path), value.null != nil {
                    continue  // `control:` with nothing under it
                } else if !knownSet.contains(path) {
                    let hint = nearest(to: path, in: known).map { "; did you mean `\($0)`?" } ?? " (config/ctd.yaml lists every key)"
                    problems.append("\(file): `\(path)`: unknown key\(hint)")
                } else if value.scalar == nil {
                    problems.append("\(file): `\(path)`: needs a single value, not a list or a mapping")
                }
            }
        }
        walk(mapping, under: "")
        return problems
    }

    /// The file's scalar values by dotted key (`retrain.min_new_labels` → "5"), as written; nil
    /// when the text is not YAML. Lists and mappings under unknown keys are not visited.
    static func values(in text: String, known: [String] = DaemonConfig.keys) -> [String: String]? {
        guard firstAlias(in: text) == nil else { return nil }
        let document: Node?
        do { document = try Yams.compose(yaml: text) } catch { return nil }
        let knownSet = Set(known)
        var values: [String: String] = [:]
        func walk(_ node: Node, path: String, depth: Int) {
            if let scalar = node.scalar, knownSet.contains(path) {
                values[path] = scalar.string
            } else if let mapping = node.mapping, depth < 4 {
                for (key, child) in mapping { walk(child, path: path.isEmpty ? (key.string ?? "?") : path + "." + (key.string ?? "?"), depth: depth + 1) }
            }
        }
        if let document { walk(document, path: "", depth: 0) }
        return values
    }

    /// Where the first thing that could be a YAML alias starts (1-based), or nil. Every setting is
    /// a single value, so an alias has no use in this file, and it is dangerous: Yams hashes each
    /// mapping key while composing, and a key that is an alias of a nested alias bomb makes that
    /// hash visit billions of nodes. The rule is deliberately wider than YAML's: any `*` followed
    /// by an anchor character at the start of a token, where a token may start after a line
    /// break, a blank, a byte-order mark, a flow indicator, `:` or a quote, even inside comments
    /// and quoted text. A rare false alarm costs a reworded comment; a miss would hang the daemon.
    static func firstAlias(in text: String) -> (line: Int, column: Int)? {
        let tokenStarts: Set<Unicode.Scalar> = [" ", "\t", "\r", "\n", "\u{85}", "\u{2028}", "\u{2029}", "\u{FEFF}", "[", "]", "{", "}", ",", ":", "'", "\""]
        func isAnchorCharacter(_ scalar: Unicode.Scalar) -> Bool {
            scalar.isASCII && (scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) || scalar == "-" || scalar == "_")
        }
        var (line, column) = (1, 0)
        var previous: Unicode.Scalar?
        var scalars = text.unicodeScalars.makeIterator()
        var current = scalars.next()
        while let scalar = current {
            let next = scalars.next()
            column += 1
            if scalar == "*", previous.map(tokenStarts.contains) ?? true, let next, isAnchorCharacter(next) {
                return (line, column)
            }
            if scalar == "\n" { (line, column) = (line + 1, 0) }
            (previous, current) = (scalar, next)
        }
        return nil
    }

    /// The known key closest to `key` in edit distance, if it is close enough to be a typo.
    static func nearest(to key: String, in known: [String]) -> String? {
        let scored = known.map { ($0, distance(Array(key), Array($0))) }.min { $0.1 < $1.1 }
        guard let (best, score) = scored, score <= max(2, key.count / 4) else { return nil }
        return best
    }

    private static func distance(_ a: [Character], _ b: [Character]) -> Int {
        var previous = Array(0...b.count)
        for (i, x) in a.enumerated() {
            var current = [i + 1]
            for (j, y) in b.enumerated() {
                current.append(min(previous[j + 1] + 1, current[j] + 1, previous[j] + (x == y ? 0 : 1)))
            }
            previous = current
        }
        return previous[b.count]
    }

    private static func oneLine(_ error: YamlError) -> String {
        switch error {
        case let .scanner(_, problem, mark, _), let .parser(_, problem, mark, _), let .composer(_, problem, mark, _):
            return "line \(mark.line), column \(mark.column): \(problem)"
        default:
            return "\(error)".split(separator: "\n").joined(separator: " ")
        }
    }
}
