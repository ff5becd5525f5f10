/// One package stanza of /var/lib/dpkg/status.
public struct DpkgPackage: Hashable, Sendable {
    public var name: String
    public var architecture: String?
    public var version: String?
    /// The three words of `Status:`: want, error flag, state.
    public var want: String
    public var flag: String
    public var state: String
    /// `Config-Files` etc.: where the stanza starts.
    public var source: SourceLine

    /// Installed and configured, or at least unpacked: the files are on disk.
    public var filesPresent: Bool {
        ["installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending", "half-installed"].contains(state)
    }

    /// `installed` only.
    public var isInstalled: Bool { state == "installed" }
}

/// Parses dpkg's status file (deb822 stanzas).
public enum DpkgStatusParser {
    public static func parse(_ bytes: [UInt8], path: String) -> (packages: [DpkgPackage], diagnostics: [Diagnostic]) {
        var packages: [DpkgPackage] = []
        var diagnostics: [Diagnostic] = []
        var fields: [String: String] = [:]
        var start = 0
        var startText = ""

        func flush() {
            defer { fields = [:] }
            guard !fields.isEmpty else { return }
            let loc = SourceLocation(path: path, line: start)
            guard let name = fields["package"] else {
                diagnostics.append(Diagnostic(loc, text: startText, message: "A stanza has no Package field."))
                return
            }
            let status = Text.words(fields["status"] ?? "").map(String.init)
            guard status.count == 3 else {
                diagnostics.append(Diagnostic(loc, text: startText, message: "Package \(name) has no valid Status field."))
                return
            }
            packages.append(DpkgPackage(name: name, architecture: fields["architecture"], version: fields["version"],
                                        want: status[0], flag: status[1], state: status[2],
                                        source: SourceLine(loc, startText)))
        }

        for (i, line) in Text.lines(bytes).enumerated() {
            if Text.trimmed(line).isEmpty {
                flush()
                continue
            }
            if line.first == " " || line.first == "\t" { continue } // continuation of a multi-line field
            if fields.isEmpty {
                start = i + 1
                startText = line
            }
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = line[..<colon].lowercased()
            // Only the fields we use are kept, so a huge Description costs nothing.
            if key == "package" || key == "status" || key == "version" || key == "architecture" {
                fields[key] = Text.trimmed(String(line[line.index(after: colon)...]))
            }
        }
        flush()
        return (packages, diagnostics)
    }
}

/// Debian version comparison (deb-version(7)): epoch, upstream, revision,
/// with `~` sorting before everything, letters before other symbols.
public enum DebianVersion {
    public static func compare(_ a: String, _ b: String) -> Int {
        let (ea, ua, ra) = split(a)
        let (eb, ub, rb) = split(b)
        if ea != eb { return ea < eb ? -1 : 1 }
        let u = comparePart(ua, ub)
        if u != 0 { return u }
        return comparePart(ra, rb)
    }

    public static func isAtLeast(_ version: String, _ minimum: String) -> Bool { compare(version, minimum) >= 0 }

    private static func split(_ v: String) -> (Int, [UInt8], [UInt8]) {
        var s = Substring(v)
        var epoch = 0
        if let c = s.firstIndex(of: ":"), let e = Int(s[..<c]) {
            epoch = e
            s = s[s.index(after: c)...]
        }
        if let dash = s.lastIndex(of: "-") {
            return (epoch, Array(s[..<dash].utf8), Array(s[s.index(after: dash)...].utf8))
        }
        return (epoch, Array(s.utf8), [])
    }

    private static func order(_ c: UInt8?) -> Int {
        guard let c else { return 0 }
        if c == UInt8(ascii: "~") { return -1 }
        if (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) { return Int(c) }
        return Int(c) + 256
    }

    private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

    private static func comparePart(_ a: [UInt8], _ b: [UInt8]) -> Int {
        var i = 0, j = 0
        while i < a.count || j < b.count {
            // Non-digit run.
            while (i < a.count && !isDigit(a[i])) || (j < b.count && !isDigit(b[j])) {
                let ca = i < a.count && !isDigit(a[i]) ? a[i] : nil
                let cb = j < b.count && !isDigit(b[j]) ? b[j] : nil
                let oa = order(ca), ob = order(cb)
                if oa != ob { return oa < ob ? -1 : 1 }
                if ca != nil { i += 1 }
                if cb != nil { j += 1 }
            }
            // Digit run, compared numerically without overflow.
            while i < a.count && a[i] == 0x30 { i += 1 }
            while j < b.count && b[j] == 0x30 { j += 1 }
            var da: [UInt8] = [], db: [UInt8] = []
            while i < a.count && isDigit(a[i]) { da.append(a[i]); i += 1 }
            while j < b.count && isDigit(b[j]) { db.append(b[j]); j += 1 }
            if da.count != db.count { return da.count < db.count ? -1 : 1 }
            if da != db { return da.lexicographicallyPrecedes(db) ? -1 : 1 }
        }
        return 0
    }
}
