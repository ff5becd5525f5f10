// One entry per parser for libFuzzer (scripts/fuzz.sh compiles this file
// together with Sources/Parsers into one instrumented binary, where the
// parsers are in the same module) and for the corpus replay test
// (FuzzCorpusReplayTests), which runs every committed input once.
#if canImport(Parsers)
@testable import Parsers
#endif

enum FuzzTargets {
    /// Every target's name, which is also its corpus directory under fuzz/corpus/.
    static let names: [String] = all.map(\.name)

    static func run(_ name: String, _ bytes: [UInt8]) -> Bool {
        guard let target = all.first(where: { $0.name == name }) else { return false }
        target.body(bytes)
        return true
    }

    /// Reads `bytes` as a file of `count` bytes, a piece at a time, the way
    /// the confined reader serves the journal, XFS log and initramfs readers.
    static func reader(_ bytes: [UInt8]) -> (Int64, Int) -> [UInt8]? {
        { offset, count in
            guard offset >= 0, count >= 0, offset <= Int64(bytes.count) else { return nil }
            let start = Int(offset)
            let end = start + min(count, bytes.count - start)
            return Array(bytes[start..<end])
        }
    }

    static let all: [(name: String, body: @Sendable ([UInt8]) -> Void)] = [
        ("netplan", { b in
            _ = NetplanParser.parse(b, path: "/etc/netplan/50-cloud-init.yaml")
            _ = NetplanParser.parse(b, path: "/etc/netplan/50-cloud-init.yaml", version: NetplanVersion(0, 106))
        }),
        ("ifupdown", { b in
            _ = IfupdownParser.parse(b, path: "/etc/network/interfaces", dialect: .ifupdown)
            _ = IfupdownParser.parse(b, path: "/etc/network/interfaces", dialect: .ifupdown2)
            _ = IfupdownParser.parse(b, path: "/etc/network/interfaces", dialect: .ifupdownNG)
        }),
        ("systemd-unit", { b in
            // networkd .network/.netdev/.link files and service units share the ini reader.
            _ = SystemdUnitParser.parse(b, path: "/etc/systemd/network/10-eth0.network")
        }),
        ("nm-keyfile", { b in
            let file = NMKeyfileParser.parse(b, path: "/etc/NetworkManager/system-connections/eth0.nmconnection")
            for group in file.groups { for entry in group.entries {
                _ = NMKeyfileParser.address(entry.value, ipv6: false)
                _ = NMKeyfileParser.address(entry.value, ipv6: true)
                _ = KeyFileParser.list(entry.value)
            } }
        }),
        ("ifcfg", { b in
            _ = IfcfgParser.parse(b, path: "/etc/sysconfig/network-scripts/ifcfg-eth0")
            _ = IfcfgParser.parseRoutes(b, path: "/etc/sysconfig/network-scripts/route-eth0", ipv6: false)
            _ = IfcfgParser.parseRoutes(b, path: "/etc/sysconfig/network-scripts/route6-eth0", ipv6: true)
        }),
        ("iptables-save", { b in
            _ = IptablesSaveParser.parse(b, path: "/etc/iptables/rules.v4", family: .ipv4)
            _ = IptablesSaveParser.parse(b, path: "/etc/iptables/rules.v6", family: .ipv6, noflush: true, backend: .nft)
        }),
        ("nft", { b in
            var defines: [String: [NftToken]] = [:]
            _ = NftParser.parse(b, path: "/etc/nftables.conf", defines: &defines)
        }),
        ("sshd-config", { b in
            _ = SshdConfigParser.parse(b, path: "/etc/ssh/sshd_config")
        }),
        ("fstab", { b in
            _ = FstabParser.parse(b)
        }),
        ("grub", { b in
            _ = GrubConfigParser.parse(b, path: "/boot/grub/grub.cfg")
            _ = BLSEntryParser.parse(b, path: "/boot/loader/entries/a.conf")
            _ = GrubEnvParser.parse(b, path: "/boot/grub/grubenv")
            _ = KernelImage.release(b)
        }),
        ("initramfs", { b in
            var limits = Initramfs.Limits()
            limits.maxDecompressed = 64 << 20
            _ = Initramfs.read(b, limits: limits) { _ in true }
        }),
        ("journal", { b in
            guard let journal = try? JournalFile(size: Int64(b.count), budget: 4 << 20, read: reader(b)) else { return }
            for offset in journal.entryOffsets().prefix(64) {
                _ = journal.entry(at: offset)
                _ = journal.entryStamp(at: offset)
            }
        }),
        ("superblocks", { b in
            _ = ExtSuperblock.decode(b)
            if let xfs = XFSSuperblock.decode(b) { _ = xfs.logOffset; _ = xfs.hasInternalLog }
            _ = XFSLogState.find(length: Int64(b.count), read: reader(b))
        }),
        ("udev-rules", { b in
            _ = UdevRulesParser.parse(b, path: "/etc/udev/rules.d/70-persistent-net.rules")
        }),
        ("dpkg-status", { b in
            let (packages, _) = DpkgStatusParser.parse(b, path: "/var/lib/dpkg/status")
            for (p, q) in zip(packages, packages.dropFirst()) { _ = DebianVersion.compare(p.version ?? "", q.version ?? "") }
        }),
        ("accounts", { b in
            _ = AccountParsers.passwd(b, path: "/etc/passwd")
            _ = AccountParsers.group(b, path: "/etc/group")
            _ = AccountParsers.shadow(b, path: "/etc/shadow")
            _ = AccountParsers.shells(b)
            _ = HostsAccessParser.parse(b, path: "/etc/hosts.allow")
            _ = HostsParser.parse(b, path: "/etc/hosts")
        }),
        ("listen-configs", { b in
            _ = PostfixParser.parseMain(b, path: "/etc/postfix/main.cf")
            _ = PostfixParser.parseMaster(b, path: "/etc/postfix/master.cf")
            _ = AmavisConfigParser.parse(b, path: "/etc/amavis/conf.d/50-user")
            _ = NginxConfigParser.parse(b, path: "/etc/nginx/nginx.conf")
            _ = ApacheConfigParser.parse(b, path: "/etc/apache2/ports.conf")
        }),
        ("firewalld", { b in
            _ = MiniXML.parse(b, path: "/etc/firewalld/zones/public.xml")
            _ = FirewalldParser.zone(b, path: "/etc/firewalld/zones/public.xml", name: "public")
            _ = FirewalldParser.service(b, path: "/etc/firewalld/services/ssh.xml", name: "ssh")
        }),
        ("shell-configs", { b in
            _ = ShellAssignments.parse(b, path: "/etc/default/grub")
            _ = HookScriptParser.parse(b, path: "/etc/network/if-up.d/hook")
            _ = InittabParser.parse(b, path: "/etc/inittab")
            _ = ResolvConfParser.nameservers(b, path: "/etc/resolv.conf")
            _ = CloudConfigParser.disablesNetwork(b)
        }),
        ("syslog-tail", { b in
            _ = SyslogTail.scan(path: "/var/log/syslog", size: Int64(b.count), chunkSize: 4096, read: reader(b))
            _ = SyslogTail.scan(path: "/var/log/boot.log", size: Int64(b.count), chunkSize: 4096, read: reader(b))
        }),
        ("elf", { b in
            _ = ELFNeeded.libraries(b)
        }),
        ("fail2ban-db", { b in
            _ = Fail2banDatabase.bans(b, path: "/var/lib/fail2ban/fail2ban.sqlite3")
        }),
    ]
}
