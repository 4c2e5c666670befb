import ControlProtocol
import Foundation
import Testing

@Suite struct ControlProtocolTests {
    @Test func linesAreSplitAcrossChunksAndOverlongOnesRefusedEarly() throws {
        var buffer = LineBuffer(limit: 10)
        #expect(try buffer.append(Array("ab".utf8)).isEmpty)
        #expect(try buffer.append(Array("c\nde\nf".utf8)) == [Array("abc".utf8), Array("de".utf8)])
        #expect(!buffer.isEmpty)
        var small = LineBuffer(limit: 4)
        // Refused as soon as the line passes the limit, without waiting for its newline.
        #expect(throws: LineBuffer.Failure.tooLong) { try small.append(Array("12345".utf8)) }
    }

    @Test func requestsRoundTripAndBadOnesSayWhy() throws {
        let request = Request(id: "7", command: .scans, label: "normal", limit: 5)
        let line = try ControlCoding.line(request)
        #expect(line.last == 0x0a && !line.dropLast().contains(0x0a))
        #expect(try ControlCoding.request(from: Array(line.dropLast())).get() == request)

        func failure(_ text: String) -> ControlError? {
            if case .failure(let error) = ControlCoding.request(from: Array(text.utf8)) { return error }
            return nil
        }
        #expect(failure("not json")?.code == .badRequest)
        #expect(failure("[1, 2]")?.code == .badRequest)
        #expect(failure(#"{"id": "1", "command": "status"}"#)?.message.contains("no protocol version") == true)
        #expect(failure(#"{"v": 2, "id": "1", "command": "status"}"#)?.code == .unsupportedVersion)
        #expect(failure(#"{"v": 1, "id": "1", "command": "status", "limit": "ten"}"#)?.code == .badRequest)
        // An unknown command decodes (the daemon answers unknown_command, naming the known ones).
        #expect(failure(#"{"v": 1, "id": "1", "command": "fly"}"#) == nil)
    }

    @Test func responsesStayOnOneLineWhateverTheyCarry() throws {
        let response = Response(id: "1", result: .string("line one\nline two"), error: ControlError(.failed, "multi\nline"))
        let line = try ControlCoding.line(response)
        #expect(line.filter { $0 == 0x0a }.count == 1)
        #expect(try JSONDecoder().decode(Response.self, from: Data(line)) == response)
    }

    @Test func resultsTravelAsJSONValues() throws {
        let info = TrainingInfo(runID: "run-1", epoch: 2, epochs: 10, step: 3, steps: 7, secondsPerEpoch: 4.5, etaSeconds: 38, lastValAcc: nil)
        let value = try JSONValue.encoding(info)
        guard case .object(let object) = value else { Issue.record("not an object"); return }
        #expect(object["run_id"] == .string("run-1") && object["eta_seconds"] == .number(38))
        #expect(try value.decode(TrainingInfo.self) == info)
    }

    @Test func onlyCommandsThatChangeNothingAreReadOnly() {
        let readOnly = Command.allCases.filter { !$0.isMutating }.map(\.rawValue).sorted()
        #expect(readOnly == ["export", "metrics", "next_to_label", "predict", "run", "runs", "scan", "scans", "status"])
    }
}
