import ArgumentParser
import Discovery
import Glibc
import Report
import RescueSys
import Rules
import SystemModel
import TargetAccess

/// Where the target comes from: shared by `audit` and `plan`.
struct TargetOptions: ParsableArguments {
    @Argument(help: "A mounted root directory, a block device or a disk image. None: find the root on this machine's disks.")
    var target: String?

    @Option(name: .long, help: "Which root to audit when several are found: a device, UUID=..., LABEL=..., PARTUUID=... or a partition number.")
    var root: String?

    @Option(name: .customLong("keep-mounted"), help: "Leave the target mounted read-only at DIR after the audit, to look around.")
    var keepMounted: String?

    @Flag(name: .long, inversion: .prefixedNo,
          help: "Read this machine's network cards (/sys/class/net) as the target's hardware, to predict their names exactly. Default: on for a block device (a rescue boot of the same machine), off for directories and images.")
    var hardware: Bool?
}

/// `rescue-audit audit [TARGET]`: audit a root directory, device or image.
struct AuditCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Audit a target and report what will keep it off the network at the next boot."
    )

    @OptionGroup var source: TargetOptions
    @OptionGroup var report: ReportOptions

    @Option(name: .customLong("script"), help: "Also write the repair script to this file (mode 0755).")
    var script: String?

    func validate() throws {
        if script == "-" { throw ValidationError("The report goes to stdout; give --script a file name, or use `rescue-audit plan TARGET -o -`.") }
    }

    func run() throws {
        let worst = try withAudit(source) { system, result, context in
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
            return result.worst
        }
        if let worst, worst >= report.failOn { throw ExitCode(1) }
    }
}

/// Opens the target, audits it, hands the result to `body`, and always lets
/// go of the mounts afterwards. Failures to audit exit 2 with one sentence.
func withAudit<T>(_ options: TargetOptions, _ body: (SystemSnapshot, AuditResult, ReportContext) throws -> T) throws -> T {
    let opened: AuditTarget
    do {
        opened = try TargetOpener.open(options.target, root: options.root, keepMounted: options.keepMounted)
    } catch {
        printError(error.description)
        throw ExitCode(2)
    }
    defer {
        opened.close()
        if !opened.keepMountedCommands.isEmpty {
            printError("the target stays mounted read-only at \(options.keepMounted ?? ""); undo with: " + opened.keepMountedCommands.joined(separator: "; "))
        }
    }
    // The reader and everything holding it must be gone before close() unmounts.
    return try auditOpened(opened, options: options, body)
}

private func auditOpened<T>(_ opened: AuditTarget, options: TargetOptions, _ body: (SystemSnapshot, AuditResult, ReportContext) throws -> T) throws -> T {
    let hardware = options.hardware
    let root: TargetRoot
    do {
        root = try opened.openRoot()
    } catch {
        printError(error.description)
        throw ExitCode(2)
    }
    let d = opened.description
    let kind: TargetKind = switch d.kind {
    case .directory: .directory
    case .image: .image
    case .device, .discovered: .device
    }
    var environment = AuditEnvironment.from(opened)
    // The running machine's cards describe the target only on a rescue boot
    // of the same machine (a device) or on the running system itself ("/");
    // inside a chroot they are the rescue system's, unless --hardware says so.
    if hardware ?? (kind == .device || opened.placement == .runningSystem) {
        environment.hardware = NetworkCards.scan().map(HardwareNIC.init)
    }
    let system = SystemSnapshot.load(root: root, kind: kind, environment: environment)
    var result = AuditResult.run(system)
    result.afterRepair = result.predictAfterRepair(system)
    let naming = TargetNaming(d, options: options)
    var context = ReportContext(toolVersion: toolVersion, libblkidVersion: Blkid.libraryVersion.version,
                                target: naming.target, kind: kind, device: d.device, uuid: d.uuid,
                                auditedAt: iso8601Now(), notes: opened.notes)
    context.partition = d.kind == .image ? d.partition : nil
    context.rerunArguments = naming.rerun
    return try body(system, result, context)
}

/// How the report, the repair script and the suggested `plan` command name
/// the target: what the user named, never a path that ends with the run
/// (the private namespace's /proc/<pid>/task/<tid>/root/…).
struct TargetNaming {
    /// The target in words: the directory, `disk.img partition 2`, or the
    /// discovered root's device.
    var target: String
    /// The arguments that name the same root again (`plan ARGS -o FILE`).
    var rerun: [String]

    init(_ d: TargetDescription, options: TargetOptions) {
        switch d.kind {
        case .directory:
            target = d.source ?? "/"
            rerun = [target]
        case .image, .device:
            let source = d.source ?? d.device ?? ""
            let device = d.device ?? source
            if let partition = d.partition, d.kind == .image || device == source {
                target = "\(source) partition \(partition)"
            } else {
                target = device == source ? source : "\(source) (\(device))"
            }
            rerun = [source] + (options.root.map { ["--root", $0] } ?? [])
        case .discovered:
            // The root's own device names it again, mounted or not.
            target = d.device ?? "the discovered root"
            rerun = d.device.map { [$0] } ?? []
        }
    }
}

extension HardwareNIC {
    /// A card as Discovery read it from sysfs.
    init(_ c: NetworkCard) {
        self.init(currentName: c.name, mac: c.mac, devicePath: c.devicePath, driver: c.driver, type: c.type,
                  devType: c.devType, macIsPermanent: c.macIsPermanent, pciAddress: c.pciAddress,
                  nameOnboard: c.nameOnboard, nameSlot: c.nameSlot, namePath: c.namePath, nameMAC: c.nameMAC)
    }
}

/// The current time in UTC as ISO 8601 (`2026-11-21T20:33:39Z`), from time(2) and gmtime_r(3).
func iso8601Now() -> String {
    var now = time_t(sysNow())
    var t = tm()
    guard gmtime_r(&now, &t) != nil else { return "1970-01-01T00:00:00Z" }
    func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
    let year = Int(t.tm_year) + 1900
    return "\(year)-\(two(t.tm_mon + 1))-\(two(t.tm_mday))T\(two(t.tm_hour)):\(two(t.tm_min)):\(two(t.tm_sec))Z"
}
