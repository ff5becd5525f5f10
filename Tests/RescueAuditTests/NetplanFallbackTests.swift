import Foundation
import Parsers
@testable import Rules
import Testing

/// The .network files rescue-audit writes when netplan.io is gone must say
/// what netplan's own generator would have written for the same YAML: each
/// case runs Debian's `netplan generate` (unpacked by fetch-oracles.sh) on
/// a scratch root and compares its /run/systemd/network/10-netplan-ID.network
/// with ours, key by key, section by section.
@Suite struct NetplanFallbackTests {
    static let cases: [(name: String, yaml: String)] = [
        ("dhcp4", """
            network:
              version: 2
              ethernets:
                ens3:
                  dhcp4: true
            """),
        ("static-routes-dns", """
            network:
              version: 2
              renderer: networkd
              ethernets:
                eth0:
                  addresses: [192.0.2.10/24, "2001:db8::10/64"]
                  routes:
                    - to: default
                      via: 192.0.2.1
                    - to: 198.51.100.0/24
                      via: 192.0.2.254
                      metric: 50
                  nameservers:
                    addresses: [192.0.2.53, "2001:db8::53"]
                    search: [example.net, example.org]
            """),
        ("match-mac-optional-dual-stack", """
            network:
              version: 2
              ethernets:
                uplink:
                  match:
                    macaddress: "52:54:00:12:34:56"
                  dhcp4: true
                  dhcp6: true
                  optional: true
            """),
        ("match-name-glob-gateway4-onlink", """
            network:
              version: 2
              ethernets:
                lan:
                  match:
                    name: "en*"
                  addresses: [10.0.0.5/8]
                  gateway4: 10.0.0.1
                  routes:
                    - to: 172.16.0.0/12
                      via: 10.9.9.9
                      on-link: true
                  link-local: []
            """),
        ("driver-match", """
            network:
              version: 2
              ethernets:
                nic:
                  match:
                    driver: virtio_net
                  dhcp6: true
                  link-local: [ipv4, ipv6]
            """),
    ]

    /// `[Section]key=value` for every setting, sorted (comments and blank lines dropped).
    static func settings(_ text: String) -> [String] {
        var section = ""
        var out: [String] = []
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("[") { section = line; continue }
            out.append(section + line)
        }
        return out.sorted()
    }

    @Test func sameSettingsAsNetplanGenerate() throws {
        guard NetplanOracle.available() else { return }
        for c in Self.cases {
            let dir = try makeTempDir("netplan-fallback")
            defer { try? FileManager.default.removeItem(at: dir) }
            try write(c.yaml + "\n", to: dir.appendingPathComponent("etc/netplan/01-test.yaml"))
            let outcome = try NetplanOracle.generate(dir)
            #expect(outcome.status == 0, "\(c.name): netplan generate: \(outcome.stderr)")
            let parsed = NetplanParser.parse(Array((c.yaml + "\n").utf8), path: "/etc/netplan/01-test.yaml")
            #expect(parsed.isAccepted, "\(c.name): \(parsed.issues)")
            for device in parsed.devices {
                #expect(NetplanFallback.untranslatable(device, globalRenderer: parsed.renderer?.value) == nil, "\(c.name)")
                let theirs = try String(contentsOf: dir.appendingPathComponent("run/systemd/network/10-netplan-\(device.id).network"), encoding: .utf8)
                let ours = NetplanFallback.networkdLines(device, yaml: "/etc/netplan/01-test.yaml").joined(separator: "\n")
                #expect(Self.settings(ours) == Self.settings(theirs), "\(c.name) \(device.id): ours\n\(ours)\nnetplan's\n\(theirs)")
            }
        }
    }

    @Test func refusesWhatItDoesNotTranslateFaithfully() {
        let refused: [(String, String)] = [
            ("set-name", "network:\n  version: 2\n  ethernets:\n    e:\n      match:\n        macaddress: \"52:54:00:00:00:01\"\n      set-name: lan0\n      dhcp4: true\n"),
            ("NetworkManager", "network:\n  version: 2\n  renderer: NetworkManager\n  ethernets:\n    ens3:\n      dhcp4: true\n"),
            ("table", "network:\n  version: 2\n  ethernets:\n    ens3:\n      addresses: [192.0.2.2/24]\n      routes:\n        - to: default\n          via: 192.0.2.1\n          table: 100\n"),
            ("nothing", "network:\n  version: 2\n  ethernets:\n    ens3: {}\n"),
            ("newline in a name", "network:\n  version: 2\n  ethernets:\n    e:\n      match:\n        name: \"en*\\n[Network]\\nDHCP=yes\"\n      dhcp4: true\n"),
        ]
        for (name, yaml) in refused {
            let parsed = NetplanParser.parse(Array(yaml.utf8), path: "/etc/netplan/x.yaml")
            let reasons = parsed.devices.compactMap { NetplanFallback.untranslatable($0, globalRenderer: parsed.renderer?.value) }
            #expect(!reasons.isEmpty, "\(name) must not be translated: \(parsed.devices)")
        }
    }
}
