import Foundation
import Parsers
import Rules
import SystemModel
import TargetAccess
import Testing

/// A copy of a NetworkManager fixture with keyfiles made 0600, as
/// NetworkManager requires (git does not keep modes); files named
/// `insecure*` keep 0644. The caller removes the directory.
func networkManagerFixture(_ name: String) throws -> (URL, NetworkManagerConfig) {
    let fm = FileManager.default
    let dir = try makeTempDir("nm")
    let copy = dir.appendingPathComponent("root")
    try fm.copyItem(at: Repo.fixtures.appendingPathComponent("networkmanager/\(name)"), to: copy)
    if let walker = fm.enumerator(atPath: copy.path) {
        for case let rel as String in walker where rel.contains("system-connections/") {
            let full = copy.appendingPathComponent(rel).path
            let mode = (rel as NSString).lastPathComponent.hasPrefix("insecure") ? 0o644 : 0o600
            try fm.setAttributes([.posixPermissions: mode], ofItemAtPath: full)
        }
    }
    return (dir, NetworkManagerLoader.load(try TargetRoot(directory: copy.path)))
}

@Suite struct NetworkManagerTests {
    static let etc = "/etc/NetworkManager/system-connections"

    // MARK: - GLib key-file syntax

    @Test func keyFileSyntax() {
        let text = """
            # comment
            [connection]
            id = My\\sLAN\\tx
            id=second
            dns=192.0.2.1;192.0.2.2;
            ; not a comment in GLib, and no equals sign: GLib rejects the file

            [ipv4]
            method=manual
            """
        let kf = KeyFileParser.parse(Array(text.utf8), path: "/k")
        #expect(kf.value("connection", "id")?.value == "second")
        #expect(kf.value("connection", "id")?.source.location.line == 4)
        #expect(KeyFileParser.list(kf.value("connection", "dns")?.value ?? "") == ["192.0.2.1", "192.0.2.2"])
        #expect(kf.rejected)
        #expect(kf.diagnostics.map(\.location.line) == [6])
        #expect(kf.value("ipv4", "method")?.value == "manual", "we read on after the bad line")
        #expect(KeyFileParser.parse(Array("[a]\nk= x\\sy \n".utf8), path: "/k").value("a", "k")?.value == "x y")
    }

    @Test func keyBeforeGroupAndBadHeaderRejectTheFile() {
        #expect(KeyFileParser.parse(Array("id=x\n[connection]\n".utf8), path: "/k").rejected)
        #expect(KeyFileParser.parse(Array("[connection\nid=x\n".utf8), path: "/k").rejected)
        #expect(!KeyFileParser.parse(Array("\n# only comments\n\n".utf8), path: "/k").rejected)
    }

