import Parsers
import TargetAccess

/// What kind of target was audited, which decides what can be checked.
public enum TargetKind: String, Sendable, Codable {
    /// A directory: a root that was already mounted (or copied).
    case directory
    /// A block device found or named on the rescue system.
    case device
    /// A disk image file.
    case image
}

/// Everything about the audited system that the rules look at, read once.
/// Each fact keeps the file and line it came from.
public struct SystemSnapshot: Sendable {
    public let root: TargetRoot
    public var kind: TargetKind
    public var osRelease: [String: String]
    public var packages: PackageDatabase
    public var initSystem: InitSystem
    /// /etc/network/interfaces with everything it sources; nil when absent.
    public var ifupdown: IfupdownConfig?
    /// netplan's YAML, merged as netplan does.
    public var netplan: NetplanConfig
    /// systemd-networkd's .network, .link and .netdev files.
    public var networkd: NetworkdConfig
    /// RHEL ifcfg files and /etc/sysconfig/network.
    public var ifcfg: IfcfgConfig
    /// NetworkManager keyfiles and NetworkManager.conf.
    public var networkManager: NetworkManagerConfig
    /// Which units and init scripts start at boot.
    public var units: UnitEnablement
    /// Where sshd, postfix, amavisd, nginx and apache expect to listen.
    public var listeners: ServiceListeners
    /// Per stack: configured, installed, started at boot.
    public var stacks: [StackStatus] = []
    /// Every stack's configuration of every interface, in stack order.
    public var claims: [InterfaceClaim]
    /// /etc/default/networking, as sh would assign it.
    public var defaultNetworking: [String: ShellAssignments.Assignment]
    /// Every default route the target installs at boot, across stacks.
    public var defaultRoutes: [DefaultRoute]
    /// ifupdown's `allow-hotplug` names and the udev rule that starts them.
    public var ifupdownHotplug = IfupdownHotplug(rule: nil, names: [])
    /// Syntax and include problems of every parsed file.
    public var diagnostics: [ConfigDiagnostic]
    /// Probed devices, filesystem health and hardware, when the target kind has them.
    public var environment: AuditEnvironment = AuditEnvironment()
    /// /etc/fstab.
    public var fstab: FstabConfig = .none
    /// dpkg and pacman work left half-way.
    public var packageTransactions: PackageTransactions = .none
    /// The default boot entry and whether its kernel, initrd and modules exist.
    public var boot: BootConfiguration = .none
    /// What names the network cards get at boot: the kernel command line,
    /// udev's rules and .link files in the root and in the initramfs (read
    /// once, and only when a rule asks about it).
    public var naming: InterfaceNaming = .none
    /// Failure signatures of the last boot in syslog and the journal.
    public var lastBootLogs: LastBootLogs = .none
    /// The firewalls restored at boot and what they do with SSH, loopback, ping and established traffic.
    public var firewall: FirewallModel = FirewallModel()
    /// sshd at the next boot: whether it starts, where it listens, who can log in (`sshdAtBoot`).
    public var sshd: SSHDModel = SSHDModel()
    /// ifupdown's if-*.d and NetworkManager's dispatcher scripts, and whether each runs.
    public var hooks: NetworkHooks = NetworkHooks()
    /// What happens at the next boot, per interface, and the chain that decides SSH.
    public var bootModel: BootModel = BootModel()
    /// resolv.conf, kernels and other facts the rules need, read once.
    public var facts: TargetFacts = TargetFacts()
    /// For every file the load read that is a symlink to a regular file
    /// inside the target: the file the link leads to (an edit of the link
    /// edits that file, as an editor would).
    public var symlinkedFiles: [String: String] = [:]
    /// cloud-init at the next boot: whether it runs and renders the network, the files it rewrites, MAC pins.
    public var cloudInit: CloudInitModel = CloudInitModel()
    /// SELinux's mode, policy and a pending relabel at the next boot.
    public var selinux: SELinuxModel = SELinuxModel()
    /// What the confined reader could not read while the snapshot was loaded.
    public var skippedReads: [SkippedRead] = []

