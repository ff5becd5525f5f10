import Parsers

/// The network configuration stacks a Linux server may boot with.
public enum NetworkStack: String, Sendable, Codable, Hashable, CaseIterable {
    case ifupdown
    case netplan
    case networkd = "systemd-networkd"
    case ifcfg
    case networkManager = "NetworkManager"
}

/// How a stack picks the interfaces a configuration applies to.
public struct InterfaceMatch: Hashable, Sendable {
    /// Name globs (fnmatch), with `!` negations as networkd writes them.
    public var names: [String] = []
    public var macAddress: String?
    public var driver: String?
    public var type: String?

    public init(names: [String] = [], macAddress: String? = nil, driver: String? = nil, type: String? = nil) {
        self.names = names
        self.macAddress = macAddress
        self.driver = driver
        self.type = type
    }
}

/// An address with its prefix length, as configured.
public struct AddressFact: Hashable, Sendable {
    public var family: AddressFamily
    /// The address without prefix (`192.0.2.10`).
    public var address: String
    public var prefixLength: Int?
    public var label: String?
    public var source: SourceLine

    public init(family: AddressFamily, address: String, prefixLength: Int?, label: String? = nil, source: SourceLine) {
        self.family = family
        self.address = address
        self.prefixLength = prefixLength
        self.label = label
        self.source = source
    }
}

/// A route as configured; `destination` is `default` for 0.0.0.0/0 and ::/0.
public struct RouteFact: Hashable, Sendable {
    public var family: AddressFamily
    public var destination: String
    public var gateway: String?
    public var metric: Int?
    public var table: Int?
    public var onLink: Bool
    public var source: SourceLine

    public init(family: AddressFamily, destination: String, gateway: String?, metric: Int?, table: Int? = nil,
                onLink: Bool = false, source: SourceLine) {
        self.family = family
        self.destination = destination
        self.gateway = gateway
        self.metric = metric
        self.table = table
        self.onLink = onLink
        self.source = source
    }

    public var isDefault: Bool { destination == "default" }
}

/// One stack's configuration of one interface (or of the interfaces a match
/// selects) at boot. Several claims on one interface are themselves a fact.
public struct InterfaceClaim: Hashable, Sendable {
    public var stack: NetworkStack
    /// The interface name, when the configuration names one exactly.
    public var name: String?
    public var match: InterfaceMatch?
    /// The name the stack renames a matched interface to (netplan `set-name`, .link `Name=`).
    public var setName: String?
    public var macAddress: String?
    /// `ethernet`, `bond`, `bridge`, `vlan`, `wifi`, `tunnel`, `loopback`...
    public var kind: String
    /// Brought up at boot (auto, ONBOOT=yes, autoconnect, not `optional` etc.).
    public var autostart: Bool
    public var dhcp4: Bool
    public var dhcp6: Bool
    public var addresses: [AddressFact]
    public var routes: [RouteFact]
    public var nameservers: [Located<String>]
    /// netplan's renderer for this device, when set.
    public var renderer: String?
    /// The stanza, section or file that makes the claim.
    public var source: SourceLine

    public init(stack: NetworkStack, name: String?, match: InterfaceMatch? = nil, setName: String? = nil,
                macAddress: String? = nil, kind: String = "ethernet", autostart: Bool, dhcp4: Bool = false,
                dhcp6: Bool = false, addresses: [AddressFact] = [], routes: [RouteFact] = [],
                nameservers: [Located<String>] = [], renderer: String? = nil, source: SourceLine) {
        self.stack = stack
        self.name = name
        self.match = match
        self.setName = setName
        self.macAddress = macAddress
        self.kind = kind
        self.autostart = autostart
        self.dhcp4 = dhcp4
        self.dhcp6 = dhcp6
        self.addresses = addresses
        self.routes = routes
        self.nameservers = nameservers
        self.renderer = renderer
        self.source = source
    }

    /// The name the interface ends up with: `set-name`, else the configured name.
    public var effectiveName: String? { setName ?? name }
}
