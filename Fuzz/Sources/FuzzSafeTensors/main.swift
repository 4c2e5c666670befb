import FuzzDriver
import FuzzTargets

runFuzzer("safetensors") { data, size in
    _ = FuzzTargets.safetensorsHeader(bytes(data, size))
    return 0
}
