/// One ban in fail2ban's database (`bans` table).
public struct Fail2banBan: Hashable, Sendable {
    public var jail: String
    public var ip: String
    /// Unix time the ban started.
    public var timeOfBan: Int64
    /// Seconds; -1 is permanent; nil in fail2ban 0.10 databases, which do not store it.
    public var banTime: Int64?
    public var banCount: Int64

    public init(jail: String, ip: String, timeOfBan: Int64, banTime: Int64?, banCount: Int64) {
        self.jail = jail
        self.ip = ip
        self.timeOfBan = timeOfBan
        self.banTime = banTime
        self.banCount = banCount
    }
}

/// Reads fail2ban's SQLite database (`/var/lib/fail2ban/fail2ban.sqlite3`)
/// from its bytes with the real SQLite library: the bytes are deserialized
/// into an in-memory database opened read-only, so nothing is read from or
/// written to any file. Pure: bytes in, bans and diagnostics out. A
/// damaged database is a diagnostic, never a trap.
public enum Fail2banDatabase {
    /// At most this many bans are read.
    public static let rowLimit = 100_000

    public static func bans(_ bytes: [UInt8], path: String) -> (bans: [Fail2banBan], diagnostics: [Diagnostic]) {
        func fail(_ m: String) -> ([Fail2banBan], [Diagnostic]) {
            ([], [Diagnostic(SourceLocation(path: path, line: 0), text: "", message: m)])
        }
        let db: SQLiteImage
        switch SQLiteImage.open(bytes) {
        case .success(let d): db = d
        case .failure(.notSQLite): return fail("Not an SQLite 3 database: fail2ban starts with an empty ban list (or recreates the file).")
        case .failure(let e): return fail(e.sentence.prefix(1).uppercased() + e.sentence.dropFirst() + ".")
        }
        // fail2ban 0.11 and later store bantime and bancount; 0.10 does not.
        let queries = [
            "SELECT jail, ip, timeofban, bantime, bancount FROM bans LIMIT \(rowLimit)",
            "SELECT jail, ip, timeofban, NULL, 1 FROM bans LIMIT \(rowLimit)",
        ]
        var lastError = ""
        for q in queries {
            let (rows, error) = db.rows(q, limit: rowLimit)
            if let error, rows.isEmpty, error.contains("no such") || error.contains("syntax") {
                lastError = error
                continue
            }
            let bans = rows.map { r in
                Fail2banBan(jail: r.count > 0 ? r[0].string ?? "" : "", ip: r.count > 1 ? r[1].string ?? "" : "",
                            timeOfBan: r.count > 2 ? r[2].int ?? 0 : 0, banTime: r.count > 3 ? r[3].int : nil,
                            banCount: r.count > 4 ? r[4].int ?? 0 : 0)
            }
            if let error {
                return (bans, [Diagnostic(SourceLocation(path: path, line: 0), text: "", message: "SQLite stopped reading the bans: \(error).")])
            }
            return (bans, [])
        }
        return fail("No bans table fail2ban could read (\(lastError)).")
    }
}