    /// Reads the target through `root`.
    public static func load(root: TargetRoot, kind: TargetKind = .directory, environment: AuditEnvironment = AuditEnvironment()) -> SystemSnapshot {
        var diagnostics: [ConfigDiagnostic] = []
        let packages = PackageDatabase.load(root, diagnostics: &diagnostics)
        let initSystem = InitSystem.detect(root, packages: packages)

        var osRelease: [String: String] = [:]
        for path in ["/etc/os-release", "/usr/lib/os-release"] {
            guard let bytes = root.bytes(path) else { continue }
            for a in ShellAssignments.parse(bytes, path: path).assignments { osRelease[a.key] = a.value }
            break
        }

        var defaultNetworking: [String: ShellAssignments.Assignment] = [:]
        if let bytes = root.bytes("/etc/default/networking") {
            defaultNetworking = ShellAssignments.dictionary(ShellAssignments.parse(bytes, path: "/etc/default/networking").assignments)
        }

        let ifupdown = IfupdownLoader.load(root, dialect: IfupdownLoader.dialect(root, packages: packages, osID: osRelease["ID"]))
        let netplan = NetplanLoader.load(root, packages: packages)
        let networkd = NetworkdLoader.load(root)
        var ifcfg = IfcfgLoader.load(root)
        let networkManager = NetworkManagerLoader.load(root)
        let units = UnitEnablement.load(root)
        // RHEL 8/9: NetworkManager's ifcfg-rh plugin reads the ifcfg files at boot.
        ifcfg.readByNetworkManager = units.startsAtBoot("NetworkManager.service") != nil
        // sshd_config is expanded once: the listeners and the sshd model read the same directives.
        let sshdConfig = SshdConfigModel.load(root)
        let listeners = ServiceListeners.load(root, sshdConfig: sshdConfig)
        var routes: [DefaultRoute] = []
        var claims: [InterfaceClaim] = []
        if let ifupdown {
            // A fatal error in the main file makes `ifup -a` refuse everything; in a
            // sourced file ifupdown keeps what it read before the error line.
            let inCharge = packages.hasFiles("ifupdown") || packages.hasFiles("ifupdown2") || !packages.isKnown
            diagnostics += ifupdown.diagnostics.map { d in
                let halted = ifupdown.haltedFiles.contains { $0 == d.location }
                let impact: DiagnosticImpact = !inCharge || !halted ? .tolerated
                    : d.location.path == ifupdown.mainPath ? .bootNetworkRejected : .partIgnored
                return ConfigDiagnostic(d, format: "ifupdown", impact: impact)
            }
            // Without ifupdown nothing reads the file: its gateways are never routes.
            if inCharge { routes += IfupdownRoutes.defaultRoutes(ifupdown) }
            claims += IfupdownClaims.claims(ifupdown)
        }
        diagnostics += netplan.configDiagnostics + networkd.configDiagnostics + ifcfg.configDiagnostics
            + networkManager.configDiagnostics + units.configDiagnostics + listeners.configDiagnostics
        claims += netplan.claims + networkd.claims + ifcfg.claims + networkManager.claims
        // netplan's YAML takes effect only through its generator; without
        // netplan.io installed nothing reads it, so its routes never exist.
        if netplan.netplanInstalled && netplan.isAccepted {
            routes += netplan.claims.filter(\.autostart).flatMap(DefaultRoute.fromClaim)
        }
        routes += networkd.claims.flatMap(DefaultRoute.fromClaim)
        routes += (ifcfg.claims + networkManager.claims).filter(\.autostart).flatMap(DefaultRoute.fromClaim)

        var snapshot = SystemSnapshot(
            root: root, kind: kind, osRelease: osRelease, packages: packages, initSystem: initSystem,
            ifupdown: ifupdown, netplan: netplan, networkd: networkd, ifcfg: ifcfg, networkManager: networkManager,
            units: units, listeners: listeners, claims: claims,
            defaultNetworking: defaultNetworking, defaultRoutes: routes, diagnostics: diagnostics)
        snapshot.environment = environment
        snapshot.ifupdownHotplug = SystemSnapshot.ifupdownHotplug(root: root, initSystem: initSystem, units: units, ifupdown: ifupdown)
        snapshot.fstab = FstabConfig.load(root)
        snapshot.diagnostics += snapshot.fstab.diagnostics.map { ConfigDiagnostic($0, format: "fstab", impact: .tolerated) }
        snapshot.packageTransactions = PackageTransactions.load(root)
        snapshot.diagnostics += snapshot.packageTransactions.diagnostics.map { ConfigDiagnostic($0, format: "dnf history", impact: .tolerated) }
        snapshot.boot = BootConfiguration.load(root, fstab: snapshot.fstab, environment: environment)
        snapshot.naming = InterfaceNaming.load(root, networkd: networkd, boot: snapshot.boot)
        if InterfaceNaming.needsInitramfs(claimNames: claims.filter(\.autostart).compactMap(\.name),
                                          hardwareKnown: environment.hardware != nil) {
            snapshot.naming.prefetchInitramfs()
        }
        let commandLine = BootCommandLineLoader.load(root, boot: snapshot.boot).effective
        snapshot.cloudInit = CloudInitLoader.load(root, units: units, initSystem: initSystem, packages: packages,
                                                  commandLine: commandLine, netplan: netplan, osID: osRelease["ID"])
        snapshot.selinux = SELinuxLoader.load(root, commandLine: commandLine, initSystem: initSystem)
        snapshot.lastBootLogs = LastBootLogs.load(root)
        snapshot.stacks = stackStatus(snapshot)
        snapshot.sshd = SSHDModel.load(root, SSHDContext(units: units, initSystem: initSystem, packages: packages,
                                                         claims: claims, listeners: listeners), config: sshdConfig)
        snapshot.diagnostics += snapshot.sshd.configDiagnostics
        // With socket activation systemd binds ListenStream=, so the firewall is judged against those ports.
        if snapshot.sshd.socketActivated && !snapshot.sshd.boot.ports.isEmpty {
            snapshot.listeners.sshPorts = snapshot.sshd.boot.ports
        }
        let ifup = snapshot.stacks.first { $0.stack == .ifupdown }
        snapshot.hooks = NetworkHooks.load(root)
        snapshot.firewall = FirewallModel.load(root, FirewallContext(
            units: units, initSystem: initSystem, packages: packages, ifupdown: ifupdown,
            ifupdownRunsAtBoot: (ifup?.startsAtBoot ?? false) && ifup?.installed != false, listeners: snapshot.listeners,
            hooks: snapshot.hooks, sshPorts: snapshot.sshdAtBoot.ports.map(\.value)))
        snapshot.facts = TargetFacts.load(root)
        snapshot.bootModel = BootModel.build(snapshot)
        for path in root.readPaths where root.lstat(path)?.kind == .symlink {
            if let real = root.symlinkDestination(path), root.isRegularFile(real) { snapshot.symlinkedFiles[path] = real }
        }
        // Every read is done: what could not be read is known now, whatever a rule looks at.
        snapshot.skippedReads = root.skippedReads
        return snapshot
    }

