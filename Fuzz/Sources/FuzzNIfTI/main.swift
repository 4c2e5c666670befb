import FuzzDriver
import FuzzTargets

runFuzzer("nifti") { data, size in
    _ = FuzzTargets.nifti(bytes(data, size))
    return 0
}
