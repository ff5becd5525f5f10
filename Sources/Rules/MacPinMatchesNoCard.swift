import Parsers
import Plan
import SystemModel

/// `mac-pin-matches-no-card`: a netplan device takes its name with
/// `set-name` on the card of one MAC (`match: macaddress`), and no card of
/// this machine has that MAC: a clone, a new NIC, a disk moved to a new VM.
public struct MacPinMatchesNoCard: Rule {
    public static let id = "mac-pin-matches-no-card"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let pins = system.cloudInit.macPins
        guard !pins.isEmpty else { return [] }
        let ci = system.cloudInit
        guard let hardware = system.environment.hardware else {
            // Unknown hardware: the pin decides only if nothing renders the file again at boot.
            let kept = pins.filter { !(ci.rendersAtNextBoot && ci.contentUnknown && $0.generatedByCloudInit) }
            guard !kept.isEmpty else { return [] }
            return [finding(.low,
                            message: "\(kept.map { "\($0.setName) is configured only for the card with MAC \($0.mac.value)" }.joined(separator: "; ")) (`match: macaddress` with `set-name`): whether it comes up depends on the NIC's MAC.",
                            atBoot: "On other hardware (a clone of this disk, a replaced NIC, a new VM) no card matches and the interface is not configured.",
                            evidence: kept.map { Evidence($0.mac.source, note: "depends on the NIC's MAC; audit with --hardware or from a rescue boot of the machine to check it") })]
        }
        let macs = Set(hardware.compactMap { $0.mac?.lowercased() })
        let missing = pins.filter { !macs.contains($0.mac.value.lowercased()) }
        guard !missing.isEmpty else { return [] }
        // cloud-init renders the file again from the datasource at this boot: the pin is its business.
        let stale = missing.filter { !(ci.rendersAtNextBoot && ci.contentUnknown && ($0.generatedByCloudInit || ci.generatedFile($0.mac.source.location.path) != nil)) }
        guard !stale.isEmpty else { return [] }
        let finals = system.naming.bootNames(of: hardware)
        var evidence: [Evidence] = stale.map { Evidence($0.mac.source, note: "\($0.setName) exists only on the card with this MAC") }
        evidence.append(.fact("/sys/class/net", "network cards on this machine: " + hardware.map { "\($0.currentName) \($0.mac ?? "?")" }.joined(separator: ", ")))
        evidence += ci.evidence.map { Evidence($0) }
        var actions: [ProposedAction] = []
        for p in stale {
            let card = finals.first { $0.name == p.setName }?.nic ?? (finals.count == 1 ? finals.first?.nic : nil)
            let text = p.mac.source.text
            let line = p.mac.source.location.line
            if let card, let mac = card.mac, line > 0, text.contains(p.mac.value) {
                actions.append(ProposedAction(.editLines(path: p.mac.source.location.path,
                                                         edits: [.replace(line: line, with: [text.replacing(p.mac.value, with: mac.lowercased())])]),
                                              "Pin \(p.setName) to this machine's card: MAC \(mac.lowercased()) (\(card.currentName)) in \(p.mac.source.location.path)"))
            } else {
                actions.append(ProposedAction(.manual(description: "Set `macaddress:` of '\(p.id)' in \(p.mac.source.location.path) to the MAC of the card \(p.setName) is meant for (`ip link` on the machine), or match it by name instead.",
                                                      commands: ["${EDITOR:-vi} \(path: p.mac.source.location.path)"]),
                                              "Set the MAC of \(p.setName) to the machine's card (manual: several cards)"))
            }
        }
        let otherHolds = system.bootModel.endpoints.contains { e in e.holds && !stale.contains { $0.setName == e.interface } }
        return [finding(otherHolds ? .high : .critical,
                        message: "\(stale.map { "\($0.setName) is pinned to MAC \($0.mac.value)" }.joined(separator: "; ")), and no card of this machine has \(stale.count == 1 ? "it" : "them")" + (ci.rendersNetwork && !ci.rendersAtNextBoot ? "; cloud-init keeps the file on this instance (it renders again only for a new instance-id)." : "."),
                        atBoot: "No card matches, so \(stale.map(\.setName).joined(separator: ", ")) is not configured at boot" + (otherHolds ? "." : " and the machine has no network."),
                        evidence: evidence, actions: actions)]
    }
}
