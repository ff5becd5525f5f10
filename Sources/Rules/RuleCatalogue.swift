/// A rule's metadata, from `rules/<id>/rule.yml`.
public struct RuleMetadata: Sendable, Codable, Hashable {
    public var id: String
    public var title: String
    public var severity: Severity
    public var summary: String
    public var rationale: String
    public var references: [String]
    public var fix: String
}

/// The rule catalogue, built into the binary from `rules/*/rule.yml`
/// (see `RuleCatalogue+Sources.swift`: `scripts/generate-catalogue.sh`
/// checks every rule.yml and writes it as Swift values, and a test fails when
/// that file is stale), so one copied executable is enough on a rescue
/// system and nothing is parsed at run time.
public enum RuleCatalogue {
    /// Every rule's metadata, sorted by id.
    public static let all: [RuleMetadata] = embeddedRules.sorted { $0.id < $1.id }

    private static let byID: [String: RuleMetadata] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })

    public static func metadata(_ id: String) -> RuleMetadata? { byID[id] }
}
