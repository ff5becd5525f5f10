import Foundation
import Parsers
import SystemModel
import TargetAccess
import Testing

func networkdFixture(_ name: String) throws -> NetworkdConfig {
    NetworkdLoader.load(try TargetRoot(directory: Repo.fixtures.appendingPathComponent("networkd/\(name)").path))
}

@Suite struct NetworkdTests {
    // MARK: - The unit-file syntax

    @Test func unitSyntax() {
        let text = """
            # comment
            ; also a comment
            [Match]
            Name=eth0 \\
            # a comment inside a continuation is skipped
                 eth1
              Driver = e1000e  

            [Network]
            DNS=192.0.2.1
            DNS=
            DNS=192.0.2.2
            DNS=192.0.2.3
            DHCP=yes
            DHCP=no
            Bogus
            """
        let unit = SystemdUnitParser.parse(Array(text.utf8), path: "/etc/systemd/network/a.network")
        #expect(unit.sections.map(\.name) == ["Match", "Network"])
        #expect(unit.value("Match", "Name").map { Text.words($0.value) } == ["eth0", "eth1"])
        #expect(unit.value("Match", "Name")?.source.location.line == 4)
        #expect(unit.value("Match", "Driver")?.value == "e1000e")
        #expect(unit.values("Network", "DNS").map(\.value) == ["192.0.2.2", "192.0.2.3"])
        #expect(unit.value("Network", "DHCP")?.value == "no")
        #expect(unit.diagnostics.map(\.location.line) == [16])
        #expect(!unit.rejected)
    }

    @Test func badSectionHeaderRejectsTheFile() {
        let unit = SystemdUnitParser.parse(Array("[Match\nName=x\n".utf8), path: "/x.network")
        #expect(unit.rejected)
        #expect(unit.diagnostics.first?.location.line == 1)
    }

