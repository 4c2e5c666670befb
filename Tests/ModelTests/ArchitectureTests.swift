import Model
import Testing

@Suite struct ArchitectureTests {
    @Test func seedModelHasKerasParameterCount() {
        #expect(Architecture.seed.parameterCount == 1_352_897)
        let small = try! Architecture(width: 48, height: 48, depth: 48)
        #expect(small.parameterCount == 1_352_897, "the count does not depend on the input size")
    }

    @Test func stagesShrinkAsKerasValidConvAndPoolDo() {
        let seed = Architecture.seed
        #expect(seed.convolutionSize(ofBlock: 0) == [126, 126, 62])
        #expect(seed.pooledSize(afterBlock: 0) == [63, 63, 31])
        #expect(seed.pooledSize(afterBlock: 1) == [30, 30, 14])
        #expect(seed.pooledSize(afterBlock: 2) == [14, 14, 6])
        #expect(seed.pooledSize(afterBlock: 3) == [6, 6, 2])
        #expect(try! Architecture(width: 46, height: 46, depth: 46).pooledSize(afterBlock: 3) == [1, 1, 1])
    }

    @Test func tooSmallInputIsAClearError() {
        #expect(throws: Architecture.SizeError.self) { try Architecture(width: 45, height: 128, depth: 64) }
        do {
            _ = try Architecture(width: 128, height: 128, depth: 32)
        } catch {
            #expect(error.description.contains("at least 46 voxels on every axis"))
        }
    }

    @Test func checkpointNamesAndShapesFollowTheDesign() {
        let shapes = Dictionary(uniqueKeysWithValues: Architecture.seed.parameterShapes.map { ($0.name, $0.shape) })
        #expect(shapes.count == 28)
        #expect(shapes["conv1.weight"] == [64, 1, 3, 3, 3])
        #expect(shapes["conv4.weight"] == [256, 128, 3, 3, 3])
        #expect(shapes["bn3.running_var"] == [128])
        #expect(shapes["fc1.weight"] == [512, 256])
        #expect(shapes["fc2.weight"] == [1, 512])
        #expect(shapes["fc2.bias"] == [1])
    }

    @Test func initialParametersFollowKerasDefaults() {
        let p = ParameterSet.initial(for: .seed, seed: 1)
        #expect(p.mismatches(with: .seed).isEmpty)
        #expect(p["bn2.weight"]!.allSatisfy { $0 == 1 } && p["bn2.running_var"]!.allSatisfy { $0 == 1 })
        #expect(p["conv3.bias"]!.allSatisfy { $0 == 0 } && p["bn1.running_mean"]!.allSatisfy { $0 == 0 })
        let limit = Float((6.0 / Double((64 + 64) * 27)).squareRoot())
        let w = p["conv2.weight"]!
        #expect(w.allSatisfy { abs($0) <= limit } && w.max()! > limit * 0.99 && w.min()! < -limit * 0.99)
        #expect(ParameterSet.initial(for: .seed, seed: 1) == p, "seeded")
        #expect(ParameterSet.initial(for: .seed, seed: 2) != p)
    }
}
