import Glibc
import Parsers
import TargetAccess

extension SSHDModel {
    static let fail2banDefaultDatabase = "/var/lib/fail2ban/fail2ban.sqlite3"

    /// The bans fail2ban restores from its database when it starts at boot,
    /// for the jails that guard SSH (`sshd`, `ssh*`, and `recidive`, which
    /// bans every port). A ban is restored while it has not expired at `now`;
    /// -1 is permanent. fail2ban 0.10 databases do not store the ban time:
    /// its default 600 s is assumed.
    mutating func loadFail2ban(_ root: TargetRoot, _ units: UnitEnablement, now: Int64) {
        guard units.startsAtBoot("fail2ban.service") != nil || units.isEnabledSysV("fail2ban") != nil else { return }
        var dbfile = Self.fail2banDefaultDatabase
        var paths = ["/etc/fail2ban/fail2ban.conf"]
        paths += (root.listFollowing("/etc/fail2ban/fail2ban.d") ?? []).map(\.name).filter { $0.hasSuffix(".conf") }.sorted()
            .map { "/etc/fail2ban/fail2ban.d/" + $0 }
        paths.append("/etc/fail2ban/fail2ban.local")
        paths += (root.listFollowing("/etc/fail2ban/fail2ban.d") ?? []).map(\.name).filter { $0.hasSuffix(".local") }.sorted()
            .map { "/etc/fail2ban/fail2ban.d/" + $0 }
        for p in paths {
            guard let b = root.bytes(p) else { continue }
            var section = ""
            for line in Text.lines(b) {
                let t = Text.trimmed(line)
                if t.hasPrefix("[") && t.hasSuffix("]") { section = String(t.dropFirst().dropLast()); continue }
                guard section == "Definition", let eq = t.firstIndex(of: "=") else { continue }
                if Text.trimmed(String(t[..<eq])) == "dbfile" { dbfile = Text.trimmed(String(t[t.index(after: eq)...])) }
            }
        }
        guard dbfile.hasPrefix("/") else { return } // `:memory:` or `None`: nothing survives a restart
        fail2banDatabase = dbfile
        switch root.readLarge(dbfile, cap: 256 << 20) {
        case .file(let f):
            let (bans, diags) = Fail2banDatabase.bans(f.bytes, path: dbfile)
            diagnostics += diags
            fail2banBans = bans.filter { b in
                let jail = b.jail.lowercased()
                guard jail.contains("ssh") || jail == "recidive" else { return false }
                let time = b.banTime ?? 600
                if time < 0 { return true }
                let (end, overflow) = b.timeOfBan.addingReportingOverflow(time)
                return overflow || end > now
            }
        case .missing:
            return
        case .skipped(let why):
            diagnostics.append(Diagnostic(SourceLocation(path: dbfile, line: 0), text: "", message: "\(dbfile) was not read: \(why)."))
        }
    }

    /// The audit's clock, for ban expiry.
    static var currentTime: Int64 { Int64(time(nil)) }
}
