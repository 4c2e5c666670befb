/// The seed's training figure: "Model acc" and "Model loss" side by side, train against validation per epoch.
///
/// Like the notebook's `ax[i].plot(history[metric]); ax[i].plot(history["val_" + metric])`, each panel
/// draws the training series in matplotlib's first colour and the validation series in its second, with
/// the x axis "epochs", the y axis named after the metric, and a "train"/"val" legend. Points are placed
/// at their `epoch` (the history is sorted by it first). NaN and infinite values are skipped, which
/// breaks the line there; a point with no drawable neighbour is shown as a dot, so one epoch is visible.
public enum TrainingCurves {
    /// Size of the whole picture in pixels.
    public static let width = 1600
    public static let height = 500
    /// matplotlib's "C0" blue, the training series.
    public static let trainColor = RGBColor(31, 119, 180)
    /// matplotlib's "C1" orange, the validation series.
    public static let validationColor = RGBColor(255, 127, 14)

    /// The figure as an RGB PNG of `width` × `height`, with `title` (if any) in a strip across the top.
    /// An empty history gives empty axes.
    ///
    /// - Throws: `ReportsError.compressionFailed` if zlib runs out of memory.
    public static func png(_ history: [EpochPoint], title: String? = nil) throws(ReportsError) -> [UInt8] {
        // Flat colours and thin lines: row filters only cost time here.
        try raster(history, title: title).png(rowFilter: .none)
    }

    /// The figure before encoding.
    static func raster(_ history: [EpochPoint], title: String?) -> Raster {
        var raster = Raster(width: width, height: height, background: .white)
        var top = 0
        if let title {
            let text = Raster.fitted(title, maxWidth: width - 40, scale: 3)
            let size = Raster.textSize(text, scale: 3)
            raster.drawText(text, x: (width - size.width) / 2, y: 14, color: Style.ink, scale: 3)
            top = 14 + size.height + 6
        }
        let sorted = history.sorted { $0.epoch < $1.epoch }
        let epochs = sorted.map(\.epoch)
        let panels = [
            Panel(metric: "acc", epochs: epochs, train: sorted.map(\.accuracy), validation: sorted.map(\.validationAccuracy)),
            Panel(metric: "loss", epochs: epochs, train: sorted.map(\.loss), validation: sorted.map(\.validationLoss)),
        ]
        let panelWidth = width / panels.count
        for (index, panel) in panels.enumerated() {
            panel.draw(into: &raster, x: index * panelWidth, y: top, width: panelWidth, height: height - top)
        }
        return raster
    }
}

/// Colours, sizes and gaps shared by the panels.
private enum Style {
    static let ink = RGBColor(gray: 20)
    static let grid = RGBColor(gray: 232)
    static let legendBorder = RGBColor(gray: 204)
    static let titleScale = 3
    static let labelScale = 2
    static let tickLength = 6
    static let lineWidth = 2.0
    static let dotRadius = 3.5
    /// Beyond this magnitude a finite value is treated like infinity: spans of ±1e308 would overflow.
    static let plottableMagnitude = 1e300
}

/// One panel: a metric's train and validation series against epochs.
private struct Panel {
    let metric: String
    let epochs: [Int]
    let train: [Double]
    let validation: [Double]

    func draw(into raster: inout Raster, x: Int, y: Int, width: Int, height: Int) {
        let scale = Style.labelScale
        let glyphHeight = Raster.textSize("0", scale: scale).height

        // Axis ranges from every drawable value of both series.
        let drawable = (train + validation).filter { $0.isFinite && abs($0) <= Style.plottableMagnitude }
        let xTicks = AxisTicks(low: Double(epochs.min() ?? 0), high: Double(epochs.max() ?? 1), integers: true)
        let yTicks = AxisTicks(low: drawable.min() ?? 0, high: drawable.max() ?? 1)
        let yLabels = yTicks.values.map(yTicks.label)
        let widestLabel = yLabels.map { Raster.textSize($0, scale: scale).width }.max() ?? 0

        // The plot area, leaving room for the title, tick labels and axis labels.
        let titleText = "Model \(metric)"
        let titleSize = Raster.textSize(titleText, scale: Style.titleScale)
        let left = x + 14 + glyphHeight + 12 + widestLabel + 6 + Style.tickLength
        let right = x + width - 28
        let top = y + 12 + titleSize.height + 10
        let bottom = y + height - (Style.tickLength + 6 + glyphHeight + 8 + glyphHeight + 10)
        guard right - left > 20, bottom - top > 20 else { return }
        let plot = PlotArea(left: left, top: top, right: right, bottom: bottom, x: xTicks, y: yTicks)

        for value in yTicks.values {
            let py = plot.pixelY(value)
            raster.fillRect(x: left + 1, y: py, width: right - left - 1, height: 1, color: Style.grid)
        }

        var placed: [Point] = []
        for (series, color) in [(train, TrainingCurves.trainColor), (validation, TrainingCurves.validationColor)] {
            placed += drawSeries(series, color: color, in: plot, into: &raster)
        }

        // Frame, ticks and their labels.
        raster.strokeRect(x: left, y: top, width: right - left + 1, height: bottom - top + 1, color: Style.ink)
        for (value, label) in zip(yTicks.values, yLabels) {
            let py = plot.pixelY(value)
            raster.fillRect(x: left - Style.tickLength, y: py, width: Style.tickLength, height: 1, color: Style.ink)
            let size = Raster.textSize(label, scale: scale)
            raster.drawText(label, x: left - Style.tickLength - 6 - size.width, y: py - 7 * scale / 2,
                            color: Style.ink, scale: scale)
        }
        for value in xTicks.values {
            let px = plot.pixelX(value)
            raster.fillRect(x: px, y: bottom + 1, width: 1, height: Style.tickLength, color: Style.ink)
            let label = xTicks.label(value)
            let size = Raster.textSize(label, scale: scale)
            raster.drawText(label, x: px - size.width / 2, y: bottom + Style.tickLength + 6, color: Style.ink, scale: scale)
        }

        // Title, axis names ("epochs" below, the metric up the left side), legend.
        raster.drawText(titleText, x: (left + right - titleSize.width) / 2, y: y + 12, color: Style.ink,
                        scale: Style.titleScale)
        let xName = Raster.textSize("epochs", scale: scale)
        raster.drawText("epochs", x: (left + right - xName.width) / 2,
                        y: bottom + Style.tickLength + 6 + glyphHeight + 8, color: Style.ink, scale: scale)
        let yName = Raster.textSize(metric, scale: scale)
        raster.drawText(metric, x: x + 14, y: (top + bottom - yName.width) / 2, color: Style.ink, scale: scale,
                        direction: .upward)
        drawLegend(in: plot, avoiding: placed, into: &raster)
    }

