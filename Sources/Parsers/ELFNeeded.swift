/// The shared libraries an ELF executable asks the dynamic loader for
/// (`DT_NEEDED` entries, what `readelf -d` prints as NEEDED). Reads the
/// section headers to find `.dynamic` and its string table; 64-bit and
/// 32-bit, little- and big-endian. Pure: bytes in; nil when the bytes are
/// not an ELF file it can read. Every offset is bounds-checked.
public enum ELFNeeded {
    public static func libraries(_ b: [UInt8]) -> [String]? {
        guard b.count >= 52, b[0] == 0x7f, b[1] == 0x45, b[2] == 0x4c, b[3] == 0x46 else { return nil }
        let is64 = b[4] == 2
        let little = b[5] == 1
        func u(_ off: Int, _ size: Int) -> Int? {
            guard off >= 0, size > 0, off <= b.count - size else { return nil }
            var v: UInt64 = 0
            for i in 0..<size {
                let byte = UInt64(b[off + (little ? size - 1 - i : i)])
                v = (v << 8) | byte
            }
            return v > UInt64(Int.max) ? nil : Int(v)
        }
        let word = is64 ? 8 : 4
        guard let shoff = u(is64 ? 0x28 : 0x20, word), let shentsize = u(is64 ? 0x3a : 0x2e, 2),
              let shnum = u(is64 ? 0x3c : 0x30, 2), shentsize >= (is64 ? 64 : 40), shnum <= 4096 else { return nil }
        // Section headers: type at +4, link at +0x28 (64) / +0x18 (32), offset, size.
        struct Section { var type: Int; var offset: Int; var size: Int; var link: Int }
        var sections: [Section] = []
        for i in 0..<shnum {
            let (m, overflow) = i.multipliedReportingOverflow(by: shentsize)
            guard !overflow else { return nil }
            let (h, o2) = shoff.addingReportingOverflow(m)
            guard !o2, let type = u(h + 4, 4), let off = u(h + (is64 ? 0x18 : 0x10), word),
                  let size = u(h + (is64 ? 0x20 : 0x14), word), let link = u(h + (is64 ? 0x28 : 0x18), 4) else { return nil }
            sections.append(Section(type: type, offset: off, size: size, link: link))
        }
        guard let dynamic = sections.first(where: { $0.type == 6 }), dynamic.link < sections.count else { return [] }
        let strtab = sections[dynamic.link]
        let entry = is64 ? 16 : 8
        var out: [String] = []
        var at = dynamic.offset
        let end = dynamic.offset.addingReportingOverflow(dynamic.size)
        guard !end.overflow else { return nil }
        while at + entry <= min(end.partialValue, b.count) {
            guard let tag = u(at, word), let val = u(at + word, word) else { break }
            if tag == 0 { break }
            if tag == 1 { // DT_NEEDED
                let (start, o) = strtab.offset.addingReportingOverflow(val)
                guard !o, start < b.count, val < strtab.size else { at += entry; continue }
                var stop = start
                while stop < b.count && b[stop] != 0 && stop - start < 256 { stop += 1 }
                out.append(Text.decode(b[start..<stop]))
            }
            at += entry
        }
        return out
    }
}
