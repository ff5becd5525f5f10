import Parsers
import Plan
import SystemModel

/// `selinux-relabel-pending`: /.autorelabel asks for a full relabel at the next boot.
public struct SelinuxRelabelPending: Rule {
    public static let id = "selinux-relabel-pending"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let se = system.selinux
        guard se.loadsPolicy, let r = se.relabel else { return [] }
        return [finding(message: "A full SELinux relabel is pending (\(r.location.path == "/.autorelabel" ? "/.autorelabel exists" : "`autorelabel` is on the kernel command line")).",
                        atBoot: "The next boot relabels every file before it starts services, which takes minutes to hours on a large filesystem, then reboots: SSH answers only after that second boot. Do not interrupt it.",
                        evidence: [Evidence(r, note: "selinux-autorelabel.service runs fixfiles at the next boot")])]
    }
}
