import Foundation
import SeededRandom

/// One patient's randomly drawn anatomy, scan geometry and tissue densities (all lengths in mm,
/// z = 0 at the inferior end of the scan, z grows towards the head).
struct Anatomy {
    // Scan geometry.
    let n: Int
    let pixel: Double
    let nz: Int
    let sliceThickness: Double
    var depth: Double { Double(nz) * sliceThickness }

    // Torso: body outline, subcutaneous fat and chest-wall muscle thicknesses.
    let bodyA, bodyBAnt, bodyBPost, pAnt, pPost, bodyX: Double
    let widthSlope, wobble, wobbleFreq, wobblePhase: Double
    let fatLat, fatAnt, fatPost, wallLat, wallAnt, wallPost: Double
    let tableTop, tableCurve: Double

    // Lungs: craniocaudal extent, apex taper, diaphragm domes (as lung fractions u ∈ [0, 1]).
    let zBase, zApex, taperStart, lungScale: Double
    let domeRight, domeLeft: Double

    // Mediastinum, heart, great vessels, airway.
    let midX, midHalfLow, midHalfHigh: Double
    let heartLow, heartHigh, heartA, heartB, heartX, heartY, heartAngle: Double
    let uArch, uCarina, aortaR, tracheaR: Double

    // Spine, ribs, sternum.
    let vertebraR, vertebraPeriod, vertebraPhase, discThickness, canalR, spinousLength: Double
    let ribTop, ribSpacing, ribDrop, ribR: Double
    let sternumA, sternumB: Double

    // Densities (HU) and noise.
    let fatHU, muscleHU, softHU, liverHU, spleenHU, heartHU, lungHU, lungGradient, textureAmp: Double
    let cortexHU, marrowHU, cartilageHU, tableHU, noiseSigma, offsetHU: Double

