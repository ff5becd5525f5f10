import Parsers
import Plan
import Rules
import TargetAccess

/// The repair script: a POSIX `sh` program (dash and busybox `sh` run it)
/// that carries out the automatic steps of the plan on the target mounted
/// read-write at `$ROOT`, and writes an `undo.sh` beside its backups.
///
/// Everything taken from the target (paths, link targets, command words,
/// file contents) goes into the script as single-quoted or octal-escaped
/// data, never as code; comments get control characters escaped so a
/// newline in a value cannot end a comment. The script checks every step
/// before it changes anything, so a refusal leaves the target untouched.
public enum RepairScript {
    /// The script for `result`'s plan. `osName` is the target's os-release name, when known.
    public static func render(_ result: AuditResult, context: ReportContext, osName: String? = nil) -> String {
        var w = ScriptWriter(result: result, context: context, osName: osName)
        return w.render()
    }
}

/// A value as one `sh` word that the shell takes as data: the project's one
/// quoting function (`shellWord`), always quoted.
func shQuote(_ s: String) -> String { shellWord(s, alwaysQuote: true) }

/// Bytes as `printf` statements that write exactly those bytes, one per line
/// of the file so the script stays readable. Only plain printable ASCII is
/// written as itself; everything else (quotes, `%`, `\`, `$`, non-UTF-8 bytes,
/// control characters) is a three-digit octal escape, which every printf reads
/// the same way.
func printfStatements(_ bytes: [UInt8], indent: String = "    ") -> [String] {
    guard !bytes.isEmpty else { return [indent + ":"] }
    var out: [String] = []
    var chunk = ""
    func flush() {
        out.append(indent + "printf '" + chunk + "'")
        chunk = ""
    }
    for b in bytes {
        switch b {
        case 0x25: chunk += "%%"
        // A format that starts with `-` would read as an option to some printfs.
        case 0x2D where chunk.isEmpty: chunk += #"\055"#
        // `$` and backquote are escaped too, so no line of data looks like an expansion to a reader or to shellcheck.
        case 0x20...0x7E where b != 0x27 && b != 0x5C && b != 0x24 && b != 0x60: chunk.unicodeScalars.append(Unicode.Scalar(b))
        case 0x0A:
            chunk += #"\n"#
            flush()
        default:
            let o = String(b, radix: 8)
            chunk += "\\" + String(repeating: "0", count: 3 - o.count) + o
        }
    }
    if !chunk.isEmpty { flush() }
    return out
}

/// Whether a target path can be used in the script: absolute, no `.` or `..`
/// components, no NUL, not the root itself.
func isUsableTargetPath(_ p: String) -> Bool {
    guard p.hasPrefix("/"), p != "/", !p.contains("\0") else { return false }
    return !p.split(separator: "/", omittingEmptySubsequences: false).dropFirst().contains { $0 == "." || $0 == ".." || $0.isEmpty }
}

private struct ScriptWriter {
    let result: AuditResult
    let context: ReportContext
    let osName: String?
    /// Actions left out because a value could not be used safely, with why.
    var unusable: [(PlannedAction, String)] = []

    init(result: AuditResult, context: ReportContext, osName: String?) {
        self.result = result
        self.context = context
        self.osName = osName
    }

    /// Identifies this plan: chroot markers use it so the same script never
    /// runs a chroot step twice, while a new audit's script may.
    var planID: String {
        var parts = [context.auditedAt, context.target]
        for a in result.plan.actions { parts.append("\(a.id) \(a.kind) \(a.summary) \(a.operation)") }
        return String(sha256Hex(Array(parts.joined(separator: "\n").utf8)).prefix(16))
    }

    /// A UUID safe to put in a device path: hex digits and dashes only.
    var usableUUID: String? {
        guard let u = context.uuid, !u.isEmpty, u.allSatisfy({ $0.isHexDigit || $0 == "-" }) else { return nil }
        return u
    }

    /// Why an action cannot go into the script, or nil when it can.
    func problem(_ a: PlannedAction) -> String? {
        switch a.operation {
        case .writeFile(let p, _, _, _, _, _), .moveAside(let p, _):
            return isUsableTargetPath(p) ? nil : "the path \(p) is not a plain absolute path"
        case .createSymlink(let s), .removeSymlink(let s):
            return linkProblem(s)
        case .setOwnership(let p, _, _):
            return isUsableTargetPath(p) ? nil : "the path \(p) is not a plain absolute path"
        case .enableUnit(_, let links):
            if links.isEmpty { return "there are no links to create" }
            return links.lazy.compactMap(linkProblem).first
        case .chroot(let command, _, _, let changes):
            if command.isEmpty { return "the command is empty" }
            if command.contains(where: { $0.contains("\0") }) { return "a command word contains a NUL byte" }
            return changes.lazy.compactMap(globProblem).first
        case .manual:
            return nil
        }
    }

    /// A chroot step's `DIR/PATTERN`: a plain absolute directory and a file-name
    /// pattern without `/`, whitespace or quotes (the script expands it as a glob).
    func globProblem(_ g: String) -> String? {
        guard let slash = g.lastIndex(of: "/") else { return "\(g) is not DIR/PATTERN" }
        let dir = String(g[..<slash]), pattern = String(g[g.index(after: slash)...])
        if !isUsableTargetPath(dir) { return "the directory of \(g) is not a plain absolute path" }
        if pattern.isEmpty || pattern == "." || pattern == ".." || pattern.contains(where: { $0.isWhitespace || "\0'\"\\`$".contains($0) }) {
            return "the pattern of \(g) cannot be used"
        }
        return nil
    }

    static func splitGlob(_ g: String) -> (dir: String, pattern: String) {
        guard let slash = g.lastIndex(of: "/") else { return ("/", g) }
        return (String(g[..<slash]), String(g[g.index(after: slash)...]))
    }

    func linkProblem(_ s: SymlinkSpec) -> String? {
        if !isUsableTargetPath(s.path) { return "the link path \(s.path) is not a plain absolute path" }
        if s.target.isEmpty || s.target.contains("\0") { return "the link target of \(s.path) is empty or contains a NUL byte" }
        return nil
    }

    mutating func render() -> String {
        let automatic = result.plan.automaticActions
        unusable = automatic.compactMap { a in problem(a).map { (a, $0) } }
        let runnable = automatic.filter { problem($0) == nil }

        var s: [String] = ["#!/bin/sh"]
        s += header(runnable)
        s.append("set -eu")
        s.append("")
        s.append("PLAN_ID=\(shQuote(planID))")
        s.append(Self.prelude)
        s.append(Self.commonHelpers)
        s.append(Self.repairHelpers)
        s += contentFunctions(runnable)
        s += undoFunctions(runnable)
        s += gettingReadWrite()
        s.append(checkRoot())
        s += preflight(runnable)
        s += apply(runnable)
        s.append(Self.finish)
        return s.joined(separator: "\n") + "\n"
    }

