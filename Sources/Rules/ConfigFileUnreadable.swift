import Parsers
import Plan
import SystemModel

/// `config-file-unreadable`: a file the audit needed was not a regular file,
/// was over the cap, or looped. Runs last, after every other rule has read.
public struct ConfigFileUnreadable: Rule {
    public static let id = "config-file-unreadable"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        system.skippedReads.map { skip in
            let boot = controlsBootNetwork(skip.path, system)
            return finding(boot ? .critical : .medium,
                           message: "\(skip.path) was not read: \(skip.reason).",
                           atBoot: boot
                               ? "The network configuration at \(skip.path) cannot be used as it is, so ifup hangs or fails and the machine stays unreachable."
                               : "Whatever \(skip.path) configures was not checked and may fail at boot.",
                           evidence: [.fact(skip.path, skip.reason)],
                           actions: [ProposedAction(.manual(description: "Inspect \(skip.path) and replace it with the intended regular file",
                                                            commands: ["ls -l \(rootPath(skip.path))"]),
                                                    "Inspect \(skip.path) by hand")])
        }
    }

    private func controlsBootNetwork(_ path: String, _ system: SystemSnapshot) -> Bool {
        path == "/etc/network/interfaces" || path.hasPrefix("/etc/network/interfaces.d/")
            || (system.ifupdown?.files.contains(path) ?? false)
    }
}
