import Parsers

/// A parser diagnostic with what the broken file controls, so the rule that
/// reports it can grade the severity by its effect at boot.
public struct ConfigDiagnostic: Hashable, Sendable {
    public var diagnostic: Diagnostic
    /// `ifupdown`, `netplan`, `systemd-networkd`, `dpkg status`...
    public var format: String
    /// True when the broken file decides whether the network comes up at boot.
    public var controlsBootNetwork: Bool

    public init(_ diagnostic: Diagnostic, format: String, controlsBootNetwork: Bool) {
        self.diagnostic = diagnostic
        self.format = format
        self.controlsBootNetwork = controlsBootNetwork
    }
}
