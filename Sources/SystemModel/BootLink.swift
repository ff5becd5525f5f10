import Parsers

/// One link of the chain that decides whether SSH answers after the next
/// boot: interface name → stack → address → default route → firewall →
/// sshd starts → listens → login possible. The boot model computes each
/// link once; the verdict is the first link that is not `.holds`.
public struct BootLink: Hashable, Sendable {
    /// Which link of the chain this is.
    public enum Kind: String, Hashable, Sendable, Codable, CaseIterable {
        case interface, stack, address, defaultRoute = "default-route", firewall
        case sshdStarts = "sshd-starts", listens, login
    }

    /// What the model can say about the link from the disk alone.
    public enum State: String, Hashable, Sendable, Codable {
        /// It holds at the next boot.
        case holds
        /// It breaks at the next boot: nobody gets past it.
        case broken
        /// It cannot be known offline; `summary` says what would decide it.
        case cannotTell = "cannot-tell"
    }

    public var kind: Kind
    public var state: State
    /// One line for a tired administrator: what holds, what breaks, or what
    /// would decide it ("the address comes from DHCP on ens3").
    public var summary: String
    /// The lines that decide it, with file and line.
    public var evidence: [SourceLine]

    public init(_ kind: Kind, _ state: State, _ summary: String, evidence: [SourceLine] = []) {
        self.kind = kind
        self.state = state
        self.summary = summary
        self.evidence = evidence
    }
}
