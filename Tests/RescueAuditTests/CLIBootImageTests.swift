import Foundation
import Testing

/// Issue 7's images: one fault each, audited through the CLI as a user does
/// (`rescue-audit audit IMAGE --format json`), and a clean image with none.
@Suite("CLI on images with one boot fault each", .serialized, .enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
struct CLIBootImageTests {
    static let rootUUID = "7b007000-1111-4c2d-9e0f-0123456789ab"
    static let srvUUID = "7b007000-2222-4c2d-9e0f-0123456789ab"
    static let machineID = "5e1d2c3b4a5968778695a4b3c2d1e0f9"
    static let kernel = "6.1.0-18-amd64"
    static let rules = ["fstab-device-missing", "filesystem-needs-check", "package-transaction-interrupted", "kernel-missing", "last-boot-errors"]

    enum Fault: String, CaseIterable, CustomTestStringConvertible {
        case none, wrongFstabUUID, ext4Errors, halfConfiguredPackage, missingInitrd, failedNetworkUnitInJournal
        var testDescription: String { rawValue }
        var rule: String? {
            switch self {
            case .none: nil
            case .wrongFstabUUID: "fstab-device-missing"
            case .ext4Errors: "filesystem-needs-check"
            case .halfConfiguredPackage: "package-transaction-interrupted"
            case .missingInitrd: "kernel-missing"
            case .failedNetworkUnitInJournal: "last-boot-errors"
            }
        }
    }

    /// A Debian-like root where everything these rules look at is in order,
    /// then `fault` broken in it.
    func makeImage(_ w: Workdir, fault: Fault) throws -> String {
        let tree = "\(w.path)/root"
        let srvSpec = fault == .wrongFstabUUID ? "UUID=7b007000-dead-4c2d-9e0f-0123456789ab" : "UUID=\(Self.srvUUID)"
        try makeRootTree(tree, fstab: "UUID=\(Self.rootUUID) / ext4 errors=remount-ro 0 1\n\(srvSpec) /srv ext4 defaults 0 2")
        let k = Self.kernel
        let state = fault == .halfConfiguredPackage ? "half-configured" : "installed"
        try sh("""
        cd '\(tree)'
        mkdir -p var/lib/dpkg/updates usr/lib/modules/\(k)/kernel boot/grub srv
        ln -s usr/lib lib
        printf 'Package: base-files\\nStatus: install ok installed\\nVersion: 12.5\\n\\nPackage: libc6\\nStatus: install ok \(state)\\nArchitecture: amd64\\nVersion: 2.36-9+deb12u7\\n\\nPackage: ifupdown\\nStatus: install ok installed\\nArchitecture: amd64\\nVersion: 0.8.41\\n\\n' > var/lib/dpkg/status
        mkdir -p etc/network
        printf 'auto lo\\niface lo inet loopback\\n\\nallow-hotplug ens3\\niface ens3 inet dhcp\\n' > etc/network/interfaces
        printf 'nameserver 192.0.2.53\\n' > etc/resolv.conf
        printf 'kernel/drivers/net/virtio_net.ko:\\n' > usr/lib/modules/\(k)/modules.dep
        printf 'kernel\\n' > boot/vmlinuz-\(k)
        printf 'initrd\\n' > boot/initrd.img-\(k)
        cat > boot/grub/grub.cfg <<'EOF'
        set default="0"
        menuentry 'Debian GNU/Linux' --class debian $menuentry_id_option 'gnulinux-simple-\(Self.rootUUID)' {
        	search --no-floppy --fs-uuid --set=root \(Self.rootUUID)
        	linux	/boot/vmlinuz-\(k) root=UUID=\(Self.rootUUID) ro quiet
        	initrd	/boot/initrd.img-\(k)
        }
        EOF
        """)
        if fault == .missingInitrd { try sh("rm '\(tree)/boot/initrd.img-\(k)'") }
        // The journal: the fixture's failing boot, or a boot that went well.
        let journalDir = "\(tree)/var/log/journal/\(Self.machineID)"
        try sh("mkdir -p '\(journalDir)'")
        if JournalTests.unavailable == nil {
            let export: String
            if fault == .failedNetworkUnitInJournal {
                export = try String(contentsOf: Repo.fixtures.appendingPathComponent("journal/network-failure.export"), encoding: .utf8)
            } else {
                export = ["Linux version \(k)", "Starting networking.service - Raise network interfaces...", "Finished networking.service - Raise network interfaces.",
                          "Started ssh.service - OpenBSD Secure Shell server."].enumerated().map { i, m in
                    "__REALTIME_TIMESTAMP=\(1_712_365_390_000_000 + i * 1_000_000)\n__MONOTONIC_TIMESTAMP=\(i + 1)\n_BOOT_ID=0f4b7c2e8a1d4e6f9b3c5a7d2e1f0a9b\n_HOSTNAME=web1\nSYSLOG_IDENTIFIER=systemd\n_PID=1\nMESSAGE=\(m)\n\n"
                }.joined()
            }
            try JournalTests.makeJournal(export, at: URL(fileURLWithPath: "\(journalDir)/system.journal"))
        } else {
            #expect(!mustRunPrivileged, "\(JournalTests.unavailable ?? "")")
        }
        let image = "\(w.path)/disk.img"
        try makeGPTImage(image, parts: [
            PartSpec(sizeMiB: 24, name: "root", content: .ext4(tree: tree, uuid: Self.rootUUID)),
            PartSpec(sizeMiB: 8, name: "srv", content: .ext4(tree: nil, uuid: Self.srvUUID)),
        ])
        if fault == .ext4Errors {
            // What the kernel writes when it hits corruption: state "with errors", a count, the last error.
            for set in ["state 3", "error_count 3", "last_error_time 20240406010317", "last_error_func ext4_lookup", "last_error_line 1855", "last_error_ino 12"] {
                try sh("debugfs -w -R 'ssv \(set)' '\(image)?offset=1048576' >/dev/null 2>&1")
            }
        }
        return image
    }

    struct Found {
        var rule: String
        var severity: String
        var message: String
        var evidence: [[String: Any]]
    }

    func audit(_ image: String) throws -> (findings: [Found], plan: [[String: Any]], status: Int32) {
        let out = try rescueAudit(["audit", image, "--format", "json"])
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "\(out.stderr)")
        let findings = (doc["findings"] as? [[String: Any]] ?? []).map { f in
            Found(rule: f["rule"] as? String ?? "", severity: f["severity"] as? String ?? "", message: f["message"] as? String ?? "",
                  evidence: f["evidence"] as? [[String: Any]] ?? [])
        }
        let plan = (doc["plan"] as? [String: Any])?["actions"] as? [[String: Any]] ?? []
        return (findings, plan, out.status)
    }

    @Test(arguments: Fault.allCases)
    func oneFaultOneRule(_ fault: Fault) throws {
        let w = try Workdir()
        let image = try makeImage(w, fault: fault)
        let before = try sha256(image)
        let (findings, plan, status) = try audit(image)
        let ours = findings.filter { Self.rules.contains($0.rule) }
        #expect(ours.map(\.rule) == (fault.rule.map { [$0] } ?? []) || (fault == .failedNetworkUnitInJournal && Set(ours.map(\.rule)) == ["last-boot-errors"]),
                "\(fault): \(ours.map { "\($0.rule) \($0.severity): \($0.message)" })")
        if fault == .none { #expect(status == 0, "a clean image exits 0: \(findings.map(\.message))") }
        switch fault {
        case .none:
            break
        case .wrongFstabUUID:
            let f = try #require(ours.first)
            #expect(f.severity == "critical" && f.message.contains("/srv"))
            #expect(f.evidence.first?["line"] as? Int == 2)
            // The only unclaimed ext4 partition is the right one: the fix points the line at it.
            #expect(plan.contains { ($0["summary"] as? String)?.contains("UUID=\(Self.srvUUID)") == true }, "\(plan)")
        case .ext4Errors:
            let f = try #require(ours.first)
            #expect(f.severity == "high")
            #expect(f.message.contains("3 errors, the last at 2024-04-06 01:03:17 UTC in ext4_lookup:1855 (inode 12)"), "\(f.message)")
            let commands = plan.compactMap { $0["commands"] as? [String] }.flatMap { $0 }
            #expect(commands.contains { $0.hasPrefix("losetup --find --show --offset 1048576 --sizelimit 25165824 ") }, "\(commands)")
            #expect(commands.contains("e2fsck -f /dev/loopN"))
        case .halfConfiguredPackage:
            #expect(plan.contains { ($0["command"] as? [String]) == ["dpkg", "--configure", "-a"] })
        case .missingInitrd:
            let f = try #require(ours.first)
            #expect(f.severity == "critical" && f.message.contains("/boot/initrd.img-\(Self.kernel)"))
        case .failedNetworkUnitInJournal:
            guard JournalTests.unavailable == nil else { break }
            let net = try #require(ours.first { $0.message.contains("Raise network interfaces") })
            #expect(net.severity == "high" && net.message.contains("read directly"))
            #expect((net.evidence.first?["path"] as? String)?.hasPrefix("/var/log/journal/\(Self.machineID)/") == true)
        }
        #expect(try sha256(image) == before, "the image is never written")
        // The CLI's mounts lived in its own namespace, gone with it; its loop devices and any host mount must be too.
        // (This process's own namespace is not checked: other suites mount in it while this one runs.)
        #expect(!(try sh("losetup -a || true")).contains(w.path), "loop devices left")
        #expect(ScratchMounts(try sh("cat /proc/self/mountinfo")).isEmpty, "mounts left in the host namespace")
    }
}
