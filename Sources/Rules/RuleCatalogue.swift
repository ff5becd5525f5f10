import Yams

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
/// (see `RuleCatalogue+Sources.swift`, generated and kept in sync by a test),
/// so one copied executable is enough on a rescue system.
public enum RuleCatalogue {
    /// Every rule's metadata, sorted by id. A rule.yml that does not parse is
    /// a build-time bug the catalogue test catches; here it is skipped.
    public static let all: [RuleMetadata] = embeddedRuleSources
        .compactMap { parse($0.yaml) }
        .sorted { $0.id < $1.id }

    private static let byID: [String: RuleMetadata] = Dictionary(all.map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })

    public static func metadata(_ id: String) -> RuleMetadata? { byID[id] }

    /// Parses one rule.yml; nil when it is not valid.
    public static func parse(_ yaml: String) -> RuleMetadata? {
        try? YAMLDecoder().decode(RuleMetadata.self, from: yaml)
    }
}
