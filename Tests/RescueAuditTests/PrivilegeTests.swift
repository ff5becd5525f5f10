import Foundation
import Testing

/// The built binary where an administrator really runs it: inside a chroot
/// of the target (with and without /proc), as root without CAP_SYS_ADMIN,
/// and as an unprivileged user. A command that needs no privilege must work
/// everywhere; one that must mount says in one sentence what is missing.
@Suite(.serialized) struct PrivilegeTests {
    static let capabilityError = "mounting needs CAP_SYS_ADMIN: run as root outside the container, or pass the mounted root as a directory"
    static let chrootError = "inside a chroot the kernel refuses a new mount namespace: audit the device from outside the chroot, or pass the directory"
    static let chrootNote = "audited from inside a chroot: the running kernel and hardware are the rescue system's"

    /// Why these tests cannot run here, or nil. In CI they must run.
    static var unavailable: String? {
        if !isRoot { return "chroot, capsh and setpriv tests need root" }
        for tool in ["capsh", "setpriv", "chroot", "busybox", "ldd", "mkfs.ext4", "sfdisk"] where which(tool) == nil {
            return "\(tool) is not installed (.ci/packages)"
        }
        return nil
    }

    static func skipUnlessAvailable() -> Bool {
        guard let why = unavailable else { return false }
        #expect(!mustRunPrivileged, "\(why)")
        return true
    }

    // MARK: - Inside a chroot of the target

    @Test func everySubcommandInsideAChrootWithoutProc() throws {
        if Self.skipUnlessAvailable() { return }
        let w = try Workdir()
        let root = try ChrootedRoot(w)
        #expect(!FileManager.default.fileExists(atPath: root.path + "/proc/self"), "/proc is not mounted in this chroot")
        try checkInsideChroot(root, workdir: w)
    }

    @Test func everySubcommandInsideAChrootWithProc() throws {
        if Self.skipUnlessAvailable() { return }
        let w = try Workdir()
        let root = try ChrootedRoot(w)
        // A chroot with /proc, as the provider's guide sets it up; the mount
        // lives in a namespace of its own so nothing is left if the test dies.
        // /run is a live tmpfs holding the rescue system's networkd file: it is not the target's.
        let r = q(root.path)
        try checkInsideChroot(root, workdir: w, prefix: """
            mount -t proc proc \(r)/proc && mount --bind /sys \(r)/sys && mount --bind /dev \(r)/dev && \
            mount -t tmpfs tmpfs \(r)/run && mkdir -p \(r)/run/systemd/network && \
            printf '[Match]\\nName=*\\n\\n[Network]\\nAddress=198.51.100.7/24\\n' > \(r)/run/systemd/network/99-live.network && 
            """)
    }

    /// --version, rules, explain, devices, audit / (text and JSON), plan / -o
    /// FILE and the script it writes, run with ROOT=/, then an audit of the
    /// result; an image audit gives the chroot sentence.
    func checkInsideChroot(_ root: ChrootedRoot, workdir w: Workdir, prefix: String = "") throws {
        func inside(_ args: String) throws -> ProcessOutput {
            try run("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c",
                                         prefix + "exec chroot \(q(root.path)) /opt/rescue-tools/run \(args)"])
        }
        let version = try inside("rescue-audit --version")
        #expect(version.status == 0, "\(version.stderr)")
        #expect(version.stdout.hasPrefix("rescue-audit "))
        let rules = try inside("rescue-audit rules")
        #expect(rules.status == 0 && rules.stdout.contains("loopback-not-configured"), "\(rules.stderr)")
        let explain = try inside("rescue-audit explain loopback-not-configured")
        #expect(explain.status == 0 && !explain.stdout.isEmpty, "\(explain.stderr)")
        let devices = try inside("rescue-audit devices")
        #expect(devices.status == 0, "devices lists what it can see: \(devices.stdout) \(devices.stderr)")

