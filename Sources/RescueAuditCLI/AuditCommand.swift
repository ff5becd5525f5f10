import ArgumentParser
import FoundationEssentials
import Glibc
import Report
import RescueSys
import Rules
import SystemModel
import TargetAccess

/// `rescue-audit audit [TARGET]`: audit a mounted root directory.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit a target and report what will keep it off the network at the next boot."
    )

    @Argument(help: "A mounted root directory, a block device or a disk image.")
    var target: String?

    @OptionGroup var report: ReportOptions

    @Option(name: .customLong("script"), help: "Also write the repair script to this file (mode 0755).")
    var script: String?

    func validate() throws {
        if script == "-" { throw ValidationError("The report goes to stdout; give --script a file name, or use `rescue-audit plan TARGET -o -`.") }
    }

    func run() throws {
        let opened: OpenedTarget
        do {
            opened = try OpenedTarget.open(target)
        } catch let e as AuditFailure {
            printError(e.description)
            throw ExitCode(2)
        }
        defer { opened.close() }
        let system = SystemSnapshot.load(root: opened.root, kind: opened.kind)
        let result = AuditResult.run(system)
        let context = opened.context
        switch report.format {
        case .json: printOut(JSONReport.render(result, system: system, context: context) + "\n")
        case .markdown: printOut(MarkdownReport.render(result, system: system, context: context))
        case .text: printOut(TextReport.render(result, system: system, context: context, color: report.useColor))
        }
        if let script {
            let text = RepairScript.render(result, context: context, osName: system.osName)
            // The report owns stdout; the script's summary goes to stderr.
            printError(try ScriptOutput.write(text, to: script, result: result, context: context))
        }
        if let worst = result.worst, worst >= report.failOn { throw ExitCode(1) }
    }
}

/// A target ready to read, and how to let go of it.
struct OpenedTarget {
    var root: TargetRoot
    var kind: TargetKind
    var context: ReportContext
    var close: () -> Void = {}

    static func open(_ target: String?) throws -> OpenedTarget {
        guard let target else {
            throw AuditFailure("Name the target: the directory where the broken system's root is mounted.")
        }
        guard let st = sysStat(target) else {
            throw AuditFailure("\(target) does not exist; give the directory where the target's root is mounted, a block device or a disk image.")
        }
        guard st.kind == .directory else {
            throw AuditFailure("\(target) is not a directory; give the directory where the target's root is mounted.")
        }
        let root: TargetRoot
        do {
            root = try TargetRoot(directory: target)
        } catch {
            throw AuditFailure(error.description)
        }
        return OpenedTarget(root: root, kind: .directory, context: context(target: target, kind: .directory))
    }

    static func context(target: String, kind: TargetKind, device: String? = nil, uuid: String? = nil, notes: [String] = []) -> ReportContext {
        ReportContext(toolVersion: toolVersion, libblkidVersion: Blkid.libraryVersion.version, target: target, kind: kind,
                      device: device, uuid: uuid, auditedAt: Date.now.formatted(.iso8601), notes: notes)
    }
}
