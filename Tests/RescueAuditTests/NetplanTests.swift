import Foundation
import Parsers
import SystemModel
import TargetAccess
import Testing

/// Loads a netplan fixture root under Fixtures/netplan/.
func netplanFixture(_ name: String) throws -> NetplanConfig {
    NetplanLoader.load(try TargetRoot(directory: Repo.fixtures.appendingPathComponent("netplan/\(name)").path))
}

private func parse(_ yaml: String, path: String = "/etc/netplan/test.yaml") -> NetplanFile {
    NetplanParser.parse(Array(yaml.utf8), path: path)
}

@Suite struct NetplanTests {
    @Test func everyKeyOfABasicFile() throws {
        let config = try netplanFixture("basic")
        #expect(config.files == ["/etc/netplan/01-netcfg.yaml"])
        #expect(config.issues.isEmpty, "\(config.diagnostics)")
        #expect(config.renderer?.value == "networkd")
        #expect(config.renderer?.location.line == 4)
        #expect(config.fileInfo.first?.version?.value == 2)
        let claim = try #require(config.claims.first)
        #expect(config.claims.count == 1)
        #expect(claim.stack == .netplan && claim.name == "eth0" && claim.kind == "ethernet" && claim.autostart)
        #expect(claim.source.location == Parsers.SourceLocation(path: "/etc/netplan/01-netcfg.yaml", line: 6))
        #expect(!claim.dhcp4 && claim.dhcp6)
        #expect(claim.renderer == "networkd")
        #expect(claim.addresses.map { "\($0.address)/\($0.prefixLength ?? -1)" } == ["192.0.2.10/24", "198.51.100.7/25", "2001:db8::10/64"])
        #expect(claim.addresses.map(\.family) == [.ipv4, .ipv4, .ipv6])
        #expect(claim.addresses.map(\.source.location.line) == [12, 13, 16])
        #expect(claim.addresses[1].label == "eth0:mgmt")
        #expect(claim.addresses[0].source.text == "        - 192.0.2.10/24")
        let routes = claim.routes
        #expect(routes.count == 3)
        #expect(routes[0].isDefault && routes[0].gateway == "192.0.2.1" && routes[0].metric == 100 && routes[0].family == .ipv4)
        #expect(routes[0].source.location.line == 18)
        #expect(routes[1].destination == "10.0.0.0/8" && routes[1].table == 100 && routes[1].onLink)
        #expect(routes[2].isDefault && routes[2].family == .ipv6 && routes[2].gateway == "2001:db8::1")
        #expect(claim.nameservers.map(\.value) == ["192.0.2.53", "2001:db8::53"])
        let device = try #require(config.devices.first)
        #expect(device.searchDomains.map(\.value) == ["example.com", "corp.example.com"])
        #expect(device.optional?.value == true)
        #expect(device.linkLocal?.value == ["ipv6"])
        #expect(device.addresses[1].lifetime == "0")
    }

    @Test func runHidesEtcAndFilesMergeInNameOrder() throws {
        let config = try netplanFixture("merge")
        #expect(config.files == ["/lib/netplan/00-base.yaml", "/run/netplan/50-cloud-init.yaml", "/etc/netplan/90-override.yaml"])
        #expect(config.fileInfo[1].shadows == ["/etc/netplan/50-cloud-init.yaml"])
        #expect(config.issues.isEmpty, "\(config.diagnostics)")
        #expect(config.claims.map(\.name) == ["eth0", "eth1"])
        let eth0 = config.claims[0]
        // A later file overrides scalars and appends to sequences.
        #expect(!eth0.dhcp4)
        #expect(eth0.addresses.map(\.address) == ["192.0.2.10", "198.51.100.10"])
        #expect(eth0.addresses.map(\.source.location.path) == ["/lib/netplan/00-base.yaml", "/etc/netplan/90-override.yaml"])
        #expect(eth0.routes.map(\.gateway) == ["198.51.100.1"])
        #expect(eth0.routes.first?.source.location == Parsers.SourceLocation(path: "/etc/netplan/90-override.yaml", line: 8))
        #expect(eth0.nameservers.map(\.value) == ["192.0.2.53", "198.51.100.53"])
        #expect(config.devices[0].definitions.count == 2)
        #expect(config.claims[1].dhcp6)
        #expect(config.renderer?.location.path == "/etc/netplan/90-override.yaml")
    }

