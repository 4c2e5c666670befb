import CTDTestSupport
import Foundation
import NIfTI
import Testing
import Zlib

/// Bad files get one clear `NIfTIError` naming the file and the reason — never a crash.
@Suite struct ReaderErrorTests {
    let folder = TemporaryFolder()
    let header = NIfTIWriter.header(shape: (16, 16, 8), datatype: .int16)
    var data: [UInt8] { NIfTIWriter.rawBytes((0..<(16 * 16 * 8)).map { Int16($0 % 2000 - 1000) }) }

    func reason(_ path: String, limits: ReadLimits = ReadLimits()) -> NIfTIError.Reason? {
        do {
            _ = try NIfTIReader(limits: limits).read(path: path)
            return nil
        } catch {
            #expect(error.description.hasPrefix(path + ": "), "the message names the file")
            #expect(!error.description.contains("\n"), "one line")
            return error.reason
        }
    }

    func file(_ name: String, header: Header? = nil, data: [UInt8]? = nil, compressed: Bool = false) throws -> String {
        folder.write(try NIfTIWriter.encode(header: header ?? self.header, rawData: data ?? self.data, compressed: compressed), to: name)
    }

    @Test func validFilesRead() throws {
        for compressed in [false, true] {
            let volume = try NIfTIReader().read(path: try file("ok.nii", compressed: compressed))
            #expect(volume.rawData == data)
        }
    }

    @Test func missingEmptyAndDirectory() throws {
        #expect(reason(folder.path + "/nope.nii") == .notFound)
        #expect(reason(folder.write([], to: "empty.nii")) == .empty)
        try FileManager.default.createDirectory(atPath: folder.path + "/dir.nii", withIntermediateDirectories: false)
        #expect(reason(folder.path + "/dir.nii") == .notARegularFile(kind: "a directory"))
    }

    @Test func fifoIsRefusedWithoutBlocking() throws {
        let path = folder.path + "/pipe.nii"
        #expect(mkfifo(path, 0o600) == 0)
        #expect(reason(path) == .notARegularFile(kind: "a FIFO"))
    }

    @Test func textFileIsNotNIfTI() {
        let path = folder.write(Array(String(repeating: "hello, this is not a scan\n", count: 20).utf8), to: "notes.nii")
        guard case .badHeader(let problem) = reason(path) else { Issue.record("expected a header problem"); return }
        #expect(problem.check == .sizeofHeader)
    }

    @Test func shortFileIsTooShortForAHeader() {
        guard case .badHeader(let problem) = reason(folder.write(Array(header.encode()[..<200]), to: "short.nii")) else {
            Issue.record("expected a header problem"); return
        }
        #expect(problem.message.contains("shorter than its NIfTI-1 header"))
    }

    @Test func truncatedDataIsReported() throws {
        let whole = try NIfTIWriter.encode(header: header, rawData: data, compressed: false)
        let path = folder.write(Array(whole[..<(whole.count - 100)]), to: "cut.nii")
        #expect(reason(path) == .truncatedData(expected: 4096, available: 3996))
    }

    @Test func truncatedGzipIsReported() throws {
        let whole = try NIfTIWriter.encode(header: header, rawData: data, compressed: true)
        let path = folder.write(Array(whole[..<(whole.count * 2 / 3)]), to: "cut.nii.gz")
        guard case .truncatedGzip(_, let expected) = reason(path) else { Issue.record("expected truncated gzip"); return }
        #expect(expected == 4096)
    }

    @Test func corruptGzipIsReported() throws {
        var whole = try NIfTIWriter.encode(header: header, rawData: data, compressed: true)
        for index in 12..<whole.count - 8 where index % 3 == 0 { whole[index] ^= 0x5A }
        let found = reason(folder.write(whole, to: "corrupt.nii.gz"))
        switch found {
        case .corruptGzip, .badHeader: break
        default: Issue.record("expected corrupt gzip, got \(String(describing: found))")
        }
    }

