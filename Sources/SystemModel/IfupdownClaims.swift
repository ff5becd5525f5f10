import Parsers

/// ifupdown stanzas as claims of the shared network model.
enum IfupdownClaims {
    static func claims(_ config: IfupdownConfig) -> [InterfaceClaim] {
        let boot = config.bootInterfaces
        return config.stanzas.compactMap { stanza in
            var family: AddressFamily? = stanza.family == "inet" ? .ipv4 : stanza.family == "inet6" ? .ipv6 : nil
            // ifupdown2 / ifupdown-ng: `iface swp1` without a family; the address says which.
            if stanza.family.isEmpty, let a = stanza.value("address") { family = a.value.contains(":") ? .ipv6 : .ipv4 }
            guard let family else { return nil }
            var addresses: [AddressFact] = []
            if let a = stanza.value("address") {
                let text = Text.trimmed(a.value)
                let split = IPText.split(text)
                // An explicit `netmask` wins over the address's /length: ifup 0.8 runs
                // `ip addr add 1.2.3.4/255.255.255.128` for `address 1.2.3.4/14` + that netmask.
                let mask = stanza.value("netmask").flatMap { m -> Int? in
                    let t = Text.trimmed(m.value)
                    if let n = Int(t), n >= 0, n <= (family == .ipv6 ? 128 : 32) { return n }
                    return IPText.prefixLength(netmask: t)
                }
                let prefix = mask ?? split.prefix
                addresses.append(AddressFact(family: family, address: split.address, prefixLength: prefix, label: stanza.isAlias ? stanza.name : nil, source: a.source))
            }
            // Addresses added by `up ip addr add ...` (or ifconfig) are persisted too.
            for key in ["pre-up", "up", "post-up"] {
                for option in stanza.values(key) {
                    for cmd in IfupdownRoutes.commands(option.value) {
                        guard let a = parseAddressCommand(cmd) else { continue }
                        let split = IPText.split(a.address)
                        guard split.valid else { continue }
                        addresses.append(AddressFact(family: split.address.contains(":") ? .ipv6 : .ipv4, address: split.address,
                                                     prefixLength: split.prefix ?? a.prefix, label: a.device, source: option.source))
                    }
                }
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

    /// `ip [-4|-6] addr|address add ADDR[/LEN] ... [dev DEV]`, or
    /// `ifconfig DEV[:N] ADDR [netmask MASK]`; nil for any other command.
    static func parseAddressCommand(_ words: [String]) -> (address: String, prefix: Int?, device: String?)? {
        var w = words
        while let f = w.first, f == "sudo" || (f.contains("=") && !f.hasPrefix("/")) { w.removeFirst() }
        guard let cmd = w.first.map({ $0.split(separator: "/").last.map(String.init) ?? $0 }) else { return nil }
        var rest = Array(w.dropFirst())
        func value(after key: String) -> String? {
            guard let i = rest.firstIndex(of: key), i + 1 < rest.count else { return nil }
            return rest[i + 1]
        }
        if cmd == "ip" {
            while let f = rest.first, f.hasPrefix("-") { rest.removeFirst() }
            guard let obj = rest.first, obj.count >= 1, "address".hasPrefix(obj) else { return nil }
            rest.removeFirst()
            guard rest.first == "add" || rest.first == "a" else { return nil }
            rest.removeFirst()
            if rest.first == "local" { rest.removeFirst() }
            guard let address = rest.first else { return nil }
            return (address, nil, value(after: "dev") ?? value(after: "label"))
        }
        if cmd == "ifconfig" {
            guard rest.count >= 2, IPText.split(rest[1]).valid else { return nil }
            return (rest[1], value(after: "netmask").flatMap { IPText.prefixLength(netmask: $0) }, rest[0])
        }
        return nil
    }
}