    @Test func deviceTypesMatchAndRenderers() throws {
        let config = try netplanFixture("devices")
        #expect(config.issues.isEmpty, "\(config.diagnostics)")
        let byID = Dictionary(uniqueKeysWithValues: zip(config.devices.map(\.id), config.claims))
        let lan = try #require(byID["lan"])
        #expect(lan.name == nil && lan.setName == "lan0" && lan.effectiveName == "lan0")
        #expect(lan.match?.macAddress == "52:54:00:12:34:56")
        let uplinks = try #require(byID["uplinks"])
        #expect(uplinks.match?.names == ["en*"] && uplinks.match?.driver == "ixgbe")
        #expect(byID["nm0"]?.renderer == "NetworkManager" && byID["nm0"]?.dhcp4 == true)
        #expect(byID["bond0"]?.kind == "bond" && byID["bond0"]?.routes.first?.isDefault == true)
        #expect(byID["br0"]?.kind == "bridge" && byID["br0"]?.dhcp4 == true)
        #expect(byID["vlan42"]?.kind == "vlan" && byID["gre1"]?.kind == "tunnel")
        let vlan = try #require(config.devices.first { $0.id == "vlan42" })
        #expect(vlan.vlanID?.value == 42 && vlan.link?.value == "bond0")
        #expect(config.devices.first { $0.id == "bond0" }?.interfaces.map(\.value) == ["uplinks"])
    }

    @Test func schemaErrorsHaveLinesAndTheRestStillLoads() throws {
        let config = try netplanFixture("invalid")
        #expect(!config.isAccepted)
        let bad = config.issues.filter { $0.diagnostic.location.path == "/etc/netplan/02-bad.yaml" }
        #expect(bad.map(\.diagnostic.location.line) == [5, 7, 8, 9])
        #expect(bad.allSatisfy { $0.rejectedByNetplan })
        #expect(bad[0].diagnostic.text == "      dhcp4: maybe")
        #expect(bad[3].diagnostic.message.contains("switches"))
        // The good file is still read, and the good parts of the bad one.
        #expect(config.claims.map(\.name) == ["eth0", "eth1"])
        #expect(config.claims[0].routes.first?.gateway == "192.0.2.1")
        #expect(config.fileInfo.map(\.accepted) == [true, false])
        // No netplan generator in this fixture: a broken file decides nothing at boot.
        #expect(!config.netplanInstalled)
        #expect(config.configDiagnostics.allSatisfy { $0.impact == .tolerated && $0.format == "netplan" })
    }

