/// /etc/resolv.conf: the `nameserver` lines, as the resolver reads them.
public enum ResolvConfParser {
    public static func nameservers(_ bytes: [UInt8], path: String) -> [SourceLine] {
        Text.lines(bytes).enumerated().compactMap { i, l in
            let w = Text.words(l)
            return w.count >= 2 && w[0] == "nameserver" ? SourceLine(path: path, line: i + 1, text: l) : nil
        }
    }
}

/// Lines of shell scripts and unit files that contain a word.
public enum LineSearch {
    /// The uncommented lines of `bytes` that contain `needle`.
    public static func lines(_ bytes: [UInt8], path: String, containing needle: String) -> [SourceLine] {
        Text.lines(bytes).enumerated().compactMap { i, line in
            line.contains(needle) && !Text.trimmed(line).hasPrefix("#") ? SourceLine(path: path, line: i + 1, text: line) : nil
        }
    }
}
