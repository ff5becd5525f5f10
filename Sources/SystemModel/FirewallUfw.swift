import Parsers

/// ufw's boot-time firewall, built as /lib/ufw/ufw-init-functions (ufw
/// 0.36) builds it: the primary chains and the INPUT jumps, the policy
/// chains from /etc/default/ufw, then `iptables-restore -n` of
/// before.rules, after.rules and user.rules (and the `6` files for IPv6),
/// the jump from ufw-before-input to ufw-user-input, and last the INPUT
/// policy.
enum UfwBuilder {
    static let initFunctions = "/lib/ufw/ufw-init-functions"
    static let defaults = "/etc/default/ufw"

    /// The files ufw restores for a family, in order.
    static func paths(_ family: AddressFamily) -> (before: String, after: String, user: String) {
        let six = family == .ipv6 ? "6" : ""
        return ("/etc/ufw/before\(six).rules", "/etc/ufw/after\(six).rules", "/etc/ufw/user\(six).rules")
    }

    static func build(files: FileSource, invokedBy: SourceLine?) -> MechanismBuild {
        var b = MechanismBuild()
        guard let bytes = files.bytes(defaults) else {
            b.failures.append(RestoreFailure(path: defaults, program: "ufw-init", line: nil,
                                             message: "Could not find /etc/default/ufw (aborting)", invokedBy: invokedBy,
                                             stopsInterface: false, fixes: []))
            return b
        }
        b.files.append(defaults)
        let d = ShellAssignments.dictionary(ShellAssignments.parse(bytes, path: defaults).assignments)
        guard let policy = d["DEFAULT_INPUT_POLICY"], ["ACCEPT", "DROP", "REJECT"].contains(policy.value) else {
            b.notes.append("\(defaults) sets no DEFAULT_INPUT_POLICY of ACCEPT, DROP or REJECT, so ufw's INPUT policy is not known")
            return b
        }
        let ipv6 = d["IPV6"].map { $0.value == "yes" || $0.value == "YES" } ?? false
        for family in [AddressFamily.ipv4, .ipv6] {
            if family == .ipv6 && !ipv6 {
                // IPv6 disabled in ufw: INPUT DROP and only lo accepted.
                var state = IptablesState(family: .ipv6)
                let text = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n-A OUTPUT -o lo -j ACCEPT\nCOMMIT\n"
                state.apply(synthetic(text, family: .ipv6, policySource: d["IPV6"]?.source), noflush: true)
                b.filters[.ipv6] = PacketFilter(stages: state.stages())
                continue
            }
            b.filters[family] = composed(family, policy: policy, files: files, invokedBy: invokedBy, build: &b)
        }
        return b
    }

    /// A ufw-init-functions snippet as rules whose evidence is that file.
    static func synthetic(_ text: String, family: IptablesFamily, policySource: SourceLine?) -> IptablesRestoreFile {
        var file = IptablesSaveParser.parse(Array(text.utf8), path: initFunctions, family: family, noflush: true,
                                            existingChains: ["filter": chainsBefore(family)])
        for s in file.sections.indices {
            file.sections[s].commands = file.sections[s].commands.map { c in
                switch c {
                case .rule(var r):
                    r.source = SourceLine(path: initFunctions, line: 0, text: r.source.text)
                    return .rule(r)
                case .declare(let chain, let p, let src):
                    if p != nil, let policySource { return .declare(chain: chain, policy: p, source: policySource) }
                    return .declare(chain: chain, policy: p, source: SourceLine(path: initFunctions, line: 0, text: src.text))
                default: return c
                }
            }
        }
        return file
    }

    static func chainsBefore(_ family: IptablesFamily) -> Set<String> {
        let p = family == .ipv4 ? "ufw" : "ufw6"
        var s: Set<String> = []
        for dir in ["input", "output", "forward"] {
            for part in ["before-logging", "before", "after", "after-logging", "reject", "track", "skip-to-policy", "user", "user-logging"] {
                s.insert("\(p)-\(part)-\(dir)")
            }
        }
        for c in ["logging-deny", "logging-allow", "not-local", "user-limit", "user-limit-accept"] { s.insert("\(p)-\(c)") }
        return s
    }