    /// `slices` forces the slice count (the slice spacing then follows from the body's coverage);
    /// `matrix` is the slice's width and height in pixels (the field of view stays the same, so a
    /// smaller matrix is the same anatomy in coarser pixels).
    init(rng: inout SeededGenerator, slices: Int? = nil, matrix: Int = 512) {
        var r = rng
        defer { rng = r }  // draws below use the local copy for brevity
        n = matrix
        // Body size first; the field of view (pixel size) is then fitted to it, as on a scanner.
        var a = r.uniform(135, 178)
        let pixelAt512 = (min(max((2 * a + r.uniform(35, 90)) / 512, 0.6), 0.8) * 1000).rounded() / 1000
        pixel = pixelAt512 * 512 / Double(matrix)
        a = min(a, (512 * pixelAt512 - 40) / 2 / 1.06)
        bodyA = a
        let depthRatio = r.uniform(0.64, 0.8)
        bodyBAnt = a * depthRatio * r.uniform(0.98, 1.1)
        bodyBPost = a * depthRatio * r.uniform(0.9, 1.0)
        pAnt = r.uniform(2.0, 2.4)
        pPost = pAnt + r.uniform(0.3, 0.9)
        bodyX = r.uniform(-6, 6)
        widthSlope = r.uniform(-0.04, 0.1)
        wobble = r.uniform(0.005, 0.025)
        wobbleFreq = r.uniform(0.7, 1.6)
        wobblePhase = r.uniform(0, 2 * Double.pi)
        let obesity = r.nextUnit()
        fatLat = 6 + 24 * obesity + r.uniform(-3, 3)
        fatAnt = 5 + 18 * obesity + r.uniform(-2, 3)
        fatPost = 6 + 18 * obesity + r.uniform(-2, 3)
        wallLat = r.uniform(8, 15)
        wallAnt = r.uniform(9, 18)
        wallPost = r.uniform(28, 42)
        // The back rests on the table; the body centre sits near the image centre.
        tableTop = r.uniform(-12, 8) + bodyBPost + 1.5
        tableCurve = r.uniform(0.0004, 0.0011)

        let thickness = (r.uniform(5, 8) * 4).rounded() / 4
        let coverage = r.uniform(255, 335)
        if let slices {
            nz = slices
            sliceThickness = coverage / Double(slices)
        } else {
            nz = min(max(Int((coverage / thickness).rounded()), 30), 70)
            sliceThickness = thickness
        }
        let total = Double(nz) * sliceThickness
        zBase = total * r.uniform(0.06, 0.17)
        zApex = total * r.uniform(0.87, 0.96)
        taperStart = r.uniform(0.45, 0.56)
        lungScale = r.uniform(0.9, 1.04)
        domeRight = r.uniform(0.18, 0.34)
        domeLeft = domeRight - r.uniform(0.02, 0.09)

        midX = r.uniform(0.0, 0.05)
        midHalfLow = r.uniform(0.11, 0.15)
        midHalfHigh = r.uniform(0.15, 0.2)
        heartLow = max(0.02, domeLeft - r.uniform(0.04, 0.1))
        heartHigh = heartLow + r.uniform(0.42, 0.52)
        heartA = r.uniform(0.4, 0.5)
        heartB = r.uniform(0.5, 0.62)
        heartX = r.uniform(0.1, 0.2)
        heartY = r.uniform(0.1, 0.2)
        heartAngle = -r.uniform(0.3, 0.7)
        uArch = min(heartHigh + r.uniform(0.05, 0.1), 0.85)
        uCarina = uArch - r.uniform(0.03, 0.07)
        aortaR = r.uniform(10, 14)
        tracheaR = r.uniform(8, 10.5)

        vertebraR = r.uniform(14, 19)
        vertebraPeriod = r.uniform(25, 31)
        vertebraPhase = r.uniform(0, 30)
        discThickness = r.uniform(5, 8)
        canalR = r.uniform(6.5, 8.5)
        spinousLength = min(r.uniform(14, 24), max(8, wallPost + fatPost * 0.5 - 26))
        ribTop = zApex + r.uniform(-8, 8)
        ribSpacing = (ribTop - zBase + r.uniform(20, 40)) / 11
        ribDrop = r.uniform(70, 110)
        ribR = r.uniform(3.2, 4.3)
        sternumA = r.uniform(11, 16)
        sternumB = r.uniform(5, 7)

        fatHU = r.uniform(-112, -85)
        muscleHU = r.uniform(35, 55)
        softHU = r.uniform(28, 45)
        liverHU = r.uniform(50, 66)
        spleenHU = r.uniform(38, 50)
        heartHU = r.uniform(34, 48)
        lungHU = r.uniform(-880, -815)
        lungGradient = r.uniform(10, 40)
        textureAmp = r.uniform(28, 48)
        cortexHU = r.uniform(750, 1150)
        marrowHU = r.uniform(250, 380)
        cartilageHU = r.uniform(90, 150)
        tableHU = r.uniform(120, 260)
        noiseSigma = r.uniform(10, 20)
        offsetHU = r.uniform(-6, 6)
    }

    /// Lung fraction of a height: 0 at the lung base, 1 at the apex (outside [0, 1] off the lungs).
    func u(_ z: Double) -> Double { (z - zBase) / (zApex - zBase) }
    /// Height of a lung fraction.
    func z(_ u: Double) -> Double { zBase + u * (zApex - zBase) }

    /// The cross-sectional anatomy at height z.
    func section(z: Double) -> Section { Section(self, z: z) }
}

/// Geometry of one axial section (mm, slice coordinates; see Canvas).
struct Section {
    let z: Double, u: Double
    let body: SuperEllipse, muscle: SuperEllipse, cavity: SuperEllipse
    /// Per side (0 = patient right = image left, 1 = left): the lung envelope, nil above the apex.
    let envelope: [Ellipse?]
    /// Per side: the part below the diaphragmatic dome, nil above it.
    let dome: [Ellipse?]
    let midX: Double, midHalf: Double
    let heart: Ellipse?, heartFat: Ellipse?
    let vertebra: Ellipse, vertebraY: Double
    let lungsPresent: Bool

