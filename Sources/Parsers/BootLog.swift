import Glibc

/// A known way a boot goes wrong, as it shows in the logs.
public enum BootLogSignature: String, CaseIterable, Sendable, Codable, Comparable {
    /// systemd gave up and started the emergency shell.
    case emergencyMode = "emergency mode"
    /// ifupdown's networking.service ("Raise network interfaces") failed.
    case networkingFailed = "networking.service failed"
    /// A hook script under /etc/network/if-*.d failed (run-parts exit code).
    case hookScriptFailed = "network hook script failed"
    /// ifup reported an error bringing an interface up.
    case ifupFailed = "ifup failed"
    /// A filesystem check failed or found errors it could not fix.
    case fsckFailed = "filesystem check failed"
    /// A mount unit failed.
    case mountFailed = "mount failed"
    /// A unit was not started because one it requires failed.
    case dependencyFailed = "dependency failed"
    /// Any other unit failed to start.
    case unitFailed = "unit failed"

    /// Order of importance, most important first.
    var rank: Int { Self.allCases.firstIndex(of: self) ?? 0 }
    public static func < (a: Self, b: Self) -> Bool { a.rank < b.rank }
}

/// One log line of the last boot that matches a signature.
public struct BootLogEvent: Sendable, Hashable {
    public var signature: BootLogSignature
    /// The target path of the log (a syslog file or a journal file).
    public var path: String
    /// The line number, when the whole file was read; nil otherwise.
    public var line: Int?
    /// The time as the log writes it (syslog), or in UTC (journal).
    public var timestamp: String?
    /// The line as it reads in the log (journal entries as `journalctl` shows them).
    public var text: String
    /// Files, units and mount points the line names, for linking findings.
    public var subjects: [String]

    public init(signature: BootLogSignature, path: String, line: Int?, timestamp: String?, text: String, subjects: [String]) {
        self.signature = signature
        self.path = path
        self.line = line
        self.timestamp = timestamp
        self.text = text
        self.subjects = subjects
    }
}

/// Matches one log message against the known failure signatures.
public enum BootLogMatcher {
    /// Byte strings of which at least one is in every line that can match:
    /// scanning for these first keeps a 32 MiB tail cheap to search.
    static let keywords = ["Failed", "failed", "mergency", "run-parts", "ifup", "INCONSISTENCY"]

    /// The signature of a message and what it names. `tag` is the syslog tag
    /// or SYSLOG_IDENTIFIER (`systemd`, `ifup`), `unit` the journal's UNIT=
    /// or _SYSTEMD_UNIT=, when known.
    public static func match(message m: String, tag: String?, unit: String? = nil) -> (BootLogSignature, [String])? {
        var subjects: [String] = []
        if let unit, !unit.isEmpty { subjects.append(unit) }
        if m.contains("Reached target Emergency Mode") || m.contains("Reached target emergency.target")
            || m.contains("Started Emergency Shell") || m.contains("Started emergency.service")
            || m.contains("You are in emergency mode") || m.contains("Welcome to emergency mode") {
            return (.emergencyMode, subjects)
        }
        if let r = m.firstRange(of: "run-parts: "), m.contains("exited with return code") || m.contains("failed to exec") {
            var rest = m[r.upperBound...]
            if rest.hasPrefix("failed to exec ") { rest = rest.dropFirst("failed to exec ".count) }
            let path = String(rest.prefix { $0 != " " && $0 != ":" })
            if path.hasPrefix("/") { subjects.append(path) }
            return (.hookScriptFailed, subjects)
        }
        if m.hasPrefix("Failed to start"), m.contains("Raise network interfaces") || m.contains("networking.service") {
            return (.networkingFailed, unique(subjects + ["networking.service"]))
        }
        if tag == "ifup" || m.hasPrefix("ifup: ") {
            let failure = ["failed to bring up", "RTNETLINK answers", "Cannot find device", "rror", "unknown interface",
                           "No DHCPOFFERS", "ailed"]
            if failure.contains(where: { m.contains($0) }) { return (.ifupFailed, subjects) }
            return nil
        }
        if m.contains("UNEXPECTED INCONSISTENCY") || m.contains("fsck failed") || m.hasPrefix("Failed to start File System Check")
            || m.hasPrefix("Failed to start systemd-fsck") {
            return (.fsckFailed, unique(subjects + unitsIn(m)))
        }
        if let rest = m.dropPrefix("Failed to mount ") {
            return (.mountFailed, unique(subjects + unitsIn(m) + mountPoints(rest)))
        }
        if let rest = m.dropPrefix("Dependency failed for ") {
            return (.dependencyFailed, unique(subjects + unitsIn(String(rest)) + mountPoints(rest)))
        }
        if m.hasPrefix("Failed to start ") {
            return (.unitFailed, unique(subjects + unitsIn(m)))
        }
        return nil
    }

