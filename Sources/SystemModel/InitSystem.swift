import Parsers
import TargetAccess

/// What runs as PID 1 when the target boots, and how we know.
public struct InitSystem: Sendable {
    public enum Kind: String, Sendable, Codable { case systemd, sysvinit, other, unknown }
    public var kind: Kind
    /// One sentence: which file or package decided.
    public var reason: String

    static func detect(_ root: TargetRoot, packages: PackageDatabase) -> InitSystem {
        if let info = root.lstat("/sbin/init") {
            if let link = info.linkTarget {
                if link.contains("systemd") {
                    return InitSystem(kind: .systemd, reason: "/sbin/init is a symlink to \(link)")
                }
                if link.contains("busybox") || link.contains("openrc") || link.contains("runit") {
                    return InitSystem(kind: .other, reason: "/sbin/init is a symlink to \(link)")
                }
            }
            if packages.hasFiles("sysvinit-core") {
                return InitSystem(kind: .sysvinit, reason: "/sbin/init comes from the installed sysvinit-core package")
            }
            if packages.hasFiles("systemd-sysv") {
                return InitSystem(kind: .systemd, reason: "the systemd-sysv package provides /sbin/init")
            }
            if info.kind == .regular {
                if let bytes = root.bytes("/sbin/init"), bytes.count > 64, contains(bytes, "systemd") {
                    return InitSystem(kind: .systemd, reason: "/sbin/init is a systemd binary")
                }
                return InitSystem(kind: .sysvinit, reason: "/sbin/init is a regular file that is not systemd")
            }
        }
        if root.exists("/lib/systemd/systemd") || root.exists("/usr/lib/systemd/systemd") {
            return InitSystem(kind: .systemd, reason: "/sbin/init is missing but systemd is installed")
        }
        return InitSystem(kind: .unknown, reason: "/sbin/init was not found")
    }

    private static func contains(_ bytes: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard bytes.count >= n.count else { return false }
        var i = 0
        let limit = bytes.count - n.count
        while i <= limit {
            if bytes[i] == n[0] && Array(bytes[i..<(i + n.count)]) == n { return true }
            i += 1
        }
        return false
    }
}
