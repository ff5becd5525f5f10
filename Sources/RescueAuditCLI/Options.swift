import ArgumentParser
import Glibc
import RescueSys
import Rules

/// Output formats of the report.
public enum OutputFormat: String, ExpressibleByArgument, CaseIterable, Sendable {
    case text, json, markdown
}

extension Severity: ExpressibleByArgument {}

/// Options every reporting command shares.
struct ReportOptions: ParsableArguments {
    @Option(name: .long, help: "Output format: text, json or markdown.")
    var format: OutputFormat = .text

    @Option(name: .customLong("fail-on"), help: "Exit 1 when a finding is at or above this severity (critical, high, medium, low, info).")
    var failOn: Severity = .low

    /// Colour only on a terminal, and never when NO_COLOR is set (no-color.org).
    var useColor: Bool {
        guard format == .text, sysIsTerminal(STDOUT_FILENO) else { return false }
        if let v = getenv("NO_COLOR"), v.pointee != 0 { return false }
        return true
    }
}

/// Prints an error the way every command does: one line on stderr.
func printError(_ message: String) {
    sysWriteAll(STDERR_FILENO, "rescue-audit: " + message + "\n")
}

/// Writes to stdout without buffering surprises.
func printOut(_ text: String) {
    sysWriteAll(STDOUT_FILENO, text)
}
