import Parsers

/// What a diagnostic costs at boot, decided by the layer that knows what the
/// broken file controls.
public enum DiagnosticImpact: String, Hashable, Sendable {
    /// The tool that configures the network at boot refuses the whole configuration.
    case bootNetworkRejected
    /// The tool stops reading the file there, or drops the line: part of the configuration is lost.
    case partIgnored
    /// The tool tolerates it, or the file does not decide the network.
    case tolerated
}

/// A parser diagnostic with what the broken file controls, so the rule that
/// reports it can grade the severity by its effect at boot.
public struct ConfigDiagnostic: Hashable, Sendable {
    public var diagnostic: Diagnostic
    /// `ifupdown`, `netplan`, `systemd-networkd`, `dpkg status`...
    public var format: String
    public var impact: DiagnosticImpact

    public init(_ diagnostic: Diagnostic, format: String, impact: DiagnosticImpact) {
        self.diagnostic = diagnostic
        self.format = format
        self.impact = impact
    }
}
