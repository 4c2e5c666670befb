/// Facts derived from a header that passed `HeaderChecks` (calling these on an unchecked header
/// is a programming error).
extension Header {
    /// (nx, ny, nz): the volume's size along the file's i, j, k axes; trailing size-1 axes are dropped.
    public var shape: (nx: Int, ny: Int, nz: Int) { (dim[1], dim[2], dim[3]) }

    /// Voxels in the volume, or nil when the product overflows.
    public var voxelCount: Int? {
        let (a, overflowA) = dim[1].multipliedReportingOverflow(by: dim[2])
        let (b, overflowB) = a.multipliedReportingOverflow(by: dim[3])
        return overflowA || overflowB ? nil : b
    }

    /// Voxels stored in the file over all `dim[0]` axes (a series counts every volume; an
    /// image of fewer than 3 axes ignores the rest), or nil on overflow or a bad rank.
    public var storedVoxelCount: Int? {
        guard (1...7).contains(dim[0]) else { return nil }
        var count = 1
        for axis in 1...dim[0] {
            let (product, overflow) = count.multipliedReportingOverflow(by: dim[axis])
            guard !overflow else { return nil }
            count = product
        }
        return count
    }

    /// Bytes of voxel data the header implies, or nil on overflow.
    public var dataByteCount: Int? {
        guard let count = voxelCount, let width = datatype?.bytesPerVoxel else { return nil }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: width)
        return overflow ? nil : bytes
    }

    /// The scaling to apply, as nibabel does: nil when `scl_slope` is 0 or not finite.
    public var scaling: (slope: Double, intercept: Double)? {
        guard sclSlope != 0, sclSlope.isFinite else { return nil }
        return (sclSlope, sclInter)
    }

    /// Voxel spacing (pixdim[1...3]) in the file's units.
    public var spacing: (x: Double, y: Double, z: Double) { (pixdim[1], pixdim[2], pixdim[3]) }
}

/// Limits that protect the reader from hostile or absurd headers; checked before allocating.
public struct ReadLimits: Sendable, Equatable {
    /// Largest volume accepted, in voxels (2^28 ≈ 512×512×1024).
    public var maxVoxels: Int
    /// Largest voxel data accepted, in bytes (after decompression).
    public var maxDataBytes: Int

    public init(maxVoxels: Int = 1 << 28, maxDataBytes: Int = 1 << 31) {
        self.maxVoxels = maxVoxels
        self.maxDataBytes = maxDataBytes
    }

    /// The size rule: the header's claims against the limits, and — when known — against the
    /// bytes really present after `vox_offset`.
    public func check(_ header: Header, availableDataBytes: Int? = nil) -> NIfTIError.Reason? {
        guard let count = header.voxelCount, count <= maxVoxels else {
            return .tooManyVoxels(count: header.voxelCount ?? Int.max, limit: maxVoxels)
        }
        guard let bytes = header.dataByteCount, bytes <= maxDataBytes else {
            return .tooManyBytes(count: header.dataByteCount ?? Int.max, limit: maxDataBytes)
        }
        if let available = availableDataBytes, available < bytes {
            return .truncatedData(expected: bytes, available: max(0, available))
        }
        return nil
    }
}