    static let unitSuffixes = [".service", ".mount", ".socket", ".target", ".device", ".swap", ".automount", ".timer", ".path"]

    /// Unit names in a systemd message ("Failed to start ssh.service - OpenBSD Secure Shell server.").
    static func unitsIn(_ m: String) -> [String] {
        m.split(separator: " ").map { String($0.trimmingSuffix(".")) }.filter { w in
            unitSuffixes.contains { w.hasSuffix($0) && w.count > $0.count }
        }
    }

    /// Mount points in "Failed to mount srv.mount - /srv." or "Failed to mount /srv.".
    static func mountPoints(_ rest: Substring) -> [String] {
        rest.split(separator: " ").compactMap { w in
            let p = String(w.trimmingSuffix("."))
            return p.hasPrefix("/") ? p : nil
        }
    }

    static func unique(_ a: [String]) -> [String] {
        var seen = Set<String>()
        return a.filter { seen.insert($0).inserted }
    }
}

/// One syslog line split into its parts: RFC 3339 (`2024-04-06T01:03:17.1+02:00
/// host tag[pid]: message`) or traditional (`Apr  6 01:03:17 host tag[pid]: message`).
public struct SyslogLine: Sendable, Equatable {
    public var timestamp: String?
    public var host: String?
    public var tag: String?
    public var message: String

    public init(_ line: String) {
        var rest = Substring(line)
        timestamp = nil
        host = nil
        tag = nil
        message = line
        if let first = rest.split(separator: " ", maxSplits: 1).first, first.count >= 19,
           first.prefix(4).allSatisfy(\.isNumber), first.dropFirst(4).first == "-", first.dropFirst(10).first == "T" {
            timestamp = String(first)
            rest = rest.dropFirst(first.count)
        } else if rest.count >= 16, Self.months.contains(String(rest.prefix(3))),
                  rest.dropFirst(3).first == " ", rest.dropFirst(9).first == ":" || rest.dropFirst(6).first == " " {
            timestamp = String(rest.prefix(15))
            rest = rest.dropFirst(15)
        } else {
            return
        }
        rest = rest.drop { $0 == " " }
        guard let space = rest.firstIndex(of: " ") else { message = String(rest); return }
        host = String(rest[..<space])
        rest = rest[rest.index(after: space)...]
        // The tag ends at the first ": "; it has no spaces (kernel, systemd[1], ifup[523]).
        if let colon = rest.firstRange(of: ": "), !rest[..<colon.lowerBound].contains(" ") {
            var t = rest[..<colon.lowerBound]
            if let bracket = t.firstIndex(of: "[") { t = t[..<bracket] }
            tag = String(t)
            message = String(rest[colon.upperBound...])
        } else {
            message = String(rest)
        }
    }

    static let months: Set<String> = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// The kernel's first line of a boot: `kernel: [    0.000000] Linux version 6.1.0-…`.
    public var isKernelBootStart: Bool {
        guard tag == "kernel" || tag == nil else { return false }
        var m = Substring(message)
        if m.hasPrefix("["), let close = m.firstIndex(of: "]") { m = m[m.index(after: close)...].drop { $0 == " " } }
        return m.hasPrefix("Linux version ")
    }
}

/// The result of scanning the end of one syslog-style file.
public struct SyslogScan: Sendable {
    /// Matching lines of the last boot, oldest first.
    public var events: [BootLogEvent]
    /// The line that starts the last boot, when it was within the window.
    public var bootStart: String?
    /// How many bytes were read from the end.
    public var bytesRead: Int64
    /// The window did not reach the start of the file or of the last boot.
    public var windowCut: Bool
}

