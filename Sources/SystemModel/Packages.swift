import Parsers
import TargetAccess

/// What the target's package manager says is installed.
public struct PackageDatabase: Sendable {
    /// Where the facts come from (`/var/lib/dpkg/status`), nil when no database was found.
    public var source: String?
    public var packages: [String: DpkgPackage]

    public static let none = PackageDatabase(source: nil, packages: [:])

    /// Whether a database was read at all; without one "not installed" means "unknown".
    public var isKnown: Bool { source != nil }

    public func package(_ name: String) -> DpkgPackage? { packages[name] }

    /// Installed, or at least unpacked on disk.
    public func hasFiles(_ name: String) -> Bool { packages[name]?.filesPresent ?? false }

    static func load(_ root: TargetRoot, diagnostics: inout [ConfigDiagnostic]) -> PackageDatabase {
        let path = "/var/lib/dpkg/status"
        guard let bytes = root.bytes(path) else { return .none }
        let parsed = DpkgStatusParser.parse(bytes, path: path)
        diagnostics += parsed.diagnostics.map { ConfigDiagnostic($0, format: "dpkg status", impact: .tolerated) }
        var byName: [String: DpkgPackage] = [:]
        for p in parsed.packages {
            // Multi-arch: prefer the stanza whose files are on disk.
            if let old = byName[p.name], old.filesPresent, !p.filesPresent { continue }
            byName[p.name] = p
        }
        return PackageDatabase(source: path, packages: byName)
    }
}
