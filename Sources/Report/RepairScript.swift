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

/// Text (ending with a newline) as a `cat` of a quoted here-document: the
/// shell expands nothing in it, so the quoted target values in undo.sh's
/// head stay data. The delimiter is a word no line of the text equals (a
/// value with a newline could hold the plain one as a line).
func hereDocument(_ text: String, indent: String = "    ") -> [String] {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() }
    var delimiter = "RESCUE_AUDIT_UNDO"
    var n = 0
    while lines.contains(delimiter) {
        n += 1
        delimiter = "RESCUE_AUDIT_UNDO_\(n)"
    }
    return [indent + "cat <<'\(delimiter)'"] + lines + [delimiter]
}

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

struct ScriptWriter {
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
        case .createSymlink(let s):
            return linkProblem(s)
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
        out += hereDocument(head.joined(separator: "\n") + "\n")
        out.append("}")
        out.append("")
        out.append("undo_tail() {")
        out += hereDocument("    :\n}\n")
        out.append("}")
        out.append("")
        out.append("undo_end() {")
        out += hereDocument(Self.undoTail + "\n")
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
            out.append(Self.mountByUuid)
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

    // MARK: - Static parts (the shell helpers are Sources/Report/shell/*.sh, embedded as RepairScript+Shell.swift)

    /// Resolves ROOT and checks it is a root. ROOT=/ is refused, since on a
    /// rescue system it would repair the rescue system, except when the audit
    /// itself was of "/": run inside a chroot of the target (or on the system
    /// itself), where the script runs in the same place with ROOT=/.
    func checkRoot() -> String {
        let auditedSlash = context.kind == .directory && context.target == "/"
        return [Self.resolveRoot, auditedSlash ? Self.slashIsTheTarget : Self.refuseSlash, Self.checkRootEtc].joined(separator: "\n")
    }
}
