import ArgumentParser
import RescueSys

/// The version of this tool.
public let toolVersion = "0.1.0"

/// `rescue-audit`: the command tree. `rescue-audit DIR` is `rescue-audit audit DIR`.
public struct RescueAudit: ParsableCommand {
    public static var configuration: CommandConfiguration {
        CommandConfiguration(
            commandName: "rescue-audit",
            abstract: "Find why a Linux server will not come back on the network, from its disk, without booting it or writing to it.",
            discussion: """
            Run it from a rescue system or a container. With no target it finds the machine's root \
            filesystem itself, mounts it read-only and audits it.
            Exit status: 0 nothing at or above the threshold, 1 findings, 2 could not audit, 64 usage.
            """,
            version: "rescue-audit \(toolVersion) (libblkid \(Blkid.libraryVersion.version), \(Blkid.libraryVersion.date))",
            subcommands: [AuditCommand.self, DevicesCommand.self, PlanCommand.self, RulesCommand.self, ExplainCommand.self],
            defaultSubcommand: AuditCommand.self
        )
    }

    public init() {}
}
