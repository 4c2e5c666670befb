import Foundation

/// A small, fast, seedable pseudo-random number generator: xoshiro256** whose state is
/// filled from the seed by SplitMix64.
///
/// Contract: generators made with the same seed return the same sequence from `next()` on
/// every run and platform (pure 64-bit integer arithmetic). Not cryptographically secure.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// Any seed is valid, including 0; nearby seeds give unrelated sequences.
    public init(seed: UInt64) {
        var x = seed
        s0 = SeededGenerator.splitMix64(&x)
        s1 = SeededGenerator.splitMix64(&x)
        s2 = SeededGenerator.splitMix64(&x)
        s3 = SeededGenerator.splitMix64(&x)
    }

    /// The next 64 uniformly distributed bits.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// A sample of the standard normal distribution N(0, 1) (Box–Muller, two uniforms per call).
    /// Deterministic for a given state; the last bits may differ only where `log`/`cos` do.
    @inlinable
    public mutating func nextGaussian() -> Double {
        let u1 = 1.0 - nextUnit()          // (0, 1], so the logarithm is finite
        let u2 = nextUnit()
        return (-2.0 * log(u1)).squareRoot() * cos(2.0 * Double.pi * u2)
    }

    /// SplitMix64 step: advances `state` and returns a well-mixed 64-bit value.
    @inlinable
    public static func splitMix64(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return mix64(state)
    }

    /// SplitMix64's finaliser: a bijective scramble of a 64-bit value.
    @inlinable
    public static func mix64(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inline(__always)
    @inlinable func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 &- k)) }
}

// Internal sampling helpers with a fixed, platform-independent definition (unlike the
// standard library's `random(in:using:)`, whose algorithm is not part of its contract).
extension SeededGenerator {
    /// Uniform in [0, 1) with 53 random bits.
    @inline(__always)
    @inlinable
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// Uniform in [lo, hi).
    @inline(__always)
    @inlinable
    public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * nextUnit() }

    /// True with probability `p`.
    @inlinable
    public mutating func chance(_ p: Double) -> Bool { nextUnit() < p }

    /// Uniform integer in lo...hi (inclusive).
    @inlinable
    public mutating func integer(_ lo: Int, _ hi: Int) -> Int {
        lo + Int(next() % UInt64(hi - lo + 1))
    }

    /// A cheap approximately normal sample (Irwin–Hall sum of four 16-bit uniforms, one `next()`),
    /// with mean 0 and standard deviation 1, bounded to about ±3.46. Used for per-voxel noise.
    @inline(__always)
    @inlinable
    public mutating func fastGaussian() -> Float {
        let r = next()
        let a = UInt32(truncatingIfNeeded: r & 0xFFFF) + UInt32(truncatingIfNeeded: (r >> 16) & 0xFFFF)
        let b = UInt32(truncatingIfNeeded: (r >> 32) & 0xFFFF) + UInt32(truncatingIfNeeded: r >> 48)
        // Sum of 4 uniforms on 0...65535: mean 131070, sd 65536·√(1/3) ≈ 37837.23.
        return (Float(a + b) - 131_070) * (1 / 37_837.23)
    }
}