    @Test func nonUTF8ValueIsDroppedNotFatal() {
        let bytes: [UInt8] = Array("[connection]\nid=caf".utf8) + [0xE9] + Array("\r\ntype=ethernet\n".utf8)
        let kf = KeyFileParser.parse(bytes, path: "/k")
        #expect(!kf.rejected)
        #expect(kf.value("connection", "id") == nil)
        #expect(kf.value("connection", "type")?.value == "ethernet")
        #expect(kf.diagnostics.map(\.location.line) == [2])
        #expect(kf.diagnostics.first?.text == "id=caf\\xe9")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<200 {
            let junk = (0..<Int.random(in: 0..<300, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            _ = NetworkManagerLoader.connection(junk, path: "/j", fileName: "j")
            _ = KeyFileParser.parse([0x5B, 0x61, 0x5D, 0x0A] + junk, path: "/j")
        }
    }

    @Test func addressAndRouteValues() {
        #expect(NMKeyfileParser.address("192.0.2.5/24,192.0.2.1", ipv6: false) == NMAddress(address: "192.0.2.5", prefixLength: 24, gateway: "192.0.2.1"))
        #expect(NMKeyfileParser.address("192.0.2.5", ipv6: false)?.prefixLength == 24)
        #expect(NMKeyfileParser.address("2001:db8::5", ipv6: true)?.prefixLength == 64)
        // An out-of-range prefix length: NM warns and uses its default (nm-keyfile.c).
        #expect(NMKeyfileParser.address("192.0.2.5/33", ipv6: false)?.prefixLength == 24)
        #expect(NMKeyfileParser.address("2001:db8::5/64", ipv6: false) == nil)
        #expect(NMKeyfileParser.route("10.0.0.0/8,192.0.2.254,50", ipv6: false) == NMRoute(destination: "10.0.0.0/8", nextHop: "192.0.2.254", metric: 50))
        #expect(NMKeyfileParser.route("0.0.0.0/0,192.0.2.1", ipv6: false)?.destination == "default")
        #expect(NMKeyfileParser.route("10.0.0.0/8,0.0.0.0,5", ipv6: false)?.nextHop == nil)
        #expect(NMKeyfileParser.route("10.0.0.0/8,x", ipv6: false) == nil)
    }

    /// NetworkManager 1.42.4's own keyfile test (legacy `addresses1=a;24;gw;`,
    /// `address4=a/gw`, prefix-less and `;`-delimited routes): we read the
    /// addresses, gateway and routes its test-keyfile-settings.c asserts.
    @Test func upstreamWiredConnectionReadsAsNetworkManagerDoes() throws {
        let dir = Repo.fixtures.appendingPathComponent("upstream/networkmanager-1.42.4")
        let v4 = NetworkManagerLoader.connection([UInt8](try Data(contentsOf: dir.appendingPathComponent("Test_Wired_Connection"))),
                                                 path: "/etc/NetworkManager/system-connections/Test_Wired_Connection", fileName: "Test_Wired_Connection")
        let a4 = v4.claim.addresses.filter { $0.family == .ipv4 }.map { "\($0.address)/\($0.prefixLength ?? -1)" }
        #expect(a4 == ["2.3.4.5/24", "192.168.0.5/24", "1.2.3.4/16", "3.4.5.6/16", "4.5.6.7/24", "5.6.7.8/24",
                       "1.2.3.30/24", "1.2.3.30/25", "1.2.3.31/24", "1.2.3.31/25"])
        #expect(v4.claim.routes.filter { $0.family == .ipv4 && $0.isDefault }.map(\.gateway) == ["2.3.4.6"])
        let r4 = v4.claim.routes.filter { $0.family == .ipv4 && !$0.isDefault }.map { "\($0.destination) \($0.gateway ?? "-") \($0.metric.map(String.init) ?? "-")" }
        #expect(r4 == ["5.6.7.8/32 - -", "1.2.3.0/24 2.3.4.8 99", "1.1.1.2/12 - -", "1.1.1.3/13 - -", "1.1.1.4/14 2.2.2.4 -",
                       "1.1.1.5/15 2.2.2.5 -", "1.1.1.6/16 2.2.2.6 0", "1.1.1.7/17 - -", "1.1.1.8/18 - -", "1.1.1.9/19 - 0",
                       "1.1.1.10/21 - 0", "1.1.1.10/20 - 0", "1.1.1.11/21 - 21", "1.2.3.4/32 - -"])
        let a6 = v4.claim.addresses.filter { $0.family == .ipv6 }.map { "\($0.address)/\($0.prefixLength ?? -1)" }
        #expect(a6 == ["2:3:4:5:6:7:8:9/64", "abcd:1234:ffff::cdde/64", "1:2:3:4:5:6:7:8/96", "3:4:5:6:7:8:9:0/128",
                       "3:4:5:6:7:8:9:14/64", "3:4:5:6:7:8:9:15/64", "3:4:5:6:7:8:9:16/66", "3:4:5:6:7:8:9:17/67",
                       "3:4:5:6:7:8:9:18/68", "3:4:5:6:7:8:9:19/69"])
        #expect(v4.claim.routes.filter { $0.family == .ipv6 && $0.isDefault }.map(\.gateway) == ["2:3:4:5:1:2:3:4"])
        let r6 = v4.claim.routes.filter { $0.family == .ipv6 && !$0.isDefault }.map { "\($0.destination) \($0.gateway ?? "-") \($0.metric.map(String.init) ?? "-")" }
        #expect(r6 == ["d:e:f:0:1:2:3:4/64 f:e:d:c:1:2:3:4 -", "a:b:c:d::/64 f:e:d:c:1:2:3:4 99", "8:7:6:5:4:3:2:1/128 - -",
                       "6:7:8:9:0:1:2:3/126 - 1", "7:8:9:0:1:2:3:4/125 - 5", "8:9:0:1:2:3:4:5/124 - 6", "8:9:0:1:2:3:4:6/123 - -"])

        let v6 = NetworkManagerLoader.connection([UInt8](try Data(contentsOf: dir.appendingPathComponent("Test_Wired_Connection_IP6"))),
                                                 path: "/etc/NetworkManager/system-connections/Test_Wired_Connection_IP6", fileName: "Test_Wired_Connection_IP6")
        #expect(v6.claim.addresses.map { "\($0.address)/\($0.prefixLength ?? -1)" } == ["abcd:1234:ffff::cdde/64"])
        #expect(v6.claim.routes.filter(\.isDefault).map(\.gateway) == ["abcd:1234:ffff::cdd1"])
    }

    /// The peer suite's false positive: NetworkManager 1.42.4 warns about
    /// `dns=4.2.2.1;bogus;4.2.2.2;` ("ignoring invalid DNS server IPv4
    /// address 'bogus'", asserted by test_read_valid_wired_connection) and
    /// loads the connection. The finding must say the value is ignored, not
    /// that the connection is lost.
    @Test(.enabled(if: isRoot, "NetworkManager ignores keyfiles not owned by root: the copy is root's only when tests run as root"))
    func invalidDNSValueIsIgnoredNotTheConnection() throws {
        let dir = try makeTempDir("nm-bogus-dns")
        defer { try? FileManager.default.removeItem(at: dir) }
        let root = dir.appendingPathComponent("root")
        try FileManager.default.copyItem(at: Repo.rules.appendingPathComponent("no-network-configured/tests/nm-auto-default.pass"), to: root)
        let keyfile = root.appendingPathComponent("etc/NetworkManager/system-connections/Test_Wired_Connection")
        try FileManager.default.createDirectory(at: keyfile.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: Repo.fixtures.appendingPathComponent("upstream/networkmanager-1.42.4/Test_Wired_Connection"), to: keyfile)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: keyfile.path)
        let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path))
        let connection = try #require(system.networkManager.connections.first { $0.path.hasSuffix("/Test_Wired_Connection") })
        #expect(connection.ignoredBecause == nil)
        #expect(connection.claim.nameservers.map(\.value).filter { !$0.contains(":") } == ["4.2.2.1", "4.2.2.2"])
        let finding = try #require(ConfigSyntaxError().check(system).first { $0.message.contains("Test_Wired_Connection") })
        #expect(finding.message.contains("'bogus' is not a DNS server address"))
        #expect(finding.atBoot.contains("ignores the value it cannot use"), "\(finding.atBoot)")
        #expect(!finding.atBoot.contains("does not load"))
    }

    /// `address1=192.168.0.5/24;192.168.0.254`: one address and a gateway, not two addresses.
    @Test func semicolonIsAFieldDelimiterNotAList() {
        #expect(NMKeyfileParser.address("192.168.0.5/24;192.168.0.254", ipv6: false)
                == NMAddress(address: "192.168.0.5", prefixLength: 24, gateway: "192.168.0.254"))
        #expect(NMKeyfileParser.address("192.168.0.5;24;192.168.0.1;", ipv6: false)
                == NMAddress(address: "192.168.0.5", prefixLength: 24, gateway: "192.168.0.1"))
        #expect(NMKeyfileParser.address("4.5.6.7/1.2.3.4", ipv6: false) == NMAddress(address: "4.5.6.7", prefixLength: 24, gateway: "1.2.3.4"))
        #expect(NMKeyfileParser.address("192.168.0.5/24;192.168.0.6/24", ipv6: false) == nil, "garbage at the end: NM drops it")
        #expect(NMKeyfileParser.route("a:b:c:d::/64;f:e:d:c:1:2:3:4;99;", ipv6: true)
                == NMRoute(destination: "a:b:c:d::/64", nextHop: "f:e:d:c:1:2:3:4", metric: 99))
    }

    @Test func fileNamesNetworkManagerSkips() {
        #expect(!NetworkManagerLoader.ignoresFileName("Wired connection 1", requireExtension: false))
        #expect(NetworkManagerLoader.ignoresFileName("Wired connection 1", requireExtension: true))
        #expect(!NetworkManagerLoader.ignoresFileName("eth0.nmconnection", requireExtension: true))
        for name in [".hidden", "eth0~", "eth0.swp", "eth0.SWPX", "ca.pem", "key.der", "eth0.Ab12Cd", "u.nmmeta", ".nmconnection"] {
            #expect(NetworkManagerLoader.ignoresFileName(name, requireExtension: false), "\(name)")
        }
    }

    // MARK: - A root with NetworkManager

    @Test(.enabled(if: isRoot, "NetworkManager ignores keyfiles not owned by root: the fixture copy is root's only when tests run as root"))
    func daemonConfigurationOrderShadowingAndLists() throws {
        let (dir, config) = try networkManagerFixture("basic")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(config.confFiles == [
            "/usr/lib/NetworkManager/conf.d/00-server.conf",
            "/etc/NetworkManager/NetworkManager.conf",
            "/etc/NetworkManager/conf.d/10-unmanaged.conf",
            "/etc/NetworkManager/conf.d/20-more.conf",
        ])
        #expect(config.pluginNames == ["keyfile"])
        // NetworkManager.conf is read after /usr/lib/.../conf.d: its managed=false wins.
        #expect(config.ifupdownManaged?.value == false)
        #expect(config.ifupdownManaged?.location == SourceLocation(path: "/etc/NetworkManager/NetworkManager.conf", line: 6))
        #expect(config.unmanagedDevices.map(\.value) == ["interface-name:eth9", "mac:52:54:00:aa:bb:cc", "interface-name:docker*"])
        #expect(config.isUnmanaged(name: "eth9"))
        #expect(config.isUnmanaged(name: "docker0"))
        #expect(config.isUnmanaged(name: "ens3", mac: "52:54:00:AA:BB:CC"))
        #expect(!config.isUnmanaged(name: "eth7"), "the /usr/lib file of the same name is hidden")
        #expect(config.confDiagnostics.isEmpty)
    }

    @Test(.enabled(if: isRoot, "NetworkManager ignores keyfiles not owned by root: the fixture copy is root's only when tests run as root"))
    func connectionsShadowingByUUIDAndIgnoredFiles() throws {
        let (dir, config) = try networkManagerFixture("basic")
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(config.connections.map(\.path) == [
            "\(Self.etc)/Legacy eth2",
            "\(Self.etc)/dhcp-eth1.nmconnection",
            "/run/NetworkManager/system-connections/eth0-runtime.nmconnection",
            "/usr/lib/NetworkManager/system-connections/vendor-eth3.nmconnection",
        ])
        #expect(config.shadowed.map { "\($0.hidden) < \($0.by)" } == [
            "\(Self.etc)/eth0.nmconnection < /run/NetworkManager/system-connections/eth0-runtime.nmconnection",
        ])
        #expect(config.ignored.map(\.path).sorted() == ["\(Self.etc)/broken.nmconnection", "\(Self.etc)/insecure.nmconnection"])
        #expect(config.ignored.first { $0.path.hasSuffix("insecure.nmconnection") }?.ignoredBecause?.contains("644") == true)
        #expect(config.diagnostics.contains { $0.location == SourceLocation(path: "\(Self.etc)/broken.nmconnection", line: 6) })
        // Backups, swap files and extension-less files outside /etc are never read.
        #expect(!config.files.contains { $0.hasSuffix("~") || $0.hasSuffix(".swp") || $0.hasSuffix("vendor-noext") })

        let claims = Dictionary(uniqueKeysWithValues: config.claims.compactMap { c in c.name.map { ($0, c) } })
        #expect(config.claims.allSatisfy { $0.stack == .networkManager })
        let eth0 = try #require(claims["eth0"])
        #expect(eth0.dhcp4 && eth0.addresses.isEmpty, "the /run profile wins")
        let eth1 = try #require(claims["eth1"])
        #expect(!eth1.autostart && eth1.dhcp4 && !eth1.dhcp6 && eth1.kind == "ethernet")
        let eth2 = try #require(claims["eth2"])
        #expect(eth2.addresses.map(\.address) == ["10.2.0.5"] && eth2.addresses.first?.prefixLength == 16)
        #expect(eth2.routes.isEmpty, "never-default=true")
        #expect(!eth2.dhcp4 && !eth2.dhcp6)
        let eth3 = try #require(claims["eth3"])
        #expect(eth3.autostart && eth3.dhcp4 && eth3.dhcp6, "defaults: autoconnect, ipv4 and ipv6 auto")
    }

    @Test func manualProfileWithGatewayRoutesAndDNS() throws {
        let path = "\(Self.etc)/eth0.nmconnection"
        let bytes = try [UInt8](Data(contentsOf: Repo.fixtures.appendingPathComponent("networkmanager/basic\(path)")))
        let conn = NetworkManagerLoader.connection(bytes, path: path, fileName: "eth0.nmconnection")
        #expect(conn.ignoredBecause == nil)
        #expect(conn.id == "eth0 static" && conn.uuid?.value.hasSuffix("1a01") == true)
        #expect(conn.ipv4Method == "manual" && conn.ipv6Method == "auto")
        let c = conn.claim
        #expect(c.name == "eth0" && c.match?.macAddress == "52:54:00:12:34:56")
        #expect(c.addresses.map { "\($0.address)/\($0.prefixLength ?? -1)" } == ["192.0.2.5/24", "192.0.2.6/24"])
        #expect(c.routes.map { "\($0.destination) via \($0.gateway ?? "-") m\($0.metric ?? -1)" } == [
            "default via 192.0.2.1 m100", "10.0.0.0/8 via 192.0.2.254 m50", "172.16.0.0/12 via 192.0.2.253 m100",
        ])
        #expect(c.routes.first?.source.location.line == 12, "the address line that carries the gateway")
        #expect(c.nameservers.map(\.value) == ["192.0.2.53", "192.0.2.54"])
        #expect(!c.dhcp4 && c.dhcp6 && c.autostart)
    }

    @Test func invalidValuesAndMissingTypeRejectTheConnection() {
        let bad = NetworkManagerLoader.connection(Array("[connection]\nid=x\ntype=ethernet\n[ipv4]\nmethod=manual\naddress1=192.0.2.300/24\n".utf8),
                                                  path: "/p", fileName: "p")
        #expect(bad.ignoredBecause != nil)
        #expect(bad.keyfile.diagnostics.map(\.location.line).contains(6))
        let noType = NetworkManagerLoader.connection(Array("[connection]\nid=x\n".utf8), path: "/q", fileName: "q.nmconnection")
        #expect(noType.ignoredBecause?.contains("type") == true)
        let guessed = NetworkManagerLoader.connection(Array("[connection]\n[ethernet]\n[ipv4]\nmethod=disabled\n".utf8), path: "/g", fileName: "g.nmconnection")
        #expect(guessed.type == "ethernet" && guessed.id == "g" && !guessed.claim.dhcp4)
        let gw = NetworkManagerLoader.connection(Array("[connection]\ntype=ethernet\n[ipv4]\nmethod=manual\naddresses=192.0.2.5/24\ngateway=192.0.2.1\nroute-metric=-1\n".utf8), path: "/h", fileName: "h")
        #expect(gw.claim.routes.map(\.gateway) == ["192.0.2.1"] && gw.claim.routes.first?.metric == nil)
    }
}
