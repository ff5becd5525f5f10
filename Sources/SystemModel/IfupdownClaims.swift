import Parsers

/// ifupdown stanzas as claims of the shared network model.
enum IfupdownClaims {
    static func claims(_ config: IfupdownConfig) -> [InterfaceClaim] {
        let boot = config.bootInterfaces
        return config.stanzas.compactMap { stanza in
            let family: AddressFamily? = stanza.family == "inet" ? .ipv4 : stanza.family == "inet6" ? .ipv6 : nil
            guard let family else { return nil }
            var addresses: [AddressFact] = []
            if let a = stanza.value("address") {
                let text = Text.trimmed(a.value)
                let split = IPText.split(text)
                let prefix = split.prefix ?? stanza.value("netmask").flatMap { IPText.prefixLength(netmask: Text.trimmed($0.value)) }
                addresses.append(AddressFact(family: family, address: split.address, prefixLength: prefix, label: stanza.isAlias ? stanza.name : nil, source: a.source))
            }
            let metric = stanza.value("metric").flatMap { Int(Text.trimmed($0.value)) }
            let routes = stanza.values("gateway").map { g in
                RouteFact(family: family, destination: "default", gateway: Text.trimmed(g.value), metric: metric, source: g.source)
            }
            let dns = stanza.values("dns-nameservers").flatMap { o in Text.words(o.value).map { Located(String($0), o.source) } }
            return InterfaceClaim(
                stack: .ifupdown, name: stanza.name, macAddress: stanza.value("hwaddress").map { Text.trimmed($0.value) },
                kind: stanza.method == "loopback" ? "loopback" : stanza.isAlias ? "alias" : "ethernet",
                autostart: boot.contains(stanza.name),
                dhcp4: family == .ipv4 && stanza.method == "dhcp",
                dhcp6: family == .ipv6 && (stanza.method == "dhcp" || stanza.method == "auto"),
                addresses: addresses, routes: routes, nameservers: dns, source: stanza.source)
        }
    }
}
