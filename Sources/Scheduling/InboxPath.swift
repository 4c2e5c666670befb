/// What a file in the inbox asks for, decided by where it was dropped: `CT-0/` teaches a normal
/// scan, `CT-23/` an abnormal one, anywhere else asks for a prediction.
public enum InboxPath {
    public enum Meaning: Equatable, Sendable {
        case labelled(Int)
        case predictionRequest
        /// Not ours to touch: hidden or temporary names (copy tools write those first), other files.
        case ignored
    }

    public static let labelFolders = ["CT-0": 0, "CT-23": 1]

    /// "normal (CT-0)" or "abnormal (CT-23)".
    public static func labelName(_ label: Int) -> String { label == 1 ? "abnormal (CT-23)" : "normal (CT-0)" }

    /// - Parameter relative: the path below the inbox, e.g. "CT-23/study-4.nii.gz".
    public static func meaning(of relative: String) -> Meaning {
        let components = relative.split(separator: "/", omittingEmptySubsequences: true)
        guard let name = components.last, !components.contains(where: { $0.hasPrefix(".") }) else { return .ignored }
        guard name.hasSuffix(".nii") || name.hasSuffix(".nii.gz") else { return .ignored }
        if components.count >= 2, let label = labelFolders[String(components[0])] { return .labelled(label) }
        return .predictionRequest
    }
}
