import Export
import Foundation
import XCTest

final class ShardFileTests: XCTestCase {
    func testRowsRoundTripUnderANumPyHeader() throws {
        let rows: [[Float]] = [[0, 0.25, 0.5, 1, -0, 3e-8], [1, 2, 3, 4, 5, 6]]
        let bytes = ShardFile.encode(rows: rows, x: 1, y: 2, z: 3)
        let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        XCTAssertEqual((10 + headerLength) % 64, 0, "NumPy aligns the data to 64 bytes")
        let header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
        XCTAssertTrue(header.contains("'shape': (2, 1, 1, 2, 3)"), header)
        XCTAssertTrue(header.contains("'fortran_order': False"))
        XCTAssertEqual(bytes.count, 10 + headerLength + 2 * 6 * 4)
        XCTAssertEqual(try ShardFile.decodeRows(bytes, x: 1, y: 2, z: 3), rows)
    }

    func testRefusesAnotherShapeOrATruncatedFile() {
        let bytes = ShardFile.encode(rows: [[1, 2, 3, 4]], x: 1, y: 2, z: 2)
        XCTAssertThrowsError(try ShardFile.decodeRows(bytes, x: 2, y: 1, z: 2)) { error in
            XCTAssertTrue("\(error)".contains("shape is not [n, 1, 2, 1, 2]"), "\(error)")
        }
        XCTAssertThrowsError(try ShardFile.decodeRows(Array(bytes.dropLast(4)), x: 1, y: 2, z: 2)) { error in
            XCTAssertTrue("\(error)".contains("data size"), "\(error)")
        }
        XCTAssertThrowsError(try ShardFile.decodeRows(Array(bytes.prefix(8)), x: 1, y: 2, z: 2))
    }

    func testAHostileCountIsRefusedWithoutOverflowing() {
        for count in ["9223372036854775807", "4611686018427387904", "-1", "x"] {
            var bytes = ShardFile.encode(rows: [[1, 2, 3, 4]], x: 1, y: 2, z: 2)
            let headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
            var header = String(decoding: bytes[10..<(10 + headerLength)], as: UTF8.self)
            header = header.replacingOccurrences(of: "(1, 1,", with: "(\(count), 1,")
            let padded = Array(header.utf8).prefix(headerLength)
            bytes.replaceSubrange(10..<(10 + headerLength), with: padded + [UInt8](repeating: 0x20, count: headerLength - padded.count))
            XCTAssertThrowsError(try ShardFile.decodeRows(bytes, x: 1, y: 2, z: 2), "count \(count)") { error in
                XCTAssertTrue(["data size does not match", "shape is not"].contains { "\(error)".contains($0) }, "count \(count): \(error)")
            }
        }
    }
}
