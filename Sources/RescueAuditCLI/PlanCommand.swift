import ArgumentParser
import RescueSys
import Parsers
import Report
import Rules
import SystemModel

/// `rescue-audit plan [TARGET] -o FILE`: audit, then write the repair script.
struct PlanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plan",
        abstract: "Audit a target and write a repair script (POSIX sh) that fixes what can be fixed automatically."
    )

    @OptionGroup var source: TargetOptions

    @Option(name: [.short, .customLong("output")], help: "Where to write the script (mode 0755); - writes it to stdout.")
    var output: String

    func run() throws {
        try withAudit(source) { system, result, context in
            let script = RepairScript.render(result, context: context, osName: system.osName)
            let summary = try ScriptOutput.write(script, to: output, result: result, context: context)
            // With the script on stdout, the summary must not mix into it.
            if output == "-" { printError(summary) } else { printOut(summary + "\n") }
        }
    }
}

/// Writes a repair script for `plan` and `audit --script`.
enum ScriptOutput {
    /// Writes the script (mode 0755) or prints it for `-`; returns a short
    /// summary saying how to run it.
    static func write(_ script: String, to output: String, result: AuditResult, context: ReportContext) throws -> String {
        if output == "-" {
            printOut(script)
        } else {
            do {
                try sysWriteFile(output, script, mode: 0o755)
            } catch {
                printError("could not write the repair script to \(output) (\(error.description)); choose another path with -o.")
                throw ExitCode(2)
            }
        }
        let auto = result.plan.automaticActions.count, manual = result.plan.manualActions.count
        var lines: [String] = []
        let name = output == "-" ? "repair.sh" : output
        lines.append("Repair script \(output == "-" ? "written to stdout" : name): \(auto) automatic step\(auto == 1 ? "" : "s"), \(manual) manual step\(manual == 1 ? "" : "s") (listed in its header).")
        if !result.plan.conflicts.isEmpty {
            lines.append("\(result.plan.conflicts.count) conflicting fix(es) refused; the header says which.")
        }
        if auto == 0 {
            lines.append("It has nothing to do automatically.")
        } else {
            if let after = result.afterRepair {
                lines.append(after.line)
                if let caveat = after.caveat { lines.append("  " + caveat) }
            }
            if context.kind == .directory && context.target == "/" {
                // Audited from inside a chroot of the target (or on it): the script runs right here.
                lines.append("Preview:  DRY_RUN=1 ROOT=/ sh \(Self.word(name))")
                lines.append("Run:      ROOT=/ sh \(Self.word(name))   (here, on the audited root, mounted read-write)")
            } else {
                lines.append("Preview:  DRY_RUN=1 ROOT=/mnt/target sh \(Self.word(name))")
                lines.append("Run:      ROOT=/mnt/target sh \(Self.word(name))   (the target's root mounted read-write at /mnt/target)")
            }
            if context.kind == .device, context.uuid != nil {
                lines.append("Without ROOT it mounts UUID=\(context.uuid ?? "") read-write itself and unmounts it at the end.")
            }
            lines.append("It backs up what it changes under /var/backups/rescue-audit/<time>/ on the target, with an undo.sh.")
        }
        return lines.joined(separator: "\n")
    }

    /// The script's name as one shell word (the one quoting function).
    static func word(_ s: String) -> String { shellWord(s.hasPrefix("-") ? "./" + s : s) }
}
