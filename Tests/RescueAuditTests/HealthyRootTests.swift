import Foundation
import Rules
import SystemModel
import TargetAccess
import Testing

/// Realistic healthy roots (Fixtures/healthy/, made by scripts/make-healthy-roots.sh:
/// two debootstrapped Debian 12 systems and a hand-written Rocky Linux 9 one).
/// A real server that boots fine must give no critical or high finding; and
/// the model must read each one as its installer left it, so a pass here
/// means "audited and healthy", not "nothing was read".
@Suite struct HealthyRootTests {
    static let names = ["debian12-ifupdown", "debian12-netplan-networkd", "rhel9-ifcfg"]
    /// The stacks that act at boot on each root, as the JSON report names them.
    static let inCharge = [
        "debian12-ifupdown": ["ifupdown"],
        "debian12-netplan-networkd": ["netplan", "systemd-networkd"],
        "rhel9-ifcfg": ["ifcfg"],
    ]

    /// The root, with the modes git does not keep (`<name>.modes`: host keys 600, shadow 640) put back.
    static func url(_ name: String) -> URL {
        let url = Repo.fixtures.appendingPathComponent("healthy").appendingPathComponent(name)
        Scenario.applyModes(url)
        return url
    }

    static func snapshot(_ name: String) throws -> SystemSnapshot {
        SystemSnapshot.load(root: try TargetRoot(directory: url(name).path))
    }

    static func describe(_ findings: [Finding]) -> String {
        findings.map { f in
            "\(f.severity.rawValue) \(f.rule): \(f.message) [" + f.evidence.map { "\($0.path):\($0.line.map(String.init) ?? "-") \($0.text)" }.joined(separator: "; ") + "]"
        }.joined(separator: "\n")
    }

    @Test(arguments: names)
    func noCriticalOrHighFinding(_ name: String) throws {
        let result = AuditResult.run(try Self.snapshot(name))
        let severe = result.findings.filter { $0.severity >= .high }
        #expect(severe.isEmpty, "\(name) is a healthy root:\n\(Self.describe(severe))")
    }

    @Test(arguments: names)
    func cliAgrees(_ name: String) throws {
        let out = try rescueAudit(["audit", Self.url(name).path, "--format", "json", "--fail-on", "high"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any],
                               "JSON on stdout; stderr: \(out.stderr)")
        let findings = doc["findings"] as? [[String: Any]] ?? []
        let severe = findings.filter { ["critical", "high"].contains($0["severity"] as? String ?? "") }
        #expect(severe.isEmpty, "\(name): \(severe.map { "\($0["rule"] ?? "?") \($0["message"] ?? "")" })")
        #expect(out.status == 0, "exit \(out.status) with --fail-on high: \(out.stderr)")
        let facts = try #require(doc["facts"] as? [String: Any])
        let stacks = (facts["stacks"] as? [[String: Any]] ?? []).filter { $0["inCharge"] as? Bool == true }.compactMap { $0["stack"] as? String }
        #expect(stacks.sorted() == Self.inCharge[name], "\(name): stacks in charge")
    }

    /// Debian installer, static address on a hotplug virtio NIC: ifupdown acts
    /// through networking.service; systemd-networkd (installed with systemd,
    /// with its shipped example .network files) does not.
    @Test func debianIfupdownIsReadAsInstalled() throws {
        let s = try Self.snapshot("debian12-ifupdown")
        #expect(s.osRelease["VERSION_ID"] == "12")
        #expect(s.initSystem.kind == .systemd)
        #expect(s.packages.isKnown && s.packages.hasFiles("ifupdown") && s.packages.hasFiles("openssh-server"))
        #expect(s.packages.hasFiles("systemd-sysv") && !s.packages.hasFiles("netplan.io"))
        #expect(s.ifupdownManagesNetwork)
        let config = try #require(s.ifupdown)
        #expect(config.autoInterfaces.map(\.value) == ["lo"], "d-i marks only lo `auto`; ens3 is allow-hotplug")
        #expect(config.stanzas.contains { $0.name == "lo" && $0.method == "loopback" })
        #expect(config.stanzas.contains { $0.name == "ens3" && $0.method == "static" })
        let ifupdown = try #require(s.stacks.first { $0.stack == .ifupdown })
        #expect(ifupdown.inCharge && ifupdown.installed == true)
        #expect(ifupdown.reason.contains("networking.service"))
        let networkd = s.stacks.first { $0.stack == .networkd }
        #expect(networkd?.inCharge != true, "networkd is installed but not enabled")
        #expect(!s.stacks.contains { $0.stack == .netplan || $0.stack == .networkManager || $0.stack == .ifcfg })
        let ens3 = try #require(s.claims.first { $0.stack == .ifupdown && $0.name == "ens3" })
        #expect(ens3.addresses.map(\.address) == ["192.0.2.10"] && ens3.addresses.first?.prefixLength == 24)
        #expect(s.defaultRoutes.map(\.gateway) == ["192.0.2.1"])
        #expect(s.defaultRoutes.first?.device == "ens3")
        #expect(s.units.startsAtBoot("ssh.service") != nil)
        #expect(s.listeners.sshPorts.map(\.value) == [22])
    }

