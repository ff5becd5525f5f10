import Parsers
import Plan
import Rules
import SystemModel

/// The JSON report: a stable, versioned schema for pipelines.
/// Bump `schemaVersion` on any incompatible change.
public enum JSONReport {
    /// 2: adds `verdict` (see README, "JSON report").
    public static let schemaVersion = 2

    struct Document: Encodable {
        var schemaVersion: Int
        var tool: Tool
        var target: Target
        var verdict: VerdictDocument?
        var summary: [String: Int]
        var facts: Facts
        var findings: [FindingJSON]
        var plan: PlanJSON
        var skipped: [Skipped]
        var notes: [String]
    }
    struct Tool: Encodable { var name: String; var version: String; var libblkid: String }
    struct Target: Encodable {
        var path: String; var kind: String; var device: String?; var uuid: String?; var os: String?; var auditedAt: String
        /// Mount points whose journal or log holds writes the audit did not see (not replayed).
        var unreplayedJournals: [String]
    }
    struct Facts: Encodable {
        var os: [String: String]
        var initSystem: InitJSON
        var packageDatabase: String?
        var ifupdown: IfupdownJSON?
        var netplan: NetplanJSON
        var networkd: NetworkdJSON
        var interfaces: [ClaimJSON]
        var stacks: [StackJSON]
        var listeners: [ListenerJSON]
        var sshPorts: [Int]
        var defaultRoutes: [RouteJSON]
        var firewall: FirewallJSON
    }
    struct FirewallJSON: Encodable {
        var mechanisms: [MechanismJSON]
        var verdicts: [VerdictJSON]
    }
    struct MechanismJSON: Encodable {
        var kind: String; var name: String; var active: Bool; var reason: String; var files: [String]
        var failures: [String]; var notes: [String]
    }
    struct VerdictJSON: Encodable {
        var question: String; var family: String; var answer: String; var evidence: [EvidenceJSON]; var notes: [String]
    }
    struct StackJSON: Encodable {
        var stack: String; var configured: Bool; var installed: Bool?; var startsAtBoot: Bool; var inCharge: Bool
        var reason: String; var files: [String]
    }
    struct ListenerJSON: Encodable { var service: String; var address: String?; var port: Int?; var path: String; var line: Int }
    struct NetplanJSON: Encodable { var files: [String]; var renderer: String; var installed: Bool; var accepted: Bool }
    struct NetworkdJSON: Encodable { var files: [String]; var masked: [String] }
    struct ClaimJSON: Encodable {
        var stack: String; var name: String?; var match: [String]?; var setName: String?; var macAddress: String?
        var kind: String; var autostart: Bool; var dhcp4: Bool; var dhcp6: Bool
        var addresses: [String]; var gateways: [String]; var nameservers: [String]; var path: String; var line: Int
    }
    struct InitJSON: Encodable { var kind: String; var reason: String }
    struct IfupdownJSON: Encodable {
        var files: [String]
        var version: String?
        var auto: [String]
        var hotplug: [String]
        var interfaces: [StanzaJSON]
    }
    struct StanzaJSON: Encodable {
        var name: String; var family: String; var method: String; var path: String; var line: Int
        var options: [OptionJSON]
    }
    struct OptionJSON: Encodable { var key: String; var value: String; var line: Int }
    struct RouteJSON: Encodable {
        var family: String; var gateway: String?; var metric: Int; var device: String; var source: String?
        var stack: String; var path: String; var line: Int
    }
    struct EvidenceJSON: Encodable {
        var path: String; var line: Int?; var text: String; var note: String?
        // `line` is always present, null for a fact about a whole file, so pipelines see one shape.
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(path, forKey: .path)
            try c.encode(line, forKey: .line)
            try c.encode(text, forKey: .text)
            try c.encodeIfPresent(note, forKey: .note)
        }
        enum CodingKeys: String, CodingKey { case path, line, text, note }
    }
    struct FindingJSON: Encodable {
        var rule: String; var severity: String; var title: String; var message: String; var atBoot: String
        var evidence: [EvidenceJSON]; var actions: [String]
        /// Rules whose findings name the same file or unit.
        var related: [String]
    }
    struct EditJSON: Encodable { var line: Int; var remove: Int; var insert: [String] }
    struct ActionJSON: Encodable {
        var id: String; var kind: String; var summary: String; var rules: [String]
        var path: String?; var sha256: String?; var sha256After: String?
        var edits: [EditJSON]?; var unit: String?; var links: [LinkJSON]?
        var command: [String]?; var undoable: Bool?; var description: String?; var commands: [String]?
        /// For a chroot step: the `DIR/PATTERN` globs of the files undo.sh puts back.
        var restores: [String]? = nil
        /// For a set-ownership step: `mode uid gid` (octal mode, numeric owner) as audited and as set.
        var ownershipBefore: String? = nil
        var ownershipAfter: String? = nil
    }
    struct LinkJSON: Encodable { var path: String; var target: String }
    struct ConflictJSON: Encodable { var path: String; var rules: [String]; var message: String }
    struct PlanJSON: Encodable {
        var actions: [ActionJSON]; var conflicts: [ConflictJSON]
        /// The verdict after the automatic steps, predicted in memory (absent when not predicted).
        var afterRepair: AfterRepairJSON? = nil
    }
    struct AfterRepairJSON: Encodable {
        /// `reachable`, `not-reachable`, `cannot-tell`.
        var outcome: String
        var line: String
        /// The ids of automatic steps whose effect the prediction does not model.
        var notModelled: [String]
    }
    struct Skipped: Encodable { var path: String; var reason: String }
    /// The answer to "will SSH reach this machine after the next boot?".
    struct VerdictDocument: Encodable {
        var version: Int
        /// `reachable`, `not-reachable`, `cannot-tell`.
        var outcome: String
        var line: String
        var bootStops: [BootStopJSON]
        var chain: [BootLinkJSON]
        /// The boot transaction as far as the network is concerned, in order.
        var steps: [StepJSON]
        var endpoints: [EndpointJSON]
        /// Filesystems whose journal was not replayed: the answer stands, but
        /// the files read may differ from what the next boot reads.
        var unreplayedJournals: [JournalJSON]
    }
    struct JournalJSON: Encodable { var mountPoint: String; var device: String; var fsType: String; var check: String? }
    struct StepJSON: Encodable {
        var name: String; var phase: String; var runs: Bool; var succeeds: Bool?; var reason: String; var evidence: [EvidenceJSON]
        func encode(to encoder: Encoder) throws {
            var c = encoder.container(keyedBy: CodingKeys.self)
            try c.encode(name, forKey: .name)
            try c.encode(phase, forKey: .phase)
            try c.encode(runs, forKey: .runs)
            try c.encode(succeeds, forKey: .succeeds)
            try c.encode(reason, forKey: .reason)
            try c.encode(evidence, forKey: .evidence)
        }
        enum CodingKeys: String, CodingKey { case name, phase, runs, succeeds, reason, evidence }
    }
    struct BootStopJSON: Encodable { var rule: String; var summary: String; var evidence: [EvidenceJSON] }
    struct BootLinkJSON: Encodable { var kind: String; var state: String; var summary: String; var evidence: [EvidenceJSON] }
    struct EndpointJSON: Encodable {
        var interface: String; var family: String; var address: String?; var method: String; var port: Int
        var outcome: String; var chain: [BootLinkJSON]
    }

    static func verdict(_ v: Verdict, steps: [BootStep]) -> VerdictDocument {
        func ev(_ l: SourceLine) -> EvidenceJSON {
            EvidenceJSON(l)
        }
        func link(_ l: BootLink) -> BootLinkJSON {
            BootLinkJSON(kind: l.kind.rawValue, state: l.state.rawValue, summary: l.summary, evidence: l.evidence.map(ev))
        }
        return VerdictDocument(
            version: Verdict.version, outcome: v.outcome.rawValue, line: v.line,
            bootStops: v.bootStops.map { BootStopJSON(rule: $0.rule, summary: $0.summary, evidence: $0.evidence.map(ev)) },
            chain: v.chain.map(link),
            steps: steps.map { StepJSON(name: $0.name, phase: $0.phase.name, runs: $0.runs, succeeds: $0.succeeds, reason: $0.reason,
                                        evidence: $0.evidence.map(ev)) },
            endpoints: v.endpoints.map { e in
                EndpointJSON(interface: e.interface, family: e.family.rawValue, address: e.address, method: e.method.rawValue, port: e.port,
                             outcome: e.holds ? "reachable" : e.firstBroken != nil ? "not-reachable" : "cannot-tell",
                             chain: e.chain.map(link))
            },
            unreplayedJournals: v.unreplayedJournals.map { JournalJSON(mountPoint: $0.mountPoint, device: $0.device, fsType: $0.fsType, check: $0.checkCommand) })
    }

    public static func render(_ result: AuditResult, system: SystemSnapshot, context: ReportContext) -> String {
        (try? JSONText.encode(document(result, system: system, context: context))) ?? "{}"
    }

    static func document(_ result: AuditResult, system: SystemSnapshot, context: ReportContext) -> Document {
        var summary: [String: Int] = [:]
        for s in Severity.allCases { summary[s.rawValue] = result.findings.filter { $0.severity == s }.count }
        let findings = result.findings.enumerated().map { i, f in
            FindingJSON(rule: f.rule, severity: f.severity.rawValue, title: f.title, message: f.message, atBoot: f.atBoot,
                        evidence: f.evidence.map(EvidenceJSON.init),
                        actions: uniqueIDs(result.plan.actionsByFinding[i] ?? []), related: f.related)
        }
        let doc = Document(
            schemaVersion: schemaVersion,
            tool: Tool(name: "rescue-audit", version: context.toolVersion, libblkid: context.libblkidVersion),
            target: Target(path: context.target, kind: context.kind.rawValue, device: context.device, uuid: context.uuid,
                           os: system.osName, auditedAt: context.auditedAt,
                           unreplayedJournals: system.unreplayedJournals.map(\.mountPoint)),
            verdict: result.verdict.map { verdict($0, steps: system.bootModel.steps) },
            summary: summary,
            facts: facts(system),
            findings: findings,
            plan: PlanJSON(actions: result.plan.actions.map(action), conflicts: result.plan.conflicts.map {
                ConflictJSON(path: $0.path, rules: $0.rules, message: $0.message)
            }, afterRepair: result.afterRepair.map {
                AfterRepairJSON(outcome: $0.verdict.outcome.rawValue, line: $0.line, notModelled: $0.notModelled.map(\.id))
            }),
            skipped: system.root.skippedReads.map { Skipped(path: $0.path, reason: $0.reason) },
            notes: context.notes)
        return doc
    }

    static func uniqueIDs(_ refs: [PlanReference]) -> [String] {
        var seen = Set<String>()
        return refs.map(\.id).filter { seen.insert($0).inserted }
    }

    static func facts(_ s: SystemSnapshot) -> Facts {
        var ifupdown: IfupdownJSON? = nil
        if let c = s.ifupdown {
            ifupdown = IfupdownJSON(
                files: c.files, version: s.packages.package("ifupdown")?.version,
                auto: c.autoInterfaces.map(\.value), hotplug: c.hotplugInterfaces.map(\.value),
                interfaces: c.stanzas.map { st in
                    StanzaJSON(name: st.name, family: st.family, method: st.method, path: st.source.location.path,
                               line: st.source.location.line,
                               options: st.options.map { OptionJSON(key: $0.key, value: $0.value, line: $0.source.location.line) })
                })
        }
        return Facts(
            os: s.osRelease.filter { ["ID", "NAME", "VERSION_ID", "PRETTY_NAME", "ID_LIKE"].contains($0.key) },
            initSystem: InitJSON(kind: s.initSystem.kind.rawValue, reason: s.initSystem.reason),
            packageDatabase: s.packages.source,
            ifupdown: ifupdown,
            netplan: NetplanJSON(files: s.netplan.files, renderer: s.netplan.effectiveRenderer,
                                 installed: s.netplan.netplanInstalled, accepted: s.netplan.isAccepted),
            networkd: NetworkdJSON(files: s.networkd.files, masked: s.networkd.masked),
            interfaces: s.claims.map { c in
                ClaimJSON(stack: c.stack.rawValue, name: c.name, match: c.match.map(\.names), setName: c.setName,
                          macAddress: c.macAddress, kind: c.kind, autostart: c.autostart, dhcp4: c.dhcp4, dhcp6: c.dhcp6,
                          addresses: c.addresses.map { a in a.prefixLength.map { "\(a.address)/\($0)" } ?? a.address },
                          gateways: c.routes.filter(\.isDefault).compactMap(\.gateway),
                          nameservers: c.nameservers.map(\.value), path: c.source.location.path, line: c.source.location.line)
            },
            stacks: s.stacks.map {
                StackJSON(stack: $0.stack.rawValue, configured: $0.configured, installed: $0.installed,
                          startsAtBoot: $0.startsAtBoot, inCharge: $0.inCharge, reason: $0.reason, files: $0.files)
            },
            listeners: s.listeners.listeners.map {
                ListenerJSON(service: $0.service, address: $0.address, port: $0.port,
                             path: $0.source.location.path, line: $0.source.location.line)
            },
            sshPorts: s.listeners.sshPorts.map(\.value),
            defaultRoutes: s.defaultRoutes.map {
                RouteJSON(family: $0.family.rawValue, gateway: $0.gateway, metric: $0.metric, device: $0.device,
                          source: $0.sourceAddress, stack: $0.stack, path: $0.evidence.location.path, line: $0.evidence.location.line)
            },
            firewall: FirewallJSON(
                mechanisms: s.firewall.mechanisms.map { m in
                    MechanismJSON(kind: m.kind.rawValue, name: m.name, active: m.active, reason: m.reason, files: m.files,
                                  failures: m.failures.map { "\($0.line.map { "\($0.location)" } ?? $0.path): \($0.message)" }, notes: m.notes)
                },
                verdicts: s.firewall.verdicts.map { v in
                    VerdictJSON(question: v.question.description, family: v.family.rawValue, answer: v.answer.rawValue,
                                evidence: v.evidence.map(EvidenceJSON.init),
                                notes: v.notes)
                }))
    }

    static func action(_ a: PlannedAction) -> ActionJSON {
        var j = ActionJSON(id: a.id, kind: a.kind, summary: a.summary, rules: a.rules, path: a.path)
        switch a.operation {
        case .writeFile(_, let before, let after, _, _, let edits):
            j.sha256 = before
            j.sha256After = after
            j.edits = edits.map { EditJSON(line: $0.line, remove: $0.removeCount, insert: $0.insert) }
        case .moveAside(_, let before):
            j.sha256 = before
        case .createSymlink(let s), .removeSymlink(let s):
            j.links = [LinkJSON(path: s.path, target: s.target)]
        case .setOwnership(_, let from, let to):
            j.ownershipBefore = from.words
            j.ownershipAfter = to.words
        case .enableUnit(let unit, let links):
            j.unit = unit
            j.links = links.map { LinkJSON(path: $0.path, target: $0.target) }
        case .chroot(let command, let why, let undoable, let changes):
            j.command = command
            j.description = why
            j.undoable = undoable
            if !changes.isEmpty { j.restores = changes }
        case .manual(let d, let c):
            j.description = d
            j.commands = c.map(\.text)
        }
        return j
    }
}

extension JSONReport.ActionJSON {
    init(id: String, kind: String, summary: String, rules: [String], path: String?) {
        self.init(id: id, kind: kind, summary: summary, rules: rules, path: path, sha256: nil, sha256After: nil,
                  edits: nil, unit: nil, links: nil, command: nil, undoable: nil, description: nil, commands: nil)
    }
}

extension JSONReport.EvidenceJSON {
    /// The one mapping of evidence to JSON: a finding's, and (through
    /// `Evidence(_:)`, which drops line 0) the verdict's and the firewall's source lines.
    init(_ e: Evidence) { self.init(path: e.path, line: e.line, text: e.text, note: e.note) }
    init(_ s: SourceLine) { self.init(Evidence(s)) }
}
