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
        let unsafe = sshd.hostKeys.filter { if case .unsafeMode = $0.state { true } else { false } }
        for k in unsafe {
            actions.append(ProposedAction(.chroot(command: ["chmod", "0600", k.path],
                                                  why: "sshd loads a private host key only when no one but root can read it",
                                                  undoable: true, changes: [k.path]),
                                          "Make \(k.path) readable by root only"))
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
        } else if unsafe.count < sshd.hostKeys.count {
            // It only creates missing keys: undo.sh removes the ones it made.
            actions.append(ProposedAction(.chroot(command: ["ssh-keygen", "-A"],
                                                  why: "creates every missing default host key (/etc/ssh/ssh_host_*_key) with the target's own ssh-keygen",
                                                  undoable: true, changes: ["/etc/ssh/ssh_host_*"]),
                                          "Create the missing host keys with the target's ssh-keygen -A"))
        }
        let names = sshd.hostKeys.map { "\($0.path) (\(Self.words($0.state)))" }.joined(separator: ", ")
        return [finding(
            message: "sshd cannot load any host key: \(names).",
            atBoot: "sshd stops at start with \"no hostkeys available -- exiting\", so nothing answers on the SSH port.",
            evidence: evidence, actions: actions)]
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
