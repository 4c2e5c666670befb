import ControlProtocol
import Foundation
import Testing

@Suite struct VocabularyTests {
    @Test func wordsTravelAndPrintAsTheirText() throws {
        let summary = RunSummary(id: "r", state: .stoppedEarly, reason: "x", startedAt: "t", endedAt: nil, trainCount: 1, validationCount: 1,
                                 bestEpoch: nil, valLoss: nil, valAcc: nil, valAUC: nil, active: false, promotionNote: nil, error: nil, origin: .imported)
        let json = String(decoding: try JSONEncoder().encode(summary), as: UTF8.self)
        #expect(json.contains(#""state":"stopped early""#) && json.contains(#""origin":"imported""#))
        #expect("\(RunState.stoppedEarly)" == "stopped early")
        #expect(try JSONDecoder().decode(RunSummary.self, from: Data(json.utf8)) == summary)
        // A word the protocol does not know is refused, not taken for another.
        let unknown = json.replacingOccurrences(of: "stopped early", with: "stopped")
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(RunSummary.self, from: Data(unknown.utf8)) }
    }

    @Test func theDecisionIsAbnormalFromTheThresholdUp() {
        #expect(Decision(probabilityAbnormal: 0.5, threshold: 0.5) == .abnormal)
        #expect(Decision(probabilityAbnormal: 0.4999, threshold: 0.5) == .normal)
        #expect(Decision(probabilityAbnormal: 0.2, threshold: 0.1) == .abnormal)
    }

    @Test func statusCountsAreReadByWordsFromTheirWireKeys() {
        let status = StatusInfo(version: "v", upSince: "t", configFile: nil, stateDirectory: "/s", watching: "w", paused: false,
                                queues: ["ingest": ["queued": 3, "parked": 1]], scans: ["normal/cached": 4, "conflict/rejected": 2],
                                activeModel: nil, training: nil)
        #expect(StatusInfo.scanKey(.none, .rejected) == "none/rejected")
        #expect(status.scanCount(.normal, .cached) == 4 && status.scanCount(.conflict, .rejected) == 2 && status.scanCount(.abnormal, .cached) == 0)
        #expect(status.jobCount(.ingest, .queued) == 3 && status.jobCount(.ingest, .running) == nil && status.jobCount(.predict, .queued) == nil)
    }
}
