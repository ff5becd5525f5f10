/// One `id:runlevels:action:process` entry of sysvinit's `/etc/inittab`.
public struct InittabEntry: Hashable, Sendable {
    public var id: String
    public var runlevels: String
    public var action: String
    public var process: String
    public var source: SourceLine
}

/// `/etc/inittab` as sysvinit's init reads it.
public struct Inittab: Hashable, Sendable {
    public var entries: [InittabEntry] = []
    public var diagnostics: [Diagnostic] = []

    /// The runlevel of the `initdefault` entry, with its line. init uses the
    /// first one; with none it asks on the console, which an unattended boot
    /// cannot answer, so callers should treat nil as a finding.
    public var defaultRunlevel: Located<String>? {
        guard let e = entries.first(where: { $0.action == "initdefault" }) else { return nil }
        return Located(e.runlevels, e.source)
    }
}

/// Parses `/etc/inittab`: `#` comment lines, blank lines, and four
/// colon-separated fields per entry (the process field may itself hold
/// colons). Pure.
public enum InittabParser {
    public static func parse(_ bytes: [UInt8], path: String) -> Inittab {
        var tab = Inittab()
        for (i, line) in Text.lines(bytes).enumerated() {
            let trimmed = Text.trimmed(line)
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            let source = SourceLine(path: path, line: i + 1, text: line)
            let fields = trimmed.split(separator: ":", maxSplits: 3, omittingEmptySubsequences: false).map(String.init)
            guard fields.count == 4 else {
                tab.diagnostics.append(Diagnostic(source.location, text: line,
                    message: "Not an id:runlevels:action:process entry; init ignores this line."))
                continue
            }
            tab.entries.append(InittabEntry(id: fields[0], runlevels: fields[1], action: fields[2],
                                            process: fields[3], source: source))
        }
        return tab
    }
}
