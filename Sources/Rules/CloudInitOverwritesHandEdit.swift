import Parsers
import Plan
import SystemModel

/// `cloud-init-overwrites-hand-edit`: a network file cloud-init writes was
/// edited by hand, and cloud-init will render it again.
public struct CloudInitOverwritesHandEdit: Rule {
    public static let id = "cloud-init-overwrites-hand-edit"
    public init() {}

    public static let disableFile = "/etc/cloud/cloud.cfg.d/99-disable-network-config.cfg"

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let ci = system.cloudInit
        guard ci.rendersNetwork else { return [] }
        let edited = ci.generatedFiles.filter(\.handEdited)
        guard !edited.isEmpty else { return [] }
        let atNextBoot = ci.rendersAtNextBoot
        var evidence: [Evidence] = edited.map { f in
            let why = f.headerLine == nil ? "cloud-init's header comment is gone: someone else wrote this file"
                : "modified after cloud-init last finished a boot (/var/lib/cloud/instance/boot-finished)"
            return Evidence(path: f.path, line: f.headerLine ?? (f.firstLine.isEmpty ? nil : 1), text: f.firstLine, note: why)
        }
        evidence += ci.evidence.map { Evidence($0) }
        evidence.append(.fact("/etc/cloud/cloud.cfg", ci.summary))
        let files = edited.map(\.path).joined(separator: ", ")
        let when: String
        switch ci.renders {
        case .firstBoot: when = "at the next boot, its first on this disk"
        case .everyBoot(let ds): when = "at every boot (datasource \(ds))"
        case .newInstanceOnly(let ds): when = "when this disk boots as a new instance (a clone, a new VM: a new instance-id from datasource \(ds))"
        }
        let lines = ["# Written by rescue-audit: the network files are edited by hand; cloud-init must not rewrite them.",
                     "network: {config: disabled}"]
        let actions = [
            ProposedAction(.createFile(path: Self.disableFile, lines: lines, mode: 0o644),
                           "Write \(Self.disableFile) with `network: {config: disabled}`, so cloud-init keeps the hand-edited files"),
            ProposedAction(.manual(description: "Alternative: put the configuration where cloud-init takes it from (the cloud's network metadata, or a `network:` block in /etc/cloud/cloud.cfg.d/) and let it render the file again.",
                                   commands: ["ls \(path: "/etc/cloud/cloud.cfg.d")"]),
                           "Alternative (manual): edit cloud-init's source of the network configuration instead"),
        ]
        return [finding(atNextBoot ? .high : .medium,
                        message: "\(files) \(edited.count == 1 ? "was" : "were") edited by hand, but cloud-init renders the network \(when) and rewrites \(edited.count == 1 ? "it" : "them") from \(sourceWords(ci)).",
                        atBoot: atNextBoot ? "At the next boot cloud-init overwrites the hand edit; the machine comes up with the network cloud-init renders, not the one on disk."
                            : "The hand edit holds on this instance, and is lost the first time the disk boots as a new instance.",
                        evidence: evidence, actions: actions)]
    }

    private func sourceWords(_ ci: CloudInitModel) -> String {
        switch ci.networkSource {
        case .systemConfig(let l): "the `network:` configuration in \(l.location.path)"
        case .commandLine: "the kernel command line's network-config="
        default: "the datasource (or its fallback, DHCP on the first NIC)"
        }
    }
}
