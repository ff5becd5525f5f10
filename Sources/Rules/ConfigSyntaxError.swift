import Parsers
import Plan
import SystemModel

/// `config-syntax-error`: every parser's diagnostics, one finding per file.
public struct ConfigSyntaxError: Rule {
    public static let id = "config-syntax-error"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let byFile = Dictionary(grouping: system.diagnostics) { $0.diagnostic.location.path }
        return byFile.keys.sorted().compactMap { path in
            guard let diags = byFile[path], let first = diags.first else { return nil }
            let boot = diags.contains { $0.impact == .bootNetworkRejected }
            let partial = diags.contains { $0.impact == .partIgnored }
            let lines = diags.map(\.diagnostic.location.line).filter { $0 > 0 }
            let evidence = diags.map { d in
                Evidence(path: path, line: d.diagnostic.location.line > 0 ? d.diagnostic.location.line : nil,
                         text: d.diagnostic.text, note: d.diagnostic.message)
            }
            let atBoot = boot ? consequence(first.format)
                : partial ? partialConsequence(first.format, path, messages: diags.map(\.diagnostic.message))
                : "This does not stop the network at boot, but the tool that reads \(path) does not use the line as written."
            let where_ = lines.isEmpty ? path : "\(path) line\(lines.count > 1 ? "s" : "") \(lines.map(String.init).joined(separator: ", "))"
            return finding(boot ? .critical : partial ? .high : .medium,
                           message: "\(where_): \(first.diagnostic.message)\(diags.count > 1 ? " (and \(diags.count - 1) more)" : "")",
                           atBoot: atBoot, evidence: evidence,
                           actions: [ProposedAction(.manual(description: "Correct the \(first.format) syntax in \(path)",
                                                            commands: ["${EDITOR:-vi} \(path: path)"]),
                                                    "Correct the syntax of \(path) by hand")])
        }
    }

    /// What a tool that keeps going does with the part it cannot read.
    private func partialConsequence(_ format: String, _ path: String, messages: [String]) -> String {
        switch format {
        case "systemd-networkd":
            // conf-parser logs and skips a line it cannot parse; only a file it cannot use at all is dropped.
            "systemd-networkd skips what it cannot parse (the line, or the whole file where the note says so) and applies the rest of \(path) at boot."
        case "ifcfg":
            "The ifcfg reader ignores the assignment it cannot use and applies the rest of \(path) at boot."
        case "NetworkManager keyfile" where messages.contains { $0.hasSuffix("refuses the whole file.") || $0.hasSuffix("rejects the connection.") }:
            "NetworkManager does not load a connection whose keyfile it cannot read, so the connection in \(path) is not activated at boot."
        case "NetworkManager keyfile":
            // NetworkManager 1.42's keyfile reader warns and drops a value it cannot parse
            // (`ipv4.dns: ignoring invalid DNS server IPv4 address 'bogus'`, asserted by its
            // test_read_valid_wired_connection) and loads the rest of the connection.
            "NetworkManager ignores the value it cannot use (a warning in its log) and activates the rest of the connection in \(path) at boot."
        default:
            "The \(format) tool stops reading \(path) at the error, so everything after it is not configured at boot."
        }
    }

    private func consequence(_ format: String) -> String {
        switch format {
        case "ifupdown": "ifup -a refuses the whole interfaces file and brings up no interface, so the machine is unreachable."
        case "netplan": "netplan generates nothing when one file is invalid, so no interface is configured at boot."
        default: "The \(format) configuration is rejected at boot, so the interfaces it configures stay down."
        }
    }
}
