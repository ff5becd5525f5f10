internal import CSQLite

/// One value of a row read from an SQLite database image.
public enum SQLiteValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
    case blob([UInt8])

    public var int: Int64? { if case .integer(let i) = self { return i }; return nil }
    public var string: String? { if case .text(let s) = self { return s }; return nil }
    public var bytes: [UInt8]? {
        switch self {
        case .blob(let b): return b
        case .text(let s): return Array(s.utf8)
        default: return nil
        }
    }
}

/// An SQLite database read from its bytes with `sqlite3_deserialize`,
/// read-only, in memory: nothing touches a file of the target (no journal,
/// no -wal or -shm beside it). A WAL-mode header is read as a rollback one
/// in the private copy, which SQLite needs to open a deserialized image;
/// what sits only in the -wal file is not seen.
final class SQLiteImage {
    private let db: OpaquePointer

    /// nil and why, when the bytes are not a database SQLite accepts.
    static func open(_ bytes: [UInt8]) -> Result<SQLiteImage, SQLiteImageError> {
        guard bytes.count >= 512, bytes.starts(with: Array("SQLite format 3\0".utf8)) else { return .failure(.notSQLite) }
        var handle: OpaquePointer?
        guard sqlite3_open_v2(":memory:", &handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_MEMORY, nil) == SQLITE_OK, let handle else {
            if let handle { sqlite3_close(handle) }
            return .failure(.cannotOpen)
        }
        // SQLite owns (and frees) the copy; READONLY: the image is never written.
        guard let buffer = sqlite3_malloc64(UInt64(bytes.count)) else { sqlite3_close(handle); return .failure(.cannotOpen) }
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { buffer.copyMemory(from: base, byteCount: bytes.count) }
        }
        let p = buffer.assumingMemoryBound(to: UInt8.self)
        // File format versions 2/2 mean WAL; a deserialized image has no WAL to use.
        if p[18] == 2 && p[19] == 2 { p[18] = 1; p[19] = 1 }
        let flags = UInt32(SQLITE_DESERIALIZE_READONLY | SQLITE_DESERIALIZE_FREEONCLOSE)
        guard sqlite3_deserialize(handle, "main", p, Int64(bytes.count), Int64(bytes.count), flags) == SQLITE_OK else {
            sqlite3_close(handle)
            return .failure(.refused)
        }
        return .success(SQLiteImage(handle))
    }

    private init(_ db: OpaquePointer) { self.db = db }
    deinit { sqlite3_close(db) }

    /// The rows of `query` (at most `limit`), or SQLite's error message.
    /// Rows read before an error are returned with it.
    func rows(_ query: String, limit: Int) -> (rows: [[SQLiteValue]], error: String?) {
        var stmt: OpaquePointer?
        guard sqlite3_prepare_v2(db, query, -1, &stmt, nil) == SQLITE_OK, let stmt else {
            return ([], String(cString: sqlite3_errmsg(db)))
        }
        defer { sqlite3_finalize(stmt) }
        var out: [[SQLiteValue]] = []
        let columns = sqlite3_column_count(stmt)
        var rc = sqlite3_step(stmt)
        while rc == SQLITE_ROW && out.count < limit {
            var row: [SQLiteValue] = []
            for i in 0..<columns {
                switch sqlite3_column_type(stmt, i) {
                case SQLITE_INTEGER: row.append(.integer(sqlite3_column_int64(stmt, i)))
                case SQLITE_TEXT:
                    let n = Int(sqlite3_column_bytes(stmt, i))
                    if let t = sqlite3_column_text(stmt, i) { row.append(.text(Text.decode(UnsafeBufferPointer(start: t, count: max(0, n))))) }
                    else { row.append(.text("")) }
                case SQLITE_BLOB:
                    let n = Int(sqlite3_column_bytes(stmt, i))
                    if let b = sqlite3_column_blob(stmt, i), n > 0 {
                        row.append(.blob(Array(UnsafeBufferPointer(start: b.assumingMemoryBound(to: UInt8.self), count: n))))
                    } else { row.append(.blob([])) }
                case SQLITE_NULL: row.append(.null)
                default: row.append(.null)  // a float: nothing read here stores one
                }
            }
            out.append(row)
            rc = sqlite3_step(stmt)
        }
        if rc != SQLITE_DONE && rc != SQLITE_ROW { return (out, String(cString: sqlite3_errmsg(db))) }
        return (out, nil)
    }
}

enum SQLiteImageError: Error {
    case notSQLite, cannotOpen, refused

    var sentence: String {
        switch self {
        case .notSQLite: "not an SQLite 3 database"
        case .cannotOpen: "SQLite could not open an in-memory database"
        case .refused: "SQLite refuses the database image"
        }
    }
}