    static func composed(_ family: AddressFamily, policy: ShellAssignments.Assignment, files: FileSource, invokedBy: SourceLine?,
                         build b: inout MechanismBuild) -> PacketFilter {
        let fam: IptablesFamily = family == .ipv4 ? .ipv4 : .ipv6
        let p = family == .ipv4 ? "ufw" : "ufw6"
        let exe = family == .ipv4 ? "iptables-restore -n" : "ip6tables-restore -n"
        var state = IptablesState(family: fam)
        let pol = policy.value

        let skeleton = Self.skeleton(p, policy: pol)
        state.apply(synthetic(skeleton, family: fam, policySource: nil), noflush: true)

        let paths = Self.paths(family)
        for path in [paths.before, paths.after] {
            guard let bytes = files.bytes(path), !bytes.isEmpty else {
                b.failures.append(RestoreFailure(path: path, program: "ufw-init", line: nil, message: "Couldn't find '\(path)'",
                                                 invokedBy: invokedBy, stopsInterface: false, fixes: []))
                continue
            }
            restore(bytes, path: path, exe: exe, state: &state, build: &b, invokedBy: invokedBy)
        }
        if let bytes = files.bytes(paths.user), !bytes.isEmpty {
            var user = "*filter\n"
            for c in ["user-input", "user-output", "user-forward", "user-logging-input", "user-logging-output",
                      "user-logging-forward", "user-limit", "user-limit-accept"] where state.tables["filter"]?.chains["\(p)-\(c)"] == nil {
                user += ":\(p)-\(c) - [0:0]\n"
            }
            user += "COMMIT\n"
            state.apply(synthetic(user, family: fam, policySource: nil), noflush: true)
            restore(bytes, path: paths.user, exe: exe, state: &state, build: &b, invokedBy: invokedBy)
            let hook = "*filter\n-A \(p)-before-input -j \(p)-user-input\n-A \(p)-before-output -j \(p)-user-output\n-A \(p)-before-forward -j \(p)-user-forward\nCOMMIT\n"
            state.apply(synthetic(hook, family: fam, policySource: nil), noflush: true)
        } else {
            b.failures.append(RestoreFailure(path: paths.user, program: "ufw-init", line: nil, message: "Couldn't find '\(paths.user)'",
                                             invokedBy: invokedBy, stopsInterface: false, fixes: []))
        }
        let builtin = "*filter\n:INPUT \(pol == "REJECT" ? "DROP" : pol) [0:0]\nCOMMIT\n"
        state.apply(synthetic(builtin, family: fam, policySource: policy.source), noflush: true)
        return PacketFilter(stages: state.stages())
    }

    /// What ufw-init restores before before.rules: the primary chains, the
    /// INPUT jumps, the reject and track chains of the policy, the logging and
    /// skip-to-policy chains.
    static func skeleton(_ p: String, policy pol: String) -> String {
        var skeleton = "*filter\n"
        for dir in ["input", "output", "forward"] {
            for part in ["before-logging", "before", "after", "after-logging", "reject", "track"] { skeleton += ":\(p)-\(part)-\(dir) - [0:0]\n" }
        }
        for part in ["before-logging", "before", "after", "after-logging", "reject", "track"] { skeleton += "-A INPUT -j \(p)-\(part)-input\n" }
        if pol == "REJECT" { skeleton += "-A \(p)-reject-input -j REJECT\n" }
        if pol == "ACCEPT" {
            skeleton += "-A \(p)-track-input -p tcp -m conntrack --ctstate NEW -j ACCEPT\n"
            skeleton += "-A \(p)-track-input -p udp -m conntrack --ctstate NEW -j ACCEPT\n"
        }
        skeleton += ":\(p)-logging-deny - [0:0]\n:\(p)-logging-allow - [0:0]\n"
        skeleton += ":\(p)-skip-to-policy-input - [0:0]\n:\(p)-skip-to-policy-output - [0:0]\n:\(p)-skip-to-policy-forward - [0:0]\n"
        skeleton += "-A \(p)-skip-to-policy-input -j \(pol)\nCOMMIT\n"
        return skeleton
    }

    static func restore(_ bytes: [UInt8], path: String, exe: String, state: inout IptablesState, build b: inout MechanismBuild,
                        invokedBy: SourceLine?) {
        b.files.append(path)
        let file = IptablesSaveParser.parse(bytes, path: path, family: state.family, noflush: true, existingChains: state.userChains)
        b.layouts[path] = IptablesLayout(file, noflush: true)
        if let f = file.failure {
            let load = IptablesLoad(family: state.family == .ipv4 ? .ipv4 : .ipv6, path: path, noflush: true,
                                    invokedBy: invokedBy, stopsInterface: false)
            var failure = MechanismBuilder.failure(f, file: file, bytes: bytes, load: load)
            failure.program = exe
            b.failures.append(failure)
        }
        state.apply(file, noflush: true)
    }
}
