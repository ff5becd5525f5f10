import Glibc
import Parsers
import Plan
import SystemModel

/// `fail2ban-restores-ssh-bans`: fail2ban starts at boot and restores, from
/// its database, bans that cover SSH. Whoever connects from one of those
/// addresses stays locked out after the reboot.
public struct Fail2banRestoresSshBans: Rule {
    public static let id = "fail2ban-restores-ssh-bans"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let sshd = system.sshd
        guard let db = sshd.fail2banDatabase, !sshd.fail2banBans.isEmpty else { return [] }
        let bans = sshd.fail2banBans
        let shown = bans.prefix(10).map { "\($0.ip) (\($0.jail), \(Self.until($0)))" }.joined(separator: ", ")
        let more = bans.count > 10 ? " and \(bans.count - 10) more" : ""
        var f = finding(
            message: "fail2ban restores \(bans.count) SSH ban\(bans.count == 1 ? "" : "s") from \(db) when it starts: \(shown)\(more).",
            atBoot: "fail2ban starts at boot and bans these addresses again; if you connect from one of them SSH stays closed to you, while everyone else gets in.",
            evidence: bans.prefix(10).map { .fact(db, "bans: jail \($0.jail), ip \($0.ip), \(Self.until($0))") },
            actions: [ProposedAction(.manual(
                description: "If your address is among them, unban it once the machine is up (fail2ban-client unban ADDRESS), or delete its rows offline with sqlite3.",
                commands: ["sqlite3 \(path: db) \(value: "SELECT jail, ip FROM bans")",
                           "sqlite3 \(path: db) \(value: "DELETE FROM bans WHERE ip = 'YOUR_ADDRESS'")"]),
                "Lift the ban on your own address")])
        // Which of the addresses is yours is not on the disk; lifting them all
        // would free the attackers' too, and removing rows rewrites
        // fail2ban's SQLite database, which the script never edits.
        f.noOfflineRepair = "which banned address is yours is not known offline; lifting every ban frees the attackers' addresses too, and deleting rows rewrites fail2ban's SQLite database, which the repair script does not edit"
        return [f]
    }

    static func until(_ b: Fail2banBan) -> String {
        guard let t = b.banTime else { return "banned at \(utc(b.timeOfBan))" }
        if t < 0 { return "permanent" }
        let (end, overflow) = b.timeOfBan.addingReportingOverflow(t)
        return overflow ? "permanent" : "until \(utc(end))"
    }

    static func utc(_ t: Int64) -> String {
        var tt = time_t(clamping: t)
        var tmv = tm()
        guard gmtime_r(&tt, &tmv) != nil else { return String(t) }
        var buf = [CChar](repeating: 0, count: 32)
        let n = strftime(&buf, buf.count, "%Y-%m-%d %H:%M UTC", &tmv)
        return n > 0 ? String(decoding: buf.prefix(n).map { UInt8(bitPattern: $0) }, as: UTF8.self) : String(t)
    }
}