/// Scans the end of a syslog-style file backwards, in chunks, for the start of
/// the last boot (the kernel's "Linux version" line, or the separator line
/// plymouth writes to boot.log) and for signature lines after it. Reads at most
/// `maxBytes` from the end; memory stays at one chunk plus one line.
public enum SyslogTail {
    public static func scan(path: String, size: Int64, maxBytes: Int64 = 32 << 20, chunkSize: Int = 4 << 20,
                            read: (Int64, Int) -> [UInt8]?) -> SyslogScan {
        let limit = max(0, size - maxBytes)
        var pos = size
        var carry: [UInt8] = []  // the start of a line whose end was in the later chunk
        var found: [(event: BootLogEvent, linesAfter: Int)] = []
        var linesAfter = 0       // lines seen after the current position
        var countsValid = true
        var bootStart: String?
        var bytesRead: Int64 = 0
        let boot = path.hasSuffix("boot.log")

        while pos > limit {
            let start = max(limit, pos - Int64(chunkSize))
            guard let chunk = read(start, Int(pos - start)), chunk.count == Int(pos - start) else {
                countsValid = false
                break
            }
            bytesRead += Int64(chunk.count)
            var buf = chunk
            if !carry.isEmpty { buf += carry }
            carry = []
            pos = start
            // The first bytes belong to a line that began in an earlier chunk, unless this is the start.
            var firstLine = 0
            if start > 0 {
                guard let nl = buf.firstIndex(of: 0x0A) else {
                    // A line longer than a chunk: keep at most 1 MiB of it, else give up on it.
                    if buf.count <= 1 << 20 { carry = buf } else { countsValid = false }
                    continue
                }
                if start > limit {
                    if nl <= 1 << 20 { carry = Array(buf[..<nl]) } else { countsValid = false }
                }
                firstLine = nl + 1
            }
            if bootStart == nil {
                let result = scanChunk(buf, from: firstLine, path: path, bootLog: boot)
                for (event, indexFromEnd) in result.events { found.append((event, linesAfter + indexFromEnd)) }
                bootStart = result.bootStart
                // Past the boot start only the line count matters, and only when the whole file is read.
                if bootStart != nil, size > maxBytes { break }
            }
            linesAfter += lines(buf, from: firstLine)
        }
        let reachedStart = pos == 0
        let totalLines = reachedStart && countsValid ? linesAfter : nil
        let events = found.reversed().map { item -> BootLogEvent in
            var e = item.event
            if let totalLines { e.line = totalLines - item.linesAfter }
            return e
        }
        return SyslogScan(events: events, bootStart: bootStart, bytesRead: bytesRead,
                          windowCut: bootStart == nil && !reachedStart)
    }

    /// How many lines start at or after `from` (the last may lack its newline).
    static func lines(_ buf: [UInt8], from: Int) -> Int {
        guard from < buf.count else { return 0 }
        return count(0x0A, in: buf, from: from) + (buf.last == 0x0A ? 0 : 1)
    }

    /// Scans the complete lines of `buf` from `from`, after the last boot start
    /// when there is one in it. Each event comes with its line's index counted
    /// from the end of `buf` (0 for the last line).
    static func scanChunk(_ buf: [UInt8], from: Int, path: String, bootLog: Bool) -> (events: [(BootLogEvent, Int)], bootStart: String?) {
        guard from < buf.count else { return ([], nil) }
        // Candidate lines: those holding a keyword, and the boot start markers.
        var candidates = Set<Int>()  // line start offsets
        var markers: [Int] = []
        buf.withUnsafeBytes { raw in
            let base = raw.baseAddress!
            func lineStart(_ i: Int) -> Int {
                var j = i
                while j > from, raw[j - 1] != 0x0A { j -= 1 }
                return j
            }
            func each(_ needle: String, _ body: (Int) -> Void) {
                var i = from
                while let at = find(needle, in: raw, from: i) {
                    body(lineStart(at))
                    // On to the next line.
                    guard let nl = memchr(base + at, 0x0A, buf.count - at) else { break }
                    i = base.distance(to: UnsafeRawPointer(nl)) + 1
                }
            }
            for k in BootLogMatcher.keywords { each(k) { candidates.insert($0) } }
            each(bootLog ? "------------" : "Linux version") { markers.append($0) }
        }
        // The last marker line that really starts a boot.
        var bootStartOffset: Int?
        var bootStartText: String?
        for m in markers.sorted(by: >) {
            let text = lineText(buf, m)
            if bootLog ? (text.hasPrefix("------------") && text.hasSuffix("------------")) : SyslogLine(text).isKernelBootStart {
                bootStartOffset = m
                bootStartText = text
                break
            }
        }
        let lowest = bootStartOffset ?? from
        var events: [(BootLogEvent, Int)] = []
        // Newlines from each candidate to the end, counted once from the end backwards.
        var newlinesAfter = 0
        var countedFrom = buf.count
        let unterminated = buf.last == 0x0A ? 0 : 1
        for start in candidates.sorted(by: >) where start >= lowest {
            newlinesAfter += count(0x0A, in: buf, from: start, to: countedFrom)
            countedFrom = start
            let text = lineText(buf, start)
            let parsed = bootLog ? SyslogLine(message: stripANSI(text)) : SyslogLine(text)
            var message = parsed.message
            // boot.log: "[FAILED] Failed to start ..."
            if bootLog, message.hasPrefix("[") , let close = message.firstIndex(of: "]") {
                message = String(message[message.index(after: close)...].drop { $0 == " " })
            }
            guard let (sig, subjects) = BootLogMatcher.match(message: message, tag: parsed.tag) else { continue }
            let indexFromEnd = newlinesAfter + unterminated - 1
            events.append((BootLogEvent(signature: sig, path: path, line: nil, timestamp: parsed.timestamp,
                                        text: bootLog ? stripANSI(text) : text, subjects: subjects), indexFromEnd))
        }
        return (events, bootStartText)
    }

