import Parsers
import TargetAccess

/// What the sshd model reads besides the target's own files: facts the
/// snapshot has already loaded.
struct SSHDContext {
    var units: UnitEnablement
    var initSystem: InitSystem
    var packages: PackageDatabase
    var claims: [InterfaceClaim]
    var listeners: ServiceListeners
    /// The time ban expiry is judged at.
    var now: Int64 = SSHDModel.currentTime
}

extension SSHDModel {
    static let serviceUnits = ["ssh.service", "sshd.service"]
    static let socketUnits = ["ssh.socket", "sshd.socket"]
    static let defaultHostKeys = ["/etc/ssh/ssh_host_rsa_key", "/etc/ssh/ssh_host_ecdsa_key", "/etc/ssh/ssh_host_ed25519_key"]

    /// Where openssh-client puts ssh-keygen.
    public static let keygenPrograms = ["/usr/bin/ssh-keygen", "/bin/ssh-keygen"]
    /// The tmpfiles.d file a repair writes so systemd makes the privsep directory.
    public static let privsepTmpfilesConf = "/etc/tmpfiles.d/sshd-privsep.conf"

    static func load(_ root: TargetRoot, _ ctx: SSHDContext, config: SshdConfigModel? = nil) -> SSHDModel {
        var m = SSHDModel()
        m.config = config ?? SshdConfigModel.load(root)
        m.diagnostics += m.config.diagnostics
        let starts = m.evaluateStart(root, ctx)
        let (listens, ports, addresses) = m.evaluateListen(root, ctx)
        m.loadFail2ban(root, ctx.units, now: ctx.now)
        var login = m.evaluateLogin(root, ctx)
        if login.state == .holds, !m.fail2banBans.isEmpty, let db = m.fail2banDatabase {
            login.summary += "; fail2ban re-bans \(m.fail2banBans.count) address\(m.fail2banBans.count == 1 ? "" : "es") at start"
            login.evidence.append(SourceLine(path: db, line: 0, text: ""))
        }
        m.boot = SSHDBoot(starts: starts, listens: listens, ports: ports, addresses: addresses, login: login)
        // What the repairs need to know about the target, read now so no rule reads it.
        m.keygenProgram = keygenPrograms.first { root.stat($0).map { $0.kind == .regular && $0.isExecutable } ?? false }
        m.privsepTmpfilesConfExists = root.lstat(privsepTmpfilesConf) != nil
        m.nologinShell = ["/usr/sbin/nologin", "/sbin/nologin", "/bin/false"].first { root.isRegularFile($0) }
        return m
    }

    // MARK: - Unit files

    /// A unit file with its drop-ins, as systemd reads it.
    static func unitWithDropIns(_ root: TargetRoot, _ units: UnitEnablement, _ name: String) -> (path: String, UnitFile)? {
        units.unitFileWithDropIns(name)
    }

    /// `ExecStart=-/usr/sbin/sshd -D $SSHD_OPTS` → `/usr/sbin/sshd`.
    static func program(_ exec: String) -> String? { UnitEnablement.program(exec) }

    // MARK: - Starts

