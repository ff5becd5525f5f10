import Parsers
import Plan
import SystemModel

/// `sshd-host-keys-missing`: none of the host keys sshd is set to load can
/// be loaded (missing, empty, or readable by others), and nothing at boot
/// creates them.
public struct SshdHostKeysMissing: Rule {
    public static let id = "sshd-host-keys-missing"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let sshd = system.sshd
        guard sshd.noUsableHostKey, sshd.keygenAtBoot == nil else { return [] }
        let evidence = sshd.hostKeys.map { k in
            k.source.location.line > 0
                ? Evidence(k.source, note: "\(k.path): \(Self.words(k.state))")
                : Evidence.fact(k.path, "\(Self.words(k.state)) (one of sshd's default host keys)")
        }
        var actions: [ProposedAction] = []
        var noChroot: String? = nil
        let unsafe = sshd.hostKeys.filter { if case .unsafeMode = $0.state { true } else { false } }
        // sshd loads a private host key only when no one but root can read it.
        for k in unsafe {
            guard let st = k.ownership else { continue }
            let real = k.realPath ?? k.path
            let from = FileOwnership(mode: st.mode, uid: st.uid, gid: st.gid)
            let to = FileOwnership(mode: 0o600, uid: st.uid, gid: st.gid)
            actions.append(ProposedAction(.setOwnership(path: real, from: from, to: to),
                                          "Make \(real) readable by root only (mode \(String(from.mode, radix: 8)) → 600)"))
        }
        let other = sshd.hostKeys.filter { k in
            if case .unsafeMode = k.state { return false }
            return !["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key"].contains(k.path)
        }
        if !other.isEmpty {
            // ssh-keygen -A creates only the default paths.
            actions.append(ProposedAction(.manual(
                description: "Create the host keys the HostKey lines name (ssh-keygen -A makes only the default ones).",
                commands: other.map { k in
                    let type = k.path.contains("ed25519") ? "ed25519" : k.path.contains("ecdsa") ? "ecdsa" : "rsa"
                    return "rm -f -- \(path: k.path) && chroot \"$ROOT\" ssh-keygen -q -t \(value: type) -N '' -f \(value: k.path)"
                }), "Create the host keys named by HostKey"))
        } else if !sshd.hostKeys.contains(where: { $0.state == .missing }) && unsafe.count < sshd.hostKeys.count {
            // Every key file exists but some cannot be loaded (empty, not a key): ssh-keygen -A would leave them.
            let bad = sshd.hostKeys.filter { if case .unreadable = $0.state { true } else { false } }
            noChroot = "ssh-keygen -A writes only keys whose file is missing, and these exist but cannot be loaded; removing them is a decision about the machine's identity"
            actions.append(ProposedAction(.manual(
                description: "Remove the host key files sshd cannot load, then create new ones with the target's ssh-keygen -A (clients will see a new host key).",
                commands: bad.map { "rm -f -- \(path: $0.path) \(path: $0.path + ".pub")" } + ["chroot \"$ROOT\" ssh-keygen -A"]),
                "Replace the host keys sshd cannot load"))
        } else if unsafe.count < sshd.hostKeys.count {
            // ssh-keygen -A skips a key file that exists, even an empty one (a
            // keygen cut short by a full disk): it writes the missing ones, and
            // sshd starts with those (an empty key only costs a log line).
            // Moving the empty one aside first would not survive a second run
            // or undo: the new key would sit where the old file goes back.
            if let keygen = sshd.keygenProgram {
                // It only creates missing keys: undo.sh removes the ones it made.
                actions.append(ProposedAction(.chroot(command: ["ssh-keygen", "-A"],
                                                      why: "creates every missing default host key (/etc/ssh/ssh_host_*_key) with the target's own ssh-keygen (\(keygen))",
                                                      undoable: true, changes: ["/etc/ssh/ssh_host_*"]),
                                              "Create the missing host keys with the target's ssh-keygen -A"))
            } else {
                noChroot = "the target has no ssh-keygen (openssh-client) to run in a chroot; the rescue system's own ssh-keygen can write the keys into it"
                actions.append(ProposedAction(.manual(
                    description: "Create the default host keys with the rescue system's ssh-keygen, writing under the target's root (-f sets the prefix).",
                    commands: ["ssh-keygen -A -f \"$ROOT\""]), "Create the missing host keys with the rescue system's ssh-keygen"))
            }
        }
        let names = sshd.hostKeys.map { "\($0.path) (\(Self.words($0.state)))" }.joined(separator: ", ")
        var f = finding(
            message: "sshd cannot load any host key: \(names).",
            atBoot: "sshd stops at start with \"no hostkeys available -- exiting\", so nothing answers on the SSH port.",
            evidence: evidence, actions: actions)
        if !actions.contains(where: { $0.action.isAutomatic }) {
            f.noOfflineRepair = noChroot ?? "the host keys HostKey names are not ones ssh-keygen -A makes; they are created one by one"
        }
        return [f]
    }

    static func words(_ s: SSHDHostKey.State) -> String {
        switch s {
        case .usable: "usable"
        case .missing: "missing"
        case .unsafeMode(let m): "mode \(String(m, radix: 8)), readable by others, so sshd refuses it"
        case .unreadable(let why): why
        }
    }
}
