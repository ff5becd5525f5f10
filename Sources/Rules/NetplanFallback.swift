import Parsers
import Plan
import SystemModel

/// The offline repair for netplan YAML whose netplan.io is gone: the same
/// configuration written for a stack the target has, so the machine comes up
/// without a network to reinstall netplan from.
///
/// - systemd-networkd (part of systemd, so present on every systemd target):
///   one `.network` file per device, named and laid out as netplan 0.106's
///   own generator writes them to /run/systemd/network (`10-netplan-ID.network`:
///   `[Match]`, `[Link]`, `[Network]`, `[Route]`, `[DHCP]`), and the unit
///   enabled with the links `systemctl enable` makes from its [Install]
///   section (with `Also=`: systemd-networkd.socket and
///   systemd-networkd-wait-online.service);
/// - else ifupdown, when installed: `auto`/`iface` stanzas appended to
///   /etc/network/interfaces.
///
/// The YAML itself is moved into the backup directory: nothing reads it any
/// more, and undo.sh puts it back. Only what is translated faithfully is
/// translated: ethernet devices matched by name, MAC or driver, DHCP, static
/// addresses, gateways, routes in the main table, nameservers and search
/// domains, `optional`. Anything else (bonds, bridges, VLANs, Wi-Fi,
/// `set-name`, policy routing, the NetworkManager renderer, a value with
/// characters that do not belong in it) is left to a person, with the reason.
enum NetplanFallback {
    /// The actions, or why there is no safe offline repair.
    static func actions(_ system: SystemSnapshot) -> Result<[ProposedAction], Refusal> {
        let config = system.netplan
        let devices = config.devices
        guard !devices.isEmpty else { return .failure(Refusal("the netplan files define no device")) }
        guard config.isAccepted else { return .failure(Refusal("netplan itself would refuse this configuration, so there is nothing faithful to translate")) }
        if let d = devices.first(where: { $0.type != .ethernets }) {
            return .failure(Refusal("'\(d.id)' is a \(d.type.kind) device; only ethernet devices are translated"))
        }
        for d in devices {
            if let why = untranslatable(d, globalRenderer: config.renderer?.value) { return .failure(Refusal(why)) }
        }
        let moves = config.files.map { ProposedAction(.moveAside(path: $0), "Move \($0) into the backup directory (nothing reads it without netplan.io; undo.sh puts it back)") }

        let networkd = "systemd-networkd.service"
        if system.initSystem.kind == .systemd, system.units.unitFile(networkd) != nil, system.units.isMasked(networkd) == nil {
            let links = system.units.enableLinks(for: networkd)
            guard !links.isEmpty else { return .failure(Refusal("\(networkd) has no [Install] section to enable it by")) }
            var out: [ProposedAction] = []
            for d in devices {
                let path = "/etc/systemd/network/10-netplan-\(d.id).network"
                out.append(ProposedAction(.createFile(path: path, lines: networkdLines(d, yaml: d.source.location.path), mode: 0o644),
                                          "Write \(path): \(d.id) as netplan's networkd renderer would configure it"))
            }
            out += moves
            out.append(ProposedAction(.enableUnit(unit: networkd, links: links.map { SymlinkSpec(path: $0.linkPath, target: $0.target) }),
                                      "Enable \(networkd) (the symlinks `systemctl enable` creates, with its Also= units)"))
            return .success(out)
        }
        if system.packages.hasFiles("ifupdown"), system.units.unitFile("networking.service") != nil || system.initSystem.kind != .systemd {
            for d in devices where d.match != nil || !d.routes.filter({ !$0.isDefault }).isEmpty {
                return .failure(Refusal("ifupdown is the only stack installed, and '\(d.id)' uses \(d.match != nil ? "a match block" : "static routes"), which an iface stanza does not express one to one"))
            }
            var lines: [String] = []
            for d in devices { lines += ifupdownLines(d) }
            return .success([ProposedAction(.appendBlock(path: "/etc/network/interfaces", lines: lines),
                                            "Append stanzas for \(devices.map(\.id).joined(separator: ", ")) to /etc/network/interfaces (ifupdown is installed)")] + moves)
        }
        return .failure(Refusal("neither systemd-networkd nor ifupdown is there to take the configuration over"))
    }

    struct Refusal: Error {
        var reason: String
        init(_ reason: String) { self.reason = reason }
    }

    // MARK: - What is translated

    /// Interface names and globs, MAC addresses, drivers, addresses, domains:
    /// the characters each may hold. Anything else is not written into a file.
    static func isPlain(_ s: String, extra: String = "") -> Bool {
        !s.isEmpty && s.count <= 253 && s.unicodeScalars.allSatisfy { c in
            (c.value >= 0x30 && c.value <= 0x39) || (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A)
                || "._-".unicodeScalars.contains(c) || extra.unicodeScalars.contains(c)
        }
    }
    static func isAddress(_ s: String) -> Bool { isPlain(s, extra: ":/") && s.allSatisfy { $0.isHexDigit || ".:/".contains($0) } }

