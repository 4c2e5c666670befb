import CTDTestSupport
import Preprocess
import Testing

/// `rotatePlanes` against scipy.ndimage.rotate(v, angle, reshape=False) on a non-square volume:
/// the training augmentation's angles and a few others (fixtures from scripts/make_fixtures.py).
@Suite struct PlaneRotationTests {
    @Test(arguments: ["-20", "-10", "-5", "5", "10", "20", "45", "90", "137.5"])
    func matchesScipy(angle: String) throws {
        let input = try Fixtures.npy("rotation_input.npy").grid
        let expected = try Fixtures.npy("rotation_\(angle).npy").grid
        let rotated = rotatePlanes(input.values, nx: input.nx, ny: input.ny, nz: input.nz, degrees: Double(angle)!)
        #expect(maxAbsDifference(rotated, expected.values) <= 1e-6, "\(angle)°")
    }

    @Test func zeroDegreesIsTheIdentity() throws {
        let input = try Fixtures.npy("rotation_input.npy").grid
        #expect(maxAbsDifference(rotatePlanes(input.values, nx: input.nx, ny: input.ny, nz: input.nz, degrees: 0), input.values) <= 1e-6)
    }
}
