import Parsers

public enum AddressFamily: String, Sendable, Codable, Hashable {
    case ipv4, ipv6

    /// The metric the kernel gives a route added without one.
    public var defaultMetric: Int { self == .ipv4 ? 0 : 1024 }

    public var displayName: String { self == .ipv4 ? "IPv4" : "IPv6" }
}

/// A default route the target will install at boot, and where it comes from.
public struct DefaultRoute: Hashable, Sendable {
    public enum Origin: Hashable, Sendable {
        /// A `gateway` option in a stanza (or the equivalent key of another stack).
        case gatewayOption
        /// A command such as `up ip route add default via ...`.
        case command
    }

    public var family: AddressFamily
    public var gateway: String?
    public var metric: Int
    /// The interface (or alias) that carries it.
    public var device: String
    /// The source address the route prefers, when the stanza sets one.
    public var sourceAddress: String?
    /// `ifupdown`, `netplan`...
    public var stack: String
    public var origin: Origin
    /// The line that creates the route.
    public var evidence: SourceLine
}

/// Default routes from ifupdown: `gateway` options of stanzas that come up at
/// boot, and `route add default` / `ip route add default` in their
/// `up`/`post-up` commands.
enum IfupdownRoutes {
    static func defaultRoutes(_ config: IfupdownConfig) -> [DefaultRoute] {
        var out: [DefaultRoute] = []
        let boot = config.bootInterfaces
        for stanza in config.stanzas where boot.contains(stanza.name) {
            let family: AddressFamily? = stanza.family == "inet" ? .ipv4 : stanza.family == "inet6" ? .ipv6 : nil
            let stanzaMetric = stanza.value("metric").flatMap { Int(Text.trimmed($0.value)) }
            let address = stanza.value("address").map { String(Text.trimmed($0.value).split(separator: "/").first ?? "") }
            if let family {
                for gw in stanza.values("gateway") {
                    out.append(DefaultRoute(family: family, gateway: Text.trimmed(gw.value), metric: stanzaMetric ?? family.defaultMetric,
                                            device: stanza.name, sourceAddress: address, stack: "ifupdown",
                                            origin: .gatewayOption, evidence: gw.source))
                }
            }
            for key in ["up", "post-up"] {
                for option in stanza.values(key) {
                    for cmd in commands(option.value) {
                        guard let r = parseRouteCommand(cmd) else { continue }
                        out.append(DefaultRoute(family: r.family, gateway: r.gateway, metric: r.metric ?? r.family.defaultMetric,
                                                device: r.device ?? stanza.name, sourceAddress: r.source ?? address,
                                                stack: "ifupdown", origin: .command, evidence: option.source))
                    }
                }
            }
        }
        return out
    }

    /// Splits a shell command line on `;`, `&&` and `||`.
    static func commands(_ line: String) -> [[String]] {
        var out: [[String]] = []
        var current: [String] = []
        for word in Text.words(line) {
            var w = String(word)
            var ends = false
            if w == ";" || w == "&&" || w == "||" {
                if !current.isEmpty { out.append(current) }
                current = []
                continue
            }
            if w.hasSuffix(";") { w.removeLast(); ends = true }
            if !w.isEmpty { current.append(w) }
            if ends { out.append(current); current = [] }
        }
        if !current.isEmpty { out.append(current) }
        return out
    }

    struct ParsedRoute {
        var family: AddressFamily
        var gateway: String?
        var metric: Int?
        var device: String?
        var source: String?
    }

    /// Recognises net-tools `route add default ...` and iproute2
    /// `ip route add|append default ...`; anything else is not a default route.
    static func parseRouteCommand(_ words: [String]) -> ParsedRoute? {
        var w = words
        // Leading `sudo` and `VAR=value` words do not change what runs.
        while let f = w.first, f == "sudo" || (f.contains("=") && !f.hasPrefix("/")) {
            w.removeFirst()
        }
        guard let cmd = w.first.map({ $0.split(separator: "/").last.map(String.init) ?? $0 }) else { return nil }
        var family: AddressFamily = .ipv4
        func value(after key: String, in list: [String]) -> String? {
            guard let i = list.firstIndex(of: key), i + 1 < list.count else { return nil }
            return list[i + 1]
        }
        if cmd == "route" {
            var rest = Array(w.dropFirst())
            if rest.first == "-A", rest.count > 1 { family = rest[1] == "inet6" ? .ipv6 : .ipv4; rest.removeFirst(2) }
            if rest.first == "-6" { family = .ipv6; rest.removeFirst() }
            guard rest.first == "add" else { return nil }
            let args = Array(rest.dropFirst())
            let isDefault = args.first == "default"
                || (args.first == "-net" && (value(after: "-net", in: args) == "0.0.0.0" || value(after: "-net", in: args) == "0.0.0.0/0")
                    && (value(after: "netmask", in: args) ?? "0.0.0.0") == "0.0.0.0")
                || (args.first == "-net" && value(after: "-net", in: args) == "::/0")
            guard isDefault else { return nil }
            let gw = value(after: "gw", in: args)
            if gw?.contains(":") == true || value(after: "-net", in: args) == "::/0" { family = .ipv6 }
            return ParsedRoute(family: family, gateway: gw, metric: value(after: "metric", in: args).flatMap { Int($0) },
                               device: value(after: "dev", in: args) ?? args.last.flatMap { a in args.count >= 2 && args[args.count - 2] == "dev" ? a : nil })
        }
        guard cmd == "ip" else { return nil }
        var rest = Array(w.dropFirst())
        while let f = rest.first, f.hasPrefix("-") {
            if f == "-6" { family = .ipv6 }
            if f == "-4" { family = .ipv4 }
            rest.removeFirst()
        }
        guard let obj = rest.first, "route".hasPrefix(obj), obj.hasPrefix("r") else { return nil }
        rest.removeFirst()
        guard let verb = rest.first, ["add", "a", "append", "app"].contains(verb) else { return nil }
        let args = Array(rest.dropFirst())
        guard let dest = args.first, ["default", "0.0.0.0/0", "0/0", "::/0"].contains(dest) else { return nil }
        let gw = value(after: "via", in: args)
        if dest == "::/0" || gw?.contains(":") == true { family = .ipv6 }
        return ParsedRoute(family: family, gateway: gw, metric: (value(after: "metric", in: args) ?? value(after: "preference", in: args)).flatMap { Int($0) },
                           device: value(after: "dev", in: args), source: value(after: "src", in: args))
    }
}

extension DefaultRoute {
    /// The default routes a claim of another stack configures.
    static func fromClaim(_ claim: InterfaceClaim) -> [DefaultRoute] {
        // A default route in another table (a VRF's, a policy table) is not the main table's.
        claim.routes.filter { $0.isDefault && ($0.table == nil || $0.table == 254) }.map { r in
            DefaultRoute(family: r.family, gateway: r.gateway, metric: r.metric ?? r.family.defaultMetric,
                         device: claim.effectiveName ?? claim.match?.names.joined(separator: " ") ?? "?",
                         sourceAddress: claim.addresses.first { $0.family == r.family }?.address,
                         stack: claim.stack.rawValue, origin: .gatewayOption, evidence: r.source)
        }
    }
}