    static func untranslatable(_ d: NetplanDevice, globalRenderer: String?) -> String? {
        let id = "'\(d.id)'"
        guard d.type == .ethernets else { return "\(id) is a \(d.type.kind) device; only ethernet devices are translated" }
        guard isPlain(d.id, extra: ":") else { return "the device id \(id) holds characters that cannot go into a file name" }
        let renderer = d.renderer?.value ?? globalRenderer ?? "networkd"
        guard renderer == "networkd" else { return "\(id) is rendered by \(renderer), not networkd" }
        if d.setName != nil { return "\(id) renames its interface (set-name), which needs a .link file and a new initramfs" }
        if d.macAddress != nil { return "\(id) sets a MAC address" }
        if let m = d.match {
            if m.drivers.count > 1 { return "\(id) matches several drivers" }
            if m.name == nil && m.macAddress == nil && m.drivers.isEmpty { return "\(id) has an empty match block" }
            for v in [m.name?.value, m.macAddress?.value, m.drivers.first?.value].compactMap({ $0 }) where !isPlain(v, extra: ":*?[]") {
                return "the match of \(id) holds characters that cannot go into a .network file"
            }
        }
        for a in d.addresses where !isAddress(a.address) || a.label != nil || a.lifetime != nil {
            return "an address of \(id) is not a plain address (\(a.source.text))"
        }
        for g in [d.gateway4, d.gateway6].compactMap({ $0 }) where !isAddress(g.value) {
            return "a gateway of \(id) is not a plain address"
        }
        for r in d.routes {
            if r.table != nil { return "\(id) has a route in another table (policy routing)" }
            if let to = r.to, !r.isDefault, !isAddress(to) { return "a route of \(id) has a destination that is not a plain address" }
            if let via = r.via, !isAddress(via) { return "a route of \(id) has a gateway that is not a plain address" }
        }
        for n in d.nameservers where !isAddress(n.value) { return "a nameserver of \(id) is not a plain address" }
        for s in d.searchDomains where !isPlain(s.value) { return "a search domain of \(id) holds characters that do not belong in one" }
        if d.dhcp4?.value != true, d.dhcp6?.value != true, d.addresses.isEmpty { return "\(id) has neither DHCP nor an address" }
        return nil
    }

    /// A target path for a comment line: control characters (a newline would
    /// start a setting) become `?`.
    static func printable(_ s: String) -> String {
        String(String.UnicodeScalarView(s.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? "?" : $0 }))
    }

    static func address(_ a: NetplanAddress) -> String { a.prefixLength.map { "\(a.address)/\($0)" } ?? a.address }

    /// What netplan 0.106's networkd renderer writes for a device (the parts we translate).
    static func networkdLines(_ d: NetplanDevice, yaml: String) -> [String] {
        var l = ["# Written by rescue-audit from the netplan device '\(d.id)' of \(printable(yaml)):",
                 "# netplan.io is not installed, so nothing turned the YAML into this file at boot.",
                 "[Match]"]
        if let m = d.match {
            if let mac = m.macAddress?.value { l.append("PermanentMACAddress=\(mac)") }
            if let n = m.name?.value { l.append("Name=\(n)") }
            if let drv = m.drivers.first?.value { l.append("Driver=\(drv)") }
        } else {
            l.append("Name=\(d.id)")
        }
        if d.optional?.value == true { l += ["", "[Link]", "RequiredForOnline=no"] }
        l += ["", "[Network]"]
        switch (d.dhcp4?.value == true, d.dhcp6?.value == true) {
        case (true, true): l.append("DHCP=yes")
        case (true, false): l.append("DHCP=ipv4")
        case (false, true): l.append("DHCP=ipv6")
        case (false, false): break
        }
        let ll = d.linkLocal?.value ?? ["ipv6"]
        l.append("LinkLocalAddressing=" + (ll.contains("ipv4") && ll.contains("ipv6") ? "yes" : ll.contains("ipv4") ? "ipv4" : ll.contains("ipv6") ? "ipv6" : "no"))
        for a in d.addresses { l.append("Address=\(address(a))") }
        for g in [d.gateway4, d.gateway6].compactMap({ $0 }) { l.append("Gateway=\(g.value)") }
        for n in d.nameservers { l.append("DNS=\(n.value)") }
        if !d.searchDomains.isEmpty { l.append("Domains=" + d.searchDomains.map(\.value).joined(separator: " ")) }
        for r in d.routes {
            l += ["", "[Route]"]
            l.append("Destination=" + (r.isDefault ? (r.via?.contains(":") == true ? "::/0" : "0.0.0.0/0") : (r.to ?? "")))
            if let via = r.via { l.append("Gateway=\(via)") }
            if r.onLink { l.append("GatewayOnLink=true") }
            if let m = r.metric { l.append("Metric=\(m)") }
        }
        if d.dhcp4?.value == true || d.dhcp6?.value == true { l += ["", "[DHCP]", "RouteMetric=100", "UseMTU=true"] }
        return l
    }

    /// The same device as ifupdown stanzas (name-matched devices only).
    static func ifupdownLines(_ d: NetplanDevice) -> [String] {
        var l = ["", "# Written by rescue-audit from the netplan device '\(d.id)' of \(printable(d.source.location.path)) (netplan.io is not installed).",
                 d.optional?.value == true ? "allow-hotplug \(d.id)" : "auto \(d.id)"]
        let v4 = d.addresses.filter { !$0.isIPv6 }, v6 = d.addresses.filter(\.isIPv6)
        let gw4 = d.gateway4?.value ?? d.routes.first { $0.isDefault && $0.via?.contains(":") == false }?.via
        let gw6 = d.gateway6?.value ?? d.routes.first { $0.isDefault && $0.via?.contains(":") == true }?.via
        if d.dhcp4?.value == true {
            l.append("iface \(d.id) inet dhcp")
        }
        for (i, a) in v4.enumerated() {
            l.append("iface \(d.id) inet static")
            l.append("    address \(address(a))")
            if i == 0, d.dhcp4?.value != true, let g = gw4 { l.append("    gateway \(g)") }
        }
        if d.dhcp6?.value == true { l.append("iface \(d.id) inet6 dhcp") }
        for (i, a) in v6.enumerated() {
            l.append("iface \(d.id) inet6 static")
            l.append("    address \(address(a))")
            if i == 0, d.dhcp6?.value != true, let g = gw6 { l.append("    gateway \(g)") }
        }
        return l
    }
}
