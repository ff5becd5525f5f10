import Foundation
import Testing

/// Replays every committed fuzz input once (fuzz/corpus/TARGET: the seeds,
/// the minimised corpus libFuzzer grew from them, and each crash
/// reproducer), through the same entry the fuzzer calls
/// (FuzzTargets.swift). A trap comes back as a crash of the test process;
/// a hang as HungError. No fuzzing happens here: scripts/fuzz.sh does that.
@Suite struct FuzzCorpusReplayTests {
    static let corpus = Repo.root.appendingPathComponent("fuzz/corpus")

    @Test func everyTargetHasACommittedCorpus() throws {
        for name in FuzzTargets.names {
            let files = (try? FileManager.default.contentsOfDirectory(atPath: Self.corpus.appendingPathComponent(name).path)) ?? []
            #expect(!files.isEmpty, "fuzz/corpus/\(name) is empty: run scripts/fuzz.sh seed, fuzz, then minimise")
        }
        let dirs = try FileManager.default.contentsOfDirectory(atPath: Self.corpus.path)
        #expect(Set(dirs).isSubset(of: Set(FuzzTargets.names)), "corpus directories without a target: \(Set(dirs).subtracting(FuzzTargets.names))")
    }

    @Test(arguments: FuzzTargets.names)
    func corpusReplays(_ name: String) throws {
        let dir = Self.corpus.appendingPathComponent(name)
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []).sorted()
        for file in files {
            let bytes = [UInt8](try Data(contentsOf: dir.appendingPathComponent(file)))
            let ran = try finishes("\(name) on fuzz/corpus/\(name)/\(file)", within: .seconds(60)) {
                FuzzTargets.run(name, bytes)
            }
            #expect(ran)
        }
    }
}