    mutating func evaluateStart(_ root: TargetRoot, _ ctx: SSHDContext) -> BootLink {
        let units = ctx.units
        let service = Self.serviceUnits.first { units.unitFile($0) != nil || units.isMasked($0) != nil }
        let socket = Self.socketUnits.first { units.unitFile($0) != nil }
        let initScript = root.isRegularFile("/etc/init.d/ssh") ? "/etc/init.d/ssh" : root.isRegularFile("/etc/init.d/sshd") ? "/etc/init.d/sshd" : nil
        let packaged = ctx.packages.hasFiles("openssh-server")
        let anyBinary = ["/usr/sbin/sshd", "/sbin/sshd"].first { root.isRegularFile($0) }
        present = service != nil || socket != nil || initScript != nil || packaged || anyBinary != nil
        var evidence: [SourceLine] = []

        guard present else {
            if ctx.packages.isKnown {
                return BootLink(.sshdStarts, .broken, "sshd is not installed (no openssh-server package, unit or binary)")
            }
            return BootLink(.sshdStarts, .cannotTell, "no sshd unit, init script or binary was found and there is no package database")
        }

        let systemd = ctx.initSystem.kind == .systemd || (ctx.initSystem.kind != .sysvinit && (service != nil || socket != nil))
        var execProgram: SourceLine?
        var runtimeDirectory = false
        if systemd {
            // A masked ssh.service also stops socket activation: the socket starts it.
            for name in Self.serviceUnits + Self.socketUnits {
                guard let mask = units.isMasked(name) else { continue }
                let s = SourceLine(path: mask.linkPath, line: 0, text: "-> \(mask.linkTarget)")
                startProblems.append(SSHDStartProblem(kind: .masked,
                    message: "\(name) is masked (\(mask.linkPath) points to /dev/null): systemd will not start sshd.",
                    evidence: [s], unit: name, path: mask.linkPath))
            }
            guard service != nil || socket != nil else {
                return BootLink(.sshdStarts, .cannotTell, "sshd is installed but no ssh.service or ssh.socket unit file is on the disk")
            }
            let socketStarts = socket.flatMap { units.startsAtBoot($0) }
            let serviceStarts = service.flatMap { units.startsAtBoot($0) }
            if let link = serviceStarts ?? socketStarts {
                startedBy = units.canonicalName(link.unit)
                socketActivated = serviceStarts == nil && socketStarts != nil
                evidence.append(SourceLine(path: link.linkPath, line: 0, text: "-> \(link.linkTarget)"))
            } else if startProblems.isEmpty {
                let name = service.map { units.canonicalName($0) } ?? socket ?? "ssh.service"
                let unitPath = units.unitFile(name)?.path
                startProblems.append(SSHDStartProblem(kind: .notEnabled,
                    message: "\(name) is not enabled: no link in a .wants directory of a target reached at boot starts it.",
                    evidence: unitPath.map { [SourceLine(path: $0, line: 0, text: "")] } ?? [], unit: name, path: nil))
            }
            // The service that really runs sshd: ssh.service, or ssh@.service for Accept=yes sockets.
            var runName = service.map { units.canonicalName($0) }
            if socketActivated, let socket, let (_, sock) = Self.unitWithDropIns(root, units, socket),
               sock.value("Socket", "Accept")?.value.lowercased() == "yes" || sock.value("Socket", "Accept")?.value == "true" {
                runName = socket.replacing(".socket", with: "@.service")
            }
            if let runName, let (path, unit) = Self.unitWithDropIns(root, units, runName) {
                if let exec = unit.value("Service", "ExecStart") {
                    execProgram = exec.source
                    binary = Self.program(exec.value)
                }
                runtimeDirectory = unit.values("Service", "RuntimeDirectory").contains { Text.words($0.value).contains("sshd") }
                for pre in unit.values("Service", "ExecStartPre") where pre.value.contains("ssh-keygen") && pre.value.contains("-A") {
                    keygenAtBoot = pre.source
                }
                for c in unit.values("Unit", "ConditionPathExists") where c.value.hasPrefix("!") {
                    let p = String(c.value.dropFirst())
                    if root.exists(p) {
                        startProblems.append(SSHDStartProblem(kind: .notToBeRun,
                            message: "\(p) exists, and \(path) starts sshd only when it does not (ConditionPathExists=\(c.value)).",
                            evidence: [c.source, SourceLine(path: p, line: 0, text: "")], unit: runName, path: p,
                            fileReadable: root.bytes(p) != nil))
                    }
                }
            }
            // RHEL: sshd.service wants sshd-keygen.target, whose sshd-keygen@ units create missing keys.
            if keygenAtBoot == nil, let k = units.bootTransaction.filter({ $0.hasPrefix("sshd-keygen") }).min() {
                keygenAtBoot = SourceLine(path: units.unitFile(k)?.path ?? k, line: 0, text: k)
            }
        } else {
            guard let initScript else {
                return BootLink(.sshdStarts, .cannotTell, "sshd is installed but neither a systemd unit nor /etc/init.d/ssh is on the disk")
            }
            let name = UnitEnablement.lastComponent(initScript)
            if let link = units.isEnabledSysV(name) {
                startedBy = initScript
                evidence.append(SourceLine(path: link.linkPath, line: 0, text: "-> \(link.linkTarget)"))
            } else {
                startProblems.append(SSHDStartProblem(kind: .notEnabled,
                    message: "\(initScript) has no S link in /etc/rc2.d to /etc/rc5.d: sysvinit does not start sshd.",
                    evidence: [SourceLine(path: initScript, line: 0, text: "")], unit: name, path: nil))
            }
            binary = "/usr/sbin/sshd"
            // Debian's init script creates /run/sshd (check_privsep_dir) and honours sshd_not_to_be_run.
            runtimeDirectory = true
            if root.exists("/etc/ssh/sshd_not_to_be_run") {
                startProblems.append(SSHDStartProblem(kind: .notToBeRun,
                    message: "/etc/ssh/sshd_not_to_be_run exists: \(initScript) does not start sshd.",
                    evidence: [SourceLine(path: "/etc/ssh/sshd_not_to_be_run", line: 0, text: "")], unit: name,
                    path: "/etc/ssh/sshd_not_to_be_run", fileReadable: root.bytes("/etc/ssh/sshd_not_to_be_run") != nil))
            }
        }

        // The program itself.
        var binaryBytes: [UInt8]?
        if let binary {
            let st = root.stat(binary)
            if st?.kind != .regular || st?.isExecutable != true {
                startProblems.append(SSHDStartProblem(kind: .binaryMissing,
                    message: st == nil ? "\(binary), the program the unit runs, does not exist." : "\(binary), the program the unit runs, is not an executable file.",
                    evidence: execProgram.map { [$0] } ?? [SourceLine(path: binary, line: 0, text: "")], unit: startedBy, path: binary))
            } else {
                binaryBytes = root.readLarge(binary, cap: 64 << 20).file?.bytes
            }
        }
        if let b = binaryBytes, let needed = ELFNeeded.libraries(b) {
            linksLibwrap = needed.contains { $0.hasPrefix("libwrap.so") }
        }
        userGroupModes = Self.debianBuild(ctx.packages, binary: binary, bytes: binaryBytes)

        guard config.exists else {
            startProblems.append(SSHDStartProblem(kind: .configMissing,
                message: "\(config.mainPath) does not exist: sshd refuses to start without it.",
                evidence: [SourceLine(path: config.mainPath, line: 0, text: "")], unit: startedBy, path: nil))
            return finishStart(evidence)
        }

        // Only a target with the program can be judged on what it loads at start.
        guard binaryBytes != nil else { return finishStart(evidence) }

        // Privilege separation: the user, and the directory compiled in.
        let passwd = root.bytes("/etc/passwd").map { AccountParsers.passwd($0, path: "/etc/passwd").entries }
        if let passwd, !passwd.contains(where: { $0.name == "sshd" }) {
            startProblems.append(SSHDStartProblem(kind: .privsepUser,
                message: "The privilege-separation user sshd is not in /etc/passwd: sshd stops with \"Privilege separation user sshd does not exist\".",
                evidence: [SourceLine(path: "/etc/passwd", line: 0, text: "")], unit: startedBy, path: nil))
        }
        if let b = binaryBytes {
            let dir = Self.contains(b, "/run/sshd\0") ? "/run/sshd" : Self.contains(b, "/var/empty/sshd\0") ? "/var/empty/sshd"
                : Self.contains(b, "/var/empty\0") ? "/var/empty" : nil
            if let dir {
                let made = dir.hasPrefix("/run/") ? (runtimeDirectory || Self.tmpfilesCreates(root, dir)) : root.stat(dir)?.kind == .directory
                if !made {
                    startProblems.append(SSHDStartProblem(kind: .privsepDirectory,
                        message: dir.hasPrefix("/run/")
                            ? "Nothing creates \(dir) at boot (no RuntimeDirectory=sshd in the unit, no tmpfiles.d entry): sshd stops with \"Missing privilege separation directory: \(dir)\"."
                            : "\(dir) does not exist: sshd stops with \"Missing privilege separation directory: \(dir)\".",
                        evidence: execProgram.map { [$0] } ?? [], unit: startedBy, path: dir))
                }
            }
        }

        // Host keys.
        let keyLines = config.globalAll("hostkey")
        if keyLines.isEmpty {
            hostKeys = Self.defaultHostKeys.map { SSHDHostKey(path: $0, source: SourceLine(path: config.mainPath, line: 0, text: ""), state: .missing) }
        } else {
            hostKeys = keyLines.compactMap { d in d.arguments.first.map { SSHDHostKey(path: $0, source: d.source, state: .missing) } }
        }
        for i in hostKeys.indices {
            hostKeys[i].state = Self.hostKeyState(root, hostKeys[i].path)
            hostKeys[i].ownership = root.stat(hostKeys[i].path).map { AuditedOwnership(mode: $0.permissions, uid: $0.userID, gid: $0.groupID) }
            hostKeys[i].realPath = root.symlinkDestination(hostKeys[i].path)
        }
        return finishStart(evidence)
    }

