import ArgumentParser
import Discovery
import Report

/// `rescue-audit devices [TARGET...]`: what was found and which looks like a root.
struct DevicesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "devices",
        abstract: "List block devices and disk images, their partitions and filesystems, and which one looks like a root."
    )

    @Argument(help: "Devices or disk image files. None: every block device in /sys/class/block.")
    var targets: [String] = []

    @Option(name: .long, help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let report: DeviceReport
        do {
            report = try TargetOpener.devices(targets)
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
        if format == .json {
            printOut(try JSONText.encode(report) + "\n")
        } else {
            printOut(renderDevicesText(report))
        }
    }
}
