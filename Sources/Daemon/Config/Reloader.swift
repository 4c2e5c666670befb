import Foundation
import Logging

/// SIGHUP or `ctctl reload`: reads the configuration file again and swaps it in whole.
struct Reloader: Sendable {
    let loader: ConfigLoader?
    let settings: CurrentConfig
    let log: Logger
    let notifier: SystemdNotifier
    let trainer: TrainWorker
    let statusLine: @Sendable () -> String

    /// Reads the configuration again (SIGHUP). Settings that need a restart are reported and kept.
    func reload() async {
        guard let loader else { return }
        notifier.reloading()
        do {
            var next = try await loader.load()
            let current = settings.value
            let changed = next.changedKeys(from: current)
            let needRestart = changed.filter { key in DaemonConfig.restartKeys.contains(key) }
            if !needRestart.isEmpty {
                log.warning("reload: \(needRestart.joined(separator: ", ")) change only after a restart; keeping the running values")
                next.stateDirectory = current.stateDirectory
                next.training.width = current.training.width
                next.training.height = current.training.height
                next.training.depth = current.training.depth
                next.ingestWorkers = current.ingestWorkers
            }
            settings.value = next
            trainer.wake()
            log.notice("reloaded the configuration: \(changed.isEmpty ? "nothing changed" : "changed " + changed.joined(separator: ", "))")
        } catch {
            log.error("reload failed, keeping the running configuration: \(error)")
        }
        notifier.reloaded(status: statusLine())
    }
}
