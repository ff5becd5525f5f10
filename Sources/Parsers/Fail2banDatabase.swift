import CSQLite

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
        guard bytes.count >= 512, bytes.starts(with: Array("SQLite format 3\0".utf8)) else {
            return fail("Not an SQLite 3 database: fail2ban starts with an empty ban list (or recreates the file).")
        }
        var db: OpaquePointer?
        guard sqlite3_open_v2(":memory:", &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nil) == SQLITE_OK, let db else {
            return fail("SQLite could not open an in-memory database.")
        }
        defer { sqlite3_close(db) }
        // SQLite owns (and frees) the copy; READONLY: the image is never written.
        guard let buffer = sqlite3_malloc64(UInt64(bytes.count)) else { return fail("Out of memory reading the database.") }
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { buffer.copyMemory(from: base, byteCount: bytes.count) }
        }
        let flags = UInt32(SQLITE_DESERIALIZE_READONLY | SQLITE_DESERIALIZE_FREEONCLOSE)
        guard sqlite3_deserialize(db, "main", buffer.assumingMemoryBound(to: UInt8.self), Int64(bytes.count), Int64(bytes.count), flags) == SQLITE_OK else {
            return fail("SQLite refuses the database image.")
        }
        var out: [Fail2banBan] = []
        // fail2ban 0.11 and later store bantime and bancount; 0.10 does not.
        let queries = [
            "SELECT jail, ip, timeofban, bantime, bancount FROM bans LIMIT \(rowLimit)",
            "SELECT jail, ip, timeofban, NULL, 1 FROM bans LIMIT \(rowLimit)",
        ]
        var lastError = ""
        for q in queries {
            var stmt: OpaquePointer?
            guard sqlite3_prepare_v2(db, q, -1, &stmt, nil) == SQLITE_OK, let stmt else {
                lastError = String(cString: sqlite3_errmsg(db))
                continue
            }
            defer { sqlite3_finalize(stmt) }
            var rc = sqlite3_step(stmt)
            while rc == SQLITE_ROW {
                func text(_ i: Int32) -> String {
                    guard let p = sqlite3_column_text(stmt, i) else { return "" }
                    let n = Int(sqlite3_column_bytes(stmt, i))
                    return Text.decode(UnsafeBufferPointer(start: p, count: max(0, n)))
                }
                let banTime: Int64? = sqlite3_column_type(stmt, 3) == SQLITE_NULL ? nil : sqlite3_column_int64(stmt, 3)
                out.append(Fail2banBan(jail: text(0), ip: text(1), timeOfBan: sqlite3_column_int64(stmt, 2),
                                       banTime: banTime, banCount: sqlite3_column_int64(stmt, 4)))
                rc = sqlite3_step(stmt)
            }
            if rc != SQLITE_DONE {
                return (out, [Diagnostic(SourceLocation(path: path, line: 0), text: "",
                                         message: "SQLite stopped reading the bans: \(String(cString: sqlite3_errmsg(db))).")])
            }
            return (out, [])
        }
        return fail("No bans table fail2ban could read (\(lastError)).")
    }
}
