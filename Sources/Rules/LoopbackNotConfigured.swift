import Parsers
import Plan
import SystemModel

/// `loopback-not-configured`: ifupdown runs the network and its files never bring lo up.
public struct LoopbackNotConfigured: Rule {
    public static let id = "loopback-not-configured"
    public init() {}

    /// The stanza Debian's installer writes, inserted at the top of the file.
    static let standardStanza = ["# The loopback network interface", "auto lo", "iface lo inet loopback", ""]

    /// Whether ifupdown's files bring lo up: the stanza and `auto lo`, or
    /// `auto lo` where ifupdown defines lo implicitly.
    private struct IfupdownLoopback {
        var autoLo: Located<String>?
        var ifaceLo: IfaceStanza?
        var version: String?
        var implicit: Bool
        var configured: Bool { autoLo != nil && (ifaceLo != nil || implicit) }

        init(_ system: SystemSnapshot, _ config: IfupdownConfig) {
            autoLo = config.autoInterfaces.first { $0.value == "lo" }
            ifaceLo = config.stanzas.first { $0.name == "lo" && $0.family == "inet" && $0.method == "loopback" }
            version = system.packages.package("ifupdown")?.version
            // ifupdown 0.8 adds lo by itself, but only when no stanza uses the loopback method.
            implicit = (system.packages.hasFiles("ifupdown2") || version.map { DebianVersion.isAtLeast($0, "0.8") } ?? false)
                && config.addsLoopbackImplicitly
        }
    }

    /// Whether ifupdown is the stack that has to bring lo up: netplan,
    /// networkd and NetworkManager systems bring lo up themselves.
    private static func ifupdownOwnsLoopback(_ system: SystemSnapshot) -> Bool {
        guard system.ifupdownManagesNetwork else { return false }
        let others = system.stacks.contains { $0.stack != .ifupdown && $0.inCharge }
        return !others || system.status(of: .ifupdown)?.inCharge == true
    }

    /// Whether lo is up after boot, and why; services bound to 127.0.0.1
    /// depend on it.
    public static func loopbackAtBoot(_ system: SystemSnapshot) -> (up: Bool, why: String) {
        if system.initSystem.kind == .systemd { return (true, "systemd as PID 1 sets lo up at boot") }
        guard ifupdownOwnsLoopback(system), let config = system.ifupdown else {
            return (true, "the network stack in charge brings lo up itself")
        }
        let lo = IfupdownLoopback(system, config)
        if loopbackExcluded(system) != nil { return (false, "lo is excluded from `ifup -a`") }
        if lo.configured { return (true, "\(config.mainPath) brings lo up") }
        if lo.implicit { return (true, "ifupdown \(lo.version ?? "") configures lo implicitly") }
        return (false, "init is \(system.initSystem.kind.rawValue) and \(config.mainPath) has no `auto lo` with `iface lo inet loopback`")
    }

    public func check(_ system: SystemSnapshot) -> [Finding] {
        guard Self.ifupdownOwnsLoopback(system), let config = system.ifupdown else { return [] }
        let lo = IfupdownLoopback(system, config)
        let (autoLo, ifaceLo, version) = (lo.autoLo, lo.ifaceLo, lo.version)
        if lo.configured { return [] }

        let grade = grade(system, version: version, implicit: lo.implicit)
        let main = config.mainPath
        var evidence: [Evidence] = []
        var actions: [ProposedAction] = []
        let sourced = config.files.count > 1 ? " (with the \(config.files.count - 1) file(s) it sources)" : ""
        let message: String
        if let ifaceLo {
            evidence.append(Evidence(ifaceLo.source, note: "lo is defined, but no `auto lo` line marks it for `ifup -a`"))
            message = "\(main)\(sourced) defines lo but never marks it `auto`, so `ifup -a` does not bring it up."
            actions.append(ProposedAction(.editLines(path: main, edits: [.insert(["auto lo"], before: 1)]),
                                          "Insert `auto lo` at the top of \(main)"))
        } else if let autoLo {
            evidence.append(Evidence(autoLo.source, note: "`auto lo` without an `iface lo inet loopback` stanza"))
            message = "\(main)\(sourced) marks lo `auto` but has no `iface lo inet loopback`, which ifupdown \(version ?? "before 0.8") needs."
            actions.append(ProposedAction(.editLines(path: main, edits: [.insert(["iface lo inet loopback", ""], before: autoLo.location.line + 1)]),
                                          "Add `iface lo inet loopback` after `auto lo` in \(main)"))
        } else {
            evidence.append(.fact(main, "no `auto lo` and no `iface lo inet loopback` in \(config.files.joined(separator: ", "))"))
            message = "\(main)\(sourced) has no `auto lo` and no `iface lo inet loopback`."
            actions.append(ProposedAction(.editLines(path: main, edits: [.insert(Self.standardStanza, before: 1)]),
                                          "Insert the standard loopback stanza at the top of \(main)"))
        }
        evidence += grade.evidence
        return [finding(grade.severity, message: message + " " + grade.explanation, atBoot: grade.atBoot,
                        evidence: evidence, actions: actions)]
    }

    private struct Grade {
        var severity: Severity
        var explanation: String
        var atBoot: String
        var evidence: [Evidence]
    }

    /// Decides what really brings lo up at boot on this target.
    private func grade(_ system: SystemSnapshot, version: String?, implicit: Bool) -> Grade {
        var evidence: [Evidence] = [.fact("/sbin/init", "init: \(system.initSystem.kind.rawValue) (\(system.initSystem.reason))")]
        if let version { evidence.append(.fact("/var/lib/dpkg/status", "ifupdown \(version)")) }
        let excluded = Self.loopbackExcluded(system)
        if let excluded { evidence.append(Evidence(excluded.source, note: "lo is excluded from `ifup -a`")) }

        if system.initSystem.kind == .systemd {
            return Grade(severity: .low,
                         explanation: "systemd as PID 1 sets lo up itself at boot, so this matters only after `ifdown -a` and a manual `ifup`.",
                         atBoot: "lo comes up through systemd at boot, but `ifdown -a` followed by `ifup eth0` leaves it down and services bound to 127.0.0.1 fail.",
                         evidence: evidence)
        }
        if implicit && excluded == nil {
            return Grade(severity: .low,
                         explanation: "ifupdown \(version ?? "") configures lo implicitly, so this matters only after `ifdown -a` and a manual `ifup`.",
                         atBoot: "lo comes up implicitly at boot, but `ifdown -a` followed by `ifup eth0` leaves it down and services bound to 127.0.0.1 fail.",
                         evidence: evidence)
        }
        let why = excluded != nil ? "lo is excluded from ifup -a" : "ifupdown \(version ?? "(version unknown)") has no implicit loopback"
        return Grade(severity: .critical,
                     explanation: "Nothing brings lo up at boot: init is \(system.initSystem.kind.rawValue), not systemd, and \(why).",
                     atBoot: "lo stays down after boot, so every service that binds to 127.0.0.1 (amavisd, postfix, databases) fails to start.",
                     evidence: evidence)
    }

    /// `EXCLUDE_INTERFACES=lo` in /etc/default/networking, or `--no-loopback` in the networking unit or init script.
    private static func loopbackExcluded(_ system: SystemSnapshot) -> Located<String>? {
        if let a = system.defaultNetworking["EXCLUDE_INTERFACES"], Text.words(a.value).contains("lo") {
            return Located(a.value, a.source)
        }
        return system.facts.noLoopbackLines.first.map { Located($0.text, $0) }
    }
}