    // MARK: - Header

    func comment(_ text: String) -> String {
        "# " + printable(text)
    }

    func header(_ runnable: [PlannedAction]) -> [String] {
        var h: [String] = []
        h.append("# Repair script written by rescue-audit \(printable(context.toolVersion)).")
        switch context.kind {
        case .device:
            h.append(comment("Audited: the device \(context.device ?? context.target)" + (context.uuid.map { ", filesystem UUID \($0)" } ?? "")))
        case .image:
            h.append(comment("Audited: the disk image \(context.target)" + (context.uuid.map { ", root filesystem UUID \($0)" } ?? "")))
        case .directory:
            h.append(comment("Audited: the directory \(context.target)"))
        }
        if let osName { h.append(comment("Operating system: \(osName)")) }
        h.append(comment("Audited at: \(context.auditedAt)"))
        h.append("#")
        h.append("# Run it on the target mounted read-write:")
        h.append("#   ROOT=/mnt/target sh repair.sh")
        switch context.kind {
        case .device where usableUUID != nil:
            h.append(comment("With ROOT unset it mounts UUID=\(usableUUID ?? "") itself at a temporary directory and unmounts it at the end."))
        case .image:
            h.append(comment("With ROOT unset it prints how to attach and mount \(context.target), and stops."))
        default: break
        }
        h.append("#   DRY_RUN=1  print what it would do and change nothing")
        h.append("#   FORCE=1    change files even when they changed since the audit")
        h.append("# Every changed file is backed up under $ROOT/var/backups/rescue-audit/<time>/,")
        h.append("# with a log and an undo.sh that puts them back. A second run changes nothing.")
        h.append("#")

        let plan = result.plan
        let runnableIDs = Set(runnable.map(\.id))
        var fixed: [String] = [], notFixed: [String] = [], beside: [String] = []
        for (i, f) in result.findings.enumerated() {
            let refs = plan.actionsByFinding[i] ?? []
            let auto = refs.filter { runnableIDs.contains($0.id) }
            let line = "  [\(f.severity.rawValue)] \(f.rule): \(f.title)"
            if !auto.isEmpty {
                fixed.append(comment(line + " (" + auto.map(\.id).joined(separator: ", ") + ")"))
                for r in auto { fixed.append(comment("      \(r.id): \(r.summary)")) }
            }
            let manual = refs.compactMap { r in plan.actions.first { $0.id == r.id && !runnableIDs.contains($0.id) } }
            if auto.isEmpty || !manual.isEmpty {
                // A finding the script fixes lists its manual steps apart: alternatives, or what is left to decide.
                var list: [String] = [comment(line)]
                if auto.isEmpty, let why = f.noOfflineRepair { list.append(comment("      no offline repair is safe: \(why)")) }
                if refs.isEmpty { list.append(comment("      no automatic fix; see `rescue-audit explain \(f.rule)`")) }
                for a in manual {
                    if case .manual(let description, let commands) = a.operation {
                        list.append(comment("      \(a.id) (manual): \(description)"))
                        for c in commands { list.append(comment("          \(c)")) }
                    } else if let why = unusable.first(where: { $0.0.id == a.id })?.1 {
                        list.append(comment("      \(a.id) left out: \(why)"))
                    }
                }
                if auto.isEmpty { notFixed += list } else { beside += list }
            }
        }
        if let after = result.afterRepair, !runnable.isEmpty {
            h.append(comment(after.line))
            if let caveat = after.caveat { h.append(comment("  " + caveat)) }
            h.append("#")
        }
        h.append("# Findings this script fixes:")
        h += fixed.isEmpty ? ["#   none"] : fixed
        h.append("# Findings it does NOT fix (do these by hand):")
        h += notFixed.isEmpty ? ["#   none"] : notFixed
        if !beside.isEmpty {
            h.append("# Manual steps beside the fixes above (alternatives, or what is left to decide):")
            h += beside
        }
        if !plan.conflicts.isEmpty {
            h.append("# Fixes refused because they conflict:")
            for c in plan.conflicts { h.append(comment("  \(c.path) (\(c.rules.joined(separator: ", "))): \(c.message)")) }
        }
        let chroots = runnable.filter { if case .chroot = $0.operation { true } else { false } }
        if !chroots.isEmpty {
            h.append("# Steps that run a command inside the target (each runs once):")
            for a in chroots {
                if case .chroot(let command, let why, let undoable, let changes) = a.operation {
                    h.append(comment("  \(a.id): chroot $ROOT \(command.joined(separator: " "))  (\(why))"))
                    if changes.isEmpty {
                        h.append("#      undo.sh CANNOT undo it: the command may change any file, so no copy is made.")
                    } else {
                        h.append(comment("      the files it changes (\(changes.joined(separator: ", "))) are copied aside before it runs; undo.sh puts them back and removes the ones it created."))
                        if !undoable { h.append("#      Anything else it changes cannot be restored.") }
                    }
                }
            }
        }
        h.append("")
        return h
    }

    // MARK: - Data

    func contentFunctions(_ runnable: [PlannedAction]) -> [String] {
        var out: [String] = []
        for a in runnable {
            guard case .writeFile(let p, _, _, let content, _, _) = a.operation else { continue }
            out.append(comment("The bytes \(a.id) writes to \(p)."))
            out.append("content_\(a.id)() {")
            out += printfStatements(content)
            out.append("}")
            out.append("")
        }
        return out
    }