    @Test func rejectedFileCostsTheBootNetworkWhenNetplanIsInstalled() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try FileManager.default.copyItem(at: Repo.fixtures.appendingPathComponent("netplan/invalid/etc"),
                                         to: dir.appendingPathComponent("etc"))
        try write("", to: dir.appendingPathComponent("usr/libexec/netplan/generate"))
        let config = NetplanLoader.load(try TargetRoot(directory: dir.path))
        #expect(config.netplanInstalled)
        #expect(config.configDiagnostics.count == 4)
        #expect(config.configDiagnostics.allSatisfy { $0.impact == .bootNetworkRejected })
    }

    @Test func invalidYAMLHasItsLine() throws {
        let config = try netplanFixture("syntax")
        let issue = try #require(config.issues.first)
        #expect(issue.rejectedByNetplan)
        #expect(issue.diagnostic.location == Parsers.SourceLocation(path: "/etc/netplan/01-netcfg.yaml", line: 6))
        #expect(config.claims.isEmpty)
    }

    @Test func netplanBooleans() {
        for s in ["true", "TRUE", "on", "yes", "Y", "y"] { #expect(NetplanParser.bool(s) == true, "\(s)") }
        for s in ["false", "Off", "no", "n", "N"] { #expect(NetplanParser.bool(s) == false, "\(s)") }
        for s in ["1", "0", "maybe", ""] { #expect(NetplanParser.bool(s) == nil, "\(s)") }
        let f = parse("network: {ethernets: {eth0: {dhcp4: On, dhcp6: 1}}}")
        #expect(f.devices.first?.dhcp4?.value == true)
        #expect(f.issues.map(\.diagnostic.message) == ["Invalid boolean value '1' for dhcp6."])
    }

    @Test func wrongTypesAndUnknownDeviceTypes() {
        let f = parse("""
            network:
              version: 3
              ethernets:
                eth0: 
              dummies:
                d0: {}
              bonds: [bond0]
              wifis:
                wl0:
                  addresses: 192.0.2.1/24
                  gateway4: 2001:db8::1
                  routes:
                    - via: 192.0.2.1
            """)
        #expect(f.issues.map(\.diagnostic.location.line) == [2, 4, 5, 7, 10, 11, 13])
        #expect(f.issues.allSatisfy { $0.rejectedByNetplan })
        #expect(f.devices.map(\.id) == ["wl0"])
    }

    @Test func emptyFileIsAccepted() {
        #expect(parse("").isAccepted)
        #expect(parse("# nothing\n").devices.isEmpty)
        #expect(!parse("network:\n").isAccepted)
    }

    /// netplan walks a mapping pair by pair, so a repeated key is applied
    /// again: a repeated section merges, a repeated scalar's later value wins,
    /// a repeated address or route is kept once (checked with netplan
    /// generate 0.106: eth1 gets both addresses, eth0 is kept).
    @Test func repeatedKeysMergeAsNetplanDoes() throws {
        let f = parse("""
            network:
              version: 2
              ethernets:
                eth0: {dhcp4: true}
              ethernets:
                eth1:
                  addresses: [10.0.0.1/24]
                eth1:
                  addresses: [10.0.0.2/24, 10.0.0.1/24]
                  dhcp4: yes
                  dhcp4: no
            """)
        #expect(f.issues.isEmpty)
        #expect(f.isAccepted)
        #expect(f.devices.map(\.id) == ["eth0", "eth1", "eth1"])
        // The loader merges devices of one ID in file order, as here.
        var eth1 = f.devices[1]
        eth1.merge(f.devices[2])
        #expect(eth1.addresses.map(\.address) == ["10.0.0.1", "10.0.0.2"])
        #expect(eth1.dhcp4?.value == false)
    }

    @Test func smallAliasesWork() {
        let f = parse("""
            network:
              ethernets:
                eth0:
                  nameservers: &dns
                    addresses: [192.0.2.53]
                eth1:
                  nameservers: *dns
            """)
        #expect(f.issues.isEmpty)
        #expect(f.devices.map { $0.nameservers.map(\.value) } == [["192.0.2.53"], ["192.0.2.53"]])
    }

    @Test func aliasBombIsRefusedQuickly() throws {
        var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for i in 1...12 {
            yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        yaml += "network: {ethernets: {eth0: {addresses: *a12}}}\n"
        let clock = ContinuousClock()
        var file: NetplanFile?
        let elapsed = clock.measure { file = parse(yaml) }
        #expect(elapsed < .seconds(1))
        let issue = try #require(file?.issues.first)
        #expect(issue.rejectedByNetplan)
        #expect(issue.diagnostic.message.contains("alias"))
        #expect(issue.diagnostic.location.line > 0)

        // An alias used as a mapping key: also refused before anything walks it.
        let keyBomb = yaml.replacingOccurrences(of: "network: {ethernets: {eth0: {addresses: *a12}}}\n", with: "? *a12\n: x\n")
        let elapsed2 = clock.measure { file = parse(keyBomb) }
        #expect(elapsed2 < .seconds(1))
        #expect(file?.isAccepted == false)
    }

    @Test func hugeFileWithoutAliasesIsRefusedAsHuge() throws {
        let yaml = "network: {ethernets: {eth0: {routes: [" + Array(repeating: "x", count: 110_000).joined(separator: ",") + "]}}}\n"
        let issue = try #require(parse(yaml).issues.first)
        #expect(issue.diagnostic.message.contains("more than 100000 YAML nodes"))
    }

    @Test func nonUTF8BytesNeverCrash() throws {
        var bytes = Array("network:\n  ethernets:\n    eth0:\n      dhcp4: true\n# caf".utf8)
        bytes += [0xE9, 0xFF, 0x00, 0x0A]
        bytes += Array("    eth\u{00e9}1: {}\n".utf8)
        let f = NetplanParser.parse(bytes, path: "/etc/netplan/x.yaml")
        let issue = try #require(f.issues.first)
        #expect(issue.rejectedByNetplan)
        #expect(issue.diagnostic.location.line == 5)
        #expect(issue.diagnostic.text.contains("\\xe9"))
        // Random bytes: whatever they are, the parser returns.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let junk = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = NetplanParser.parse(junk, path: "/etc/netplan/junk.yaml")
        }
    }

    @Test func unreadableAndHiddenFiles() throws {
        let dir = try makeTempDir()
        defer { try? FileManager.default.removeItem(at: dir) }
        try write("network: {ethernets: {eth0: {dhcp4: true}}}\n", to: dir.appendingPathComponent("etc/netplan/.hidden.yaml"))
        try write("network: {ethernets: {eth1: {dhcp4: true}}}\n", to: dir.appendingPathComponent("etc/netplan/a.yml"))
        try write("network: {ethernets: {eth2: {dhcp4: true}}}\n", to: dir.appendingPathComponent("etc/netplan/b.yaml"))
        #expect(mkfifo(dir.appendingPathComponent("etc/netplan/c.yaml").path, 0o600) == 0)
        let config = NetplanLoader.load(try TargetRoot(directory: dir.path))
        #expect(config.claims.map(\.name) == ["eth2"])
        #expect(config.issues.count == 1)
        #expect(config.issues.first?.diagnostic.location.path == "/etc/netplan/c.yaml")
    }
}
