import FuzzDriver
import FuzzTargets

runFuzzer("config") { data, size in
    _ = FuzzTargets.configFile(bytes(data, size))
    return 0
}