    /// undo.sh is written by the script from these bytes: its helpers and the
    /// data of every step as quoted values; the script then adds one line per
    /// change it made, naming only action ids and counts.
    func undoFunctions(_ runnable: [PlannedAction]) -> [String] {
        var head: [String] = ["#!/bin/sh"]
        head.append("# undo.sh, written by a rescue-audit repair script (plan \(planID)).")
        head.append(comment("Audited: \(context.target) at \(context.auditedAt)"))
        head.append("# Puts back every file the repair changed, byte for byte, from the copies")
        head.append("# beside this file, and removes the files, links and directories it created.")
        head.append("# It checks everything first and changes nothing if a step must be refused.")
        head.append("#   DRY_RUN=1  print what it would do;  FORCE=1  restore files changed since the repair")
        let chroots = runnable.compactMap { a -> (String, [String])? in
            if case .chroot(let c, _, _, let changes) = a.operation { return ("\(a.id): \(c.joined(separator: " "))", changes) }
            return nil
        }
        if !chroots.isEmpty {
            head.append("# Commands the repair ran inside the target:")
            for (c, changes) in chroots {
                head.append(comment("  \(c)"))
                head.append(changes.isEmpty ? "#    CANNOT be undone."
                                            : comment("    the files it changed are put back: \(changes.joined(separator: ", "))"))
            }
        }
        // The data of steps that were not needed goes unused.
        head.append("# shellcheck disable=SC2034")
        head.append("set -eu")
        head.append(Self.prelude)
        head.append(Self.commonHelpers)
        head.append(Self.undoHelpers)
        for a in runnable {
            switch a.operation {
            case .writeFile(let p, _, let after, _, _, _):
                head.append("\(a.id)_path=\(shQuote(p))")
                head.append("\(a.id)_after=\(shQuote(after))")
            case .moveAside(let p, _):
                head.append("\(a.id)_path=\(shQuote(p))")
            case .removeSymlink(let l):
                head.append("\(a.id)_path=\(shQuote(l.path))")
            case .setOwnership(let p, let from, let to):
                head.append("\(a.id)_path=\(shQuote(p))")
                head.append("\(a.id)_from=\(shQuote(from.words))")
                head.append("\(a.id)_to=\(shQuote(to.words))")
            case .createSymlink(let l):
                head.append("\(a.id)_1_path=\(shQuote(l.path))")
                head.append("\(a.id)_1_target=\(shQuote(l.target))")
            case .enableUnit(_, let links):
                for (i, l) in links.enumerated() {
                    head.append("\(a.id)_\(i + 1)_path=\(shQuote(l.path))")
                    head.append("\(a.id)_\(i + 1)_target=\(shQuote(l.target))")
                }
            case .chroot(let c, _, _, let changes):
                head.append("\(a.id)_cmd=\(shQuote(c.joined(separator: " ")))")
                for (i, g) in changes.enumerated() {
                    let (dir, pattern) = Self.splitGlob(g)
                    head.append("\(a.id)_g\(i + 1)_dir=\(shQuote(dir))")
                    head.append("\(a.id)_g\(i + 1)_pat=\(shQuote(pattern))")
                }
            case .manual:
                break
            }
        }
        head.append("")
        head.append("steps() {")

        var out: [String] = ["# The first part of undo.sh, up to its list of steps."]
        out.append("undo_head() {")
        out += printfStatements(Array((head.joined(separator: "\n") + "\n").utf8))
        out.append("}")
        out.append("")
        out.append("undo_tail() {")
        out += printfStatements(Array("    :\n}\n".utf8))
        out.append("}")
        out.append("")
        out.append("undo_end() {")
        out += printfStatements(Array((Self.undoTail + "\n").utf8))
        out.append("}")
        out.append("")
        return out
    }

    // MARK: - Getting read-write