    init(_ a: Anatomy, z: Double) {
        self.z = z
        let u = a.u(z)
        self.u = u
        let w = 1 + a.widthSlope * (u - 0.5) + a.wobble * sin(2 * Double.pi * a.wobbleFreq * u + a.wobblePhase)
        let bPost = a.bodyBPost * (1 + 0.4 * (w - 1))
        body = SuperEllipse(cx: a.bodyX, cy: a.tableTop - 1.5 - bPost, a: a.bodyA * w,
                            bAnt: a.bodyBAnt * (1 + 0.4 * (w - 1)), bPost: bPost, pAnt: a.pAnt, pPost: a.pPost)
        muscle = body.inset(a.fatLat, a.fatAnt, a.fatPost)
        // The rib cage narrows towards the apex.
        let apexT = min(max((u - a.taperStart) / (1 - a.taperStart), 0), 1.3)
        var cav = muscle.inset(a.wallLat, a.wallAnt, a.wallPost)
        let shrink = 0.25 * apexT * apexT
        cav.a *= 1 - shrink
        cav.bAnt *= 1 - shrink * 0.8
        cavity = cav
        // Vertical middle and half-depth of the cavity.
        let cy = cav.cy + (cav.bPost - cav.bAnt) / 2, hd = (cav.bAnt + cav.bPost) / 2

        vertebraY = cav.cy + cav.bPost - a.vertebraR * 0.5
        vertebra = Ellipse(cx: a.bodyX, cy: vertebraY, a: a.vertebraR * 1.1, b: a.vertebraR * 0.9)

        // Lung envelopes taper to nothing at the apex; they fill each hemithorax otherwise.
        let g = apexT <= 0 ? 1 : (max(0, 1 - apexT * apexT)).squareRoot()
        lungsPresent = u >= 0 && g > 0.02
        var env: [Ellipse?] = [nil, nil]
        var dm: [Ellipse?] = [nil, nil]
        if lungsPresent {
            for side in 0..<2 {
                let s: Double = side == 0 ? -1 : 1
                let ex = cav.cx + s * cav.a * (0.5 - 0.12 * (1 - g))
                let ey = cy + hd * (0.05 + 0.3 * (1 - g))
                env[side] = Ellipse(cx: ex, cy: ey, a: cav.a * 0.6 * g * a.lungScale,
                                    b: hd * 1.1 * g * a.lungScale)
                // Paraboloid dome: the excluded area grows downwards, leaving a posterior recess.
                let top = side == 0 ? a.domeRight : a.domeLeft
                if u < top {
                    let rho = 1.08 * pow((top - u) / top, 0.7)
                    dm[side] = Ellipse(cx: cav.cx + s * cav.a * 0.3, cy: cy - hd * 0.12,
                                       a: cav.a * 0.74 * rho, b: hd * 0.95 * rho)
                }
            }
        }
        envelope = env
        dome = dm
        midX = cav.cx + cav.a * a.midX
        let highT = min(max((u - a.heartHigh + 0.1) / 0.15, 0), 1)
        midHalf = cav.a * (a.midHalfLow + (a.midHalfHigh - a.midHalfLow) * highT)

        if u > a.heartLow && u < a.heartHigh {
            let c = (a.heartLow + a.heartHigh) / 2, h = (a.heartHigh - a.heartLow) / 2
            let t = (u - c) / h
            let prof = pow(max(0, 1 - t * t), 0.4)
            let hx = cav.cx + cav.a * a.heartX, hy = cy - hd * a.heartY
            let ha = cav.a * a.heartA * prof, hb = hd * a.heartB * prof
            heart = Ellipse(cx: hx, cy: hy, a: ha, b: hb, angle: a.heartAngle)
            heartFat = Ellipse(cx: hx + 2, cy: hy - 1.5, a: ha + 3.5, b: hb + 5, angle: a.heartAngle)
        } else {
            heart = nil
            heartFat = nil
        }
    }

    /// Which lung (0 right, 1 left) contains the point, judged from the large structures only.
    func lungSide(_ x: Double, _ y: Double) -> Int? {
        guard lungsPresent, let cs = cavity.span(y), x > cs.lo + 2, x < cs.hi - 2 else { return nil }
        if abs(x - midX) < midHalf + 3 && y < vertebraY { return nil }
        if let hf = heartFat, hf.radius2(x, y) < 1.1 { return nil }
        if vertebra.radius2(x, y) < 1.6 { return nil }
        let side = x < midX ? 0 : 1
        guard let e = envelope[side], e.contains(x, y) else { return nil }
        if let d = dome[side], d.contains(x, y) { return nil }
        return side
    }
}
