import FuzzDriver
import FuzzTargets

runFuzzer("control") { data, size in
    _ = FuzzTargets.controlRequests(bytes(data, size))
    return 0
}
