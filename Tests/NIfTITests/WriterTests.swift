import CTDTestSupport
import NIfTI
import Testing

/// The writer's files read back to the same values, in every version, byte order and type.
@Suite struct WriterTests {
    let folder = TemporaryFolder()

    @Test(arguments: [NIfTIVersion.nifti1, .nifti2], [ByteOrder.little, .big])
    func roundTripsEveryDatatype(version: NIfTIVersion, order: ByteOrder) throws {
        let count = 5 * 4 * 3
        let cases: [(Datatype, [UInt8], [Double])] = [
            (.uint8, NIfTIWriter.rawBytes((0..<count).map { UInt8($0 * 4) }, byteOrder: order), (0..<count).map { Double($0 * 4) }),
            (.int8, NIfTIWriter.rawBytes((0..<count).map { Int8($0 - 30) }, byteOrder: order), (0..<count).map { Double($0 - 30) }),
            (.int16, NIfTIWriter.rawBytes((0..<count).map { Int16($0 * 50 - 1024) }, byteOrder: order), (0..<count).map { Double($0 * 50 - 1024) }),
            (.uint16, NIfTIWriter.rawBytes((0..<count).map { UInt16($0 * 1000) }, byteOrder: order), (0..<count).map { Double($0 * 1000) }),
            (.int32, NIfTIWriter.rawBytes((0..<count).map { Int32($0 * 100_000 - 3_000_000) }, byteOrder: order), (0..<count).map { Double($0 * 100_000 - 3_000_000) }),
            (.uint32, NIfTIWriter.rawBytes((0..<count).map { UInt32($0) * 70_000_000 }, byteOrder: order), (0..<count).map { Double($0) * 70_000_000 }),
            (.int64, NIfTIWriter.rawBytes((0..<count).map { Int64($0) << 40 - 5 }, byteOrder: order), (0..<count).map { Double(Int64($0) << 40 - 5) }),
            (.uint64, NIfTIWriter.rawBytes((0..<count).map { UInt64($0) << 50 }, byteOrder: order), (0..<count).map { Double(UInt64($0) << 50) }),
            (.float32, NIfTIWriter.rawBytes((0..<count).map { Float($0) * 0.25 - 3 }, byteOrder: order), (0..<count).map { Double($0) * 0.25 - 3 }),
            (.float64, NIfTIWriter.rawBytes((0..<count).map { Double($0) / 3 }, byteOrder: order), (0..<count).map { Double($0) / 3 }),
        ]
        for (datatype, raw, expected) in cases {
            let header = NIfTIWriter.header(shape: (5, 4, 3), datatype: datatype, version: version, byteOrder: order)
            for compressed in [false, true] {
                let path = folder.write(try NIfTIWriter.encode(header: header, rawData: raw, compressed: compressed), to: "rt.nii")
                let volume = try NIfTIReader().read(path: path)
                #expect(volume.header == header)
                #expect(volume.scaledValues() == expected, "\(datatype) \(version) \(order) compressed=\(compressed)")
            }
        }
    }

    @Test func scalingIsAppliedInDouble() throws {
        var header = NIfTIWriter.header(shape: (2, 2, 2), datatype: .int16)
        header.sclSlope = 0.1
        header.sclInter = -1024
        let raw = NIfTIWriter.rawBytes([Int16](arrayLiteral: 0, 1, 2, 3, 10, 100, -100, 32767))
        let volume = try NIfTIReader().read(path: folder.write(try NIfTIWriter.encode(header: header, rawData: raw, compressed: false), to: "s.nii"))
        // The slope is stored as float32: nibabel multiplies by Float(0.1) widened to Double.
        let slope = Double(Float(0.1))
        #expect(volume.scaledValues() == [0, 1, 2, 3, 10, 100, -100, 32767].map { $0 * slope - 1024 })
    }
}
