import Parsers
import Plan
import SystemModel

/// `selinux-policy-missing`: SELinux enforcing with a SELINUXTYPE whose
/// compiled policy is not on the disk: systemd freezes the boot.
public struct SelinuxPolicyMissing: Rule {
    public static let id = "selinux-policy-missing"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let se = system.selinux
        guard se.policyMissingWhileEnforcing else { return [] }
        let type = se.policyType?.value ?? ""
        var evidence: [Evidence] = []
        if let s = se.modeSource { evidence.append(Evidence(s, note: "SELinux is enforcing at boot")) }
        if let t = se.policyType { evidence.append(Evidence(t.source, note: "the policy systemd loads before anything else")) }
        evidence.append(.fact(se.policyDirectory ?? "/etc/selinux", type.isEmpty ? "SELINUXTYPE is not set, so there is no policy to load"
                              : "no compiled policy (policy.<version>) in \(se.policyDirectory ?? "")"))
        if !se.otherTypesWithPolicy.isEmpty {
            evidence.append(.fact("/etc/selinux", "policies that are installed: " + se.otherTypesWithPolicy.joined(separator: ", ")))
        }
        var actions: [ProposedAction] = []
        if let other = se.otherTypesWithPolicy.first(where: { $0 == "targeted" }) ?? se.otherTypesWithPolicy.first,
           let t = se.policyType, t.source.location.line > 0 {
            actions.append(ProposedAction(.editLines(path: t.source.location.path, edits: [.replace(line: t.source.location.line, with: ["SELINUXTYPE=\(other)"])]),
                                          "Set SELINUXTYPE=\(other) in \(t.source.location.path): the policy that is installed"))
            actions.append(ProposedAction(.createFile(path: "/.autorelabel", lines: [], mode: 0o644),
                                          "Create /.autorelabel: files are relabelled for the \(other) policy at the next boot (a long boot, then a reboot)"))
        } else {
            let package = type.isEmpty ? "selinux-policy-targeted" : "selinux-policy-\(type)"
            actions.append(ProposedAction(.manual(description: "Reinstall the policy package \(package) into the target (it needs the network or the installation media), then create /.autorelabel.",
                                                  commands: ["dnf --installroot=\(path: "/") -y reinstall \(value: package)", "touch \(path: "/.autorelabel")"]),
                                          "Reinstall \(package) (manual)"))
        }
        if let m = se.modeSource, m.location.path == "/etc/selinux/config", m.location.line > 0 {
            actions.append(ProposedAction(.manual(description: "Alternative (lowers security): boot permissive until the policy is back, by setting SELINUX=permissive in /etc/selinux/config.",
                                                  commands: ["sed -i 's/^SELINUX=enforcing/SELINUX=permissive/' \(path: "/etc/selinux/config")"]),
                                          "Alternative (manual, lowers security): SELINUX=permissive"))
        }
        return [finding(message: "SELinux is enforcing with SELINUXTYPE=\(type), but \(se.policyDirectory ?? "its policy directory") holds no compiled policy.",
                        atBoot: "systemd cannot load the SELinux policy while enforcing and freezes the boot (it logs \"Failed to load SELinux policy\" and stops), so the machine never reaches the network.",
                        evidence: evidence, actions: actions)]
    }
}