    /// netplan with the networkd renderer: netplan's generator and networkd both act; no ifupdown.
    @Test func debianNetplanIsReadAsInstalled() throws {
        let s = try Self.snapshot("debian12-netplan-networkd")
        #expect(s.initSystem.kind == .systemd)
        #expect(s.packages.hasFiles("netplan.io") && s.packages.hasFiles("systemd-resolved") && !s.packages.hasFiles("ifupdown"))
        #expect(s.ifupdown == nil && !s.ifupdownManagesNetwork)
        #expect(s.netplan.netplanInstalled && s.netplan.isAccepted)
        #expect(s.netplan.files == ["/etc/netplan/01-netcfg.yaml"])
        #expect(s.netplan.effectiveRenderer == "networkd")
        #expect(s.units.netplanGenerator != nil)
        let netplan = try #require(s.stacks.first { $0.stack == .netplan })
        #expect(netplan.inCharge)
        let networkd = try #require(s.stacks.first { $0.stack == .networkd })
        #expect(networkd.inCharge && networkd.reason.contains("systemd-networkd.service is enabled"))
        let ens3 = try #require(s.claims.first { $0.stack == .netplan && $0.name == "ens3" })
        #expect(ens3.autostart && !ens3.dhcp4)
        #expect(ens3.addresses.map(\.address) == ["192.0.2.20"])
        #expect(s.defaultRoutes.count == 1 && s.defaultRoutes.first?.gateway == "192.0.2.1")
        #expect(s.units.startsAtBoot("systemd-resolved.service") != nil)
        #expect(s.root.lstat("/etc/resolv.conf")?.linkTarget == "../run/systemd/resolve/stub-resolv.conf",
                "resolv.conf points at resolved's stub, dangling until /run exists at boot")
        #expect(s.listeners.sshPorts.map(\.value) == [22])
    }

    /// Rocky Linux 9 keeping ifcfg files: NetworkManager reads them; no dpkg database.
    @Test func rhelIfcfgIsReadAsInstalled() throws {
        let s = try Self.snapshot("rhel9-ifcfg")
        #expect(s.osRelease["ID"] == "rocky" && s.osRelease["VERSION_ID"] == "9.5")
        #expect(s.initSystem.kind == .systemd)
        #expect(!s.packages.isKnown, "the tool reads dpkg only; an rpm database is not read")
        #expect(s.ifupdown == nil)
        #expect(s.ifcfg.networkingEnabled)
        let ifcfg = try #require(s.stacks.first { $0.stack == .ifcfg })
        #expect(ifcfg.inCharge && ifcfg.reason.contains("NetworkManager"))
        #expect(s.units.startsAtBoot("NetworkManager.service") != nil)
        #expect(s.networkManager.pluginNames == ["ifcfg-rh", "keyfile"])
        let nic = try #require(s.claims.first { $0.stack == .ifcfg && $0.name == "enp1s0" })
        #expect(nic.autostart && nic.addresses.map(\.address) == ["192.0.2.30"] && nic.addresses.first?.prefixLength == 24)
        #expect(s.defaultRoutes.map(\.gateway) == ["192.0.2.1"])
        #expect(s.units.startsAtBoot("sshd.service") != nil)
        #expect(s.listeners.sshPorts.map(\.value) == [22])
    }

    /// The trees keep what git can keep: merged-/usr symlinks, enable links, executable hooks.
    @Test func fixturesKeepSymlinksAndModes() throws {
        let fm = FileManager.default
        for name in Self.names {
            let root = Self.url(name).path
            #expect(try fm.destinationOfSymbolicLink(atPath: root + "/sbin") == "usr/sbin", "\(name): merged /usr")
            let initLink = try fm.destinationOfSymbolicLink(atPath: root + "/usr/sbin/init")
            #expect(["/lib/systemd/systemd", "../lib/systemd/systemd"].contains(initLink), "\(name): /sbin/init -> \(initLink)")
        }
        let debian = Self.url("debian12-ifupdown").path
        let hooks = try fm.contentsOfDirectory(atPath: debian + "/etc/network/if-up.d")
        #expect(!hooks.isEmpty && hooks.allSatisfy { fm.isExecutableFile(atPath: debian + "/etc/network/if-up.d/" + $0) },
                "if-up.d hooks keep their executable bit: \(hooks)")
        #expect(try fm.destinationOfSymbolicLink(atPath: debian + "/etc/systemd/system/multi-user.target.wants/networking.service")
                == "/lib/systemd/system/networking.service")
    }
}
