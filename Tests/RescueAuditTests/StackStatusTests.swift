import Foundation
import SystemModel
import TargetAccess
import Testing

/// Which stack acts at boot, decided from enablement links, generators and packages.
@Suite struct StackStatusTests {
    func snapshot(_ files: [String: String], links: [String: String] = [:]) throws -> (SystemSnapshot, URL) {
        let dir = try makeTempDir("stacks")
        for (path, text) in files { try write(text, to: dir.appendingPathComponent(String(path.dropFirst()))) }
        try writeUnitPrograms(files, into: dir)
        for (path, target) in links {
            let url = dir.appendingPathComponent(String(path.dropFirst()))
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
        }
        return (SystemSnapshot.load(root: try TargetRoot(directory: dir.path)), dir)
    }

    static let status = "Package: systemd\nStatus: install ok installed\nVersion: 252.30-1\n\nPackage: systemd-sysv\nStatus: install ok installed\nVersion: 252.30-1\n\n"
    static let netplanYAML = "network:\n  version: 2\n  ethernets:\n    ens3:\n      dhcp4: true\n"
    static let unit = "[Unit]\nDescription=x\n\n[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n"

    func status(_ s: SystemSnapshot, _ stack: NetworkStack) -> StackStatus? { s.stacks.first { $0.stack == stack } }

    @Test func netplanGeneratorStartsNetworkdForItsConfig() throws {
        let (s, dir) = try snapshot([
            "/etc/netplan/50-cloud-init.yaml": Self.netplanYAML,
            "/var/lib/dpkg/status": Self.status + "Package: netplan.io\nStatus: install ok installed\nVersion: 0.106\n",
            "/usr/libexec/netplan/generate": "",
            "/lib/systemd/system/systemd-networkd.service": Self.unit,
        ], links: ["/lib/systemd/system-generators/netplan": "../../../usr/libexec/netplan/generate", "/sbin/init": "/lib/systemd/systemd"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(status(s, .netplan)?.inCharge == true)
        let networkd = try #require(status(s, .networkd))
        #expect(networkd.inCharge, "\(networkd.reason)")
        #expect(networkd.reason.contains("generator"))
    }

    @Test func netplanRemovedButNotPurgedActsOnNothing() throws {
        let (s, dir) = try snapshot([
            "/etc/netplan/50-cloud-init.yaml": Self.netplanYAML,
            "/var/lib/dpkg/status": Self.status + "Package: netplan.io\nStatus: deinstall ok config-files\nVersion: 0.106\n",
        ])
        defer { try? FileManager.default.removeItem(at: dir) }
        let netplan = try #require(status(s, .netplan))
        #expect(!netplan.inCharge)
        #expect(netplan.reason.contains("not installed"))
    }

    @Test func ifupdownNeedsNetworkingServiceUnderSystemd() throws {
        let files = [
            "/etc/network/interfaces": "auto lo\niface lo inet loopback\n\nauto eth0\niface eth0 inet dhcp\n",
            "/var/lib/dpkg/status": Self.status + "Package: ifupdown\nStatus: install ok installed\nVersion: 0.8.41\n",
            "/lib/systemd/system/networking.service": Self.unit,
            "/lib/systemd/systemd": "systemd",
        ]
        let (off, d1) = try snapshot(files, links: ["/sbin/init": "/lib/systemd/systemd"])
        defer { try? FileManager.default.removeItem(at: d1) }
        #expect(status(off, .ifupdown)?.inCharge == false)
        let (on, d2) = try snapshot(files, links: [
            "/sbin/init": "/lib/systemd/systemd",
            "/etc/systemd/system/multi-user.target.wants/networking.service": "/lib/systemd/system/networking.service",
        ])
        defer { try? FileManager.default.removeItem(at: d2) }
        let st = try #require(status(on, .ifupdown))
        #expect(st.inCharge, "\(st.reason)")
        #expect(st.reason.contains("multi-user.target.wants"))
    }

    @Test(.enabled(if: isRoot || mustRunPrivileged, "NetworkManager reads only root-owned keyfiles"))
    func maskedNetworkManagerDoesNotAct() throws {
        let (s, dir) = try snapshot([
            "/etc/NetworkManager/system-connections/eth0.nmconnection":
                "[connection]\nid=eth0\nuuid=3e5c5c1a-0c1f-4f0e-9d3a-1b2c3d4e5f60\ntype=ethernet\ninterface-name=eth0\n\n[ipv4]\nmethod=auto\n",
            "/var/lib/dpkg/status": Self.status + "Package: network-manager\nStatus: install ok installed\nVersion: 1.42\n",
            "/usr/lib/systemd/system/NetworkManager.service": Self.unit,
        ], links: ["/etc/systemd/system/NetworkManager.service": "/dev/null", "/sbin/init": "/lib/systemd/systemd"])
        defer { try? FileManager.default.removeItem(at: dir) }
        #expect(s.stacks.first { $0.stack == .networkManager } == nil, "a keyfile others can read is ignored by NetworkManager")
        // NetworkManager reads only keyfiles that nobody but root can read.
        let keyfile = dir.appendingPathComponent("etc/NetworkManager/system-connections/eth0.nmconnection").path
        #expect(chmod(keyfile, 0o600) == 0)
        let again = SystemSnapshot.load(root: try TargetRoot(directory: dir.path))
        let nm = try #require(status(again, .networkManager))
        #expect(!nm.inCharge)
        #expect(nm.reason.contains("masked"))
    }
}
