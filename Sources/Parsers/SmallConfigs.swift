/// /etc/resolv.conf: the `nameserver` lines, as the resolver reads them.
public enum ResolvConfParser {
    public static func nameservers(_ bytes: [UInt8], path: String) -> [SourceLine] {
        Text.lines(bytes).enumerated().compactMap { i, l in
            let w = Text.words(l)
            return w.count >= 2 && w[0] == "nameserver" ? SourceLine(path: path, line: i + 1, text: l) : nil
        }
    }
}

/// cloud-init's cloud.cfg and cloud.cfg.d/*.cfg.
public enum CloudConfigParser {
    /// Whether the file says `network: {config: disabled}` (in flow or block style).
    public static func disablesNetwork(_ bytes: [UInt8]) -> Bool {
        let text = Text.lines(bytes).map { Text.trimmed($0) }.filter { !$0.hasPrefix("#") }.joined(separator: "\n")
        let squeezed = text.filter { $0 != " " && $0 != "\"" && $0 != "'" }
        return squeezed.contains("network:{config:disabled}") || squeezed.contains("network:\nconfig:disabled")
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
