import Foundation
import Preprocess
import Testing

@Suite struct TensorCacheTests {
    let folder = NSTemporaryDirectory() + "tensor-cache-\(UUID().uuidString)"
    let parameters = PreprocessParameters(width: 2, height: 3, depth: 4)
    var cache: TensorCache { TensorCache(folder: folder, parameters: parameters) }
    let grid = VoxelGrid(nx: 2, ny: 3, nz: 4, values: (0..<24).map { Float($0) / 24 })
    let hash = String(repeating: "ab", count: 32)

    init() throws { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) }

    @Test func aTensorIsNamedByHashAndParametersAndReadBackWithItsChecksum() throws {
        let (path, checksum) = try cache.write(grid, hash: hash)
        #expect(path == "\(folder)/\(hash)-\(parameters.key).npy")
        #expect(try cache.read(path, checksum: checksum).get() == grid)
        #expect(try cache.read(path).get() == grid)
        // Other parameters: another name, so a stale tensor is never reused.
        #expect(TensorCache(folder: folder, parameters: .seed).path(hash: hash) != path)
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test func aTensorThatIsMissingChangedOrOfAnotherSizeIsRefusedWithTheReason() throws {
        let (path, checksum) = try cache.write(grid, hash: hash)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        bytes[bytes.count - 1] ^= 0x40
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(throws: TensorCacheError.self) { try cache.read(path, checksum: checksum).get() }
        #expect((try? cache.read(path).get()) != nil, "without a checksum, changed values still decode")
        let other = TensorCache(folder: folder, parameters: PreprocessParameters(width: 4, height: 3, depth: 2))
        if case .failure(let problem) = other.read(path) { #expect(problem.reason == "2×3×4, not 4×3×2") } else { Issue.record("read a tensor of another size") }
        if case .failure(let problem) = cache.read(folder + "/none.npy") { #expect(problem.reason == "missing") } else { Issue.record("read a missing file") }
        try? FileManager.default.removeItem(atPath: folder)
    }
}
