import Parsers
import TargetAccess

/// What the target's logs say about its last boot: failure signatures from
/// the end of the syslog files and from the systemd journal.
public struct LastBootLogs: Sendable {
    /// One log that was read, and how.
    public struct Source: Sendable {
        public var path: String
        /// In words: "the last 32 MiB", "the whole file", "journal file read directly, 812 entries of the last boot".
        public var how: String
        /// Whether the start of the last boot was found in what was read.
        public var foundBootStart: Bool
        public var isJournal: Bool
    }

    public var sources: [Source]
    /// Every matching line of the last boot; syslog files first, then the journal.
    public var events: [BootLogEvent]
    /// The last boot's ID in the journal, when the journal was read.
    public var journalBootID: String?
    /// Logs that could not be read, and why.
    public var notes: [String]

    public static let none = LastBootLogs(sources: [], events: [], journalBootID: nil, notes: [])

    /// At most this much is read from the end of any one log.
    public static let maxBytes: Int64 = 32 << 20
    public static let syslogFiles = ["/var/log/syslog", "/var/log/messages", "/var/log/kern.log", "/var/log/boot.log"]

    static func load(_ root: TargetRoot) -> LastBootLogs {
        var out = LastBootLogs.none
        for path in syslogFiles {
            switch root.openReader(path) {
            case .failure(.missing):
                continue
            case .failure(.skipped(let why)):
                out.notes.append("\(path) was not read: \(why)")
            case .success(let reader):
                let scan = SyslogTail.scan(path: path, size: reader.size, maxBytes: maxBytes) { reader.read(at: $0, count: $1) }
                let whole = scan.bytesRead >= reader.size
                var how = whole ? "the whole file" : "the last \(scan.bytesRead >> 20) MiB of \(reader.size >> 20) MiB"
                if scan.bootStart == nil {
                    how += path.hasSuffix("boot.log") ? "; it marks no boot, so all of it is taken as the last boot"
                        : "; no kernel \"Linux version\" line in it, so all of it is taken as the last boot"
                }
                out.sources.append(Source(path: path, how: how, foundBootStart: scan.bootStart != nil, isJournal: false))
                out.events += scan.events
            }
        }
        out.loadJournal(root)
        return out
    }

    /// The fields a signature and its evidence line need.
    static let journalFields: Set<String> = ["MESSAGE", "SYSLOG_IDENTIFIER", "_COMM", "_PID", "SYSLOG_PID", "_HOSTNAME", "UNIT"]
    /// Entries looked at per file at most, newest first.
    static let maxEntries = 200_000

    /// Reads /var/log/journal/*/system*.journal directly: the file with the
    /// newest entry names the last boot; its entries are walked back from the
    /// newest, through older files, until an entry of an earlier boot.
    mutating func loadJournal(_ root: TargetRoot) {
        // Headers first: the newest file (by its header's last entry time) is read first.
        var files: [(path: String, reader: TargetFileReader, tail: UInt64)] = []
        for dir in root.list("/var/log/journal") ?? [] where dir.kind == .directory {
            let base = "/var/log/journal/" + dir.name
            for f in root.list(base) ?? [] where f.kind == .regular && f.name.hasPrefix("system")
                && (f.name.hasSuffix(".journal") || f.name.hasSuffix(".journal~")) {
                let path = base + "/" + f.name
                guard case .success(let reader) = root.openReader(path) else {
                    notes.append("\(path) could not be opened")
                    continue
                }
                do {
                    let journal = try JournalFile(size: reader.size, budget: 4096) { reader.read(at: $0, count: $1) }
                    guard journal.header.nEntries > 0 else { continue }
                    files.append((path, reader, journal.header.tailEntryRealtime))
                } catch {
                    notes.append("\(path) was not read: \(error)")
                }
            }
        }
        var boot: String?
        var reachedEarlierBoot = false
        // Files are read newest first; their events go in front, so all stay in time order.
        var journalEvents: [BootLogEvent] = []
        var journalSources: [Source] = []
        for item in files.sorted(by: { $0.tail > $1.tail }) {
            if reachedEarlierBoot { break }
            let reader = item.reader
            guard let file = try? JournalFile(size: reader.size, budget: Self.maxBytes, read: { reader.read(at: $0, count: $1) }) else { continue }
            let offsets = file.entryOffsets()
            guard let lastOffset = offsets.last, let last = file.entryStamp(at: lastOffset) else { continue }
            if boot == nil { boot = last.bootID }
            guard let boot, last.bootID == boot else { break }
            var matched: [BootLogEvent] = []
            var seen = 0
            for offset in offsets.reversed() {
                if seen >= Self.maxEntries { break }
                guard let e = file.entry(at: offset, fields: Self.journalFields) else { continue }
                if e.bootID != boot {
                    reachedEarlierBoot = true
                    break
                }
                seen += 1
                guard let message = e.fields["MESSAGE"] else { continue }
                let tag = e.fields["SYSLOG_IDENTIFIER"] ?? e.fields["_COMM"]
                guard let (sig, subjects) = BootLogMatcher.match(message: message, tag: tag, unit: e.fields["UNIT"]) else { continue }
                let stamp = formatUTC(microseconds: e.realtime)
                let pid = e.fields["SYSLOG_PID"] ?? e.fields["_PID"]
                let text = "\(stamp) \(e.fields["_HOSTNAME"] ?? "-") \(tag ?? "-")\(pid.map { "[\($0)]" } ?? ""): \(message)"
                matched.append(BootLogEvent(signature: sig, path: item.path, line: nil, timestamp: stamp, text: text, subjects: subjects))
            }
            var how = "journal file read directly: \(seen) entries of the last boot (boot ID \(boot))"
            if file.budgetExhausted { how += "; stopped after reading \(Self.maxBytes >> 20) MiB of it" }
            journalSources.insert(Source(path: item.path, how: how, foundBootStart: reachedEarlierBoot, isJournal: true), at: 0)
            journalEvents = matched.reversed() + journalEvents
        }
        sources += journalSources
        events += journalEvents
        journalBootID = boot
    }
}
