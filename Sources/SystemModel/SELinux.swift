import Parsers
import TargetAccess

/// SELinux at the next boot, as systemd's `mac_selinux_setup` and
/// libselinux's `selinux_init_load_policy` decide it: the mode and policy
/// type of /etc/selinux/config (the kernel command line's `selinux=0` and
/// `enforcing=` override the mode), whether that policy's compiled file
/// (`/etc/selinux/<type>/policy/policy.<version>`) exists, and a pending
/// full relabel (`/.autorelabel`, or `autorelabel` on the command line).
public struct SELinuxModel: Sendable {
    public enum Mode: String, Sendable { case enforcing, permissive, disabled }
    /// /etc/selinux/config exists (RHEL family, or a Debian with selinux-basics).
    public var configured = false
    /// The mode at boot, and the line that decides it.
    public var mode: Mode = .disabled
    public var modeSource: SourceLine?
    /// SELINUXTYPE, with its line.
    public var policyType: Located<String>?
    /// The compiled policy files of that type.
    public var policyFiles: [String] = []
    /// The other policy types that have a compiled policy.
    public var otherTypesWithPolicy: [String] = []
    /// /.autorelabel, or `autorelabel` on the kernel command line.
    public var relabel: SourceLine?

    public init() {}

    /// The directory libselinux loads the policy from.
    public var policyDirectory: String? { policyType.map { "/etc/selinux/\($0.value)/policy" } }

    /// SELinux loads a policy at boot (enforcing or permissive).
    public var loadsPolicy: Bool { configured && mode != .disabled }

    /// Enforcing, and the policy of SELINUXTYPE is not there: systemd freezes the boot.
    public var policyMissingWhileEnforcing: Bool { loadsPolicy && mode == .enforcing && policyFiles.isEmpty }
}

enum SELinuxLoader {
    static func load(_ root: TargetRoot, commandLine: KernelCommandLine?, initSystem: InitSystem) -> SELinuxModel {
        var m = SELinuxModel()
        let path = "/etc/selinux/config"
        guard initSystem.kind == .systemd, let bytes = root.bytes(path) else { return m }
        m.configured = true
        let assignments = ShellAssignments.parse(bytes, path: path).assignments
        if let a = assignments.last(where: { $0.key == "SELINUX" }) {
            m.mode = SELinuxModel.Mode(rawValue: a.value.lowercased()) ?? .disabled
            m.modeSource = a.source
        }
        if let a = assignments.last(where: { $0.key == "SELINUXTYPE" }) {
            m.policyType = Located(a.value, a.source)
        }
        if let cl = commandLine {
            if cl.value("selinux") == "0" { m.mode = .disabled; m.modeSource = cl.source }
            else if m.mode != .disabled, let e = cl.value("enforcing") {
                m.mode = e == "0" ? .permissive : .enforcing
                m.modeSource = cl.source
            }
            if cl.words.contains("autorelabel") || cl.value("autorelabel") == "1" { m.relabel = cl.source }
        }
        func policies(_ type: String) -> [String] {
            let dir = "/etc/selinux/\(type)/policy"
            return (root.listFollowing(dir) ?? []).map(\.name)
                .filter { $0.hasPrefix("policy.") && $0.count > 7 && $0.dropFirst(7).allSatisfy(\.isNumber) && root.isRegularFile(dir + "/" + $0) }
                .sorted().map { dir + "/" + $0 }
        }
        if let t = m.policyType?.value, !t.isEmpty, !t.contains("/") { m.policyFiles = policies(t) }
        for e in root.listFollowing("/etc/selinux") ?? [] where e.kind == .directory && e.name != m.policyType?.value {
            if !policies(e.name).isEmpty { m.otherTypesWithPolicy.append(e.name) }
        }
        m.otherTypesWithPolicy.sort()
        if m.relabel == nil, root.lstat("/.autorelabel") != nil { m.relabel = SourceLine(path: "/.autorelabel", line: 0, text: "") }
        return m
    }
}
