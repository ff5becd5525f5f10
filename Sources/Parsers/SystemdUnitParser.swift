/// One `Key=value` assignment of a systemd-style file.
public struct UnitEntry: Hashable, Sendable {
    public var key: String
    /// The value with surrounding blanks removed; continuation lines joined with a space.
    public var value: String
    /// The line the assignment starts on.
    public var source: SourceLine
}

/// One `[Section]` and its assignments, in file order.
public struct UnitSection: Hashable, Sendable {
    public var name: String
    public var source: SourceLine
    public var entries: [UnitEntry] = []
}

/// A file in systemd's unit-file syntax (units, `.network`, `.link`,
/// `.netdev`, drop-ins), possibly with its drop-ins appended.
public struct UnitFile: Hashable, Sendable {
    public var path: String
    public var sections: [UnitSection] = []
    public var diagnostics: [Diagnostic] = []
    /// systemd refuses the whole file (a malformed section header); networkd
    /// then ignores it, as if it did not exist.
    public var rejected = false

    public init(path: String) { self.path = path }

    /// Every assignment of `key` in every `[section]` (sections of one name
    /// merge, as systemd reads them), with list semantics: an empty
    /// assignment clears what came before it.
    public func values(_ section: String, _ key: String) -> [UnitEntry] {
        var out: [UnitEntry] = []
        for s in sections where s.name == section {
            for e in s.entries where e.key == key {
                if e.value.isEmpty { out.removeAll() } else { out.append(e) }
            }
        }
        return out
    }

    /// The assignment of a single-valued key that wins: the last one; nil
    /// when unset or reset by an empty assignment.
    public func value(_ section: String, _ key: String) -> UnitEntry? {
        var last: UnitEntry?
        for s in sections where s.name == section {
            for e in s.entries where e.key == key { last = e }
        }
        guard let last, !last.value.isEmpty else { return nil }
        return last
    }

    /// The sections named `name`, each on its own (for `[Route]`, `[Address]`...).
    public func all(_ name: String) -> [UnitSection] { sections.filter { $0.name == name } }

    /// This file with a drop-in applied after it.
    public func applying(_ dropIn: UnitFile) -> UnitFile {
        var out = self
        out.sections += dropIn.sections
        out.diagnostics += dropIn.diagnostics
        return out
    }
}

/// Parses systemd's INI-like syntax as systemd's conf-parser does: `#` and
/// `;` comment lines, `[Section]` headers, `Key=value` with blanks trimmed,
/// a trailing backslash continuing the line (comment lines inside a
/// continuation are skipped), repeated keys kept in order. A malformed
/// section header ends parsing: systemd refuses such a file. Pure.
public enum SystemdUnitParser {
    public static func parse(_ bytes: [UInt8], path: String) -> UnitFile {
        var file = UnitFile(path: path)
        let lines = Text.lines(bytes)
        func src(_ n: Int) -> SourceLine { SourceLine(path: path, line: n, text: lines[n - 1]) }
        func note(_ n: Int, _ message: String) {
            let s = src(n)
            file.diagnostics.append(Diagnostic(s.location, text: s.text, message: message))
        }

        var i = 0
        while i < lines.count {
            let start = i + 1
            var logical = Text.trimmed(lines[i])
            i += 1
            if logical.hasPrefix("#") || logical.hasPrefix(";") || logical.isEmpty { continue }
            // Continuations: systemd replaces the backslash with a space.
            while logical.hasSuffix("\\") && i < lines.count {
                logical.removeLast()
                let next = Text.trimmed(lines[i])
                i += 1
                if next.hasPrefix("#") || next.hasPrefix(";") { logical += "\\"; continue }
                logical += " " + next
            }
            if logical.hasSuffix("\\") { logical.removeLast() }
            logical = Text.trimmed(logical)

            if logical.hasPrefix("[") {
                guard logical.hasSuffix("]"), logical.count >= 2 else {
                    // conf-parser stops here and the file fails to load.
                    note(start, "Invalid section header; systemd refuses the whole file.")
                    file.rejected = true
                    return file
                }
                let name = String(logical.dropFirst().dropLast())
                file.sections.append(UnitSection(name: name, source: src(start)))
                continue
            }
            guard let eq = logical.firstIndex(of: "=") else {
                note(start, "Missing '='; systemd ignores this line.")
                continue
            }
            guard !file.sections.isEmpty else {
                note(start, "Assignment outside of any section; systemd ignores it.")
                continue
            }
            let key = Text.trimmed(String(logical[..<eq]))
            let value = Text.trimmed(String(logical[logical.index(after: eq)...]))
            guard !key.isEmpty else {
                note(start, "Assignment without a key; systemd ignores this line.")
                continue
            }
            file.sections[file.sections.count - 1].entries.append(UnitEntry(key: key, value: value, source: src(start)))
        }
        return file
    }
}
