import Foundation
import Reports
import Testing

/// Writes sample pictures for a person to look at; runs only when `CTD_REPORTS_PREVIEW_DIR` names a folder
/// (the only file-writing test here):
/// `CTD_REPORTS_PREVIEW_DIR=/tmp swift test --filter PreviewTests`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["CTD_REPORTS_PREVIEW_DIR"] != nil))
struct PreviewTests {
    let folder = ProcessInfo.processInfo.environment["CTD_REPORTS_PREVIEW_DIR"] ?? ""

    func write(_ bytes: [UInt8], _ name: String) throws {
        try Data(bytes).write(to: URL(fileURLWithPath: folder).appendingPathComponent(name))
    }

    @Test func curves() throws {
        try write(TrainingCurves.png(TrainingCurvesTests.realisticHistory(epochs: 30), title: "run 2026-11-26 — 30 epochs"),
                  "ctd-curves-30.png")
        let one = EpochPoint(epoch: 1, loss: 0.69, accuracy: 0.52, validationLoss: 0.70, validationAccuracy: 0.5)
        try write(TrainingCurves.png([one]), "ctd-curves-1.png")
        var gappy = TrainingCurvesTests.realisticHistory(epochs: 120)
        for i in stride(from: 10, to: 120, by: 17) { gappy[i].validationLoss = .nan; gappy[i + 1].validationLoss = .infinity }
        for i in gappy.indices { gappy[i].accuracy = 0.5 }
        try write(TrainingCurves.png(gappy), "ctd-curves-120-gaps.png")
    }

    @Test func montage() throws {
        // A synthetic 128×128×64 volume: a disc whose radius grows with z, a bright marker in the
        // corner at low x / low y, and a bar along +x, so the orientation can be read off the picture.
        let (nx, ny, nz) = (128, 128, 64)
        var voxels = [Float](repeating: 0, count: nx * ny * nz)
        for z in 0..<nz {
            let radius = 10 + Double(z) * 0.7
            for y in 0..<ny {
                for x in 0..<nx {
                    let dx = Double(x) - 64, dy = Double(y) - 64
                    var v: Float = (dx * dx + dy * dy).squareRoot() < radius ? 0.45 + Float(z) / 200 : 0.05
                    if x < 20 && y < 20 { v = 1 }                       // marker at x≈0, y≈0
                    if y >= 60 && y < 68 && x > 64 && x < 120 { v = 0.8 } // bar along +x
                    voxels[x + nx * (y + ny * z)] = v
                }
            }
        }
        try write(SliceMontage.png(voxels: voxels, nx: nx, ny: ny, nz: nz, rows: 4, columns: 10,
                                   caption: "abnormal 87.2% — scan.nii.gz"), "ctd-montage.png")
    }

    @Test func font() throws {
        var raster = Raster(width: 620, height: 150)
        let lines = [" !\"#$%&'()*+,-./0123456789:;<=>?@", "ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`",
                     "abcdefghijklmnopqrstuvwxyz{|}~", "Model acc, Model loss: epochs jpqgy 0.25"]
        for (i, line) in lines.enumerated() {
            raster.drawText(line, x: 10, y: 10 + 34 * i, color: .black, scale: 3)
        }
        try write(raster.png(), "ctd-font.png")
    }
}
