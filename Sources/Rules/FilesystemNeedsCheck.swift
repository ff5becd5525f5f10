import Parsers
import Plan
import SystemModel

/// `filesystem-needs-check`: a filesystem of the target whose superblock
/// records errors, an unclean state, too many mounts since its last check, or
/// (XFS) a dirty log.
public struct FilesystemNeedsCheck: Rule {
    public static let id = "filesystem-needs-check"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        system.environment.filesystems.compactMap { fs in check(fs, fstab: system.fstab) }
    }

    private func check(_ fs: FilesystemHealth, fstab: FstabConfig) -> Finding? {
        var reasons: [String] = []
        var serious = false
        if let ext = fs.ext {
            if !ext.isClean {
                reasons.append("the superblock state is \"\(ext.stateWords)\"")
                serious = true
            }
            if ext.errorCount > 0 {
                var r = "the kernel recorded \(ext.errorCount) error\(ext.errorCount == 1 ? "" : "s")"
                if let last = ext.lastError { r += ", the last at \(Self.time(last.time)) in \(Self.place(last))" }
                if let first = ext.firstError, first != ext.lastError { r += ", the first at \(Self.time(first.time)) in \(Self.place(first))" }
                reasons.append(r)
                serious = true
            }
            if ext.needsRecovery && fs.journalReplayed {
                reasons.append("its journal holds writes not yet written in place (needs_recovery): this audit replayed them in memory, read-only, as the next mount or e2fsck will, so this report describes the disk after them")
            } else if ext.needsRecovery {
                reasons.append("its journal holds writes not yet replayed (needs_recovery): this audit read the disk as it was before them, and the next mount or e2fsck replays them, so recent edits may differ from what this report describes")
            }
            if ext.mountCountExceeded {
                reasons.append("it was mounted \(ext.mountCount) times since its last check, and its maximum is \(ext.maxMountCount)")
            }
        }
        if let log = fs.xfsLog, log.state == .dirty {
            reasons.append("its log is dirty (head at block \(log.headBlock), the last record is not an unmount record): it was not cleanly unmounted")
            serious = true
        }
        for p in fs.problems {
            reasons.append(p)
            serious = true
        }
        guard !reasons.isEmpty else { return nil }

        let what = "\(fs.mountPoint) (\(fs.fsType) on \(fs.device))"
        var evidence = [Evidence(path: fs.mountPoint, line: nil, text: "superblock of \(fs.device): " + reasons.joined(separator: "; "))]
        let entry = fstab.entry(mountedAt: fs.mountPoint)
        if let entry {
            let pass = entry.pass ?? 0
            evidence.append(Evidence(entry.source, note: pass > 0 ? "fsck pass \(pass): checked at boot" : "fsck pass 0: nothing checks it at boot"))
        }
        let checkedAtBoot = (entry?.pass ?? (fs.mountPoint == "/" ? 1 : 0)) > 0
        let atBoot: String
        if fs.fsType == "xfs" {
            atBoot = "Mounting it replays the log; if the log is damaged the mount fails and, for a filesystem the boot needs, systemd stops in emergency mode (XFS has no check at boot)."
        } else if !serious {
            atBoot = "e2fsck forces a full check of it at the next boot, which delays the boot but does not stop it."
        } else if checkedAtBoot {
            atBoot = "fsck runs on it at boot in preen mode; errors preen mode cannot fix make systemd stop the boot in emergency mode, without network."
        } else {
            atBoot = "Nothing checks it at boot (fsck pass 0): it is mounted with its errors, and the kernel may remount it read-only or fail on the damaged files."
        }
        // Discovery writes these host commands with the one quoting function (`shellWord`): they are already words.
        let commands: [ShellCommand] = (fs.checkCommands ?? fs.checkCommand.map { [$0] })?.map { ShellCommand(words: [.literal($0)]) }
            ?? ["fsck -f \(value: fs.device)"]
        let action = ProposedAction(
            .manual(description: "Check \(what) while it is unmounted: from the rescue system, before mounting it (the audit's own read-only mount is gone when it ends). The repair script never runs it.",
                    commands: commands),
            "Check \(fs.mountPoint) with \(fs.fsType == "xfs" ? "xfs_repair" : "e2fsck -f") while it is unmounted")
        return finding(serious ? .high : .medium,
                       message: "The \(fs.fsType) filesystem of \(what) needs a check: \(reasons.joined(separator: "; ")).",
                       atBoot: atBoot, evidence: evidence, actions: [action])
    }

    static func time(_ seconds: Int64) -> String { formatUTC(microseconds: UInt64(max(0, seconds)) * 1_000_000) }

    static func place(_ e: ExtSuperblock.ErrorRecord) -> String {
        var s = e.function.isEmpty ? "an unnamed function" : e.function
        if e.line > 0 { s += ":\(e.line)" }
        if e.inode > 0 { s += " (inode \(e.inode))" }
        return s
    }
}
