import Parsers
import Plan
import SystemModel

/// `duplicate-address`: one address configured twice, on two stacks or on two interfaces.
public struct DuplicateAddress: Rule {
    public static let id = "duplicate-address"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        var byAddress: [IPAddress: [(claim: InterfaceClaim, fact: AddressFact)]] = [:]
        var order: [IPAddress] = []
        struct Place: Hashable { var ip: IPAddress; var location: SourceLocation }
        var places: Set<Place> = []
        for claim in system.persistedClaims where !claim.isLoopback {
            for fact in claim.addresses {
                guard let ip = IPAddress(fact.address), !ip.isLoopback, !ip.isUnspecified else { continue }
                if byAddress[ip] == nil { order.append(ip) }
                // The same line seen twice (a fact both a stanza and its hook report) is one configuration.
                guard places.insert(Place(ip: ip, location: fact.source.location)).inserted else { continue }
                byAddress[ip, default: []].append((claim, fact))
            }
        }
        var findings: [Finding] = []
        for ip in order {
            guard let uses = byAddress[ip], uses.count > 1 else { continue }
            let places = uses.map { "\($0.claim.displayName) (\($0.claim.stack.rawValue))" }
            let distinct = Array(Set(places)).sorted()
            let message = distinct.count == 1
                ? "\(ip.text) is configured \(uses.count) times on \(distinct[0])."
                : "\(ip.text) is configured on \(distinct.joined(separator: " and "))."
            findings.append(finding(
                message: message,
                atBoot: "The second attempt to add \(ip.text) fails (\"RTNETLINK answers: File exists\"), so that interface's bring-up reports failure, or two interfaces answer ARP for the same address and traffic flaps between them.",
                evidence: uses.map { Evidence($0.fact.source, note: "\(ip.text) on \($0.claim.displayName) (\($0.claim.stack.rawValue))") },
                actions: [ProposedAction(
                    .manual(description: "Keep \(ip.text) in one place: remove it from the other configuration (or give that interface its own address).",
                            commands: uses.dropFirst().map { "${EDITOR:-vi} \(path: $0.fact.source.location.path)   # line \($0.fact.source.location.line)" }),
                    "Keep \(ip.text) in one place")]))
        }
        return findings
    }
}
