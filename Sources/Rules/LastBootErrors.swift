import Parsers
import Plan
import SystemModel

/// `last-boot-errors`: known failure signatures in the logs of the last boot.
public struct LastBootErrors: Rule {
    public static let id = "last-boot-errors"
    public init() {}

    /// Evidence lines shown per signature; the rest are counted.
    static let shown = 12

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let logs = system.lastBootLogs
        guard !logs.events.isEmpty else { return [] }
        let bySignature = Dictionary(grouping: logs.events, by: \.signature)
        return bySignature.keys.sorted().compactMap { sig in
            guard let events = bySignature[sig], let first = events.first else { return nil }
            var evidence = events.prefix(Self.shown).map { e in
                Evidence(path: e.path, line: e.line, text: e.text)
            }
            if events.count > Self.shown {
                evidence.append(.fact(first.path, "and \(events.count - Self.shown) more lines like these in the last boot"))
            }
            let paths = Array(Set(events.map(\.path))).sorted()
            let how = logs.sources.filter { paths.contains($0.path) }.map { "\($0.path): \($0.how)" }
            let when = first.timestamp.map { " (first at \($0))" } ?? ""
            let message = "The last boot logged \(events.count) line\(events.count == 1 ? "" : "s") of \(Self.words(sig))\(when): \"\(Self.short(first.text))\"."
                + " Read from " + how.joined(separator: "; ") + "."
            var f = finding(Self.severity(sig), message: message, atBoot: Self.atBoot(sig), evidence: evidence,
                            actions: [ProposedAction(.manual(description: "Read the rest of the last boot's log around these lines; the cause is often a few lines earlier.",
                                                             commands: Self.readCommands(logs, paths: paths)),
                                                     "Read the last boot's log around these lines")])
            var names: [String] = []
            for e in events { for s in e.subjects where !names.contains(s) { names.append(s) } }
            f.names = names
            return f
        }
    }

    static func severity(_ s: BootLogSignature) -> Severity {
        switch s {
        case .emergencyMode, .networkingFailed, .hookScriptFailed, .ifupFailed, .fsckFailed, .mountFailed: .high
        case .dependencyFailed, .unitFailed: .medium
        }
    }

    static func words(_ s: BootLogSignature) -> String {
        switch s {
        case .emergencyMode: "systemd entering emergency mode"
        case .networkingFailed: "networking.service (\"Raise network interfaces\") failing"
        case .hookScriptFailed: "network hook scripts failing (run-parts)"
        case .ifupFailed: "ifup failing to bring an interface up"
        case .fsckFailed: "a filesystem check failing"
        case .mountFailed: "a mount failing"
        case .dependencyFailed: "units skipped because a dependency failed"
        case .unitFailed: "units failing to start"
        }
    }

    static func atBoot(_ s: BootLogSignature) -> String {
        switch s {
        case .emergencyMode: "The last boot stopped in emergency mode: no network and no SSH, only the console; the next boot stops the same way until the cause is fixed."
        case .networkingFailed: "networking.service failed at the last boot, so interfaces from /etc/network/interfaces were left down or half-configured; it fails the same way at the next boot until the cause is fixed."
        case .hookScriptFailed: "A script under /etc/network/if-*.d failed, so ifup reported the interface as failed and networking.service failed with it."
        case .ifupFailed: "ifup could not bring an interface up at the last boot, so the addresses and routes of that interface were missing."
        case .fsckFailed: "The filesystem check failed at the last boot; when fsck cannot repair a filesystem the boot needs, systemd stops in emergency mode."
        case .mountFailed: "A filesystem failed to mount at the last boot; one the boot needs (no nofail) stops it in emergency mode."
        case .dependencyFailed: "Units that need a failed unit were not started at the last boot."
        case .unitFailed: "A unit failed to start at the last boot; if it serves the network (sshd, a firewall, a VPN), the machine was unreachable through it."
        }
    }

    static func short(_ text: String) -> String {
        text.count > 200 ? String(text.prefix(200)) + "…" : text
    }

    static func readCommands(_ logs: LastBootLogs, paths: [String]) -> [ShellCommand] {
        var c: [ShellCommand] = []
        if paths.contains(where: { $0.hasPrefix("/var/log/journal/") }) {
            c.append("journalctl --directory \(path: "/var/log/journal") -b \(value: logs.journalBootID ?? "-0") -p warning --no-pager")
        }
        for p in paths where !p.hasPrefix("/var/log/journal/") { c.append("less \(path: p)") }
        return c
    }
}