    /// The first occurrence of `needle` at or after `from`: memchr for its
    /// rarest byte, then memcmp, so a 32 MiB tail is searched at memory speed.
    static func find(_ needle: String, in raw: UnsafeRawBufferPointer, from: Int) -> Int? {
        let n = Array(needle.utf8)
        guard !n.isEmpty, let base = raw.baseAddress else { return nil }
        let anchor = n.indices.min { rarity(n[$0]) < rarity(n[$1]) } ?? 0
        var i = from + anchor
        while i < raw.count, let p = memchr(base + i, Int32(n[anchor]), raw.count - i) {
            let at = base.distance(to: UnsafeRawPointer(p)) - anchor
            if at + n.count <= raw.count, n.withUnsafeBytes({ memcmp(base + at, $0.baseAddress!, n.count) }) == 0 { return at }
            i = at + anchor + 1
        }
        return nil
    }

    /// Lower is rarer in log text: upper case, digits and punctuation first.
    static func rarity(_ b: UInt8) -> Int {
        switch b {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"): 0
        case UInt8(ascii: "-"): 1
        case UInt8(ascii: "g"), UInt8(ascii: "p"), UInt8(ascii: "f"), UInt8(ascii: "y"), UInt8(ascii: "v"), UInt8(ascii: "k"): 2
        case UInt8(ascii: "a"), UInt8(ascii: "e"), UInt8(ascii: "i"), UInt8(ascii: "o"), UInt8(ascii: "n"), UInt8(ascii: "t"), UInt8(ascii: " "): 5
        default: 3
        }
    }

    static func lineText(_ buf: [UInt8], _ start: Int) -> String {
        var end = start
        while end < buf.count, buf[end] != 0x0A { end += 1 }
        if end > start, buf[end - 1] == 0x0D { end -= 1 }
        return Text.decode(buf[start..<end])
    }

    static func count(_ byte: UInt8, in buf: [UInt8], from: Int, to end: Int? = nil) -> Int {
        let end = min(end ?? buf.count, buf.count)
        guard from < end else { return 0 }
        return buf.withUnsafeBytes { raw in
            var n = 0
            var i = from
            let base = raw.baseAddress!
            while i < end, let p = memchr(base + i, Int32(byte), end - i) {
                n += 1
                i = base.distance(to: UnsafeRawPointer(p)) + 1
            }
            return n
        }
    }

    /// boot.log keeps the console's colour codes.
    static func stripANSI(_ s: String) -> String {
        guard s.contains("\u{1B}") else { return s }
        var out = ""
        var it = s.unicodeScalars.makeIterator()
        while let c = it.next() {
            if c == "\u{1B}" {
                // CSI: ESC [ parameters final-byte
                guard let n = it.next() else { break }
                if n == "[" { while let x = it.next(), !(0x40...0x7E).contains(x.value) {} }
                continue
            }
            out.unicodeScalars.append(c)
        }
        return out
    }
}

extension SyslogLine {
    /// A line without syslog framing (boot.log).
    init(message: String) {
        timestamp = nil
        host = nil
        tag = nil
        self.message = message
    }
}

extension StringProtocol {
    func dropPrefix(_ p: String) -> SubSequence? { hasPrefix(p) ? dropFirst(p.count) : nil }
    func trimmingSuffix(_ s: Character) -> SubSequence {
        var x = self[...]
        while x.last == s { x = x.dropLast() }
        return x
    }
}

/// Formats microseconds since the epoch as `2024-04-06 01:03:17 UTC`.
public func formatUTC(microseconds: UInt64) -> String {
    let seconds = Int64(microseconds / 1_000_000)
    let days = seconds >= 0 ? seconds / 86400 : (seconds - 86399) / 86400
    let secs = seconds - days * 86400
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468
    let era = (z >= 0 ? z : z - 146_096) / 146_097
    let doe = z - era * 146_097
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
    let mp = (5 * doy + 2) / 153
    let d = doy - (153 * mp + 2) / 5 + 1
    let m = mp < 10 ? mp + 3 : mp - 9
    let y = yoe + era * 400 + (m <= 2 ? 1 : 0)
    func two(_ v: Int64) -> String { v < 10 ? "0\(v)" : "\(v)" }
    return "\(y)-\(two(m))-\(two(d)) \(two(secs / 3600)):\(two(secs % 3600 / 60)):\(two(secs % 60)) UTC"
}
