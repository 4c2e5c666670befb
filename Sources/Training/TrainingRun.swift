import Dispatch
import Foundation
import Glibc

/// `ctd train` end to end: discover and hash the labelled scans, preprocess them (with the cache),
/// then train. The executable only parses arguments and calls this.
public enum TrainingRun {
    public static func start(data: String, out: String, config: TrainingConfig, cache: String?, resume: Bool,
                             progress: TrainingProgress, cancellation: CancellationFlag = CancellationFlag()) throws -> RunReport {
        let folder = RunFolder(path: out)
        if case .ended(let status) = folder.state {
            throw TrainingError(reason: "\(out) holds a run that already ended (\(status)); choose a new --out folder")
        }
        let scans = try LabelledScans.discover(in: data)
        progress.note("Found \(scans.filter { $0.label == 0 }.count) normal and \(scans.filter { $0.label == 1 }.count) abnormal scans in \(data)")
        let start = DispatchTime.now()
        let (prepared, skipped) = LabelledScans.prepare(scans, parameters: config.preprocessing, validationFraction: config.validationFraction,
                                                        cacheFolder: cache)
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
        for (scan, reason) in skipped { progress.note("skipped \(scan.path): \(reason)") }
        let validation = prepared.filter(\.isValidation).count
        progress.note(String(format: "Preprocessed %d scans in %.1f s: %d for training, %d for validation", prepared.count, seconds,
                             prepared.count - validation, validation))
        return try Trainer(config: config, folder: folder, scans: prepared, skipped: skipped, preprocessSeconds: seconds,
                           progress: progress, cancellation: cancellation).run(resume: resume)
    }
}

/// Lowers the CPU priority (nice) of the calling thread, so training yields to interactive work. On
/// Linux the nice value is per thread and `who = 0` means the calling thread; threads it starts
/// afterwards (oneDNN's OpenMP team among them) inherit it. Called first thing by `ctd train`, it
/// covers the whole process.
public enum ProcessPriority {
    public static func lower(by increment: Int32) {
        let current = getpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0)
        setpriority(__priority_which_t(PRIO_PROCESS.rawValue), 0, min(19, current + increment))
    }
}
