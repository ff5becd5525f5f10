/// rpm's package database and dnf's transaction history, read from the
/// bytes of their SQLite files (rpm 4.16 and later: `rpmdb.sqlite`; dnf 4's
/// libdnf: `history.sqlite`). Pure: bytes in, facts and diagnostics out.
public enum RpmDatabase {
    /// At most this many packages are read.
    public static let rowLimit = 200_000

    /// The installed packages: each row of `Packages` is an rpm header blob;
    /// its NAME, VERSION, RELEASE and EPOCH tags are read from it.
    public static func packages(_ bytes: [UInt8], path: String) -> (packages: [DpkgPackage], diagnostics: [Diagnostic]) {
        func fail(_ m: String) -> ([DpkgPackage], [Diagnostic]) { ([], [Diagnostic(SourceLocation(path: path, line: 0), text: "", message: m)]) }
        let db: SQLiteImage
        switch SQLiteImage.open(bytes) {
        case .success(let d): db = d
        case .failure(let e): return fail("The rpm database was not read: \(e.sentence).")
        }
        let (rows, error) = db.rows("SELECT hnum, blob FROM Packages ORDER BY hnum", limit: rowLimit)
        var out: [DpkgPackage] = []
        var diagnostics: [Diagnostic] = []
        for r in rows {
            guard r.count == 2, let blob = r[1].bytes, let h = RpmHeader(blob), let name = h.string(1000), !name.isEmpty else {
                diagnostics.append(Diagnostic(SourceLocation(path: path, line: 0), text: "", message: "A package header (row \(r.first?.int ?? 0)) could not be read; it was skipped."))
                continue
            }
            var version = [h.string(1001), h.string(1002)].compactMap { $0 }.joined(separator: "-")
            if let epoch = h.int32(1003), epoch > 0 { version = "\(epoch):" + version }
            out.append(DpkgPackage(name: name, architecture: h.string(1022), version: version.isEmpty ? nil : version,
                                   want: "install", flag: "ok", state: "installed",
                                   source: SourceLine(path: path, line: 0, text: "Packages row \(r.first?.int ?? 0): \(name)")))
        }
        if let error { diagnostics.append(Diagnostic(SourceLocation(path: path, line: 0), text: "", message: "SQLite stopped reading the packages: \(error).")) }
        return (out, diagnostics)
    }
}

/// An rpm header as stored in the database (no lead, no magic): the index
/// count and data size (big-endian 32-bit), the index entries (tag, type,
/// offset, count), then the data store.
struct RpmHeader {
    let bytes: [UInt8]
    let entries: [(tag: UInt32, type: UInt32, offset: Int, count: UInt32)]
    let dataStart: Int

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 8 else { return nil }
        func be32(_ i: Int) -> UInt32? {
            guard i >= 0, i + 4 <= bytes.count else { return nil }
            return UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3])
        }
        guard let il = be32(0), let dl = be32(4), il <= 1_000_000, dl <= UInt32(bytes.count) else { return nil }
        let indexBytes = Int(il) * 16
        guard 8 + indexBytes + Int(dl) <= bytes.count else { return nil }
        var e: [(UInt32, UInt32, Int, UInt32)] = []
        for k in 0..<Int(il) {
            let b = 8 + k * 16
            guard let tag = be32(b), let type = be32(b + 4), let off = be32(b + 8), let count = be32(b + 12) else { return nil }
            guard off < dl else { continue }
            e.append((tag, type, Int(off), count))
        }
        self.bytes = bytes
        entries = e
        dataStart = 8 + indexBytes
    }

    /// A STRING (6) or the first of an I18NSTRING (9) / STRING_ARRAY (8).
    func string(_ tag: UInt32) -> String? {
        guard let e = entries.first(where: { $0.tag == tag }), [6, 8, 9].contains(e.type) else { return nil }
        let start = dataStart + e.offset
        guard start < bytes.count else { return nil }
        var end = start
        while end < bytes.count && bytes[end] != 0 { end += 1 }
        return Text.decode(bytes[start..<end])
    }

    /// An INT32 (4).
    func int32(_ tag: UInt32) -> Int? {
        guard let e = entries.first(where: { $0.tag == tag }), e.type == 4 else { return nil }
        let i = dataStart + e.offset
        guard i + 4 <= bytes.count else { return nil }
        return Int(UInt32(bytes[i]) << 24 | UInt32(bytes[i + 1]) << 16 | UInt32(bytes[i + 2]) << 8 | UInt32(bytes[i + 3]))
    }
}

/// One dnf transaction that never finished.
public struct DnfTransaction: Sendable, Hashable {
    public var id: Int64
    public var begin: Int64
    public var commandLine: String
    /// libdnf's TransactionState: 0 unknown (it never recorded the end), 2 error.
    public var state: Int64
    /// The packages it was acting on, `name-version-release.arch action`.
    public var items: [String]
}

/// dnf 4 (libdnf) history: the `trans` table of /var/lib/dnf/history.sqlite.
public enum DnfHistory {
    /// The last transaction, when it did not end (state 0, no dt_end) or ended in error (state 2).
    public static func unfinished(_ bytes: [UInt8], path: String) -> (transaction: DnfTransaction?, diagnostics: [Diagnostic]) {
        func fail(_ m: String) -> (DnfTransaction?, [Diagnostic]) { (nil, [Diagnostic(SourceLocation(path: path, line: 0), text: "", message: m)]) }
        let db: SQLiteImage
        switch SQLiteImage.open(bytes) {
        case .success(let d): db = d
        case .failure(let e): return fail("dnf's history was not read: \(e.sentence).")
        }
        let (rows, error) = db.rows("SELECT id, dt_begin, dt_end, cmdline, state FROM trans ORDER BY id DESC LIMIT 1", limit: 1)
        if let error { return fail("dnf's history was not read: \(error).") }
        guard let r = rows.first, r.count == 5, let id = r[0].int else { return (nil, []) }
        let state = r[4].int ?? 0
        guard state != 1 else { return (nil, []) }
        let actions: [Int64: String] = [1: "install", 2: "downgrade", 3: "downgraded", 4: "obsolete", 5: "obsoleted", 6: "upgrade",
                                        7: "upgraded", 8: "remove", 9: "reinstall", 10: "reinstalled", 11: "reason change"]
        let (items, _) = db.rows("""
            SELECT rpm.name, rpm.version, rpm.release, rpm.arch, trans_item.action FROM trans_item
            JOIN rpm ON rpm.item_id = trans_item.item_id WHERE trans_item.trans_id = \(id) ORDER BY trans_item.id
            """, limit: 1000)
        let words = items.map { i in
            let nvra = "\(i[0].string ?? "?")-\(i[1].string ?? "?")-\(i[2].string ?? "?").\(i[3].string ?? "?")"
            return nvra + " " + (actions[i[4].int ?? 0] ?? "action \(i[4].int ?? 0)")
        }
        return (DnfTransaction(id: id, begin: r[1].int ?? 0, commandLine: r[3].string ?? "", state: state, items: words), [])
    }
}
