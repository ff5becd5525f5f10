/// How an fstab line names what it mounts.
public enum FstabDevice: Hashable, Sendable {
    /// `UUID=…` or `/dev/disk/by-uuid/…` (kept as written; compare case-insensitively).
    case uuid(String)
    /// `LABEL=…` or `/dev/disk/by-label/…`.
    case label(String)
    /// `PARTUUID=…` or `/dev/disk/by-partuuid/…`.
    case partUUID(String)
    /// `PARTLABEL=…` or `/dev/disk/by-partlabel/…`.
    case partLabel(String)
    /// Any other `/dev/…` path (`/dev/sda2`, `/dev/mapper/vg-root`, `/dev/disk/by-id/…`).
    case path(String)
    /// Not a device: `tmpfs`, `proc`, `server:/export`, `//host/share`, a file for a loop mount.
    case other(String)

    /// Classifies an fstab spec as libmount reads it: the tags may be quoted,
    /// and the udev symlink names carry `\x20`-style escapes.
    public init(spec: String) {
        let tags: [(String, String, (String) -> FstabDevice)] = [
            ("UUID=", "/dev/disk/by-uuid/", { .uuid($0) }),
            ("LABEL=", "/dev/disk/by-label/", { .label($0) }),
            ("PARTUUID=", "/dev/disk/by-partuuid/", { .partUUID($0) }),
            ("PARTLABEL=", "/dev/disk/by-partlabel/", { .partLabel($0) }),
        ]
        for (tag, dir, make) in tags {
            if spec.hasPrefix(tag) {
                var value = String(spec.dropFirst(tag.count))
                if value.count >= 2, (value.hasPrefix("\"") && value.hasSuffix("\"")) || (value.hasPrefix("'") && value.hasSuffix("'")) {
                    value = String(value.dropFirst().dropLast())
                }
                self = make(value)
                return
            }
            if spec.hasPrefix(dir) {
                self = make(FstabParser.unescapeUdev(String(spec.dropFirst(dir.count))))
                return
            }
        }
        self = spec.hasPrefix("/dev/") ? .path(spec) : .other(spec)
    }

    /// The spec written back the way fstab names it.
    public var spec: String {
        switch self {
        case .uuid(let v): "UUID=\(v)"
        case .label(let v): "LABEL=\(v)"
        case .partUUID(let v): "PARTUUID=\(v)"
        case .partLabel(let v): "PARTLABEL=\(v)"
        case .path(let v), .other(let v): v
        }
    }

    /// The identifier without its kind (`UUID=abc` → `abc`).
    public var value: String {
        switch self {
        case .uuid(let v), .label(let v), .partUUID(let v), .partLabel(let v), .path(let v), .other(let v): v
        }
    }
}

/// One line of /etc/fstab that names something to mount or swap on.
public struct FstabEntry: Sendable, Hashable {
    /// The 1-based line number (kept beside `source` for callers that only need it).
    public var line: Int
    public var source: SourceLine
    public var spec: String
    public var mountPoint: String
    public var fsType: String
    public var options: [String]
    /// The sixth field (fsck order); nil when absent, which means 0.
    public var pass: Int?

    public var device: FstabDevice { FstabDevice(spec: spec) }

    public func has(option: String) -> Bool { options.contains(option) }

    /// `nofail` or `noauto`: the boot does not wait for it, or does not mount it at all.
    public var bootMayGoOnWithout: Bool { has(option: "nofail") || has(option: "noauto") }

    public var isSwap: Bool { fsType == "swap" }

    /// Filesystems that have no block device behind them, network filesystems
    /// (which only `remote-fs.target` waits for) and bind or loop mounts of
    /// files: a missing "device" among these is not a missing disk.
    public var needsLocalBlockDevice: Bool {
        if case .other = device { return false }
        if options.contains(where: { $0 == "bind" || $0 == "rbind" || $0 == "loop" || $0.hasPrefix("loop=") || $0 == "_netdev" }) { return false }
        if Self.virtualTypes.contains(fsType) || Self.networkTypes.contains(fsType) || fsType.hasPrefix("fuse") { return false }
        return true
    }

    static let virtualTypes: Set<String> = [
        "proc", "sysfs", "tmpfs", "devtmpfs", "devpts", "none", "securityfs", "cgroup", "cgroup2", "debugfs",
        "tracefs", "hugetlbfs", "mqueue", "pstore", "efivarfs", "configfs", "fusectl", "binfmt_misc",
        "rpc_pipefs", "nfsd", "autofs", "overlay", "ramfs", "bpf", "selinuxfs",
    ]
    static let networkTypes: Set<String> = [
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "sshfs", "glusterfs", "ceph", "9p", "virtiofs", "davfs", "ocfs2", "gfs2",
    ]

    /// Parses fstab(5) text (kept for discovery, which only needs the entries).
    public static func parse(_ bytes: [UInt8]) -> [FstabEntry] { FstabParser.parse(bytes).entries }
}

/// Parses fstab(5): whitespace-separated fields, `#` comments, `\040`-style
/// octal escapes in every field, as libmount reads them.
public enum FstabParser {
    public static func parse(_ bytes: [UInt8], path: String = "/etc/fstab") -> (entries: [FstabEntry], diagnostics: [Diagnostic]) {
        var out: [FstabEntry] = []
        var diagnostics: [Diagnostic] = []
        for (index, raw) in Text.lines(bytes).enumerated() {
            let line = Text.trimmed(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let fields = Text.words(line).map { unescape(String($0)) }
            let location = SourceLocation(path: path, line: index + 1)
            guard fields.count >= 2 else {
                diagnostics.append(Diagnostic(location, text: raw, message: "An fstab line needs at least a device and a mount point."))
                continue
            }
            var pass: Int?
            if fields.count > 5 {
                pass = Int(fields[5])
                if pass == nil {
                    diagnostics.append(Diagnostic(location, text: raw, message: "The sixth field (fsck pass) is not a number."))
                }
            }
            out.append(FstabEntry(
                line: index + 1, source: SourceLine(location, raw), spec: fields[0], mountPoint: fields[1],
                fsType: fields.count > 2 ? fields[2] : "auto",
                options: fields.count > 3 ? fields[3].split(separator: ",").map(String.init) : [],
                pass: pass))
        }
        return (out, diagnostics)
    }

    /// fstab's octal escapes (`\040` for a space).
    public static func unescape(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "\\") {
                let digits = u[(i + 1)..<min(i + 4, u.count)]
                if digits.count == 3, digits.allSatisfy({ $0 >= 48 && $0 <= 55 }),
                   let v = UInt8(String(decoding: digits, as: UTF8.self), radix: 8) {
                    bytes.append(v)
                    i += 4
                    continue
                }
            }
            bytes.append(u[i])
            i += 1
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// udev escapes unsafe characters in /dev/disk/by-label names as `\x20`.
    public static func unescapeUdev(_ s: String) -> String {
        guard s.contains("\\x") else { return s }
        var out: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == UInt8(ascii: "\\"), i + 3 < u.count, u[i + 1] == UInt8(ascii: "x"),
               let v = UInt8(String(decoding: u[(i + 2)...(i + 3)], as: UTF8.self), radix: 16) {
                out.append(v)
                i += 4
            } else {
                out.append(u[i])
                i += 1
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
