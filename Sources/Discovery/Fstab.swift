/// One line of the target's /etc/fstab that names a filesystem to mount.
struct FstabEntry: Sendable, Equatable {
    let line: Int
    let spec: String
    let mountPoint: String
    let fsType: String
    let options: [String]

    /// Parses fstab(5): whitespace-separated fields, `#` comments, `\040`-style
    /// octal escapes. Lines with fewer than two fields are skipped.
    static func parse(_ bytes: [UInt8]) -> [FstabEntry] {
        var out: [FstabEntry] = []
        for (index, raw) in String(decoding: bytes, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.trimmingCharacters(in: " \t\r")
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map { unescape(String($0)) }
            guard fields.count >= 2 else { continue }
            out.append(FstabEntry(
                line: index + 1, spec: fields[0], mountPoint: fields[1],
                fsType: fields.count > 2 ? fields[2] : "auto",
                options: fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : []))
        }
        return out
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "\\") {
                let digits = u[(i + 1)..<min(i + 4, u.count)]
                if digits.count == 3, digits.allSatisfy({ $0 >= 48 && $0 <= 55 }),
                   let v = UInt8(String(decoding: digits, as: UTF8.self), radix: 8) {
                    bytes.append(v)
                    i += 4
                    continue
                }
            }
            bytes.append(u[i])
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
