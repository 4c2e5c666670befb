import Yams

/// The keys a configuration file sets, checked against `DaemonConfig.keys` before anything is
/// applied: a misspelled key would otherwise be ignored and its default silently used.
enum ConfigFileKeys {
    /// Every problem with `text` (a YAML file named `file`): one line for a YAML error, with its
    /// line and column; one line per unknown key, with the nearest known key when one is close.
    static func problems(in text: String, file: String, known: [String] = DaemonConfig.keys) -> [String] {
        let document: Any?
        do {
            document = try Yams.load(yaml: text)
        } catch let error as YamlError {
            return ["\(file): not valid YAML: \(oneLine(error))"]
        } catch {
            return ["\(file): not valid YAML: \(error)".replacingOccurrences(of: "\n", with: " ")]
        }
        guard let document else { return [] }  // an empty file sets nothing
        guard let mapping = document as? [String: Any] else { return ["\(file): the top level must be a mapping of keys to values"] }
        let knownSet = Set(known)
        // A section (`model:`) is known when some key lies under it.
        let sections = Set(known.flatMap { key in
            let parts = key.split(separator: ".")
            return (1..<max(parts.count, 1)).map { parts.prefix($0).joined(separator: ".") }
        })
        var problems: [String] = []
        func walk(_ value: Any, path: String) {
            if let nested = value as? [String: Any], sections.contains(path) || path.isEmpty {
                for key in nested.keys.sorted() { walk(nested[key]!, path: path.isEmpty ? key : path + "." + key) }
            } else if !knownSet.contains(path) {
                let hint = nearest(to: path, in: known).map { "; did you mean `\($0)`?" } ?? " (config/ctd.yaml lists every key)"
                problems.append("\(file): `\(path)`: unknown key\(hint)")
            }
        }
        walk(mapping, path: "")
        return problems
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
