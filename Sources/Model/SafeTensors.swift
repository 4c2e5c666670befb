import Foundation

/// The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte
/// little-endian header length, a JSON header naming each tensor's dtype, shape and byte range,
/// then the raw little-endian data. Readable by NumPy, PyTorch and the `safetensors` package.
///
/// Decoding treats the file as hostile: every claim in the header is checked against the real
/// size and the limits before anything is allocated, and every failure names the reason.
public enum SafeTensors {
    /// One tensor: shape and float32 values (F16 and BF16 files are widened on reading).
    public struct Tensor: Equatable, Sendable {
        public var shape: [Int]
        public var values: [Float]
        public init(shape: [Int], values: [Float]) {
            precondition(shape.reduce(1, *) == values.count, "shape \(shape) does not hold \(values.count) values")
            self.shape = shape
            self.values = values
        }
    }

    /// Why bytes are not a usable safetensors file; `description` is the reason alone (callers
    /// prefix the file name).
    public struct FormatError: Error, Equatable, CustomStringConvertible, Sendable {
        public let reason: String
        public var description: String { reason }
    }

    /// Largest JSON header accepted (the reference implementation's limit).
    public static let maxHeaderBytes = 100 << 20
    /// Largest single tensor accepted, in elements.
    public static let maxTensorElements = 1 << 31

    /// Encodes tensors (as F32) and string metadata; tensors are stored in name order.
    public static func encode(_ tensors: [String: Tensor], metadata: [String: String]) -> [UInt8] {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        let names = tensors.keys.sorted()
        for name in names {
            let tensor = tensors[name]!
            let size = tensor.values.count * 4
            header[name] = ["dtype": "F32", "shape": tensor.shape, "data_offsets": [offset, offset + size]] as [String: Any]
            offset += size
        }
        var json = Array(try! JSONSerialization.data(withJSONObject: header, options: [.sortedKeys]))
        // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
        json += [UInt8](repeating: 0x20, count: (8 - json.count % 8) % 8)
        var bytes = withUnsafeBytes(of: UInt64(json.count).littleEndian) { Array($0) } + json
        bytes.reserveCapacity(bytes.count + offset)
        for name in names {
            #if _endian(little)
            tensors[name]!.values.withUnsafeBytes { bytes += $0 }
            #else
            for value in tensors[name]!.values { withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes += $0 } }
            #endif
        }
        return bytes
    }

    /// One tensor's entry in the header: where its bytes lie in the data section.
    public struct Entry: Equatable, Sendable {
        public let name: String
        public let dtype: String
        public let shape: [Int]
        /// Byte range within the data section (after the header).
        public let begin: Int
        public let end: Int
    }

    /// A checked header: every entry's dtype, shape and byte range agree with each other and
    /// tile the `dataSize` bytes after the header exactly.
    public struct Header: Equatable, Sendable {
        public let entries: [Entry]
        public let metadata: [String: String]
    }

    /// Decodes a whole file's bytes.
    public static func decode(_ bytes: [UInt8]) throws(FormatError) -> (tensors: [String: Tensor], metadata: [String: String]) {
        guard bytes.count >= 8 else { throw FormatError(reason: "file is \(bytes.count) bytes, too short for a safetensors header") }
        let headerLength = bytes[0..<8].enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        guard headerLength <= UInt64(min(maxHeaderBytes, bytes.count - 8)) else {
            throw FormatError(reason: "header claims \(headerLength) bytes but the file has \(bytes.count - 8) after the length (limit \(maxHeaderBytes))")
        }
        let dataStart = 8 + Int(headerLength)
        let header = try decodeHeader(bytes[8..<dataStart], dataSize: bytes.count - dataStart)
        var tensors: [String: Tensor] = [:]
        for entry in header.entries {
            let base = dataStart + entry.begin
            let count = entry.shape.reduce(1, *)
            let values: [Float] = bytes.withUnsafeBytes { raw in
                switch entry.dtype {
                case "F32": return (0..<count).map { Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: base + 4 * $0, as: UInt32.self))) }
                case "BF16": return (0..<count).map { Float(bitPattern: UInt32(UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: base + 2 * $0, as: UInt16.self))) << 16) }
                default: return (0..<count).map { Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: base + 2 * $0, as: UInt16.self)))) }
                }
            }
            tensors[entry.name] = Tensor(shape: entry.shape, values: values)
        }
        return (tensors, header.metadata)
    }

    /// Decodes and checks the JSON header alone (the bytes between the length and the data),
    /// for a data section of `dataSize` bytes. Nothing is allocated for tensor values.
    public static func decodeHeader(_ json: ArraySlice<UInt8>, dataSize: Int) throws(FormatError) -> Header {
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: Data(json))
        } catch {
            throw FormatError(reason: "header is not valid JSON")
        }
        guard let header = object as? [String: Any] else { throw FormatError(reason: "header is not a JSON object") }

        var metadata: [String: String] = [:]
        if let raw = header["__metadata__"] {
            guard let values = raw as? [String: Any] else { throw FormatError(reason: "__metadata__ is not an object") }
            for (key, value) in values {
                guard let text = value as? String else { throw FormatError(reason: "__metadata__.\(key) is not a string") }
                metadata[key] = text
            }
        }

        var entries: [Entry] = []
        for (name, raw) in header where name != "__metadata__" {
            guard let info = raw as? [String: Any], let dtype = info["dtype"] as? String,
                  let shapeValues = info["shape"] as? [Any], let offsetValues = info["data_offsets"] as? [Any] else {
                throw FormatError(reason: "\(name): needs dtype, shape and data_offsets")
            }
            let shape = try integers(shapeValues, "\(name).shape")
            let offsets = try integers(offsetValues, "\(name).data_offsets")
            guard offsets.count == 2, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
                throw FormatError(reason: "\(name): data_offsets \(offsets) fall outside the \(dataSize) data bytes")
            }
            guard let width = ["F32": 4, "F16": 2, "BF16": 2][dtype] else {
                throw FormatError(reason: "\(name): dtype \(dtype) is not supported (F32, F16 or BF16)")
            }
            var count = 1
            for dimension in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
                guard !overflow, product <= maxTensorElements else { throw FormatError(reason: "\(name): shape \(shape) is absurdly large") }
                count = product
            }
            guard offsets[1] - offsets[0] == count * width else {
                throw FormatError(reason: "\(name): shape \(shape) as \(dtype) needs \(count * width) bytes but data_offsets give \(offsets[1] - offsets[0])")
            }
            entries.append(Entry(name: name, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
        }
        // The tensors must tile the data exactly: no gaps, no overlaps, nothing after.
        entries.sort { ($0.begin, $0.end, $0.name) < ($1.begin, $1.end, $1.name) }
        var position = 0
        for entry in entries {
            guard entry.begin == position else {
                throw FormatError(reason: "\(entry.name): data starts at \(entry.begin), expected \(position) (gap or overlap)")
            }
            position = entry.end
        }
        guard position == dataSize else {
            throw FormatError(reason: position < dataSize ? "\(dataSize - position) bytes of data belong to no tensor" : "data is truncated")
        }
        return Header(entries: entries, metadata: metadata)
    }

    private static func integers(_ values: [Any], _ what: String) throws(FormatError) -> [Int] {
        var result: [Int] = []
        for value in values {
            // JSONSerialization gives NSNumber; reject fractions, negatives and huge values.
            guard let number = value as? NSNumber,
                  let integer = Int(exactly: number.doubleValue), integer >= 0, number.doubleValue < 0x1p53 else {
                throw FormatError(reason: "\(what) must hold non-negative integers")
            }
            result.append(integer)
        }
        return result
    }
}
