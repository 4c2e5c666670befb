import Foundation
import NIfTI
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
        if case .failure(let problem) = other.read(path) { #expect(problem.reason == "2×3×4, not 4×3×2" && problem.kind == .damaged) } else { Issue.record("read a tensor of another size") }
        if case .failure(let problem) = cache.read(folder + "/none.npy") { #expect(problem.reason == "missing" && problem.kind == .missing) } else { Issue.record("read a missing file") }
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test func aRebuiltTensorIsTheScanPreprocessedAndIsWrittenWhereReadLooks() throws {
        let header = NIfTIWriter.header(shape: (5, 4, 3), datatype: .int16)
        let volume = Volume(header: header, rawData: NIfTIWriter.rawBytes((0..<60).map { Int16($0 * 37 - 1000) }))
        let nested = TensorCache(folder: folder + "/not/yet/there", parameters: parameters)
        let (grid, written) = nested.rebuild(hash: hash, from: volume)
        #expect(grid == Preprocessor(parameters).run(volume))
        let (path, checksum) = try written.get()
        #expect(path == nested.path(hash: hash))
        #expect(try nested.read(path, checksum: checksum).get() == grid)
        try? FileManager.default.removeItem(atPath: folder)
    }

    @Test func aRebuildThatCannotBeWrittenStillGivesTheGridAndSaysWhy() throws {
        let header = NIfTIWriter.header(shape: (5, 4, 3), datatype: .int16)
        let volume = Volume(header: header, rawData: NIfTIWriter.rawBytes([Int16](repeating: 40, count: 60)))
        // A file where the folder should be: nothing can be written beneath it, even as root.
        FileManager.default.createFile(atPath: folder + "/blocked", contents: Data())
        let (grid, written) = TensorCache(folder: folder + "/blocked", parameters: parameters).rebuild(hash: hash, from: volume)
        #expect(grid == Preprocessor(parameters).run(volume))
        guard case .failure(let error) = written else { Issue.record("wrote beneath a file"); return }
        #expect(error.code == ENOTDIR)
        try? FileManager.default.removeItem(atPath: folder)
    }
}
