import Parsers

/// /etc/network/interfaces with everything it sources, flattened in the
/// order ifupdown reads it.
public struct IfupdownConfig: Sendable {
    /// The file ifupdown starts from (normally /etc/network/interfaces).
    public var mainPath: String
    /// The implementation whose syntax the files were read with.
    public var dialect: IfupdownDialect = .ifupdown
    /// Every file that was read, main file first, in include order.
    public var files: [String]
    /// Every statement of every file, `source` lines replaced by what they include.
    public var items: [IfupdownItem]
    /// Syntax problems and include problems, with file and line.
    public var diagnostics: [Diagnostic]
    /// Where ifupdown 0.8 stops reading a file because of a fatal error, one
    /// per file. Items after such a line are still in `items` for the audit,
    /// but ifupdown ignores them.
    public var haltedFiles: [SourceLocation]

    public init(mainPath: String, files: [String] = [], items: [IfupdownItem] = [], diagnostics: [Diagnostic] = [], haltedFiles: [SourceLocation] = []) {
        self.mainPath = mainPath
        self.files = files
        self.items = items
        self.diagnostics = diagnostics
        self.haltedFiles = haltedFiles
    }

    /// Whether ifupdown refuses the whole configuration: a fatal error in the
    /// main file makes `ifup -a` (and so the networking service) fail.
    public var rejectedByIfupdown: Bool { haltedFiles.contains { $0.path == mainPath } }

    /// Whether ifupdown adds `auto lo` and `iface lo inet loopback` by itself,
    /// which it does when no stanza uses the loopback method (checked with ifquery).
    public var addsLoopbackImplicitly: Bool {
        !stanzas.contains { ($0.family == "inet" || $0.family == "inet6") && $0.method == "loopback" }
    }

    /// Every `iface` stanza, in order.
    public var stanzas: [IfaceStanza] {
        items.compactMap { if case .iface(let s) = $0 { s } else { nil } }
    }

    /// Names marked `auto` or `allow-auto`, each with the line that marks it.
    public var autoInterfaces: [Located<String>] {
        items.flatMap { item -> [Located<String>] in
            if case .auto(let names, let line) = item { return names.map { Located($0, line) } }
            return []
        }
    }

    /// Names marked `allow-hotplug`: brought up when the device appears, which at boot means now.
    public var hotplugInterfaces: [Located<String>] {
        items.flatMap { item -> [Located<String>] in
            if case .allow(let cls, let names, let line) = item, cls == "hotplug" { return names.map { Located($0, line) } }
            return []
        }
    }

    /// The names `ifup -a` or udev brings up at boot (auto, allow-auto, allow-hotplug).
    /// Computed once per use; callers looping over stanzas keep the set.
    public var bootInterfaces: Set<String> {
        Set(autoInterfaces.map(\.value)).union(hotplugInterfaces.map(\.value))
    }

    /// Whether `ifup -a` or udev brings this interface up at boot.
    public func startsAtBoot(_ name: String) -> Bool { bootInterfaces.contains(name) }
}
