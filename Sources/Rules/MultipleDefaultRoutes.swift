import Parsers
import Plan
import SystemModel

/// `multiple-default-routes`: more than one default route per family with the same metric.
public struct MultipleDefaultRoutes: Rule {
    public static let id = "multiple-default-routes"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        var findings: [Finding] = []
        let groups = Dictionary(grouping: system.defaultRoutes) { GroupKey(family: $0.family, metric: $0.metric) }
        for key in groups.keys.sorted(by: { ($0.family.rawValue, $0.metric) < ($1.family.rawValue, $1.metric) }) {
            guard let routes = groups[key], routes.count > 1 else { continue }
            let evidence = routes.map { r in
                Evidence(r.evidence, note: "\(key.family.displayName) default route via \(r.gateway ?? "?") on \(r.device), metric \(r.metric) (\(r.stack))")
            }
            let devices = Array(Set(routes.map(\.device))).sorted()
            let message = "\(routes.count) \(key.family.displayName) default routes with metric \(key.metric) are configured (on \(devices.joined(separator: ", ")))."
            findings.append(finding(
                message: message,
                atBoot: "Only one default route can win: outbound traffic leaves from changing source addresses, or ifup fails on the later routes with \"File exists\".",
                evidence: evidence, actions: fix(routes)))
        }
        return findings
    }

    private struct GroupKey: Hashable {
        var family: AddressFamily
        var metric: Int
    }

    /// Whether a route comes from an alias: an ifupdown stanza for `eth0:0`,
    /// or a RHEL alias file `ifcfg-eth0:0` (whose routes go to its parent).
    private func isAlias(_ r: DefaultRoute) -> Bool {
        switch r.stack {
        case NetworkStack.ifcfg.rawValue:
            let file = r.evidence.location.path.split(separator: "/").last.map(String.init) ?? ""
            return file.hasPrefix("ifcfg-") && file.contains(":")
        default:
            return r.device.contains(":")
        }
    }

    /// Keeps the primary interface's gateway and deletes the alias stanzas'
    /// `gateway` lines (or the alias files' `GATEWAY=` lines); anything else
    /// is for a person to decide.
    private func fix(_ routes: [DefaultRoute]) -> [ProposedAction] {
        let options = routes.filter { $0.origin == .gatewayOption && ($0.stack == NetworkStack.ifupdown.rawValue || $0.stack == NetworkStack.ifcfg.rawValue) }
        let aliasRoutes = options.filter(isAlias)
        let primaries = routes.filter { !isAlias($0) }
        // Keep one: the first primary route; with none, the first alias's.
        var remove = aliasRoutes
        if primaries.isEmpty, !remove.isEmpty { remove.removeFirst() }
        var actions: [ProposedAction] = []
        let byFile = Dictionary(grouping: remove) { $0.evidence.location.path }
        for path in byFile.keys.sorted() {
            let lines = (byFile[path] ?? []).map(\.evidence.location.line)
            let edits = Array(Set(lines)).sorted().map { LineEdit.delete(line: $0) }
            let routesHere = byFile[path] ?? []
            let summary = routesHere.first?.stack == NetworkStack.ifcfg.rawValue
                ? "Remove the GATEWAY line of the alias file \(path)"
                : "Remove the gateway lines of the alias stanzas \(routesHere.map(\.device).joined(separator: ", ")) in \(path)"
            actions.append(ProposedAction(.editLines(path: path, edits: edits), summary))
        }
        let leftover = routes.count - remove.count
        if leftover > 1 {
            let removed = Set(remove)
            let kept = routes.filter { r in !removed.contains(r) }
            actions.append(ProposedAction(
                .manual(description: "Default routes remain on \(Set(kept.map(\.device)).sorted().joined(separator: ", ")) with the same metric: keep one, or give the others a higher metric.",
                        commands: kept.map { "${EDITOR:-vi} \(path: $0.evidence.location.path)   # line \($0.evidence.location.line): \(comment: $0.evidence.text)" }),
                "Decide which default route stays"))
        }
        return actions
    }
}
