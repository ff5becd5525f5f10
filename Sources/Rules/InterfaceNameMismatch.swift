import Parsers
import Plan
import SystemModel

/// `interface-name-mismatch`: the configuration names interfaces (eth0) that
/// will not exist under the naming policy the target boots with.
public struct InterfaceNameMismatch: Rule {
    public static let id = "interface-name-mismatch"
    public init() {}

    /// A physical interface name the configuration relies on at boot.
    struct Configured {
        var name: String
        var claims: [InterfaceClaim] = []
        /// Lines that name it (stanzas, auto lines, bridge ports...).
        var lines: [SourceLine] = []
        var mac: String?
        /// Carries an address, DHCP or a route (rather than being, say, a bridge port).
        var carriesTraffic = false
    }

    static func isKernelStyle(_ n: String) -> Bool {
        n.hasPrefix("eth") && n.count > 3 && n.dropFirst(3).allSatisfy(\.isNumber)
    }

    /// Names udev's net_id builtin produces for Ethernet: eno1, ens3, enp0s3, enx…, enP…, enX0, ena…, enc…, env…, eni….
    static func isPredictable(_ n: String) -> Bool {
        let u = Array(n.utf8)
        guard u.count >= 4, u[0] == UInt8(ascii: "e"), u[1] == UInt8(ascii: "n") else { return false }
        let kind = Character(UnicodeScalar(u[2])), next = Character(UnicodeScalar(u[3]))
        switch kind {
        case "o", "s", "p", "P", "X", "v", "i", "b": return next.isNumber
        case "x": return u.count == 15 && u[3...].allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
        case "c", "a": return next.isHexDigit
        default: return false
        }
    }

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let configured = Self.configuredNames(system)
        guard !configured.isEmpty else { return [] }
        let naming = system.naming
        if let hardware = system.environment.hardware {
            return exact(system, naming, configured, hardware)
        }
        return generic(system, naming, configured)
    }

    // MARK: - What the configuration names

    static func configuredNames(_ system: SystemSnapshot) -> [Configured] {
        let acting = Set(system.stacks.filter(\.inCharge).map(\.stack))
        var byName: [String: Configured] = [:]
        var order: [String] = []
        // (name, line) pairs noted, so a card with 20,000 aliases is not a quadratic scan.
        struct Noted: Hashable { var name: String; var line: SourceLine }
        var noted: Set<Noted> = []
        func note(_ name: String, _ line: SourceLine, claim: InterfaceClaim? = nil) {
            guard isKernelStyle(name) || isPredictable(name) else { return }
            if byName[name] == nil { byName[name] = Configured(name: name); order.append(name) }
            if noted.insert(Noted(name: name, line: line)).inserted { byName[name]!.lines.append(line) }
            if let claim {
                byName[name]!.claims.append(claim)
                if let m = claim.macAddress ?? claim.match?.macAddress { byName[name]!.mac = byName[name]!.mac ?? m.lowercased() }
                if claim.dhcp4 || claim.dhcp6 || !claim.addresses.isEmpty || !claim.routes.isEmpty { byName[name]!.carriesTraffic = true }
            }
        }
        for claim in system.claims where claim.autostart && acting.contains(claim.stack) {
            guard ["ethernet", "alias", "802-3-ethernet"].contains(claim.kind), claim.setName == nil, let raw = claim.name else { continue }
            // Matched by MAC: the stack finds the card whatever its name (ifcfg HWADDR, NetworkManager mac-address).
            if claim.match?.macAddress != nil && claim.stack != .ifupdown { continue }
            if let names = claim.match?.names, names.contains(where: { $0.contains(where: { "*?[!".contains($0) }) }) { continue }
            // An alias (eth0:1) or a VLAN (eth0.100) lives on its parent.
            let base = String(raw.split(separator: ":", maxSplits: 1).first ?? Substring(raw))
            let parent = String(base.split(separator: ".", maxSplits: 1).first ?? Substring(base))
            note(parent, claim.source, claim: claim)
        }
        if let config = system.ifupdown, acting.contains(.ifupdown) {
            let boot = config.bootInterfaces
            for item in config.items {
                switch item {
                case .auto(let names, let line):
                    for n in names where byName[n] != nil { note(n, line) }
                case .allow(_, let names, let line):
                    for n in names where byName[n] != nil { note(n, line) }
                case .iface(let stanza) where boot.contains(stanza.name):
                    for key in ["bridge_ports", "bridge-ports", "bond-slaves", "bond_slaves", "slaves", "vlan-raw-device", "vlan_raw_device"] {
                        for o in stanza.values(key) {
                            for w in Text.words(o.value) { note(String(w), o.source) }
                        }
                    }
                default: break
                }
            }
        }
        return order.compactMap { byName[$0] }
    }

    // MARK: - Without the hardware

    private func generic(_ system: SystemSnapshot, _ naming: InterfaceNaming, _ configured: [Configured]) -> [Finding] {
        // Only predictable names, and the root renames every card to one: no
        // finding can follow, whatever the initramfs does, so it is not read.
        if !configured.contains(where: { Self.isKernelStyle($0.name) }), naming.genericRename(naming.root) != nil { return [] }
        let renames = naming.genericRenames
        var findings: [Finding] = []
        let kernelNames = configured.filter { Self.isKernelStyle($0.name) && naming.pin(for: $0.name) == nil }
        if !kernelNames.isEmpty && !renames.isEmpty {
            findings.append(kernelNamesFinding(system, naming, kernelNames, renames: renames))
        } else if !kernelNames.isEmpty, case .unreadable(let path, let why) = naming.initramfs, naming.genericRename(naming.root) == nil,
                  let f = unreadableInitramfsFinding(naming, kernelNames, path: path, why: why) {
            findings.append(f)
        }
        let predictable = configured.filter { Self.isPredictable($0.name) && naming.pin(for: $0.name) == nil }
        if !predictable.isEmpty, renames.isEmpty, let off = namingOff(naming) {
            findings.append(predictableNamesFinding(predictable, off: off, naming: naming))
        }
        return findings
    }

    /// Positive evidence that names stay as the kernel gives them: net.ifnames=0, or masks.
    private func namingOff(_ naming: InterfaceNaming) -> [Evidence]? {
        if naming.commandLine.disablesPredictableNames, let c = naming.commandLine.effective {
            return [Evidence(c.source, note: "net.ifnames=0: udev keeps the kernel's names (\(naming.commandLine.explanation))")]
        }
        var out: [Evidence] = []
        if case .masked(let path, let how) = naming.root.setupLink { out.append(.fact(path.hasPrefix("/") ? path : "/etc/udev/rules.d/80-net-setup-link.rules", how)) }
        for m in naming.root.maskedLinks where m.hasSuffix("/99-default.link") { out.append(.fact(m, "\(m) is masked")) }
        return out.isEmpty ? nil : out
    }

    private func kernelNamesFinding(_ system: SystemSnapshot, _ naming: InterfaceNaming, _ names: [Configured], renames: [NamingStep]) -> Finding {
        var evidence: [Evidence] = []
        for c in names {
            evidence += c.lines.prefix(4).map { Evidence($0, note: "\(c.name) is configured here") }
        }
        evidence += renameEvidence(naming, renames)
        let list = names.map(\.name).joined(separator: ", ")
        let severity: Severity = names.contains(where: \.carriesTraffic) ? .critical : .high
        let whereRenamed = renames.map { $0.why.split(separator: " renames", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? $0.why }
        let message = "The configuration names \(list), but predictable interface naming is active (\(whereRenamed.joined(separator: " and "))): the network cards will be called ens3, enp0s3 or eno1, and \(names.count == 1 ? "\(list) will not exist" : "none of \(list) will exist")."
        let actions = fixKernelNames(system, naming, names)
        return finding(severity, message: message,
                       atBoot: "udev renames the cards, the stanzas for \(list) match no interface, and the machine comes up without its addresses and routes.",
                       evidence: evidence, actions: actions)
    }

    private func unreadableInitramfsFinding(_ naming: InterfaceNaming, _ names: [Configured], path: String, why: String) -> Finding? {
        var evidence = names.flatMap { c in c.lines.prefix(2).map { Evidence($0, note: "\(c.name) is configured here") } }
        evidence.append(.fact(path, "could not read the initramfs: \(why)"))
        evidence += keptEvidence(naming.root)
        return finding(.medium,
                       message: "The root filesystem keeps kernel names (\(names.map(\.name).joined(separator: ", "))), but the initramfs \(path) could not be read, so whether it renames the cards first is unknown.",
                       atBoot: "If the initramfs carries udev's naming rules without the root's masks, the cards are renamed before the root is mounted and \(names.map(\.name).joined(separator: ", ")) do not exist.",
                       evidence: evidence, actions: regenerate(naming, system: nil).map { [$0] } ?? [])
    }

    private func predictableNamesFinding(_ names: [Configured], off: [Evidence], naming: InterfaceNaming) -> Finding {
        var evidence = names.flatMap { c in c.lines.prefix(3).map { Evidence($0, note: "\(c.name) is a predictable name") } }
        evidence += off
        let list = names.map(\.name).joined(separator: ", ")
        let commands: [ShellCommand] = naming.commandLine.disablesPredictableNames
            ? ["# remove net.ifnames=0 from GRUB_CMDLINE_LINUX in \"$ROOT/etc/default/grub\", then:", "chroot \"$ROOT\" update-grub"]
            : ["rm -- \"$ROOT/etc/systemd/network/99-default.link\" \"$ROOT/etc/udev/rules.d/80-net-setup-link.rules\"", "chroot \"$ROOT\" update-initramfs -u -k all"]
        return finding(names.contains(where: \.carriesTraffic) ? .critical : .high,
                       message: "The configuration names \(list), predictable names, but predictable naming is turned off, so the cards keep the kernel's names (eth0, eth1...) and \(list) will not exist.",
                       atBoot: "The cards come up as eth0..., the configuration for \(list) matches nothing, and the machine has no address.",
                       evidence: evidence,
                       actions: [ProposedAction(.manual(description: "Either turn predictable naming back on, or rename \(list) in the configuration to the kernel's names.", commands: commands),
                                                "Make the configured names and the naming policy agree")])
    }

    // MARK: - With the hardware

    private func exact(_ system: SystemSnapshot, _ naming: InterfaceNaming, _ configured: [Configured], _ hardware: [HardwareNIC]) -> [Finding] {
        let finals = naming.bootNames(of: hardware)
        let existing = Set(finals.map(\.name))
        let missing = configured.filter { !existing.contains($0.name) }
        guard !missing.isEmpty else { return [] }
        let unclaimed = finals.filter { f in !configured.contains { $0.name == f.name } }

        var findings: [Finding] = []
        for c in missing {
            var evidence = c.lines.prefix(4).map { Evidence($0, note: "\(c.name) is configured here") }
            for f in finals {
                let how = f.steps.isEmpty ? "keeps the kernel's name \(f.kernel)" : f.steps.map { "\($0.from) -> \($0.to): \($0.why)" }.joined(separator: "; ")
                evidence.append(.fact("/sys/class/net/\(f.nic.currentName)",
                                      "NIC \(f.nic.mac ?? "?") (\(f.nic.driver ?? "driver ?"), \(f.nic.pciAddress ?? f.nic.devicePath ?? "?")) will be \(f.name): \(how)"))
            }
            evidence.append(.fact(naming.commandLine.bootConfig ?? "/boot", "kernel command line: \(naming.commandLine.explanation)"))
            evidence.append(initramfsEvidence(naming))
            // Which card was meant: by MAC, or the only card no configuration names.
            let target = c.mac.flatMap { m in finals.first { $0.nic.mac?.lowercased() == m } }
                ?? (missing.count == 1 && unclaimed.count == 1 ? unclaimed.first : nil)
            var actions: [ProposedAction] = []
            if let target {
                actions += renameInConfig(system, from: c.name, to: target.name)
            } else if let mac = c.mac, case .active = naming.root.setupLink {
                actions += pin(c.name, mac: mac, naming: naming, system: system)
            }
            if actions.isEmpty {
                actions.append(ProposedAction(.manual(description: "Rename \(c.name) in the configuration to the name of the card it is meant for: \(finals.map { "\($0.nic.mac ?? "?") will be \($0.name)" }.joined(separator: ", ")).",
                                                      commands: c.lines.map { "${EDITOR:-vi} \(path: $0.location.path)   # line \($0.location.line)" }),
                                              "Rename \(c.name) to the card's real name"))
            }
            let names = finals.map(\.name).joined(separator: ", ")
            findings.append(finding(c.carriesTraffic ? .critical : .high,
                                    message: "\(c.name) is configured, but on this machine's hardware the cards will be named \(names.isEmpty ? "(none found)" : names) at the next boot, so \(c.name) will not exist.",
                                    atBoot: "The configuration for \(c.name) matches no interface\(target.map { ": the card it is meant for comes up as \($0.name), without its addresses and routes" } ?? ", and its addresses and routes are never configured").",
                                    evidence: evidence, actions: actions))
        }
        return findings
    }

    // MARK: - Evidence

    private func renameEvidence(_ naming: InterfaceNaming, _ renames: [NamingStep]) -> [Evidence] {
        var out: [Evidence] = []
        for step in renames {
            if step.why.hasPrefix("the initramfs"), let path = naming.initramfs.path {
                out.append(.fact(path, step.why + (step.source.map { " [\($0.location): \($0.text)]" } ?? "")))
            } else if let s = step.source {
                out.append(Evidence(s, note: step.why))
            } else {
                out.append(.fact("/usr/lib/systemd/network/99-default.link", step.why))
            }
        }
        out.append(.fact(naming.commandLine.effective?.source.location.path ?? naming.commandLine.bootConfig ?? "/boot",
                         "no net.ifnames=0 on the kernel command line: \(naming.commandLine.explanation)"))
        out.append(initramfsEvidence(naming))
        out += keptEvidence(naming.root)
        return out
    }

    /// Masks in the root, which do nothing when the initramfs renames first.
    private func keptEvidence(_ layer: NamingLayer) -> [Evidence] {
        var out: [Evidence] = []
        if case .masked(let path, let how) = layer.setupLink { out.append(.fact(path, "in the root: \(how)")) }
        for m in layer.maskedLinks where m.hasSuffix("99-default.link") { out.append(.fact(m, "in the root: \(m) is masked")) }
        return out
    }

    private func initramfsEvidence(_ naming: InterfaceNaming) -> Evidence {
        switch naming.initramfs {
        case .notFound(let why):
            return .fact("/boot", "no initramfs: \(why); only the root's udev names the cards")
        case .unreadable(let path, let why):
            return .fact(path, "could not read the initramfs: \(why)")
        case .read(let path, let layer, let segments, let how):
            let parts = segments.map { "\($0.format) (\($0.entries) entries)" }.joined(separator: " + ")
            var state: String
            switch layer.setupLink {
            case .active: state = "it carries 80-net-setup-link.rules"
            case .masked(_, let how): state = "80-net-setup-link.rules is masked there (\(how))"
            case .absent: state = "it has no 80-net-setup-link.rules"
            }
            state += layer.defaultLinkMasked ? ", 99-default.link masked" : ", \(layer.linkFiles.count) .link file(s)"
            state += layer.hasNetworkDrivers ? ", network drivers (\(layerDriverSample(layer)))" : ", no network drivers"
            return .fact(path, "initramfs (\(how)): \(parts); \(state)")
        }
    }

    private func layerDriverSample(_ layer: NamingLayer) -> String {
        guard let m = layer.modules else { return "" }
        let net = ["virtio_net", "e1000", "e1000e", "igb", "ixgbe", "r8169", "tg3", "bnx2", "vmxnet3", "ena", "mlx5_core", "i40e", "ice"].filter { m.contains($0) }
        return net.isEmpty ? "others" : net.joined(separator: ", ")
    }

    // MARK: - Fixes

    /// Replaces the name as a word (also as the parent of eth0:1 and eth0.100) in every file that configures it.
    private func renameInConfig(_ system: SystemSnapshot, from: String, to: String) -> [ProposedAction] {
        var files: [String] = []
        if let config = system.ifupdown { files += config.files }
        for claim in system.claims where claim.name.map({ $0 == from || $0.hasPrefix(from + ":") || $0.hasPrefix(from + ".") }) ?? false {
            if !files.contains(claim.source.location.path) { files.append(claim.source.location.path) }
        }
        var actions: [ProposedAction] = []
        for path in files {
            guard let bytes = system.bytes(path) else { continue }
            var edits: [LineEdit] = []
            for (i, line) in Text.lines(bytes).enumerated() {
                let replaced = Self.replaceWord(line, from, to)
                if replaced != line && !Text.trimmed(line).hasPrefix("#") { edits.append(.replace(line: i + 1, with: [replaced])) }
            }
            if !edits.isEmpty {
                actions.append(ProposedAction(.editLines(path: path, edits: edits), "Rename \(from) to \(to) in \(path) (\(edits.count) line\(edits.count == 1 ? "" : "s"))"))
            }
        }
        return actions
    }

    /// `from` replaced where it stands as an interface name: not inside a longer word.
    static func replaceWord(_ line: String, _ from: String, _ to: String) -> String {
        let u = Array(line.utf8), f = Array(from.utf8)
        guard u.count >= f.count else { return line }
        func isNameByte(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F || c == 0x2D
        }
        var out: [UInt8] = []
        var i = 0
        while i < u.count {
            if i + f.count <= u.count, Array(u[i..<(i + f.count)]) == f,
               i == 0 || !isNameByte(u[i - 1]) && u[i - 1] != UInt8(ascii: ".") && u[i - 1] != UInt8(ascii: "/"),
               i + f.count == u.count || !isNameByte(u[i + f.count]) {
                out += Array(to.utf8)
                i += f.count
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    private func pin(_ name: String, mac: String, naming: InterfaceNaming, system: SystemSnapshot) -> [ProposedAction] {
        var actions = [ProposedAction(.createFile(path: "/etc/systemd/network/10-\(name).link",
                                                  lines: ["# Written by rescue-audit: keep the name \(name) for the card with this MAC.",
                                                          "[Match]", "MACAddress=\(mac)", "", "[Link]", "Name=\(name)"], mode: 0o644),
                                      "Pin the name \(name) to MAC \(mac) with a .link file (the card's own MAC is what udev matches)")]
        if let r = regenerate(naming, system: system) { actions.append(r) }
        return actions
    }

    private func fixKernelNames(_ system: SystemSnapshot, _ naming: InterfaceNaming, _ names: [Configured]) -> [ProposedAction] {
        // A card known by MAC gets its name pinned; otherwise predictable naming is masked, as the provider guide does.
        let withMAC = names.filter { $0.mac != nil }
        if withMAC.count == names.count, case .active = naming.root.setupLink {
            var actions: [ProposedAction] = []
            for c in names {
                actions.append(ProposedAction(.createFile(path: "/etc/systemd/network/10-\(c.name).link",
                                                          lines: ["# Written by rescue-audit: keep the name \(c.name) for the card with this MAC.",
                                                                  "[Match]", "MACAddress=\(c.mac ?? "")", "", "[Link]", "Name=\(c.name)"], mode: 0o644),
                                              "Pin the name \(c.name) to MAC \(c.mac ?? "") with a .link file" + (c.claims.contains { $0.stack == .ifupdown && $0.macAddress != nil } ? " (from `hwaddress`, which ifupdown sets: if it is not the card's own MAC, use the card's)" : "")))
            }
            if let r = regenerate(naming, system: system) { actions.append(r) }
            return actions
        }
        let predictableInUse = Self.configuredNames(system).contains { Self.isPredictable($0.name) }
        if predictableInUse {
            return [ProposedAction(.manual(description: "The configuration mixes kernel names and predictable names; rename \(names.map(\.name).joined(separator: ", ")) to the cards' predictable names (see `ip link` on the running machine or audit with --hardware).",
                                           commands: names.flatMap(\.lines).map { "${EDITOR:-vi} \(path: $0.location.path)   # line \($0.location.line)" }),
                                   "Rename the kernel-style names")]
        }
        var actions: [ProposedAction] = []
        let rootDefault = naming.root.maskedLinks.contains { $0 == "/etc/systemd/network/99-default.link" }
        if !rootDefault && !naming.existingFixPaths.contains("/etc/systemd/network/99-default.link") {
            actions.append(ProposedAction(.createSymlink(SymlinkSpec(path: "/etc/systemd/network/99-default.link", target: "/dev/null")),
                                          "Mask 99-default.link (ln -s /dev/null /etc/systemd/network/99-default.link)"))
        }
        if case .masked = naming.root.setupLink {} else if !naming.existingFixPaths.contains("/etc/udev/rules.d/80-net-setup-link.rules") {
            actions.append(ProposedAction(.createSymlink(SymlinkSpec(path: "/etc/udev/rules.d/80-net-setup-link.rules", target: "/dev/null")),
                                          "Mask 80-net-setup-link.rules (ln -s /dev/null /etc/udev/rules.d/80-net-setup-link.rules)"))
        }
        if let r = regenerate(naming, system: system) { actions.append(r) }
        if actions.isEmpty {
            actions.append(ProposedAction(.manual(description: "Put net.ifnames=0 on the kernel command line (GRUB_CMDLINE_LINUX in /etc/default/grub), then regenerate the boot configuration and the initramfs.",
                                                  commands: ["chroot \"$ROOT\" update-grub", "chroot \"$ROOT\" update-initramfs -u -k all"]),
                                          "Turn predictable naming off on the kernel command line"))
        }
        return actions
    }

    /// Regenerates every initramfs, so the changed naming inputs reach the
    /// one that renames the cards first. Nil when the target has none.
    private func regenerate(_ naming: InterfaceNaming, system: SystemSnapshot?) -> ProposedAction? {
        guard naming.initramfs.path != nil else { return nil }
        let has: (String) -> Bool = { p in naming.existingFixPaths.contains(p) }
        if has("/usr/sbin/update-initramfs") || has("/sbin/update-initramfs") {
            // update-initramfs writes each /boot/initrd.img-VERSION and its
            // checksum in /var/lib/initramfs-tools/VERSION: undo.sh puts both back.
            return ProposedAction(.chroot(command: ["update-initramfs", "-u", "-k", "all"],
                                          why: "the initramfs carries its own copy of udev's naming rules and renames the cards before the root is mounted", undoable: true,
                                          changes: ["/boot/initrd.img-*", "/var/lib/initramfs-tools/*"]),
                                  "Regenerate the initramfs (update-initramfs -u -k all)")
        }
        if has("/usr/bin/dracut") || has("/sbin/dracut") || has("/usr/sbin/dracut") {
            return ProposedAction(.chroot(command: ["dracut", "-f", "--regenerate-all"],
                                          why: "the initramfs carries its own copy of udev's naming rules and renames the cards before the root is mounted", undoable: true,
                                          changes: ["/boot/initramfs-*.img"]),
                                  "Regenerate the initramfs (dracut -f --regenerate-all)")
        }
        return ProposedAction(.manual(description: "Regenerate the initramfs \(naming.initramfs.path ?? "") so it carries the new naming rules (no update-initramfs or dracut was found in the target).",
                                      commands: ["chroot \"$ROOT\" update-initramfs -u -k all   # or: dracut -f --regenerate-all"]),
                              "Regenerate the initramfs")
    }
}
