import Parsers
import TargetAccess

/// /etc/resolv.conf as the resolver will find it at boot.
public struct ResolvConfState: Sendable {
    public static let path = "/etc/resolv.conf"
    /// The name exists (a file or a symlink, dangling or not).
    public var exists = false
    /// Where the symlink points, when it is one.
    public var linkTarget: String?
    /// The name resolves to something (a dangling symlink does not).
    public var resolves = false
    /// The file's `nameserver` lines; nil when it could not be read.
    public var nameservers: [SourceLine]?
    public var lineCount = 0
}

/// What every clone of this disk would share with it.
public struct CloneIdentity: Sendable {
    /// /etc/machine-id with an ID in it (not empty, not `uninitialized`).
    public var machineID: SourceLine?
    /// /etc/lvm/devices/system.devices: LVM (use_devicesfile=1, RHEL 9's
    /// default) only scans the devices it lists, by WWID or serial.
    public var lvmDevices: [SourceLine] = []
}

/// The kernels, initrds and module trees on the target, and its initrd tools.
public struct KernelFiles: Sendable {
    /// The names in /boot.
    public var bootNames: [String] = []
    /// Releases with a directory under /lib/modules or /usr/lib/modules.
    public var moduleReleases: Set<String> = []
    public var hasUpdateInitramfs = false
    public var hasDracut = false
    public var hasMkinitcpio = false
}

/// Facts the rules need beyond the configuration models, read once with the
/// snapshot so that no rule reads the target.
public struct TargetFacts: Sendable {
    public var resolvConf = ResolvConfState()
    public var kernels = KernelFiles()
    public var clone = CloneIdentity()
    /// The .deb files in apt's cache.
    public var aptArchives: [String] = []
    /// `--no-loopback` lines in /etc/default/networking and the networking unit or init script.
    public var noLoopbackLines: [SourceLine] = []

    public init() {}

    static func load(_ root: TargetRoot) -> TargetFacts {
        var f = TargetFacts()
        let rc = ResolvConfState.path
        if let info = root.lstat(rc) {
            f.resolvConf.exists = true
            if info.kind == .symlink { f.resolvConf.linkTarget = info.linkTarget }
            f.resolvConf.resolves = root.stat(rc) != nil
            if f.resolvConf.linkTarget == nil, let bytes = root.bytes(rc) {
                f.resolvConf.nameservers = ResolvConfParser.nameservers(bytes, path: rc)
                f.resolvConf.lineCount = Text.lines(bytes).count
            }
        }

        f.kernels.bootNames = (root.list("/boot") ?? []).map(\.name)
        for dir in ["/lib/modules", "/usr/lib/modules"] {
            for e in root.list(dir) ?? [] where root.stat(dir + "/" + e.name)?.kind == .directory { f.kernels.moduleReleases.insert(e.name) }
        }
        f.kernels.hasUpdateInitramfs = root.isRegularFile("/usr/sbin/update-initramfs")
        f.kernels.hasDracut = root.exists("/usr/bin/dracut") || root.exists("/usr/sbin/dracut")
        f.kernels.hasMkinitcpio = root.exists("/usr/bin/mkinitcpio")

        f.aptArchives = (root.list("/var/cache/apt/archives") ?? []).map(\.name)

        if let b = root.bytes("/etc/machine-id"), let first = Text.lines(b).first {
            let id = Text.trimmed(first)
            if id.count == 32, id.allSatisfy(\.isHexDigit) { f.clone.machineID = SourceLine(path: "/etc/machine-id", line: 1, text: first) }
        }
        let devices = "/etc/lvm/devices/system.devices"
        if let b = root.bytes(devices) {
            f.clone.lvmDevices = Text.lines(b).enumerated().compactMap { i, l in
                l.contains("IDTYPE=") ? SourceLine(path: devices, line: i + 1, text: l) : nil
            }
        }

        for path in ["/etc/default/networking", "/etc/init.d/networking", "/etc/systemd/system/networking.service",
                     "/lib/systemd/system/networking.service"] {
            guard let bytes = root.bytes(path) else { continue }
            f.noLoopbackLines += LineSearch.lines(bytes, path: path, containing: "--no-loopback")
        }
        return f
    }
}
