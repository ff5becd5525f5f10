import Foundation
import Parsers
import SystemModel
import TargetAccess
import Testing

func ifcfgFixture(_ name: String) throws -> IfcfgConfig {
    IfcfgLoader.load(try TargetRoot(directory: Repo.fixtures.appendingPathComponent("ifcfg/\(name)").path))
}

/// A root with one file under network-scripts holding `bytes`.
private func ifcfgRoot(_ files: [String: [UInt8]]) throws -> (URL, IfcfgConfig) {
    let dir = try makeTempDir("ifcfg")
    for (name, bytes) in files {
        let url = dir.appendingPathComponent("etc/sysconfig/network-scripts/\(name)")
        try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: url)
    }
    return (dir, IfcfgLoader.load(try TargetRoot(directory: dir.path)))
}

@Suite struct IfcfgTests {
    static let scripts = "/etc/sysconfig/network-scripts"

    // MARK: - A RHEL 9 / CentOS 7 root

    @Test func filesOrderAndIgnoredBackups() throws {
        let config = try ifcfgFixture("rhel9")
        #expect(config.interfaces.map(\.device) == ["bond0", "eth0", "eth1", "eth2", "eth10", "lo", "eth0:0"])
        #expect(config.ignoredFiles.sorted() == [
            "\(Self.scripts)/ifcfg-eth0.bak", "\(Self.scripts)/ifcfg-eth1~", "\(Self.scripts)/ifcfg-eth2.rpmsave",
        ])
        #expect(config.claims.map(\.name) == ["bond0", "eth0", "eth1", "eth2", "eth10", "lo"])
        #expect(config.claims.allSatisfy { $0.stack == .ifcfg })
        #expect(config.networkingEnabled)
        #expect(config.files.contains("/etc/sysconfig/network"))
        #expect(config.files.contains("\(Self.scripts)/route6-eth0"))
    }

    @Test func staticInterfaceWithQuotesNumberedAddressesAliasAndRoutes() throws {
        let config = try ifcfgFixture("rhel9")
        let eth0 = try #require(config.interface(named: "eth0"))
        let c = eth0.claim
        #expect(c.autostart && !c.dhcp4 && !c.dhcp6)
        #expect(c.kind == "ethernet")
        #expect(c.match?.macAddress == "52:54:00:12:34:56")
        #expect(eth0.nmControlled?.value == false)
        #expect(c.addresses.map { "\($0.address)/\($0.prefixLength ?? -1)" } == [
            "198.51.100.10/24", "198.51.100.11/24", "2001:db8::10/64", "203.0.113.20/24",
        ])
        #expect(c.addresses.last?.label == "eth0:0")
        #expect(c.addresses.first?.source.location.line == 17)
        #expect(c.nameservers.map(\.value) == ["192.0.2.53", "192.0.2.54"])

        let routes = c.routes.map { "\($0.family.rawValue) \($0.destination) via \($0.gateway ?? "-") m\($0.metric ?? -1) t\($0.table ?? -1)" }
        #expect(routes == [
            "ipv4 default via 198.51.100.1 m100 t-1",
            "ipv6 default via 2001:db8::1 m100 t-1",
            "ipv4 10.0.0.0/8 via 198.51.100.254 m50 t-1",
            "ipv4 default via 198.51.100.2 m-1 t100",
            "ipv6 2001:db8:1::/48 via 2001:db8::fe m-1 t-1",
            "ipv4 default via 203.0.113.1 m-1 t-1",
        ])
        // The GATEWAY line with its trailing comment is the evidence.
        #expect(c.routes.first?.source.location == SourceLocation(path: "\(Self.scripts)/ifcfg-eth0", line: 21))
        #expect(c.routes.last?.source.location.path == "\(Self.scripts)/ifcfg-eth0:0")
        #expect(eth0.routeFiles == ["\(Self.scripts)/route-eth0", "\(Self.scripts)/route6-eth0"])
        // The unparsable route line is reported with its line number, the rest applies.
        let routeDiag = config.diagnostics.filter { $0.location.path == "\(Self.scripts)/route-eth0" }
        #expect(routeDiag.map(\.location.line) == [5])
    }

    @Test func globalGatewayNumberedRouteFileDhcpDefrouteAndLoopback() throws {
        let config = try ifcfgFixture("rhel9")
        let eth1 = try #require(config.interface(named: "eth1")).claim
        // eth1 sets no GATEWAY; the global one is in its subnet.
        #expect(eth1.routes.first?.gateway == "192.0.2.1")
        #expect(eth1.routes.first?.source.location == SourceLocation(path: "/etc/sysconfig/network", line: 4))
        #expect(eth1.macAddress == "02:00:00:00:00:01")
        #expect(eth1.match == nil)
        let fileRoutes = eth1.routes.dropFirst().map { "\($0.destination) via \($0.gateway ?? "-") m\($0.metric ?? -1)" }
        #expect(fileRoutes == ["10.20.0.0/16 via 192.0.2.254 m-1", "10.30.0.0/16 via 192.0.2.253 m7"])
        let gap = config.diagnostics.filter { $0.location.path == "\(Self.scripts)/route-eth1" }
        #expect(gap.map(\.location.line) == [8])
        #expect(gap.first?.message.contains("ADDRESS2") == true)

        let eth2 = try #require(config.interface(named: "eth2")).claim
        #expect(eth2.dhcp4 && !eth2.autostart && eth2.routes.isEmpty)

        let eth10 = try #require(config.interface(named: "eth10")).claim
        #expect(eth10.routes.isEmpty, "DEFROUTE=no")
        #expect(eth10.addresses.first?.prefixLength == 8, "classful default without PREFIX/NETMASK")

        let lo = try #require(config.interface(named: "lo")).claim
        #expect(lo.kind == "loopback" && lo.autostart)
        #expect(lo.addresses.first?.prefixLength == 8)
        let bond = try #require(config.interface(named: "bond0")).claim
        #expect(bond.kind == "bond" && bond.dhcp4 && bond.autostart)
        #expect(config.configDiagnostics.allSatisfy { $0.format == "ifcfg" && $0.impact == .partIgnored })
    }

    @Test func networkingNoAndGatewayDev() throws {
        let config = try ifcfgFixture("networking-no")
        #expect(!config.networkingEnabled)
        #expect(config.network?.networking?.location.line == 1)
        #expect(config.claims.allSatisfy { !$0.autostart })
        #expect(try #require(config.interface(named: "eth0")).claim.routes.isEmpty)
        #expect(try #require(config.interface(named: "eth1")).claim.routes.map(\.gateway) == ["192.0.2.1"])
    }

    // MARK: - Broken input

    @Test func malformedLinesAreReportedAndTheRestApplies() throws {
        let bytes: [UInt8] = Array("DEVICE=eth0\nthis is junk\nIPADDR=\"192.0.2.1\nBOOTPROTO=st".utf8) + [0xFF]
            + Array("atic\r\nIPADDR=192.0.2.300\nGATEWAY=10.0.0.1\nIPADDR5=192.0.2.5\nIPADDR0=192.0.2.7\nPREFIX0=99\n".utf8)
        let (dir, config) = try ifcfgRoot(["ifcfg-eth0": bytes, "ifcfg-orphan:1": Array("IPADDR=192.0.2.9\n".utf8)])
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = "\(Self.scripts)/ifcfg-eth0"
        let lines = config.configDiagnostics.map(\.diagnostic).filter { $0.location.path == path }.map(\.location.line).sorted()
        // 6: the gateway is outside the only address's subnet, which initscripts refuses.
        #expect(lines == [2, 3, 5, 6, 7, 9])
        // NetworkManager's ifcfg-rh adds the host route to such a gateway: not a problem when it reads the file.
        var nm = config
        nm.readByNetworkManager = true
        #expect(nm.configDiagnostics.map(\.diagnostic).filter { $0.location.path == path }.map(\.location.line).sorted() == [2, 3, 5, 7, 9])
        let claim = try #require(config.interface(named: "eth0")).claim
        #expect(!claim.dhcp4)
        #expect(claim.addresses.map(\.address) == ["192.0.2.7"])
        #expect(claim.addresses.first?.prefixLength == 24, "bad PREFIX0 falls back to the classful prefix")
        #expect(claim.routes.map(\.gateway) == ["10.0.0.1"])
        // An alias with no parent file is reported, not folded anywhere.
        #expect(config.diagnostics.contains { $0.location.path.hasSuffix("ifcfg-orphan:1") && $0.message.contains("parent") })
        #expect(config.interfaces.first { $0.aliasOf == "orphan" } != nil)
    }

    @Test func randomBytesNeverCrash() throws {
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let junk = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = IfcfgParser.parse(junk, path: "/x")
            _ = IfcfgParser.parseRoutes(junk, path: "/r", ipv6: false)
            _ = IfcfgParser.parseRoutes(junk, path: "/r6", ipv6: true)
        }
        let (dir, config) = try ifcfgRoot(["ifcfg-eth0": [0xC3, 0x28, 0x3D, 0x0A, 0xFF, 0x3D, 0xFE], "route-eth0": [0xFF, 0x20, 0x76, 0x69, 0x61]])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(config.interfaces.count == 1)
        #expect(!config.diagnostics.isEmpty)
    }

    @Test func hugeFileStaysLinear() throws {
        var text = "DEVICE=eth0\nIPADDR=192.0.2.1\n"
        for i in 0..<50_000 { text += "DNS\(i)=192.0.2.\(i % 250)\nIPADDR\(i + 300)=192.0.2.9\nIPADDR99999999999\(i)=x\n" }
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            let (dir, config) = try ifcfgRoot(["ifcfg-eth0": Array(text.utf8)])
            defer { try? FileManager.default.removeItem(at: dir) }
            #expect(config.interface(named: "eth0")?.claim.nameservers.count == 50_000)
            #expect(config.interface(named: "eth0")?.claim.addresses.count == 1)
        }
        #expect(elapsed < .seconds(20))
    }

    // MARK: - Route files and arithmetic

    @Test func ipRouteArgumentLines() {
        let text = """
            # comment
            to 192.0.2.0/24 dev eth0 scope link
            unreachable 198.51.100.0/24
            0.0.0.0/0 via inet 192.0.2.1 metric 10 onlink
            10.1.0.0/16 via 192.0.2.2 metric x
            10.2.0.0/16 via
            2001:db8::/32 via 192.0.2.1
            """
        let r = IfcfgParser.parseRoutes(Array(text.utf8), path: "/r", ipv6: false)
        #expect(r.routes.map(\.destination) == ["192.0.2.0/24", "198.51.100.0/24", "default"])
        #expect(r.routes[0].device == "eth0")
        #expect(r.routes[2].gateway == "192.0.2.1" && r.routes[2].metric == 10 && r.routes[2].onLink)
        #expect(r.diagnostics.map(\.location.line) == [5, 6, 7])
        let v6 = IfcfgParser.parseRoutes(Array("default via fe80::1 dev eth0\n".utf8), path: "/r6", ipv6: true)
        #expect(v6.routes.first?.destination == "default" && v6.routes.first?.gateway == "fe80::1")
    }

    /// iproute2 takes the prefix anywhere among the keywords; the route- file
    /// is `ip route add` arguments, so any order `ip route` accepts is fine.
    @Test func routeKeywordsInAnyOrder() {
        let text = "via 192.0.2.1 dev eth0 10.10.0.0/16\ndev eth0 to 10.20.0.0/16 via 192.0.2.1 metric 5\nmetric 7 10.30.0.0/16 via 192.0.2.1\n"
        let r = IfcfgParser.parseRoutes(Array(text.utf8), path: "/r", ipv6: false)
        #expect(r.diagnostics.isEmpty, "\(r.diagnostics.map(\.message))")
        #expect(r.routes.map(\.destination) == ["10.10.0.0/16", "10.20.0.0/16", "10.30.0.0/16"])
        #expect(r.routes.map(\.gateway) == ["192.0.2.1", "192.0.2.1", "192.0.2.1"])
        #expect(r.routes.map(\.metric) == [nil, 5, 7])
    }

    /// `ifcfg-eth0` with DEVICE=ens3 is still the parent of `ifcfg-eth0:1`.
    @Test func aliasFindsAParentWhoseDeviceDiffersFromItsFileName() throws {
        let (dir, config) = try ifcfgRoot([
            "ifcfg-eth0": Array("DEVICE=ens3\nBOOTPROTO=none\nIPADDR=192.0.2.10\nPREFIX=24\nONBOOT=yes\n".utf8),
            "ifcfg-eth0:1": Array("DEVICE=eth0:1\nIPADDR=192.0.2.11\nPREFIX=24\n".utf8),
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(!config.diagnostics.contains { $0.message.contains("parent") }, "\(config.diagnostics.map(\.message))")
        #expect(config.interface(named: "ens3")?.claim.addresses.map(\.address) == ["192.0.2.10", "192.0.2.11"])
    }

    @Test func numberedRouteFormWithDefault() {
        let text = "ADDRESS0=0.0.0.0\nNETMASK0=0.0.0.0\nGATEWAY0=192.0.2.1\nADDRESS1=10.0.0.0\nNETMASK1=255.0.255.0\n"
        let r = IfcfgParser.parseRoutes(Array(text.utf8), path: "/r", ipv6: false)
        #expect(r.routes.map(\.destination) == ["default"])
        #expect(r.routes.first?.gateway == "192.0.2.1")
        #expect(r.diagnostics.map(\.location.line) == [5])
    }

    @Test func ipv4Arithmetic() {
        #expect(IPv4.prefixLength(netmask: "255.255.255.0") == 24)
        #expect(IPv4.prefixLength(netmask: "255.255.255.255") == 32)
        #expect(IPv4.prefixLength(netmask: "0.0.0.0") == 0)
        #expect(IPv4.prefixLength(netmask: "255.0.255.0") == nil)
        #expect(IPv4.prefixLength(netmask: "24") == nil)
        #expect(IPv4.classfulPrefix("10.1.2.3") == 8)
        #expect(IPv4.classfulPrefix("172.16.0.1") == 16)
        #expect(IPv4.classfulPrefix("192.0.2.1") == 24)
        #expect(IPv4.contains(network: "192.0.2.10", prefix: 24, "192.0.2.1"))
        #expect(!IPv4.contains(network: "192.0.2.10", prefix: 24, "192.0.3.1"))
        #expect(IPv4.contains(network: "192.0.2.10", prefix: 0, "8.8.8.8"))
    }
}