        let audit = try inside("rescue-audit audit /")
        #expect(audit.status == 1, "findings: \(audit.stdout) \(audit.stderr)")
        #expect(audit.stdout.contains("loopback-not-configured") || audit.stdout.contains("CRITICAL"), "\(audit.stdout)")
        #expect(audit.stdout.contains(Self.chrootNote), "\(audit.stdout)")
        let json = try inside("rescue-audit audit / --format json")
        #expect(json.stdout.contains(Self.chrootNote))
        let doc = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        let target = doc?["target"] as? [String: Any]
        #expect(target?["path"] as? String == "/")
        // The same findings as outside the chroot: a live /proc in it is neither read nor reported.
        let outside = try rescueAudit(["audit", CLITests.example, "--format", "json"])
        func ruleIDs(_ text: String) -> [String] {
            let d = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
            return ((d?["findings"] as? [[String: Any]]) ?? []).compactMap { $0["rule"] as? String }.sorted()
        }
        #expect(ruleIDs(json.stdout) == ruleIDs(outside.stdout), "\(ruleIDs(json.stdout)) vs \(ruleIDs(outside.stdout))")

        let plan = try inside("rescue-audit plan / -o /repair.sh")
        #expect(plan.status == 0, "\(plan.stdout) \(plan.stderr)")
        #expect(plan.stdout.contains("automatic step") && plan.stdout.contains("ROOT=/ sh /repair.sh"), "\(plan.stdout)")
        let dry = try inside("env ROOT=/ DRY_RUN=1 sh /repair.sh")
        #expect(dry.status == 0, "dry run: \(dry.stdout) \(dry.stderr)")
        let fix = try inside("env ROOT=/ sh /repair.sh")
        #expect(fix.status == 0, "repair with ROOT=/: \(fix.stdout) \(fix.stderr)")
        let again = try inside("env ROOT=/ sh /repair.sh")
        #expect(again.status == 0 && again.stdout.contains("Nothing to do"), "second run: \(again.stdout) \(again.stderr)")
        let after = try inside("rescue-audit audit / --format json")
        #expect(!after.stdout.contains("\"rule\" : \"loopback-not-configured\"") && !after.stdout.contains("\"rule\":\"loopback-not-configured\""),
                "the repair fixed the loopback: \(after.stdout.prefix(400))")
        // undo.sh, found from where it lies with ROOT empty (it runs on the target itself).
        let undo = try inside("sh -c 'for u in /var/backups/rescue-audit/*/undo.sh; do sh \"$u\" || exit 1; done'")
        #expect(undo.status == 0, "undo inside the chroot: \(undo.stdout) \(undo.stderr)")

        // Anything that must mount says why it cannot, in one sentence.
        _ = try PrivilegeTests().makeRootImage(w)
        try sh("cp \(q(w.path + "/disk.img")) \(q(root.path + "/disk.img"))")
        let image = try inside("rescue-audit audit /disk.img")
        #expect(image.status == 2)
        #expect(image.stderr.contains(Self.chrootError),
                "\(image.stderr)")
        let discover = try inside("rescue-audit audit")
        #expect(discover.status == 2, "\(discover.stderr)")
        #expect(!discover.stderr.contains("unshare(CLONE_NEWNS): Invalid argument"))
    }

    /// The provider's way: the root is a mount, chrooted into with /proc and
    /// /dev. There the kernel grants a namespace, and an image audit works;
    /// without /proc it says that /proc is what is missing.
    @Test func imageAuditInsideAChrootOfAMountedRoot() throws {
        if Self.skipUnlessAvailable() { return }
        let w = try Workdir()
        let root = try ChrootedRoot(w)
        _ = try makeRootImage(w)
        try sh("cp \(q(w.path + "/disk.img")) \(q(root.path + "/disk.img"))")
        let r = q(root.path)
        func inside(_ setup: String, _ args: String) throws -> ProcessOutput {
            try run("/usr/bin/unshare", ["--mount", "--propagation", "private", "/bin/sh", "-c",
                                         "mount --bind \(r) \(r) && \(setup) exec chroot \(r) /opt/rescue-tools/run \(args)"])
        }
        let withProc = try inside("mount -t proc proc \(r)/proc && mount --bind /dev \(r)/dev &&", "rescue-audit audit /disk.img")
        #expect(withProc.status == 1, "an image audit inside a chroot of a mounted root: \(withProc.stdout.prefix(300)) \(withProc.stderr)")
        #expect(withProc.stdout.contains("/disk.img partition 1"), "\(withProc.stdout.prefix(300))")
        let noProc = try inside("", "rescue-audit audit /disk.img")
        #expect(noProc.status == 2)
        #expect(noProc.stderr.contains("mounting needs /proc"), "\(noProc.stderr)")
        // losetup -j matches the backing file by inode, whatever name it had in the chroot;
        // an auto-clearing loop device detaches shortly after its last user is gone.
        var left = ""
        for _ in 0..<50 {
            left = try sh("losetup -j \(q(root.path + "/disk.img")) || true")
            if left.isEmpty { break }
            usleep(20_000)
        }
        #expect(left.isEmpty, "no loop device left: \(left)")
    }

    // MARK: - Without CAP_SYS_ADMIN

    @Test func withoutCapSysAdminDirectoriesWorkAndImagesSayWhy() throws {
        if Self.skipUnlessAvailable() { return }
        let w = try Workdir()
        let image = try makeRootImage(w)
        let dir = CLITests.example
        func dropped(_ args: [String]) throws -> ProcessOutput {
            try run(which("capsh") ?? "/usr/sbin/capsh",
                    ["--drop=cap_sys_admin", "--", "-c", "exec \"$0\" \"$@\"", Repo.binary.path] + args)
        }
        let version = try dropped(["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(try dropped(["rules"]).status == 0)
        #expect(try dropped(["explain", "loopback-not-configured"]).status == 0)
        let audit = try dropped(["audit", dir])
        #expect(audit.status == 1, "a directory needs no privilege: \(audit.stderr)")
        #expect(!audit.stdout.contains(Self.chrootNote))
        let out = w.path + "/plan.sh"
        #expect(try dropped(["plan", dir, "-o", out]).status == 0)
        #expect(FileManager.default.fileExists(atPath: out))
        let img = try dropped(["audit", image])
        #expect(img.status == 2)
        #expect(img.stderr.contains(Self.capabilityError), "\(img.stderr)")
        let devices = try dropped(["devices", image])
        #expect(devices.status == 0, "listing needs no privilege: \(devices.stderr)")
        #expect(devices.stdout.contains("ext4") && devices.stdout.contains(Self.capabilityError), "\(devices.stdout)")
    }

    // MARK: - As an unprivileged user

    @Test func asNobodyDirectoriesWorkAndImagesSayWhy() throws {
        if Self.skipUnlessAvailable() { return }
        let w = try Workdir()
        let image = try makeRootImage(w)
        // nobody must be able to reach the binary, the example and the image.
        let copy = w.path + "/rescue-audit"
        try sh("cp \(q(Repo.binary.path)) \(q(copy)) && cp -r \(q(CLITests.example)) \(q(w.path + "/root")) && chmod -R a+rX \(q(w.path))")
        func nobody(_ args: [String]) throws -> ProcessOutput {
            try run(which("setpriv") ?? "/usr/bin/setpriv",
                    ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "--inh-caps=-all", copy] + args)
        }
        let version = try nobody(["--version"])
        #expect(version.status == 0, "\(version.stderr)")
        #expect(try nobody(["rules"]).status == 0)
        #expect(try nobody(["explain", "loopback-not-configured"]).status == 0)
        let audit = try nobody(["audit", w.path + "/root"])
        #expect(audit.status == 1, "a readable directory needs no privilege: \(audit.stderr)")
        let img = try nobody(["audit", image])
        #expect(img.status == 2)
        #expect(img.stderr.contains(Self.capabilityError), "\(img.stderr)")
    }

    /// A one-partition GPT image holding the example root.
    func makeRootImage(_ w: Workdir) throws -> String {
        let image = w.path + "/disk.img"
        try makeGPTImage(image, parts: [PartSpec(sizeMiB: 16, name: "root", content: .ext4(tree: CLITests.example, uuid: "5f0e4f4e-2a53-4a43-9a59-0c4bd4d0a001"))])
        try sh("chmod 0644 \(q(image))")
        return image
    }
}

