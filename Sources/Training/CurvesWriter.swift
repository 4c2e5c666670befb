import AtomicFile
import Reports

/// Writes curves.png: train vs validation accuracy and loss per epoch, like the seed's figure.
enum CurvesWriter {
    static func write(_ history: [EpochRecord], to path: String) throws {
        let points = history.map {
            EpochPoint(epoch: $0.epoch, loss: $0.loss, accuracy: $0.accuracy,
                       validationLoss: $0.validationLoss, validationAccuracy: $0.validationAccuracy)
        }
        try AtomicFile.write(try TrainingCurves.png(points), to: path)
    }
}