    private mutating func finishStart(_ evidence: [SourceLine]) -> BootLink {
        let refused = config.problems.filter(\.refuses)
        if let first = startProblems.first {
            return BootLink(.sshdStarts, .broken, first.message, evidence: first.evidence + evidence)
        }
        if !refused.isEmpty {
            return BootLink(.sshdStarts, .broken,
                            "sshd -t refuses \(config.mainPath): \(refused[0].message)" + (refused.count > 1 ? " (and \(refused.count - 1) more)" : ""),
                            evidence: refused.map(\.source))
        }
        if noUsableHostKey && keygenAtBoot == nil {
            return BootLink(.sshdStarts, .broken, "no host key can be loaded and nothing creates them at boot: sshd stops with \"no hostkeys available\"",
                            evidence: hostKeys.map { SourceLine(path: $0.path, line: 0, text: Self.words($0.state)) })
        }
        guard let startedBy else {
            return BootLink(.sshdStarts, .cannotTell, "how sshd would be started could not be worked out", evidence: evidence)
        }
        guard binary.map({ _ in true }) ?? false, !hostKeys.isEmpty else {
            return BootLink(.sshdStarts, .cannotTell, "\(startedBy) is enabled, but the sshd program is not on the disk to judge it", evidence: evidence)
        }
        var summary = "\(startedBy) starts sshd at boot"
        if noUsableHostKey, let k = keygenAtBoot { summary += "; host keys are created at boot by \(k.text.isEmpty ? k.location.path : k.text)" }
        return BootLink(.sshdStarts, .holds, summary, evidence: evidence + config.files.prefix(1).map { SourceLine(path: $0, line: 0, text: "") })
    }

