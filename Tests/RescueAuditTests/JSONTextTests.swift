import Foundation
@testable import Report
import Rules
import Testing

/// JSONText writes what JSONEncoder wrote before Foundation was dropped from
/// the binary: the same bytes, so the JSON schema's text does not move.
@Suite struct JSONTextTests {
    static func foundation<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }

    struct Tricky: Encodable {
        var empty: [Int] = []
        var emptyObject: [String: Int] = [:]
        var absent: Int? = nil
        var present: Int? = 7
        var text = "a/b \"q\" \\ \u{1}\u{8}\u{c}\n\r\t\u{1b}\u{7f} é 😀 \u{2028} \u{202e}"
        var keys: [String: Int] = ["b": 1, "B": 2, "a10": 3, "a9": 4, "A_b": 5, "a_B": 6, "ID": 7, "ID_LIKE": 8, "Id": 9,
                                   "_x": 10, "Zed": 11, "é": 12, "e": 13, "sha256": 14, "sha256After": 15, "": 16]
        var nested: [[String: [Int]]] = [["x": []], [:], ["y": [1, -2]]]
        var big: UInt64 = .max
        var small: Int8 = -5
        var flag = false
        var whole = 3.0
        var fraction = 0.25
        var severity = Severity.critical
    }

    @Test func sameBytesAsJSONEncoder() throws {
        #expect(try JSONText.encode(Tricky()) == Self.foundation(Tricky()))
        #expect(try JSONText.encode([String]()) == Self.foundation([String]()))
        #expect(try JSONText.encode(["x": ["y": "z"]]) == Self.foundation(["x": ["y": "z"]]))
        // The rule catalogue, as `rescue-audit rules --format json` prints it.
        #expect(try JSONText.encode(RuleCatalogue.all) == Self.foundation(RuleCatalogue.all))
    }
}

/// The whole audit document of every example and healthy root, both ways.
@Suite struct JSONReportBytesTests {
    @Test func auditDocumentsAreTheSameBytesAsJSONEncoder() throws {
        var roots = [Repo.example]
        for name in ["debian12-ifupdown", "debian12-netplan-networkd", "rhel9-ifcfg"] {
            roots.append(Repo.fixtures.appendingPathComponent("healthy/\(name)"))
        }
        roots.append(Repo.rules.appendingPathComponent("interface-name-mismatch/tests/masks-missing-from-initramfs.fail"))
        for url in roots {
            let (result, system) = try auditDirectory(url)
            let doc = JSONReport.document(result, system: system, context: testContext(url.path))
            #expect(try JSONText.encode(doc) == JSONTextTests.foundation(doc), "\(url.lastPathComponent)")
        }
    }
}
