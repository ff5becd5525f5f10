import Parsers
import TargetAccess

extension RepairPlan {
    /// The target as the repair script would leave it, in memory: each
    /// automatic step laid over `root` as the file, link or mode it
    /// produces. A command run inside the target is modelled by its declared
    /// result when that is known (`ssh-keygen -A` makes the default host keys
    /// that are missing; `chmod`); the steps whose effect is not modelled are
    /// returned, so the verdict after repair can say it ignores them.
    public func overlay(on root: TargetRoot) -> (overlay: TargetOverlay, notModelled: [PlannedAction]) {
        var o = TargetOverlay()
        var unknown: [PlannedAction] = []
        // What is at a path once the earlier steps are laid over the disk.
        func current(_ path: String) -> (permissions: UInt32, userID: UInt32, groupID: UInt32)? {
            root.overlaying(o).lstat(path).map { ($0.status.permissions, $0.status.userID, $0.status.groupID) }
        }
        for a in automaticActions {
            switch a.operation {
            case .writeFile(let path, _, _, let content, let mode, _):
                let st = current(path)
                o.set(path, .file(bytes: content, mode: st?.permissions ?? mode ?? 0o644, uid: st?.userID ?? 0, gid: st?.groupID ?? 0))
            case .moveAside(let path, _):
                o.set(path, .absent)
            case .createSymlink(let s):
                o.set(s.path, .symlink(s.target))
            case .removeSymlink(let s):
                o.set(s.path, .absent)
            case .setOwnership(let path, _, let to):
                o.set(path, .ownership(mode: to.mode, uid: to.uid, gid: to.gid))
            case .enableUnit(_, let links):
                for l in links { o.set(l.path, .symlink(l.target)) }
            case .chroot(let command, _, _, _):
                if !Self.model(command, into: &o, root: root.overlaying(o)) { unknown.append(a) }
            case .manual:
                break
            }
        }
        return (o, unknown)
    }

    /// The default host keys `ssh-keygen -A` writes when they are missing
    /// (OpenSSH 9: rsa, ecdsa, ed25519; DSA no longer).
    public static let keygenDefaultKeys = ["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key"]

    /// The effect of a command run inside the target, when it is known.
    static func model(_ command: [String], into o: inout TargetOverlay, root: TargetRoot) -> Bool {
        switch command.first {
        case "ssh-keygen" where command == ["ssh-keygen", "-A"]:
            // ssh-keygen -A skips a key whose private file exists (whatever is in it).
            for key in keygenDefaultKeys where root.lstat(key) == nil {
                let type = key.split(separator: "_").dropLast().last.map(String.init) ?? "key"
                o.set(key, .file(bytes: Array("-----BEGIN OPENSSH PRIVATE KEY-----\n(the \(type) key ssh-keygen -A writes)\n-----END OPENSSH PRIVATE KEY-----\n".utf8),
                                 mode: 0o600, uid: 0, gid: 0))
                o.set(key + ".pub", .file(bytes: Array("ssh-\(type) (the public half)\n".utf8), mode: 0o644, uid: 0, gid: 0))
            }
            return true
        case "chmod" where command.count == 3:
            guard let st = root.lstat(command[2])?.status else { return true }
            let mode: UInt32
            if command[1] == "go-w" { mode = st.permissions & ~0o022 }
            else if let m = UInt32(command[1], radix: 8), m <= 0o7777 { mode = m }
            else { return false }
            o.set(command[2], .ownership(mode: mode, uid: st.userID, gid: st.groupID))
            return true
        default:
            return false
        }
    }
}