    @Test func nonUTF8BytesNeverCrash() {
        let bytes: [UInt8] = Array("[Match]\nName=eth".utf8) + [0xFF, 0xFE, 0x0D, 0x0A] + Array("[Network]\nAddress=\u{0}x\n".utf8)
        let unit = SystemdUnitParser.parse(bytes, path: "/x.network")
        #expect(unit.value("Match", "Name")?.value == "eth\\xff\\xfe")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let junk = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = SystemdUnitParser.parse(junk, path: "/junk.network")
        }
    }

    // MARK: - Directories, shadowing, masking, drop-ins

    @Test func precedenceShadowingMaskingAndOrder() throws {
        let config = try networkdFixture("precedence")
        #expect(config.networkFiles.map(\.path) == [
            "/etc/systemd/network/05-br0.network",
            "/etc/systemd/network/10-eth0.network",
            "/run/systemd/network/40-notlan.network",
            "/run/systemd/network/90-mac.network",
        ])
        #expect(config.masked.sorted() == ["/etc/systemd/network/20-wired.network", "/run/systemd/network/30-empty.network"])
        let shadowed = config.shadowed.map { "\($0.hidden) < \($0.by)" }
        #expect(shadowed.contains("/usr/lib/systemd/network/10-eth0.network < /etc/systemd/network/10-eth0.network"))
        #expect(shadowed.contains("/lib/systemd/network/20-wired.network < /etc/systemd/network/20-wired.network"))
        #expect(config.diagnostics.isEmpty, "\(config.diagnostics)")
        #expect(config.claims.allSatisfy { $0.stack == .networkd && $0.autostart })
    }

    @Test func dropInsApplyInNameOrderAcrossDirectories() throws {
        let config = try networkdFixture("precedence")
        let eth0 = try #require(config.networkFiles.first { $0.path.hasSuffix("10-eth0.network") })
        #expect(eth0.dropIns == [
            "/usr/lib/systemd/network/10-eth0.network.d/50-dns.conf",
            "/etc/systemd/network/10-eth0.network.d/60-address.conf",
        ])
        let claim = eth0.claim
        #expect(claim.name == "eth0")
        // `Address=` in the drop-in cleared the two addresses of the main file.
        #expect(claim.addresses.map(\.address) == ["203.0.113.10"])
        #expect(claim.addresses.first?.source.location == Parsers.SourceLocation(path: "/etc/systemd/network/10-eth0.network.d/60-address.conf", line: 4))
        #expect(claim.nameservers.map(\.value) == ["192.0.2.53", "192.0.2.54", "198.51.100.53"])
        #expect(claim.routes.count == 2)
        #expect(claim.routes[0].isDefault && claim.routes[0].gateway == "192.0.2.1")
        #expect(claim.routes[0].source.location == Parsers.SourceLocation(path: "/etc/systemd/network/10-eth0.network", line: 7))
        let r = claim.routes[1]
        #expect(r.destination == "10.0.0.0/8" && r.gateway == "203.0.113.254" && r.metric == 50 && r.onLink)
        #expect(!claim.dhcp4 && !claim.dhcp6)
    }

    @Test func addressSectionsNetdevKindAndDHCP() throws {
        let config = try networkdFixture("precedence")
        let br0 = try #require(config.networkFiles.first { $0.path.hasSuffix("05-br0.network") }?.claim)
        #expect(br0.kind == "bridge")
        #expect(br0.addresses.map { "\($0.address)/\($0.prefixLength ?? -1)" } == ["2001:db8::1/64", "192.0.2.200/24"])
        #expect(br0.routes.first?.isDefault == true && br0.routes.first?.family == .ipv6)
        #expect(config.netdevFiles.map { "\($0.name?.value ?? "")=\($0.kind?.value ?? "")" } == ["br0=bridge"])
        let notlan = try #require(config.networkFiles.first { $0.path.hasSuffix("40-notlan.network") })
        #expect(notlan.match.excludedNames == ["lo", "eth0", "wl*"])
        #expect(notlan.claim.name == nil && notlan.claim.dhcp6 && !notlan.claim.dhcp4)
        #expect(notlan.claim.match?.names == ["!lo", "!eth0", "!wl*"])
        let mac = try #require(config.networkFiles.last?.claim)
        #expect(mac.dhcp4 && mac.dhcp6)
    }

    @Test func firstMatchingNetworkFileWins() throws {
        let config = try networkdFixture("precedence")
        #expect(config.networkFile(for: "eth0")?.path == "/etc/systemd/network/10-eth0.network")
        #expect(config.networkFile(for: "br0")?.path == "/etc/systemd/network/05-br0.network")
        // 20-wired (en*) is masked, 30-empty (*) is masked: the negated list catches it.
        #expect(config.networkFile(for: "enp1s0", type: "ether")?.path == "/run/systemd/network/40-notlan.network")
        // Type= is set and unknown here: no claim we cannot show.
        #expect(config.networkFile(for: "enp1s0") == nil)
        #expect(config.networkFile(for: "wlan0", type: "ether") == nil)
        #expect(config.networkFile(for: "wlan0", mac: "52:54:00:AA:BB:CC", driver: "virtio_net")?.path == "/run/systemd/network/90-mac.network")
        #expect(config.networkFile(for: "lo", type: "ether") == nil)
    }

    @Test func linkFiles() throws {
        let config = try networkdFixture("precedence")
        #expect(config.linkFiles.map(\.path) == ["/etc/systemd/network/10-lan.link", "/usr/lib/systemd/network/99-default.link"])
        #expect(config.linkFile(for: "eth0", mac: "52:54:00:aa:bb:cc")?.name?.value == "lan0")
        let def = try #require(config.linkFile(for: "eth5"))
        #expect(def.name == nil)
        #expect(def.namePolicy.map(\.value) == ["keep", "kernel", "database", "onboard", "slot", "path"])
        #expect(def.macAddressPolicy?.value == "persistent")
        #expect(def.macAddressPolicy?.location.line == 6)
    }

    @Test func malformedFilesGiveDiagnosticsAndTheRestLoads() throws {
        let config = try networkdFixture("malformed")
        let lines = config.diagnostics.map { "\($0.location.path.split(separator: "/").last ?? ""):\($0.location.line)" }
        #expect(lines == ["10-eth0.network:1", "10-eth0.network:5", "10-eth0.network:8", "20-broken.network:1", "30-nomatch.network:1"])
        #expect(config.networkFiles.map(\.path) == ["/etc/systemd/network/10-eth0.network"])
        let claim = try #require(config.claims.first)
        #expect(claim.addresses.map(\.address) == ["192.0.2.10"])
        #expect(claim.routes.map(\.gateway) == ["192.0.2.1"])
        #expect(config.configDiagnostics.allSatisfy { $0.impact == .partIgnored && $0.format == "systemd-networkd" })
    }

    @Test func emptyRootHasNothing() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        let config = NetworkdLoader.load(try TargetRoot(directory: dir.path))
        #expect(config.claims.isEmpty && config.files.isEmpty && config.diagnostics.isEmpty)
    }

    /// A [Match] with only a link property or a condition is not empty for
    /// networkd (systemd's net_match_is_empty, and `!network->conditions` in
    /// network_verify): the file is used, not ignored. Only an empty section is.
    @Test(arguments: [
        "Path=pci-0000:00:03.0", "Kind=bond", "Property=ID_NET_DRIVER=virtio_net", "SSID=office",
        "Host=web1", "Virtualization=kvm", "KernelCommandLine=netcfg=static", "WLANInterfaceType=station",
    ])
    func matchWithOnlyAPropertyOrConditionIsUsed(_ line: String) throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("[Match]\n\(line)\n\n[Network]\nDHCP=yes\n", to: dir.appendingPathComponent("etc/systemd/network/10-only.network"))
        try write("[Match]\n\n[Network]\nDHCP=yes\n", to: dir.appendingPathComponent("etc/systemd/network/20-empty.network"))
        let config = NetworkdLoader.load(try TargetRoot(directory: dir.path))
        #expect(config.networkFiles.map(\.path) == ["/etc/systemd/network/10-only.network"])
        #expect(config.diagnostics.map(\.location.path) == ["/etc/systemd/network/20-empty.network"])
        let match = try #require(config.networkFiles.first?.match)
        // What the audit cannot see on a disk (a path, a udev property, a Wi-Fi
        // network) never claims a named link; a condition on the machine is not evaluated.
        let isCondition = ["Host=", "Virtualization=", "KernelCommandLine="].contains { line.hasPrefix($0) }
        #expect(match.matches(name: "eth0", type: "ether") == isCondition, "\(line)")
    }

    /// `Kind=!*` + `Type=ether` (systemd's 89-ethernet.network.example): physical Ethernet only.
    @Test func negatedKindMatchesPhysicalLinks() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("[Match]\nKind=!*\nType=ether\n\n[Network]\nDHCP=yes\n", to: dir.appendingPathComponent("etc/systemd/network/89-ethernet.network"))
        let config = NetworkdLoader.load(try TargetRoot(directory: dir.path))
        let match = try #require(config.networkFiles.first?.match)
        #expect(match.matches(name: "eth0", type: "ether"))
        #expect(!match.matches(name: "veth0", type: "ether", kind: "veth"))
    }
}