    func gettingReadWrite() -> [String] {
        var out = ["if [ -z \"${ROOT:-}\" ]; then"]
        switch context.kind {
        case .device where usableUUID != nil:
            out.append("    AUDIT_UUID=\(shQuote(usableUUID ?? ""))")
            out.append(Self.mountByUUID)
        case .image:
            // The image file itself, never "disk.img partition 2".
            let image = shellWord(context.device ?? context.target)
            out.append("    warn \(shQuote("ROOT is not set. This script was made from an audit of the disk image \(context.target). Attach and mount it read-write, then run the script with ROOT set:"))")
            out.append("    warn \(shQuote("  losetup --find --show --partscan \(image)"))")
            if let partition = context.partition {
                out.append("    warn \(shQuote("  mount /dev/loopNp\(partition) /mnt/target    # partition \(partition), the root the audit found"))")
            } else {
                out.append("    warn '  mount /dev/loopN /mnt/target    # the root filesystem, as the audit found it'")
            }
            out.append("    warn \"  ROOT=/mnt/target sh $0\"")
            out.append("    exit 2")
        default:
            if context.kind == .device {
                out.append("    warn 'ROOT is not set and the audited device has no usable UUID; mount its root filesystem read-write and run:'")
            } else {
                out.append("    warn 'ROOT is not set. Mount the target root filesystem read-write and run:'")
            }
            out.append("    warn \"  ROOT=/path sh $0\"")
            out.append("    exit 2")
        }
        out.append("fi")
        return out
    }

    // MARK: - Steps

    func preflight(_ runnable: [PlannedAction]) -> [String] {
        var out = ["", "# Check every step before changing anything."]
        out.append("say \"Checking the target at $ROOT\"")
        for a in runnable {
            out.append(comment("\(a.id): \(a.summary)"))
            switch a.operation {
            case .writeFile(let p, let before, let after, _, _, _):
                out.append("check_write \(a.id) \(shQuote(p)) \(shQuote(before ?? "absent")) \(shQuote(after)) content_\(a.id)")
            case .moveAside(let p, let before):
                out.append("check_move \(a.id) \(shQuote(p)) \(shQuote(before))")
            case .createSymlink(let l):
                out.append("TODO=skip")
                out.append("check_link \(a.id) \(shQuote(l.path)) \(shQuote(l.target))")
            case .removeSymlink(let l):
                out.append("check_unlink \(a.id) \(shQuote(l.path)) \(shQuote(l.target))")
            case .setOwnership(let p, let from, let to):
                out.append("check_ownership \(a.id) \(shQuote(p)) \(shQuote(from.words)) \(shQuote(to.words))")
            case .enableUnit(_, let links):
                out.append("TODO=skip")
                for l in links { out.append("check_link \(a.id) \(shQuote(l.path)) \(shQuote(l.target))") }
            case .chroot:
                out.append("check_chroot \(a.id) \"$PLAN_ID-\(a.id)\"")
            case .manual:
                continue
            }
            out.append("\(a.id)=$TODO")
            out.append("if [ \"$\(a.id)\" = skip ]; then say \(shQuote("\(a.id): already done: \(a.summary)")); fi")
            out.append("if [ \"$\(a.id)\" = apply ]; then PENDING=$((PENDING + 1)); fi")
        }
        out.append(Self.afterPreflight)
        return out
    }

    func apply(_ runnable: [PlannedAction]) -> [String] {
        var out = ["", "# Carry out the steps, in order."]
        for a in runnable {
            var body: [String] = ["    say \(shQuote("\(a.id): \(a.summary)"))"]
            switch a.operation {
            case .writeFile(let p, _, _, _, let mode, _):
                let m = String(mode ?? 0o644, radix: 8)
                body.append("    apply_write \(a.id) \(shQuote(p)) content_\(a.id) \(m)")
            case .moveAside(let p, _):
                body.append("    apply_move \(a.id) \(shQuote(p))")
            case .createSymlink(let l):
                body.append("    apply_link \(a.id)_1 \(shQuote(l.path)) \(shQuote(l.target))")
            case .removeSymlink(let l):
                body.append("    apply_unlink \(a.id) \(shQuote(l.path))")
            case .setOwnership(let p, _, let to):
                body.append("    apply_ownership \(a.id) \(shQuote(p)) \(String(to.mode, radix: 8)) \(to.uid) \(to.gid)")
            case .enableUnit(_, let links):
                for (i, l) in links.enumerated() {
                    body.append("    apply_link \(a.id)_\(i + 1) \(shQuote(l.path)) \(shQuote(l.target))")
                }
            case .chroot(let command, _, _, let changes):
                let globs = changes.enumerated().map { (i, g) -> String in
                    let (dir, pattern) = Self.splitGlob(g)
                    return "\(a.id)_g\(i + 1) \(shQuote(dir)) \(shQuote(pattern))"
                }
                for g in globs { body.append("    glob_before \(g)") }
                body.append("    run_chroot \(a.id) \"$PLAN_ID-\(a.id)\" \(changes.isEmpty ? 0 : 1) " + command.map(shQuote).joined(separator: " "))
                for g in globs { body.append("    glob_after \(g)") }
            case .manual:
                continue
            }
            out.append("if [ \"$\(a.id)\" = apply ]; then")
            out += body
            out.append("fi")
        }
        return out
    }

    // MARK: - Static parts

    /// Shared settings of the repair script and undo.sh.
    static let prelude = #"""
        umask 022
        PATH=/usr/sbin:/usr/bin:/sbin:/bin:${PATH:-}
        LC_ALL=C
        export PATH LC_ALL
        DRY_RUN=${DRY_RUN:-0}
        FORCE=${FORCE:-0}
        BK=''
        REFUSED=0
        PENDING=0
        TODO=''
        """#

    /// Helpers both scripts use: messages, hashing, and path resolution that
    /// never leaves the root.
    static let commonHelpers = #"""

        # Messages go to the terminal with control characters removed (a
        # hostile file name cannot drive the terminal), and to the log.
        say() {
            printf '%s\n' "$*" | tr -d '\001-\010\013-\037\177'
            if [ -n "$BK" ] && [ -d "$BK" ] && [ "$DRY_RUN" != 1 ]; then
                printf '%s\n' "$*" >> "$BK/repair.log"
            fi
        }
        warn() { say "rescue-audit: $*" >&2; }
        die() { warn "$*"; exit 1; }
        refuse() { warn "refused: $*"; REFUSED=$((REFUSED + 1)); TODO=refuse; }

        if command -v sha256sum >/dev/null 2>&1; then
            sha256() { sha256sum; }
        elif command -v busybox >/dev/null 2>&1; then
            sha256() { busybox sha256sum; }
        else
            printf '%s\n' 'rescue-audit: this script needs sha256sum (coreutils or busybox).' >&2
            exit 2
        fi

        # The SHA-256 of a file, read on stdin so its name is never parsed.
        sha_file() {
            s=$(sha256 < "$1")
            printf '%s\n' "${s%% *}"
        }

        # What is at a host path: a SHA-256, absent, symlink or other.
        state_of() {
            if [ -L "$1" ]; then echo symlink
            elif [ ! -e "$1" ]; then echo absent
            elif [ -f "$1" ]; then sha_file "$1"
            else echo other
            fi
        }

        # Sets LINK to a symlink's target, exactly (trailing newlines kept).
        read_link() {
            LINK=$(readlink -- "$1" && printf x)
            LINK=${LINK%x}
            LINK=${LINK%?}
        }

        # Sets RESOLVED to where the target path $1 is under $ROOT. Directory
        # symlinks are followed inside the root, as the target itself would see
        # them (an absolute link starts again at $ROOT, .. stops at $ROOT), so
        # no step ever writes outside the target. The last component is not
        # followed. Returns 1 on a symlink loop.
        resolve() {
            rest=${1#/}
            done_=''
            hops=0
            while :; do
                case $rest in
                    */*) comp=${rest%%/*}; rest=${rest#*/} ;;
                    *) break ;;
                esac
                case $comp in
                    ''|.) continue ;;
                    ..) done_=${done_%/*}; continue ;;
                esac
                if [ -L "$ROOT$done_/$comp" ]; then
                    hops=$((hops + 1))
                    if [ "$hops" -gt 40 ]; then return 1; fi
                    read_link "$ROOT$done_/$comp"
                    case $LINK in /*) done_='' ;; esac
                    rest=${LINK#/}/$rest
                else
                    done_=$done_/$comp
                fi
            done
            case $rest in ''|.|..) return 1 ;; esac
            RESOLVED=$ROOT$done_/$rest
        }

        # Removes up to $2 empty directories above the host path $1 (the ones a step created).
        remove_parents() {
            d=${1%/*}
            k=$2
            while [ "$k" -gt 0 ]; do
                if ! rmdir -- "$d" 2>/dev/null; then
                    say "  kept $d: it is not empty"
                    return 0
                fi
                d=${d%/*}
                k=$((k - 1))
            done
        }
        """#

    static let repairHelpers = #"""

        TMPF=''
        MNT=''
        BOUND=''
        BASE=/var/backups/rescue-audit

        # Unbinds what a chroot step bound, removes a half-written file and
        # unmounts what the script mounted, however the script ends.
        unbind_all() {
            for d in $BOUND; do
                umount "$ROOT/$d" 2>/dev/null || umount -l "$ROOT/$d" || warn "could not unmount $ROOT/$d; unmount it by hand"
            done
            BOUND=''
        }
        cleanup() {
            set +e
            if [ -n "$TMPF" ]; then rm -f -- "$TMPF"; fi
            unbind_all
            if [ -n "$MNT" ]; then
                umount "$MNT" && rmdir -- "$MNT"
            fi
        }
        trap 'rc=$?; cleanup; exit "$rc"' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
        trap 'exit 129' HUP

        # Creates the missing directories above the host path $1; CREATED counts them for undo.
        make_parents() {
            d=${1%/*}
            CREATED=0
            while [ ! -e "$d" ] && [ ! -L "$d" ]; do
                CREATED=$((CREATED + 1))
                d=${d%/*}
            done
            if [ "$CREATED" -gt 0 ]; then mkdir -p -- "${1%/*}"; fi
        }

        # The backup directory is made on the first change, so a run with
        # nothing to do leaves no trace.
        ensure_backup() {
            if [ -n "$BK" ]; then return 0; fi
            resolve "$BASE/x" || die "$BASE cannot be resolved inside the target"
            base=${RESOLVED%/x}
            mkdir -p -- "$base"
            stamp=$(date -u +%Y%m%dT%H%M%SZ)
            if mkdir -- "$base/$stamp" 2>/dev/null; then
                BK=$base/$stamp
            else
                BK=$base/$stamp-$$
                mkdir -- "$BK"
            fi
            inside=${BK#"$ROOT"}
            BACKUP_DEPTH=0
            while [ -n "$inside" ]; do
                inside=${inside%/*}
                BACKUP_DEPTH=$((BACKUP_DEPTH + 1))
            done
            : > "$BK/undo.steps"
            write_undo
            say "Backups, the log and undo.sh go to $BK"
        }

        # undo.sh finds the root from where it lies: BACKUP_DEPTH components
        # above it, counted on the path inside the target, with every symlink
        # (a /var/backups that links elsewhere) already resolved.
        write_undo() {
            { undo_head; cat "$BK/undo.steps"; undo_tail; printf 'BACKUP_DEPTH=%s\n' "$BACKUP_DEPTH"; undo_end; } > "$BK/undo.sh"
            chmod 755 "$BK/undo.sh"
        }

        # Records how to undo a change. The newest step goes first, so undo.sh
        # undoes the last change first. Steps name only ids and counts; the
        # values live in undo.sh as quoted data.
        undo_add() {
            { printf '    %s\n' "$1"; cat "$BK/undo.steps"; } > "$BK/undo.steps.new"
            mv -f -- "$BK/undo.steps.new" "$BK/undo.steps"
            write_undo
        }

        # Moves whatever is at the host path $2 (target path $1) into the backup.
        stash() {
            mkdir -p -- "$BK/files${1%/*}"
            mv -- "$2" "$BK/files$1"
        }

        # check_write ID PATH BEFORE AFTER CONTENT: sets TODO to apply, skip or refuse.
        check_write() {
            TODO=refuse
            if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
            got=$("$5" | sha256)
            if [ "${got%% *}" != "$4" ]; then
                refuse "$1: this shell's printf does not reproduce the bytes planned for $2; run the script with dash or busybox sh"
                return 0
            fi
            state=$(state_of "$RESOLVED")
            if [ "$state" = "$4" ]; then TODO=skip
            elif [ "$state" = "$3" ]; then TODO=apply
            elif [ "$state" = symlink ] || [ "$state" = other ]; then
                refuse "$1: $2 is now a $state, not the regular file that was audited"
            elif [ "$FORCE" = 1 ]; then
                warn "$1: $2 changed since the audit (now $state); FORCE=1, so it is written anyway"
                TODO=apply
            else
                refuse "$1: $2 changed since the audit (sha256 now $state, audited $3); audit again, or run with FORCE=1 to overwrite it"
            fi
        }

        # apply_write ID PATH CONTENT MODE: replaces the file in place (same
        # owner and mode, through a temporary file beside it), or creates it.
        apply_write() {
            resolve "$2" || die "$1: $2 cannot be resolved inside the target"
            f=$RESOLVED
            if [ "$DRY_RUN" = 1 ]; then
                if [ -e "$f" ]; then say "  would back up $2 and write its new contents"
                else say "  would create $2 (mode $4)"
                fi
                return 0
            fi
            ensure_backup
            TMPF=${f%/*}/.rescue-audit.$$.tmp
            if [ -e "$f" ]; then
                mkdir -p -- "$BK/files${2%/*}"
                cp -p -- "$f" "$BK/files$2"
                cp -p -- "$f" "$TMPF"
                "$3" > "$TMPF"
                undo_add "restore_file \"\$${1}_path\" \"\$${1}_after\""
                mv -f -- "$TMPF" "$f"
                say "  wrote $2 (the old file is in $BK/files)"
            else
                make_parents "$f"
                "$3" > "$TMPF"
                chmod "$4" "$TMPF"
                undo_add "remove_file \"\$${1}_path\" \"\$${1}_after\" $CREATED"
                mv -f -- "$TMPF" "$f"
                say "  created $2"
            fi
            TMPF=''
        }

        # check_move ID PATH BEFORE
        check_move() {
            TODO=refuse
            if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
            state=$(state_of "$RESOLVED")
            if [ "$state" = "$3" ]; then TODO=apply
            elif [ "$state" = absent ]; then TODO=skip
            elif [ "$state" = symlink ] || [ "$state" = other ]; then
                refuse "$1: $2 is now a $state, not the regular file that was audited"
            elif [ "$FORCE" = 1 ]; then
                warn "$1: $2 changed since the audit; FORCE=1, so it is moved aside anyway"
                TODO=apply
            else
                refuse "$1: $2 changed since the audit (sha256 now $state, audited $3); audit again, or run with FORCE=1"
            fi
        }

        # apply_move ID PATH: moves the file into the backup directory.
        apply_move() {
            resolve "$2" || die "$1: $2 cannot be resolved inside the target"
            f=$RESOLVED
            if [ "$DRY_RUN" = 1 ]; then say "  would move $2 into the backup directory"; return 0; fi
            ensure_backup
            undo_add "move_back \"\$${1}_path\""
            stash "$2" "$f"
            say "  moved $2 to $BK/files$2"
        }

        # check_link ID PATH TARGET: keeps TODO at refuse, apply or skip, worst first.
        check_link() {
            if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
            if [ -L "$RESOLVED" ]; then
                read_link "$RESOLVED"
                if [ "$LINK" = "$3" ]; then return 0; fi
            elif [ ! -e "$RESOLVED" ]; then
                if [ "$TODO" != refuse ]; then TODO=apply; fi
                return 0
            elif [ -d "$RESOLVED" ]; then
                refuse "$1: $2 is a directory; the link is not made"
                return 0
            fi
            if [ "$FORCE" = 1 ]; then
                warn "$1: something else is at $2; FORCE=1, so it is moved into the backup and replaced by the link"
                if [ "$TODO" != refuse ]; then TODO=apply; fi
            else
                refuse "$1: something else is at $2; remove it or run with FORCE=1"
            fi
        }

        # apply_link ID PATH TARGET: creates one symlink, exactly.
        apply_link() {
            resolve "$2" || die "$1: $2 cannot be resolved inside the target"
            f=$RESOLVED
            if [ -L "$f" ]; then
                read_link "$f"
                if [ "$LINK" = "$3" ]; then say "  $2 is already a link to $3"; return 0; fi
            fi
            if [ "$DRY_RUN" = 1 ]; then say "  would link $2 -> $3"; return 0; fi
            ensure_backup
            moved=0
            if [ -e "$f" ] || [ -L "$f" ]; then
                stash "$2" "$f"
                moved=1
            fi
            make_parents "$f"
            undo_add "remove_link \"\$${1}_path\" \"\$${1}_target\" $CREATED $moved"
            ln -s -- "$3" "$f"
            say "  linked $2 -> $3"
        }

        # check_unlink ID PATH TARGET: the symlink must still point to TARGET.
        check_unlink() {
            TODO=refuse
            if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
            if [ -L "$RESOLVED" ]; then
                read_link "$RESOLVED"
                if [ "$LINK" = "$3" ]; then TODO=apply; return 0; fi
                refuse "$1: $2 now points to $LINK, not $3 as audited"
            elif [ ! -e "$RESOLVED" ]; then
                TODO=skip
            else
                refuse "$1: $2 is no longer the symlink that was audited"
            fi
        }

        # apply_unlink ID PATH: moves the symlink into the backup directory.
        apply_unlink() {
            resolve "$2" || die "$1: $2 cannot be resolved inside the target"
            f=$RESOLVED
            if [ "$DRY_RUN" = 1 ]; then say "  would move the link $2 into the backup directory"; return 0; fi
            ensure_backup
            undo_add "move_back \"\$${1}_path\""
            stash "$2" "$f"
            say "  moved the link $2 to $BK/files$2"
        }

        # check_ownership ID PATH FROM TO: FROM and TO are "mode uid gid" as
        # stat -c '%a %u %g' prints them (numeric owners of the target).
        check_ownership() {
            TODO=refuse
            if ! resolve "$2"; then refuse "$1: $2 cannot be resolved inside the target"; return 0; fi
            if [ -L "$RESOLVED" ] || [ ! -e "$RESOLVED" ]; then refuse "$1: $2 is missing or a symlink now"; return 0; fi
            now=$(stat -c '%a %u %g' -- "$RESOLVED") || { refuse "$1: stat $2 failed"; return 0; }
            if [ "$now" = "$4" ]; then TODO=skip
            elif [ "$now" = "$3" ]; then TODO=apply
            elif [ "$FORCE" = 1 ]; then
                warn "$1: $2 changed since the audit (mode and owner now $now); FORCE=1, so it is changed anyway"
                TODO=apply
            else
                refuse "$1: $2 changed since the audit (mode and owner now $now, audited $3); audit again, or run with FORCE=1"
            fi
        }

        # apply_ownership ID PATH MODE UID GID: owner first (chown clears set-id bits), then mode.
        apply_ownership() {
            resolve "$2" || die "$1: $2 cannot be resolved inside the target"
            f=$RESOLVED
            if [ "$DRY_RUN" = 1 ]; then say "  would set $2 to mode $3, owner $4:$5"; return 0; fi
            ensure_backup
            undo_add "restore_ownership \"\$${1}_path\" \"\$${1}_from\" \"\$${1}_to\""
            chown -h -- "$4:$5" "$f"
            chmod -- "$3" "$f"
            say "  set $2 to mode $3, owner $4:$5"
        }

        # check_chroot ID MARKER: a command runs once; the marker records it ran.
        check_chroot() {
            TODO=apply
            if resolve "$BASE/done/$2" && [ -e "$RESOLVED" ]; then TODO=skip; return 0; fi
            for d in proc sys dev run; do
                # A bind mount follows a symlink: it could cover (and the unbind
                # unmount) a directory of the rescue system.
                if [ -L "$ROOT/$d" ]; then refuse "$1: $ROOT/$d is a symlink; /$d is not bound over it"; fi
            done
        }

        bind_all() {
            for d in proc sys dev run; do
                if [ -L "$ROOT/$d" ]; then die "$ROOT/$d is a symlink; not mounting over it"; fi
                if [ ! -d "$ROOT/$d" ]; then say "  $ROOT/$d does not exist; /$d is not bound"; continue; fi
                mount -o bind "/$d" "$ROOT/$d"
                BOUND="$d $BOUND"
            done
        }

        # glob_before KEY DIR PATTERN: before a command runs inside the target,
        # copies the files of DIR that match PATTERN into the backup, and tells
        # undo.sh to put them back.
        glob_before() {
            if [ "$DRY_RUN" = 1 ]; then say "  would copy $2/$3 into the backup first, for undo.sh"; return 0; fi
            ensure_backup
            resolve "$2/x" || die "$2 cannot be resolved inside the target"
            d=${RESOLVED%/x}
            mkdir -p -- "$BK/chroot/$1/before"
            # shellcheck disable=SC2086
            for f in "$d"/$3; do
                if [ -f "$f" ] || [ -L "$f" ]; then cp -P -p -- "$f" "$BK/chroot/$1/before/"; fi
            done
            undo_add "restore_glob $1 \"\$${1}_dir\" \"\$${1}_pat\""
        }

        # glob_after KEY DIR PATTERN: records which matching files the command
        # created (an empty file of the same name), for undo.sh to remove.
        glob_after() {
            if [ "$DRY_RUN" = 1 ]; then return 0; fi
            resolve "$2/x" || die "$2 cannot be resolved inside the target"
            d=${RESOLVED%/x}
            # shellcheck disable=SC2086
            for f in "$d"/$3; do
                if { [ -e "$f" ] || [ -L "$f" ]; } && [ ! -e "$BK/chroot/$1/before/${f##*/}" ] && [ ! -L "$BK/chroot/$1/before/${f##*/}" ]; then
                    mkdir -p -- "$BK/chroot/$1/created"
                    : > "$BK/chroot/$1/created/${f##*/}"
                fi
            done
        }

        # run_chroot ID MARKER RESTORED WORD...: binds /proc, /sys, /dev and
        # /run, runs the command inside the target, and always unbinds (here,
        # or in the EXIT trap when interrupted). RESTORED is 1 when undo.sh
        # puts back the files the command changes.
        run_chroot() {
            id=$1
            marker=$2
            restored=$3
            shift 3
            if [ "$DRY_RUN" = 1 ]; then
                say "  would bind /proc /sys /dev /run at $ROOT/proc $ROOT/sys $ROOT/dev $ROOT/run"
                say "  would run: chroot $ROOT $*"
                say "  would unbind $ROOT/run $ROOT/dev $ROOT/sys $ROOT/proc"
                return 0
            fi
            ensure_backup
            if [ -z "$ROOT" ]; then
                # ROOT=/ after an audit of /: this shell already runs on the target.
                say "  running in the target: $*"
                if "$@"; then rc=0; else rc=$?; fi
            else
                bind_all
                say "  running in the target: $*"
                if chroot "$ROOT" "$@"; then rc=0; else rc=$?; fi
                unbind_all
            fi
            if [ "$rc" -ne 0 ]; then die "$id: the command failed (status $rc); fix that by hand, then run this script again"; fi
            resolve "$BASE/done/$marker" || die "$BASE cannot be resolved inside the target"
            mkdir -p -- "${RESOLVED%/*}"
            printf '%s\n' "$*" > "$RESOLVED"
            undo_add "chroot_note \"\$${id}_cmd\" $restored"
            say "  done; it will not run again from this script"
        }
        """#

    static let mountByUUID = #"""
            dev=/dev/disk/by-uuid/$AUDIT_UUID
            if [ ! -e "$dev" ] && command -v blkid >/dev/null 2>&1; then
                dev=$(blkid -U "$AUDIT_UUID" 2>/dev/null || true)
            fi
            if [ -z "$dev" ] || [ ! -e "$dev" ]; then
                die "no device with UUID $AUDIT_UUID is attached; mount the target's root read-write and run: ROOT=/path sh $0"
            fi
            MNT=$(mktemp -d)
            # A dry run only reads: read-only, and without replaying a journal
            # (noload for ext3/4, norecovery for xfs), which would write.
            if [ "$DRY_RUN" = 1 ]; then
                mount -o ro,noload "$dev" "$MNT" 2>/dev/null || mount -o ro,norecovery "$dev" "$MNT" 2>/dev/null || mounted=no
            else
                mount -o rw "$dev" "$MNT" || mounted=no
            fi
            if [ "${mounted:-yes}" = no ]; then
                rmdir -- "$MNT"
                MNT=''
                die "could not mount $dev; mount it read-write yourself and run: ROOT=/path sh $0"
            fi
            say "Mounted $dev (UUID $AUDIT_UUID) at $MNT; it is unmounted at the end."
            ROOT=$MNT
        """#

    /// Resolves ROOT and checks it is a root. ROOT=/ is refused, since on a
    /// rescue system it would repair the rescue system, except when the audit
    /// itself was of "/": run inside a chroot of the target (or on the system
    /// itself), where the script runs in the same place with ROOT=/.
    func checkRoot() -> String {
        let auditedSlash = context.kind == .directory && context.target == "/"
        return [Self.resolveRoot, auditedSlash ? Self.slashIsTheTarget : Self.refuseSlash, Self.checkRootEtc].joined(separator: "\n")
    }

    static let resolveRoot = #"""

        given=$ROOT
        ROOT=$(cd -- "$given" 2>/dev/null && pwd -P) || die "ROOT=$given is not a directory"
        """#

    static let refuseSlash = #"""

        # On the rescue system itself ROOT=/ would repair the rescue system, not the target.
        if [ "$ROOT" = / ]; then
            die "ROOT is /, the system this script runs on; mount the target elsewhere and run: ROOT=/path sh $0"
        fi
        """#

    static let slashIsTheTarget = #"""

        # The audit was of / itself (inside a chroot of the target): ROOT=/ is the target.
        if [ "$ROOT" = / ]; then ROOT=''; fi
        """#

    static let checkRootEtc = #"""
        if [ -L "$ROOT/etc" ] || [ ! -d "$ROOT/etc" ]; then
            die "$ROOT/etc is not a directory; ROOT must be the target's root filesystem"
        fi
        """#

    static let afterPreflight = #"""

        if [ "$REFUSED" -gt 0 ]; then
            die "$REFUSED step(s) refused; nothing was changed."
        fi
        if [ "$PENDING" -eq 0 ]; then
            say "Nothing to do: every repair in this script is already in place."
            exit 0
        fi
        if [ "$DRY_RUN" = 1 ]; then
            say "DRY_RUN=1: showing what would be done; nothing is changed."
        else
            # Something will change: make the backup directory now so the log has every step.
            ensure_backup
            say "Repair started $(date -u +%Y-%m-%dT%H:%M:%SZ) on $ROOT (plan $PLAN_ID)"
        fi
        """#

    static let finish = #"""

        if [ "$DRY_RUN" = 1 ]; then
            say "DRY_RUN=1: nothing was changed."
        else
            say "Done. The log, the old files and undo.sh are in $BK"
            say "To undo: sh $BK/undo.sh"
        fi
        """#

    static let undoHelpers = #"""

        BK=$(cd -- "$(dirname -- "$0")" && pwd -P)
        PASS=check

        # restore_file PATH AFTER: puts the backed-up file back.
        restore_file() {
            if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
            f=$RESOLVED
            b=$BK/files$1
            if [ ! -f "$b" ]; then refuse "the backup of $1 is missing"; return 0; fi
            state=$(state_of "$f")
            if [ "$state" = "$(sha_file "$b")" ]; then
                if [ "$PASS" = apply ]; then say "$1 is already restored"; fi
                return 0
            fi
            if [ "$state" = symlink ] || [ "$state" = other ]; then refuse "$1 is now a $state"; return 0; fi
            if [ "$state" != "$2" ] && [ "$FORCE" != 1 ]; then
                refuse "$1 changed since the repair; FORCE=1 restores it anyway"
                return 0
            fi
            if [ "$PASS" = check ]; then return 0; fi
            if [ "$DRY_RUN" = 1 ]; then say "would restore $1"; return 0; fi
            cp -p -- "$b" "$f"
            say "restored $1"
        }

        # remove_file PATH AFTER CREATED-DIRS: removes a file the repair created.
        remove_file() {
            if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
            f=$RESOLVED
            state=$(state_of "$f")
            if [ "$state" = absent ]; then
                if [ "$PASS" = apply ]; then say "$1 is already removed"; fi
                return 0
            fi
            if [ "$state" = symlink ] || [ "$state" = other ]; then refuse "$1 is now a $state"; return 0; fi
            if [ "$state" != "$2" ] && [ "$FORCE" != 1 ]; then
                refuse "$1 changed since the repair; FORCE=1 removes it anyway"
                return 0
            fi
            if [ "$PASS" = check ]; then return 0; fi
            if [ "$DRY_RUN" = 1 ]; then say "would remove $1"; return 0; fi
            rm -f -- "$f"
            remove_parents "$f" "$3"
            say "removed $1"
        }

        # move_back PATH: returns a file the repair moved aside.
        move_back() {
            if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
            f=$RESOLVED
            b=$BK/files$1
            if [ ! -e "$b" ] && [ ! -L "$b" ]; then
                if [ "$PASS" = apply ]; then say "$1 is already back"; fi
                return 0
            fi
            if { [ -e "$f" ] || [ -L "$f" ]; } && [ "$FORCE" != 1 ]; then
                refuse "something is at $1 again; FORCE=1 replaces it with the old file"
                return 0
            fi
            if [ "$PASS" = check ]; then return 0; fi
            if [ "$DRY_RUN" = 1 ]; then say "would move $1 back"; return 0; fi
            mkdir -p -- "${f%/*}"
            mv -f -- "$b" "$f"
            say "moved $1 back"
        }

        # remove_link PATH TARGET CREATED-DIRS MOVED: removes a link the repair
        # made, and puts back what it replaced.
        remove_link() {
            if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
            f=$RESOLVED
            b=$BK/files$1
            if [ "$4" = 1 ] && [ ! -e "$b" ] && [ ! -L "$b" ]; then
                if [ "$PASS" = apply ]; then say "$1 is already back"; fi
                return 0
            fi
            if [ -L "$f" ]; then
                read_link "$f"
                if [ "$LINK" != "$2" ]; then refuse "$1 now points elsewhere"; return 0; fi
            elif [ -e "$f" ]; then
                refuse "$1 is no longer the link the repair made"
                return 0
            elif [ "$4" != 1 ]; then
                if [ "$PASS" = apply ]; then say "$1 is already removed"; fi
                return 0
            fi
            if [ "$PASS" = check ]; then return 0; fi
            if [ "$DRY_RUN" = 1 ]; then say "would remove the link $1"; return 0; fi
            rm -f -- "$f"
            if [ "$4" = 1 ]; then mv -- "$b" "$f"; fi
            remove_parents "$f" "$3"
            say "removed the link $1"
        }

        # restore_ownership PATH FROM TO: puts back the mode and owner a step changed.
        restore_ownership() {
            if ! resolve "$1"; then refuse "$1 cannot be resolved inside the target"; return 0; fi
            f=$RESOLVED
            if [ -L "$f" ] || [ ! -e "$f" ]; then refuse "$1 is missing or a symlink now"; return 0; fi
            now=$(stat -c '%a %u %g' -- "$f") || { refuse "stat $1 failed"; return 0; }
            if [ "$now" = "$2" ]; then
                if [ "$PASS" = apply ]; then say "$1 already has mode and owner $2"; fi
                return 0
            fi
            if [ "$now" != "$3" ] && [ "$FORCE" != 1 ]; then
                refuse "$1 changed since the repair (mode and owner now $now); FORCE=1 restores it anyway"
                return 0
            fi
            if [ "$PASS" = check ]; then return 0; fi
            if [ "$DRY_RUN" = 1 ]; then say "would set $1 back to mode and owner $2"; return 0; fi
            m=${2%% *}
            rest=${2#* }
            chown -h -- "${rest%% *}:${rest#* }" "$f"
            chmod -- "$m" "$f"
            say "set $1 back to mode and owner $2"
        }

        chroot_note() {
            if [ "$PASS" != apply ]; then return 0; fi
            if [ "$2" = 1 ]; then say "note: the repair ran '$1' inside the target; the files it changed are put back"
            else say "note: the repair ran '$1' inside the target; undo.sh cannot undo that"
            fi
        }

        # restore_glob KEY DIR PATTERN: the files of DIR matching PATTERN as
        # they were before a command ran inside the target: the copies made
        # before it ran go back, the files it created are removed.
        # (ls -ldn only reads the mode and owner of a name already in hand.)
        # shellcheck disable=SC2012
        restore_glob() {
            b=$BK/chroot/$1
            if [ ! -d "$b/before" ]; then refuse "the copies of $2/$3 made before the command ran are missing"; return 0; fi
            if ! resolve "$2/x"; then refuse "$2 cannot be resolved inside the target"; return 0; fi
            d=${RESOLVED%/x}
            if [ "$PASS" = check ]; then return 0; fi
            for f in "$b/created"/* "$b/created"/.[!.]*; do
                if [ ! -e "$f" ]; then continue; fi
                if [ "$DRY_RUN" = 1 ]; then say "would remove $2/${f##*/}"; continue; fi
                rm -f -- "$d/${f##*/}"
                say "removed $2/${f##*/} (the command made it)"
            done
            for f in "$b/before"/* "$b/before"/.[!.]*; do
                if [ ! -e "$f" ] && [ ! -L "$f" ]; then continue; fi
                t=$d/${f##*/}
                if [ -L "$f" ] && [ -L "$t" ]; then
                    read_link "$f"; was=$LINK
                    read_link "$t"
                    if [ "$LINK" = "$was" ]; then continue; fi
                elif [ -f "$f" ] && [ -f "$t" ] && [ ! -L "$t" ] && [ "$(sha_file "$f")" = "$(sha_file "$t")" ] \
                    && [ "$(ls -ldn -- "$f" | awk '{ print $1, $3, $4 }')" = "$(ls -ldn -- "$t" | awk '{ print $1, $3, $4 }')" ]; then
                    continue
                fi
                if [ "$DRY_RUN" = 1 ]; then say "would restore $2/${f##*/}"; continue; fi
                rm -f -- "$t"
                cp -P -p -- "$f" "$t"
                say "restored $2/${f##*/}"
            done
        }
        """#

    static let undoTail = #"""
        # undo.sh lives in <root>/var/backups/rescue-audit/<time>/ (or wherever
        # a symlinked /var/backups led): the root is wherever the target is
        # mounted now, empty when it runs on the target itself.
        ROOT=$BK
        i=0
        while [ "$i" -lt "$BACKUP_DEPTH" ]; do
            ROOT=${ROOT%/*}
            i=$((i + 1))
        done
        if [ -L "$ROOT/etc" ] || [ ! -d "$ROOT/etc" ]; then
            die "$ROOT/etc is not a directory; undo.sh must stay in <root>/var/backups/rescue-audit/<time>/"
        fi
        steps
        if [ "$REFUSED" -gt 0 ]; then die "$REFUSED step(s) refused; nothing was changed."; fi
        PASS=apply
        steps
        if [ "$DRY_RUN" = 1 ]; then say "DRY_RUN=1: nothing was changed."; else say "Undo complete."; fi
        """#
}
