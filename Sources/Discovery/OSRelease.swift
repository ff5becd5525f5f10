/// The parts of os-release(5) that name a distribution.
struct OSRelease: Sendable, Equatable {
    var values: [String: String]

    /// Parses os-release's shell-like KEY=VALUE lines; quotes and backslash
    /// escapes are undone, anything else (comments, junk) is skipped.
    init(bytes: [UInt8]) {
        values = [:]
        let text = String(decoding: bytes, as: UTF8.self)
        for raw in text.split(whereSeparator: { $0 == "\n" }) {
            let line = raw.trimmingCharacters(in: " \t\r")
            guard !line.hasPrefix("#"), let eq = line.firstIndex(of: "=") else { continue }
            let key = String(line[..<eq])
            var value = Substring(line[line.index(after: eq)...])
            if let q = value.first, q == "\"" || q == "'", value.count >= 2, value.last == q {
                value = value.dropFirst().dropLast()
            }
            var out = ""
            var escaped = false
            for ch in value {
                if escaped { out.append(ch); escaped = false } else if ch == "\\" { escaped = true } else { out.append(ch) }
            }
            values[key] = out
        }
    }

    /// PRETTY_NAME, else NAME.
    var name: String? { values["PRETTY_NAME"] ?? values["NAME"] }
    var versionID: String? { values["VERSION_ID"] }
}

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let chars = Set(set)
        var s = Substring(self)
        while let f = s.first, chars.contains(f) { s = s.dropFirst() }
        while let l = s.last, chars.contains(l) { s = s.dropLast() }
        return String(s)
    }
}
