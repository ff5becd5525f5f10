import Foundation
import Testing

/// A minimal Debian userland inside a test root, so that a repair script's
/// chroot step runs the real command: the host's own dpkg and dpkg-deb with
/// their libraries (from ldd), the host's static ldconfig, and a static
/// busybox for sh and the other programs dpkg insists on finding in PATH.
/// Nothing is faked: `dpkg --configure -a` really reads and rewrites the
/// root's /var/lib/dpkg.
enum ChrootKit {
    /// Why the kit cannot be built here, or nil when it can.
    static var unavailable: String? {
        guard isRoot else { return "chroot steps need root" }
        guard let bb = which("busybox"), (try? run("/usr/bin/file", ["-L", bb]).stdout.contains("statically linked")) ?? false else {
            return "chroot steps need a static busybox (Debian package busybox-static)"
        }
        for tool in ["/usr/bin/dpkg", "/usr/bin/dpkg-deb", "/usr/bin/ldd", "/sbin/ldconfig"] where !FileManager.default.isExecutableFile(atPath: tool) {
            return "chroot steps need \(tool)"
        }
        return nil
    }

    /// The commands the kit can run; a plan with another chroot command cannot be tested this way.
    static let commands: Set<String> = ["dpkg"]

    /// The paths a chroot step may change, left out when undo.sh is checked
    /// (chroot steps cannot be undone, and say so).
    static let changedByCommands = ["/var/lib/dpkg", "/var/log/dpkg.log"]

    static func install(into root: URL) throws {
        let fm = FileManager.default
        for d in ["bin", "usr/bin", "sbin", "proc", "sys", "dev", "run", "tmp", "etc"] {
            try fm.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        func copy(_ host: String) throws {
            let dest = root.appendingPathComponent(String(host.dropFirst()))
            guard !fm.fileExists(atPath: dest.path) else { return }
            try fm.createDirectory(at: dest.deletingLastPathComponent(), withIntermediateDirectories: true)
            // -L: the library itself, not the symlink ldd named.
            let r = try run("/bin/cp", ["-L", "--", host, dest.path])
            #expect(r.status == 0, "cp \(host): \(r.stderr)")
        }
        for binary in ["/usr/bin/dpkg", "/usr/bin/dpkg-deb"] {
            try copy(binary)
            let ldd = try run("/usr/bin/ldd", [binary])
            for word in ldd.stdout.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" }) where word.hasPrefix("/") {
                try copy(String(word))
            }
        }
        try copy("/sbin/ldconfig")
        let bb = try #require(which("busybox"))
        try fm.copyItem(atPath: bb, toPath: root.appendingPathComponent("bin/busybox").path)
        for applet in ["sh", "rm", "tar", "diff", "env", "cat", "start-stop-daemon"] {
            try fm.createSymbolicLink(atPath: root.appendingPathComponent("bin/\(applet)").path, withDestinationPath: "busybox")
        }
    }
}