    /// Draws the drawable runs of `values` and returns where its points landed (for the legend's placement).
    private func drawSeries(_ values: [Double], color: RGBColor, in plot: PlotArea, into raster: inout Raster) -> [Point] {
        var placed: [Point] = []
        var run: [Point] = []
        func flush() {
            if run.count == 1 {
                raster.fillCircle(center: run[0], radius: Style.dotRadius, color: color)
            } else if run.count > 1 {
                raster.drawPolyline(run, color: color, width: Style.lineWidth)
            }
            run.removeAll()
        }
        for (epoch, value) in zip(epochs, values) {
            guard value.isFinite, abs(value) <= Style.plottableMagnitude else { flush(); continue }
            let point = Point(Double(plot.pixelX(Double(epoch))) + 0.5, Double(plot.pixelY(value)) + 0.5)
            run.append(point)
            placed.append(point)
        }
        flush()
        return placed
    }

    /// A boxed "train"/"val" key in the corner of the plot that covers the fewest data points
    /// (matplotlib's `loc="best"`, approximately).
    private func drawLegend(in plot: PlotArea, avoiding points: [Point], into raster: inout Raster) {
        let scale = Style.labelScale
        let entries = [("train", TrainingCurves.trainColor), ("val", TrainingCurves.validationColor)]
        let sampleLength = 30, padding = 10, rowHeight = Raster.textSize("0", scale: scale).height + 8
        let textWidth = entries.map { Raster.textSize($0.0, scale: scale).width }.max()!
        let boxWidth = padding + sampleLength + 8 + textWidth + padding
        let boxHeight = padding + entries.count * rowHeight - 8 + padding
        let inset = 10
        // matplotlib's order of preference when corners tie: upper right, upper left, lower left, lower right.
        let corners = [
            (plot.right - inset - boxWidth, plot.top + inset),
            (plot.left + inset, plot.top + inset),
            (plot.left + inset, plot.bottom - inset - boxHeight),
            (plot.right - inset - boxWidth, plot.bottom - inset - boxHeight),
        ]
        func covered(_ corner: (Int, Int)) -> Int {
            let (bx, by) = corner
            let margin = 4.0
            return points.count { p in
                p.x >= Double(bx) - margin && p.x <= Double(bx + boxWidth) + margin
                    && p.y >= Double(by) - margin && p.y <= Double(by + boxHeight) + margin
            }
        }
        let (bx, by) = corners.min { covered($0) < covered($1) }!
        raster.fillRect(x: bx, y: by, width: boxWidth, height: boxHeight, color: .white)
        raster.strokeRect(x: bx, y: by, width: boxWidth, height: boxHeight, color: Style.legendBorder)
        for (row, (name, color)) in entries.enumerated() {
            let rowTop = by + padding + row * rowHeight
            let lineY = Double(rowTop) + Double(7 * scale) / 2
            raster.drawLine(from: Point(Double(bx + padding), lineY), to: Point(Double(bx + padding + sampleLength), lineY),
                            color: color, width: Style.lineWidth)
            raster.drawText(name, x: bx + padding + sampleLength + 8, y: rowTop, color: Style.ink, scale: scale)
        }
    }
}

/// Maps data coordinates to the pixels of a plot's inner rectangle (y upwards).
private struct PlotArea {
    let left, top, right, bottom: Int
    let x: AxisTicks
    let y: AxisTicks

    func pixelX(_ value: Double) -> Int {
        left + Int(((value - x.lower) / (x.upper - x.lower) * Double(right - left)).rounded())
    }

    func pixelY(_ value: Double) -> Int {
        bottom - Int(((value - y.lower) / (y.upper - y.lower) * Double(bottom - top)).rounded())
    }
}
