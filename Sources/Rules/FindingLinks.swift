/// Links findings that are about the same file, unit or mount point: a log
/// line of the last boot that names /etc/network/if-up.d/sendmail and the
/// finding about that script point at each other.
enum FindingLinks {
    static func link(_ findings: inout [Finding]) {
        // The words each finding could be found by, so a name is looked up
        // instead of searched for in every other finding (10,000 findings
        // were 10^8 searches). The index only narrows: `mentions` decides.
        var index: [String: [Int]] = [:]
        for (j, f) in findings.enumerated() {
            var words = Set(f.names)
            for e in f.evidence { words.insert(e.path) }
            for text in [f.message] + f.evidence.map(\.text) { words.formUnion(Self.words(text)) }
            for w in words { index[w, default: []].append(j) }
        }
        for i in findings.indices where !findings[i].names.isEmpty {
            let candidates: [Int]
            if findings[i].names.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(isNameByte) }) {
                candidates = Set(findings[i].names.flatMap { index[$0] ?? [] }).sorted()
            } else {
                candidates = Array(findings.indices)
            }
            for j in candidates where j != i && findings[j].rule != findings[i].rule {
                guard findings[i].names.contains(where: { mentions(findings[j], $0) }) else { continue }
                if !findings[i].related.contains(findings[j].rule) { findings[i].related.append(findings[j].rule) }
                if !findings[j].related.contains(findings[i].rule) { findings[j].related.append(findings[i].rule) }
            }
        }
    }

    /// Whether `f` is about `name`: it lists it, has evidence in that file,
    /// or names it as a whole word in its message or evidence.
    static func mentions(_ f: Finding, _ name: String) -> Bool {
        if f.names.contains(name) { return true }
        if name.hasPrefix("/"), f.evidence.contains(where: { $0.path == name }) { return true }
        return containsWord(f.message, name) || f.evidence.contains { containsWord($0.text, name) }
    }

    static func isNameByte(_ b: UInt8) -> Bool {
        (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x2D || b == 0x5F || b == 0x2E || b == 0x2F || b == 0x40
    }

    /// Every maximal run of name bytes in `text`, and each run ending in a
    /// full stop also without it: the only strings `containsWord` finds in
    /// `text` when the name is made of name bytes alone.
    static func words(_ text: String) -> Set<String> {
        var out = Set<String>()
        let t = Array(text.utf8)
        var i = 0
        while i < t.count {
            guard isNameByte(t[i]) else { i += 1; continue }
            var end = i
            while end < t.count && isNameByte(t[end]) { end += 1 }
            let word = String(decoding: t[i..<end], as: UTF8.self)
            out.insert(word)
            if t[end - 1] == 0x2E { out.insert(String(decoding: t[i..<(end - 1)], as: UTF8.self)) }
            i = end
        }
        return out
    }

    /// `name` in `text`, not as part of a longer name (`/srv` is not in `/srv2`).
    static func containsWord(_ text: String, _ name: String) -> Bool {
        let t = Array(text.utf8), n = Array(name.utf8)
        guard !n.isEmpty, t.count >= n.count else { return false }
        var i = 0
        while i + n.count <= t.count {
            if t[i] == n[0], Array(t[i..<(i + n.count)]) == n {
                let before = i == 0 || !isNameByte(t[i - 1])
                let end = i + n.count
                // A trailing full stop ends a sentence, not the name.
                let after = end == t.count || !isNameByte(t[end]) || (t[end] == 0x2E && (end + 1 == t.count || !isNameByte(t[end + 1])))
                if before && after { return true }
            }
            i += 1
        }
        return false
    }
}