    @Test func absurdDimsAreRefusedBeforeAllocating() throws {
        var huge = header
        huge.dim = [3, 30000, 30000, 30000, 1, 1, 1, 1]
        // The file is tiny: a reader that trusted the header would try to allocate 54 TB.
        let path = folder.write(huge.encode() + [0, 0, 0, 0] + Array(data[..<100]), to: "huge.nii")
        #expect(reason(path) == .tooManyVoxels(count: 27_000_000_000_000, limit: 1 << 28))
        #expect(reason(try file("limited.nii"), limits: ReadLimits(maxVoxels: 1000)) == .tooManyVoxels(count: 2048, limit: 1000))
    }

    @Test func gzipClaimingMoreThanDeflateCanHoldIsTruncatedUpFront() throws {
        var big = header
        big.dim = [3, 512, 512, 512, 1, 1, 1, 1]   // 256 MiB of int16 claimed by a ~4 KB file
        let path = folder.write(try Deflate.compress(big.encode() + [0, 0, 0, 0] + data, wrapper: .gzip), to: "small.nii.gz")
        #expect(reason(path) == .truncatedGzip(decompressed: 0, expected: 512 * 512 * 512 * 2))
    }

    @Test func gzipBombStopsAtTheImpliedSize() throws {
        // 64 MiB of zeros after a header that claims 4 KiB: reading stops after 4 KiB.
        let bomb = try Deflate.compress(header.encode() + [0, 0, 0, 0] + [UInt8](repeating: 0, count: 1 << 26), wrapper: .gzip, level: 9)
        let volume = try NIfTIReader().read(path: folder.write(bomb, to: "bomb.nii.gz"))
        #expect(volume.rawData.count == 4096)
    }

    @Test func hugeExtensionAreaIsRefused() throws {
        var far = header
        far.voxOffset = Double(1 << 30)
        guard case .badHeader(let problem) = reason(folder.write(far.encode() + [0, 0, 0, 0] + data, to: "far.nii")) else {
            Issue.record("expected a header problem"); return
        }
        #expect(problem.check == .voxOffset)
    }

    @Test func fatalProblemCarriesEarlierWarnings() throws {
        var odd = header
        odd.bitpix = 7
        odd.voxOffset = 100
        do {
            _ = try NIfTIReader().read(path: try file("odd.nii", header: odd))
            Issue.record("a vox_offset inside the header must be refused")
        } catch let error as NIfTIError {
            #expect(error.earlierProblems.map(\.check) == [.bitpix])
            #expect(error.description.hasSuffix("vox_offset 100 points inside the header (a single-file NIfTI-1 needs at least 352)"))
        }
    }

    /// Random damage to a valid file never crashes the reader: each attempt reads or throws a NIfTIError.
    @Test func randomCorruptionNeverCrashes() throws {
        var generator = SystemRandomNumberGenerator()
        let originals = [try NIfTIWriter.encode(header: header, rawData: data, compressed: false),
                         try NIfTIWriter.encode(header: header, rawData: data, compressed: true),
                         try NIfTIWriter.encode(header: NIfTIWriter.header(shape: (16, 16, 8), datatype: .int16, version: .nifti2, byteOrder: .big),
                                                rawData: data, compressed: false)]
        var outcomes = (read: 0, refused: 0)
        for round in 0..<600 {
            var bytes = originals[round % originals.count]
            let edits = Int.random(in: 1...8, using: &generator)
            for _ in 0..<edits {
                // Mostly hit the header, where the interesting fields are.
                let index = Int.random(in: 0..<(Bool.random(using: &generator) ? min(560, bytes.count) : bytes.count), using: &generator)
                bytes[index] = UInt8.random(in: 0...255, using: &generator)
            }
            if round % 5 == 0 { bytes = Array(bytes[..<Int.random(in: 0..<bytes.count, using: &generator)]) }
            let path = folder.write(bytes, to: "fuzz.nii")
            do {
                _ = try NIfTIReader(limits: ReadLimits(maxVoxels: 1 << 20)).read(path: path)
                outcomes.read += 1
            } catch {
                outcomes.refused += 1
            }
        }
        #expect(outcomes.read + outcomes.refused == 600)
        #expect(outcomes.refused > 0)
    }
}
