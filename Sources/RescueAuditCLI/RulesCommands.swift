import ArgumentParser
import Report
import Rules

/// `rescue-audit rules`: the catalogue.
struct RulesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "rules", abstract: "List every rule with its severity and title.")

    @Option(name: .long, help: "Output format: text or json.")
    var format: OutputFormat = .text

    func run() throws {
        let all = RuleCatalogue.all
        if format == .json {
            printOut(try JSONText.encode(all) + "\n")
            return
        }
        let width = all.map(\.id.count).max() ?? 0
        var out = ""
        for r in all {
            out += r.id.padding(width) + "  " + r.severity.rawValue.padding(8) + "  " + r.title + "\n"
        }
        printOut(out)
    }
}

/// `rescue-audit explain ID`: one rule in full.
struct ExplainCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "explain", abstract: "Explain one rule: why it matters and how it is fixed.")

    @Argument(help: "A rule id, as `rescue-audit rules` lists them.")
    var id: String

    func validate() throws {
        guard RuleCatalogue.metadata(id) != nil else {
            throw ValidationError("There is no rule \(id); `rescue-audit rules` lists them.")
        }
    }

    func run() throws {
        guard let r = RuleCatalogue.metadata(id) else { return }
        var out = "\(r.id) (\(r.severity.rawValue))\n\(r.title)\n\n"
        out += "What it finds\n  \(r.summary)\n\nWhy it matters\n  \(r.rationale)\n\nHow it is fixed\n  \(r.fix)\n"
        if !r.references.isEmpty { out += "\nReferences\n" + r.references.map { "  - \($0)\n" }.joined() }
        printOut(out)
    }
}

extension String {
    func padding(_ n: Int) -> String { count >= n ? self : self + String(repeating: " ", count: n - count) }
}
