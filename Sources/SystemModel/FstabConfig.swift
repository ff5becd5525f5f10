import Parsers
import TargetAccess

/// The target's /etc/fstab.
public struct FstabConfig: Sendable {
    public static let path = "/etc/fstab"
    /// Nil when there is no /etc/fstab (or it was not read).
    public var entries: [FstabEntry]?
    public var diagnostics: [Diagnostic]

    public static let none = FstabConfig(entries: nil, diagnostics: [])

    /// The entry mounted at `mountPoint` (`/boot`), the last one when several are.
    public func entry(mountedAt mountPoint: String) -> FstabEntry? {
        entries?.last { TargetRoot.normalize($0.mountPoint) == mountPoint && !$0.isSwap && !$0.has(option: "noauto") }
    }

    static func load(_ root: TargetRoot) -> FstabConfig {
        guard let bytes = root.bytes(path) else { return .none }
        let parsed = FstabParser.parse(bytes, path: path)
        return FstabConfig(entries: parsed.entries, diagnostics: parsed.diagnostics)
    }
}
