import Foundation

/// MosMedData's severity scale, which its folders are named after: the share of the lungs that
/// the pneumonia involves. The seed's abnormal class, CT-23, is CT-2 and CT-3.
public enum Severity: Int, CaseIterable, Sendable, Comparable, CustomStringConvertible {
    /// Normal lungs.
    case ct0 = 0
    /// Under 25 % involved.
    case ct1
    /// 25–50 %.
    case ct2
    /// 50–75 %.
    case ct3
    /// Over 75 %.
    case ct4

    public var description: String { "CT-\(rawValue)" }

    public static func < (a: Severity, b: Severity) -> Bool { a.rawValue < b.rawValue }

    /// The share of the lung volume the lesions are drawn to cover (the scale itself, for any generator).
    public var involvement: ClosedRange<Double> {
        switch self {
        case .ct0: 0...0
        case .ct1: 0.03...0.25
        case .ct2: 0.25...0.5
        case .ct3: 0.5...0.75
        case .ct4: 0.75...0.9
        }
    }

    /// How often each kind of lesion is drawn: ground glass dominates early, consolidation grows
    /// with severity (as in COVID-19 pneumonia's progression).
    var lesionMix: (groundGlass: Double, crazyPaving: Double) {
        switch self {
        case .ct0, .ct1: (0.85, 0.1)
        case .ct2: (0.6, 0.25)
        case .ct3: (0.5, 0.25)
        case .ct4: (0.35, 0.25)
        }
    }

    /// Lesion diameters (mm): nodules and small patches at CT-1, confluent patches beyond.
    var diameter: ClosedRange<Double> {
        switch self {
        case .ct0, .ct1: 10...45
        case .ct2, .ct3: 40...110
        case .ct4: 60...130
        }
    }
}

extension Severity {
    /// Abnormal severities from a list such as "1-4", "2,3" or "4"; nil when the text names
    /// anything but 1–4.
    public static func abnormal(_ text: String) -> [Severity]? {
        var found: [Severity] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) {
            let bounds = part.split(separator: "-", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard (1...2).contains(bounds.count), let low = bounds.first ?? nil, let high = bounds.last ?? nil,
                  1 <= low, low <= high, high <= 4 else { return nil }
            found += (low...high).compactMap(Severity.init(rawValue:))
        }
        return found.isEmpty ? nil : found
    }
}