    /// Debian's and Ubuntu's sshd carry the user-group-modes patch (Fedora's,
    /// RHEL's and upstream's do not): judged from dpkg's openssh-server, or,
    /// without a package database, from the version string Debian builds
    /// into the binary (`OpenSSH_9.2p1 Debian-2+deb12u3`, `Ubuntu-3ubuntu0.10`).
    static func debianBuild(_ packages: PackageDatabase, binary: String?, bytes: [UInt8]?) -> SourceLine? {
        // A unit that runs a self-built /usr/local/sbin/sshd is not the package's program.
        let packaged = binary.map { ["/usr/sbin/sshd", "/sbin/sshd"].contains($0) } ?? true
        if packaged, let p = packages.package("openssh-server"), p.filesPresent { return p.source }
        guard let bytes, let binary else { return nil }
        for vendor in [" Debian-", " Ubuntu-"] where contains(bytes, vendor) && contains(bytes, "OpenSSH_") {
            return SourceLine(path: binary, line: 0, text: "built by \(vendor.dropFirst().dropLast())")
        }
        return nil
    }

    static func words(_ s: SSHDHostKey.State) -> String {
        switch s {
        case .usable: "usable"
        case .missing: "missing"
        case .unsafeMode(let m): "mode \(String(m, radix: 8)): readable by others, sshd refuses it"
        case .unreadable(let why): why
        }
    }

    /// sshd's sshkey_perm_ok: a key owned by the uid sshd runs as (root)
    /// must not be accessible by group or others.
    static func hostKeyState(_ root: TargetRoot, _ path: String) -> SSHDHostKey.State {
        guard let st = root.stat(path) else { return .missing }
        guard st.kind == .regular else { return .unreadable("not a regular file") }
        if st.userID == 0 && st.permissions & 0o077 != 0 { return .unsafeMode(st.permissions) }
        // A zero-byte key (a keygen cut short by a full disk) cannot be parsed; other content is not judged.
        guard st.size > 0 else { return .unreadable("empty") }
        return .usable
    }

    static func tmpfilesCreates(_ root: TargetRoot, _ dir: String) -> Bool {
        for d in ["/etc/tmpfiles.d", "/usr/lib/tmpfiles.d", "/lib/tmpfiles.d"] {
            for e in root.listFollowing(d) ?? [] where e.name.hasSuffix(".conf") {
                guard let b = root.bytes(d + "/" + e.name) else { continue }
                for line in Text.lines(b) {
                    let w = Text.words(line)
                    if w.count >= 2, ["d", "D"].contains(w[0]), w[1] == dir { return true }
                }
            }
        }
        return false
    }

    static func contains(_ haystack: [UInt8], _ needle: String) -> Bool {
        let n = Array(needle.utf8)
        guard !n.isEmpty, haystack.count >= n.count else { return false }
        var i = 0
        let last = haystack.count - n.count
        while i <= last {
            if haystack[i] == n[0] {
                var j = 1
                while j < n.count && haystack[i + j] == n[j] { j += 1 }
                if j == n.count { return true }
            }
            i += 1
        }
        return false
    }
}
