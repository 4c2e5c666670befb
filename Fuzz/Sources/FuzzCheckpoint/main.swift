import FuzzDriver
import FuzzTargets

runFuzzer("checkpoint") { data, size in
    _ = FuzzTargets.checkpoint(bytes(data, size))
    return 0
}