/// A copy of the example root with the built binary, the shared libraries it
/// needs (from ldd) and a static busybox under /opt/rescue-tools, so that it
/// runs inside `chroot` as it would on a debootstrapped root. The tools stay
/// out of /bin and /sbin so they cannot change what the audit finds.
struct ChrootedRoot {
    let path: String

    init(_ w: Workdir) throws {
        path = w.path + "/root"
        try sh("cp -a \(q(CLITests.example)) \(q(path))")
        let fm = FileManager.default
        let tools = path + "/opt/rescue-tools"
        try fm.createDirectory(atPath: tools + "/bin", withIntermediateDirectories: true)
        for d in ["proc", "dev", "sys", "tmp", "run"] {
            try fm.createDirectory(atPath: path + "/" + d, withIntermediateDirectories: true)
        }
        try sh("cp \(q(Repo.binary.path)) \(q(tools + "/bin/rescue-audit"))")
        let ldd = try run("/usr/bin/ldd", [Repo.binary.path])
        #expect(ldd.status == 0, "ldd: \(ldd.stderr)")
        for word in ldd.stdout.split(whereSeparator: { " \n\t".contains($0) }) where word.hasPrefix("/") {
            try copyIntoRoot(String(word))
        }
        let busybox = try #require(which("busybox"))
        try sh("cp \(q(busybox)) \(q(tools + "/bin/busybox"))")
        let applets = try sh("\(q(busybox)) --list").split(separator: "\n")
        for applet in applets where !fm.fileExists(atPath: tools + "/bin/" + applet) {
            try fm.createSymbolicLink(atPath: tools + "/bin/" + applet, withDestinationPath: "busybox")
        }
        // The entry point: a PATH with only our tools, as a bare chroot has.
        try write("#!/opt/rescue-tools/bin/sh\nPATH=/opt/rescue-tools/bin\nexport PATH\nexec \"$@\"\n", to: URL(fileURLWithPath: tools + "/run"))
        try sh("chmod 755 \(q(tools + "/run"))")
    }

    /// Copies a host library to the same path in the root, refusing to write
    /// through a symlink of the root (which could lead out of it).
    func copyIntoRoot(_ host: String) throws {
        let dest = path + host
        var dir = URL(fileURLWithPath: dest).deletingLastPathComponent().path
        while dir.count > path.count {
            if let kind = try? FileManager.default.attributesOfItem(atPath: dir)[.type] as? FileAttributeType, kind == .typeSymbolicLink {
                throw FixtureError(message: "\(dir) is a symlink in the chroot; not copying \(host) through it")
            }
            dir = URL(fileURLWithPath: dir).deletingLastPathComponent().path
        }
        guard !FileManager.default.fileExists(atPath: dest) else { return }
        try FileManager.default.createDirectory(atPath: URL(fileURLWithPath: dest).deletingLastPathComponent().path,
                                                withIntermediateDirectories: true)
        // A hard link when the root is on the same filesystem (the runtime is ~80 MB), else a copy.
        try sh("src=$(readlink -f -- \(q(host))) && { ln -- \"$src\" \(q(dest)) 2>/dev/null || cp -- \"$src\" \(q(dest)); }")
    }
}

/// Single-quotes a word for sh.
func q(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }
