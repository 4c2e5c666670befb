import Catalog
import ControlProtocol
import Foundation
@testable import Daemon
import Testing

/// The catalog stores the words the protocol sends: each catalog word maps to the protocol word
/// with the same text, both ways, so `--json` and the database never disagree.
@Suite struct SummariesTests {
    @Test func everyCatalogWordMapsToTheProtocolWordWithItsText() {
        for label in ScanRecord.Label.allCases {
            #expect(ScanLabel(label).rawValue == label.rawValue && ScanRecord.Label(ScanLabel(label)) == label)
        }
        for state in ScanRecord.State.allCases {
            #expect(ScanState(state).rawValue == state.rawValue && ScanRecord.State(ScanState(state)) == state)
        }
        for decision in PredictionRecord.Decision.allCases {
            #expect(Decision(decision).rawValue == decision.rawValue && PredictionRecord.Decision(Decision(decision)) == decision)
        }
        for outcome in FileRecord.Outcome.allCases { #expect(FileOutcome(outcome).rawValue == outcome.rawValue) }
        for state in RunRecord.State.allCases { #expect(RunState(state).rawValue == state.rawValue) }
        for origin in RunRecord.Origin.allCases { #expect(RunOrigin(origin).rawValue == origin.rawValue) }
        for kind in JobRecord.Kind.allCases { #expect(JobKind(kind).rawValue == kind.rawValue) }
        for state in JobRecord.State.allCases { #expect(JobState(state).rawValue == state.rawValue) }
        // And the protocol has no word the catalog lacks.
        #expect(ScanLabel.allCases.count == ScanRecord.Label.allCases.count && RunState.allCases.count == RunRecord.State.allCases.count)
        #expect(JobState.allCases.count == JobRecord.State.allCases.count && JobKind.allCases.count == JobRecord.Kind.allCases.count)
    }

    @Test func queuesAreSentByName() {
        let named = StatusInfo.queues([.ingest: [.queued: 2, .parked: 1], .train: [.running: 1]])
        #expect(named == ["ingest": ["queued": 2, "parked": 1], "train": ["running": 1]])
    }

    @Test func aScanIsListedWithItsLabelGroup() throws {
        let row = #"{"id": 3, "hash": "h", "name": "a.nii", "label": 1, "size": 9, "state": "cached", "created_at": 0, "updated_at": 0, "label_conflict": false}"#
        var scan = try JSONDecoder().decode(ScanRecord.self, from: Data(row.utf8))
        #expect(ScanSummary(scan).label == .abnormal)
        scan.labelConflict = true
        #expect(ScanSummary(scan).label == .conflict)
        scan.label = nil
        scan.labelConflict = false
        #expect(ScanSummary(scan).label == ScanLabel.none && ScanSummary(scan).state == .cached)
    }
}
