/// Orientation from the header's affine, recorded so a report can warn when a scan is oriented
/// differently from the training set (the seed ignores orientation and hard-codes a rotation).
extension Header {
    /// The voxel-to-world direction matrix (3×3, columns = voxel axes) from the sform when
    /// `sform_code > 0`, else from the qform quaternion when `qform_code > 0`.
    public var directionMatrix: [[Double]]? {
        if sformCode > 0 {
            return (0..<3).map { row in Array(srow[row][0..<3]) }
        }
        guard qformCode > 0 else { return nil }
        let (b, c, d) = (quaternion[0], quaternion[1], quaternion[2])
        let a = max(0, 1 - (b * b + c * c + d * d)).squareRoot()
        let qfac: Double = pixdim[0] < 0 ? -1 : 1
        var r: [[Double]] = [
            [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
            [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
            [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
        ]
        for row in 0..<3 {
            r[row][0] *= pixdim[1]
            r[row][1] *= pixdim[2]
            r[row][2] *= pixdim[3] * qfac
        }
        return r
    }

    /// Axis codes as nibabel's `aff2axcodes` gives them (RAS+ labels: R, A, S for positive world
    /// x, y, z): e.g. "LPS" for a typical DICOM-derived CT. Nil when the header has no orientation.
    public var orientation: String? {
        guard let m = directionMatrix else { return nil }
        let labels: [(negative: Character, positive: Character)] = [("L", "R"), ("P", "A"), ("I", "S")]
        var used = Set<Int>()
        var codes = ""
        for column in 0..<3 {
            // The world axis this voxel axis runs along most closely (each used once).
            let candidates = (0..<3).filter { !used.contains($0) }
            guard let world = candidates.max(by: { abs(m[$0][column]) < abs(m[$1][column]) }),
                  m[world][column] != 0, m[world][column].isFinite else { return nil }
            used.insert(world)
            codes.append(m[world][column] > 0 ? labels[world].positive : labels[world].negative)
        }
        return codes
    }
}
