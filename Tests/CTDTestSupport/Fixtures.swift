import Foundation
import Preprocess

/// The committed reference fixtures in Tests/Fixtures (made by scripts/make_fixtures.py).
public enum Fixtures {
    public static let folder: String = {
        var url = URL(fileURLWithPath: #filePath)
        url.deleteLastPathComponent()          // CTDTestSupport
        url.deleteLastPathComponent()          // Tests
        return url.appendingPathComponent("Fixtures").path
    }()

    public static func path(_ name: String) -> String { folder + "/" + name }

    /// Every NIfTI fixture's file name, sorted.
    public static var niftiFiles: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasSuffix(".nii") || $0.hasSuffix(".nii.gz") }.sorted()
    }

    /// A fixture's case name: the file name without `.nii` / `.nii.gz`.
    public static func caseName(_ file: String) -> String {
        file.replacingOccurrences(of: ".nii.gz", with: "").replacingOccurrences(of: ".nii", with: "")
    }

    /// Reads a `.npy` fixture.
    public static func npy(_ name: String) throws -> (grid: VoxelGrid, doubles: [Double]) {
        try NumPyFile.decode(bytes(name))
    }

    public static func bytes(_ name: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(name))))
    }

    /// The `facts.json` nibabel wrote about each fixture.
    public static func facts() throws -> [String: [String: Any]] {
        let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("facts.json"))))
        return ((object as? [String: Any])?["files"] as? [String: [String: Any]]) ?? [:]
    }
}

/// A fresh temporary folder, removed when the value is released.
public final class TemporaryFolder {
    public let path: String

    public init() {
        path = NSTemporaryDirectory() + "ctd-test-" + UUID().uuidString
        try! FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    /// Writes `bytes` to `name` inside the folder and returns the full path.
    @discardableResult
    public func write(_ bytes: [UInt8], to name: String) -> String {
        let file = path + "/" + name
        try? FileManager.default.createDirectory(atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        _ = FileManager.default.createFile(atPath: file, contents: Data(bytes))
        return file
    }
}

/// The largest absolute difference between two equally long arrays.
public func maxAbsDifference(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "arrays differ in length: \(a.count) vs \(b.count)")
    return zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

import Preprocess

/// The seed's 90° rotation for square slices written as its definition, `out[i, j, k] =
/// v[j, n-1-i, k]`: the spec the fast paths are checked against.
public func referenceRotate90(_ grid: VoxelGrid) -> VoxelGrid {
    precondition(grid.nx == grid.ny)
    let n = grid.nx
    var out = grid.values
    for k in 0..<grid.nz { for j in 0..<n { for i in 0..<n {
        out[i + n * (j + n * k)] = grid[j, n - 1 - i, k]
    } } }
    return VoxelGrid(nx: n, ny: n, nz: grid.nz, values: out)
}
