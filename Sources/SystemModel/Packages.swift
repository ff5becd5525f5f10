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

    /// Where rpm 4.16+ keeps its SQLite database (RHEL 9: /var/lib/rpm; Fedora 36+: /usr/lib/sysimage/rpm).
    public static let rpmPaths = ["/var/lib/rpm/rpmdb.sqlite", "/usr/lib/sysimage/rpm/rpmdb.sqlite"]
    /// An rpm database is at most this large to be read (a full RHEL install is 50-150 MiB).
    static let rpmCap: Int64 = 512 << 20

    static func load(_ root: TargetRoot, diagnostics: inout [ConfigDiagnostic]) -> PackageDatabase {
        let path = "/var/lib/dpkg/status"
        guard let bytes = root.bytes(path) else { return loadRpm(root, diagnostics: &diagnostics) }
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

    /// The rpm database, read-only from its bytes; the older Berkeley DB
    /// (`/var/lib/rpm/Packages`, RHEL 7 and 8) is named, not read.
    static func loadRpm(_ root: TargetRoot, diagnostics: inout [ConfigDiagnostic]) -> PackageDatabase {
        for path in rpmPaths {
            switch root.readLarge(path, cap: rpmCap) {
            case .file(let f):
                let parsed = RpmDatabase.packages(f.bytes, path: path)
                diagnostics += parsed.diagnostics.map { ConfigDiagnostic($0, format: "rpm database", impact: .tolerated) }
                guard !parsed.packages.isEmpty else { continue }
                var byName: [String: DpkgPackage] = [:]
                for p in parsed.packages where byName[p.name] == nil { byName[p.name] = p }
                return PackageDatabase(source: path, packages: byName)
            case .skipped(let why):
                diagnostics.append(ConfigDiagnostic(Diagnostic(SourceLocation(path: path, line: 0), text: "", message: "\(path) was not read: \(why)."),
                                                    format: "rpm database", impact: .tolerated))
            case .missing:
                continue
            }
        }
        if root.isRegularFile("/var/lib/rpm/Packages") {
            diagnostics.append(ConfigDiagnostic(Diagnostic(SourceLocation(path: "/var/lib/rpm/Packages", line: 0), text: "",
                                                           message: "The rpm database is in Berkeley DB format (RHEL 7/8), which is not read: which packages are installed is unknown."),
                                                format: "rpm database", impact: .tolerated))
        }
        return .none
    }
}