    /// A target file as the audit read it (bytes and stat), from the reader's
    /// cache: rules and the plan ask for files the load already read, so
    /// this does no I/O. A file the load did not read is read now (a test
    /// checks no rule or plan ever needs that).
    public func file(_ path: String) -> TargetFile? { (root.cachedRead(path) ?? root.read(path)).file }

    /// The audited bytes of a target file (cached by the reader).
    public func bytes(_ path: String) -> [UInt8]? { file(path)?.bytes }

    /// The target's filesystems whose journal or log was not replayed for the
    /// audit: what the report says of files on them may be older than what
    /// the next boot reads (a fact for the verdict to qualify "reachable").
    public var unreplayedJournals: [FilesystemHealth] { environment.filesystems.filter(\.hasUnreplayedJournal) }

    /// PRETTY_NAME, or NAME and VERSION_ID, of the target's os-release.
    public var osName: String? {
        osRelease["PRETTY_NAME"] ?? osRelease["NAME"].map { n in osRelease["VERSION_ID"].map { "\(n) \($0)" } ?? n }
    }

    /// Whether ifupdown is what brings the network up: its package is on disk
    /// (or no package database was found) and an interfaces file exists.
    public var ifupdownManagesNetwork: Bool {
        guard ifupdown != nil else { return false }
        return packages.hasFiles("ifupdown") || packages.hasFiles("ifupdown2") || !packages.isKnown
    }
}
