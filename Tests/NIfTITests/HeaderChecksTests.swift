import NIfTI
import Testing

/// The named header rules, on headers built in memory (no files).
@Suite struct HeaderChecksTests {
    let valid = NIfTIWriter.header(shape: (8, 8, 4), datatype: .int16)

    func problems(_ change: (inout Header) -> Void) -> [HeaderProblem] {
        var header = valid
        change(&header)
        return HeaderChecks.run(header)
    }

    @Test func validHeaderHasNoProblems() {
        #expect(HeaderChecks.run(valid).isEmpty)
        #expect(HeaderChecks.run(NIfTIWriter.header(shape: (8, 8, 4), datatype: .float64, version: .nifti2, byteOrder: .big)).isEmpty)
    }

    @Test func decodeRoundTripsEncode() throws {
        for version in [NIfTIVersion.nifti1, .nifti2] {
            for order in [ByteOrder.little, .big] {
                var header = NIfTIWriter.header(shape: (5, 6, 7), datatype: .uint16, spacing: (0.5, 0.75, 8), version: version, byteOrder: order)
                header.sclSlope = 2
                header.sclInter = -3
                header.sformCode = 2
                header.srow = [[-0.5, 0, 0, 10], [0, -0.75, 0, 20], [0, 0, 8, 30]]
                #expect(try Header.decode(header.encode()) == header)
            }
        }
    }

    @Test func sizeofHeaderIsCheckedFirst() {
        var bytes = valid.encode()
        bytes[0] = 0x99
        #expect { try Header.decode(bytes) } throws: { ($0 as? HeaderProblem)?.check == .sizeofHeader }
        #expect { try Header.decode([1, 2]) } throws: { ($0 as? HeaderProblem)?.message.contains("too short") == true }
        #expect { try Header.decode(Array(valid.encode()[..<100])) } throws: { ($0 as? HeaderProblem)?.message.contains("shorter than") == true }
    }

    @Test func badMagicIsFatal() {
        let found = problems { $0.magic = "abc\\0" }
        #expect(found.count == 1 && found[0].check == .magic && found[0].isFatal)
        #expect(problems { $0.magic = "ni1\\0" }.first?.message.contains("two-file") == true)
    }

    @Test(arguments: [
        ([0, 8, 8, 4, 1, 1, 1, 1], "between 1 and 7"),
        ([9, 8, 8, 4, 1, 1, 1, 1], "between 1 and 7"),
        ([3, 8, -8, 4, 1, 1, 1, 1], "dim[2]=-8"),
        ([3, 8, 8, 0, 1, 1, 1, 1], "dim[3]=0"),
    ])
    func badDimsAreFatal(dim: [Int], expected: String) {
        let found = problems { $0.dim = dim }
        #expect(found.last?.check == .dim && found.last?.isFatal == true)
        #expect(found.last?.message.contains(expected) == true, "\(found)")
    }

    /// Valid NIfTI that is not one 3-D volume: fatal for reading, but when describing, the checks
    /// go on (here to a bad datatype).
    @Test(arguments: [([2, 8, 8, 1, 1, 1, 1, 1], "2-D image"), ([4, 8, 8, 4, 5, 1, 1, 1], "series of 5 volumes")])
    func shapesCTDCannotUseStopReadingButNotDescribing(dim: [Int], expected: String) {
        var header = NIfTIWriter.header(shape: (8, 8, 4), datatype: .int16)
        header.dim = dim
        let reading = HeaderChecks.run(header)
        #expect(reading.count == 1 && reading[0].check == .shape && reading[0].isFatal && reading[0].message.contains(expected), "\(reading)")
        header.datatypeCode = 9999
        let describing = HeaderChecks.run(header, describing: true)
        #expect(describing.map(\.check) == [.shape, .datatype], "\(describing)")
    }

    @Test func fourDWithOneVolumeIsAccepted() {
        #expect(problems { $0.dim = [4, 8, 8, 4, 1, 1, 1, 1] }.isEmpty)
    }

    @Test func unsupportedAndUnknownDatatypesAreFatal() {
        #expect(problems { $0.datatypeCode = 32 }.last?.message == "unsupported datatype complex64 (32): only integer, float32 and float64 scalars can be read")
        #expect(problems { $0.datatypeCode = 3 }.last?.message == "unknown datatype code 3")
    }

    @Test func bitpixMismatchIsOnlyAWarning() {
        let found = problems { $0.bitpix = 8 }
        #expect(found.count == 1 && !found[0].isFatal && found[0].check == .bitpix)
    }

    @Test func voxOffsetMustBeBeyondTheHeaderAndWhole() {
        #expect(problems { $0.voxOffset = 0 }.last?.message.contains("inside the header") == true)
        #expect(problems { $0.voxOffset = 352.5 }.last?.check == .voxOffset)
        #expect(problems { $0.voxOffset = .nan }.last?.check == .voxOffset)
        #expect(problems { $0.voxOffset = 352 }.isEmpty)
    }

    @Test func finiteSlopeNeedsFiniteIntercept() {
        #expect(problems { $0.sclSlope = 2; $0.sclInter = .nan }.last?.check == .scaling)
        #expect(problems { $0.sclSlope = 0; $0.sclInter = .nan }.isEmpty, "slope 0 disables scaling")
        #expect(problems { $0.sclSlope = .infinity; $0.sclInter = .nan }.isEmpty)
    }

    @Test func checksStopAtTheFirstFatalProblem() {
        let found = problems { $0.bitpix = 3; $0.voxOffset = 0; $0.sclSlope = 2; $0.sclInter = .infinity }
        #expect(found.map(\.check) == [.bitpix, .voxOffset], "the warning, then the fatal problem, then nothing")
    }

    @Test func limitsAreCheckedWithoutOverflow() {
        var header = valid
        header.dim = [3, Int.max / 2, 4, 4, 1, 1, 1, 1]
        #expect(header.voxelCount == nil)
        if case .tooManyVoxels = ReadLimits().check(header) {} else { Issue.record("overflowing dims must exceed the limit") }
        header.dim = [3, 1024, 1024, 1024, 1, 1, 1, 1]
        #expect(ReadLimits().check(header) == .tooManyVoxels(count: 1 << 30, limit: 1 << 28))
        #expect(ReadLimits().check(valid, availableDataBytes: 10) == .truncatedData(expected: 512, available: 10))
        #expect(ReadLimits(maxVoxels: 100).check(valid) == .tooManyVoxels(count: 256, limit: 100))
    }
}
