import Parsers
import TargetAccess

/// cloud-init at the next boot, as cloud-init 22.4 (Debian 12, RHEL 9)
/// decides it: whether it runs (its systemd generator, ds-identify), whether
/// it renders the network and from what (the kernel command line, the
/// system configuration, the datasource, or its fallback: DHCP on the first
/// NIC, pinned to that NIC's MAC), whether it renders at this boot (a new
/// instance, or a datasource that re-renders at every boot), with which
/// renderer, and the files on disk it wrote and will rewrite.
public struct CloudInitModel: Sendable {
    /// Whether cloud-init runs at the next boot.
    public enum Runs: Sendable, Equatable {
        case notInstalled
        /// It does not run: why, and the line that decides.
        case no(String, SourceLine?)
        /// It runs: why.
        case yes(String, SourceLine?)
        /// ds-identify decides from the platform (DMI, seed disks), which is not on the disk.
        case dependsOnPlatform(String)
    }

    /// Where the network configuration it renders comes from.
    public enum NetworkSource: Sendable, Equatable {
        /// It renders no network: `network: {config: disabled}`, `network-config=disabled`...
        case disabled(String, SourceLine?)
        /// The kernel command line's `network-config=`.
        case commandLine(SourceLine)
        /// A `network:` configuration in cloud.cfg(.d): known offline.
        case systemConfig(SourceLine)
        /// The datasource's (unknown offline), or the fallback when it gives none.
        case datasource
    }

    /// When it renders the network.
    public enum Renders: Sendable, Equatable {
        /// It has never run on this disk: the next boot is a new instance.
        case firstBoot
        /// The recorded datasource re-renders at every boot (`Ec2`, `Azure`, `OpenStack`...), or `updates` says so.
        case everyBoot(String)
        /// Only for a new instance (a new instance-id from the datasource: a clone, a new VM).
        case newInstanceOnly(String)
    }

    /// A network file cloud-init writes, as it is on disk.
    public struct GeneratedFile: Sendable, Equatable {
        public var path: String
        /// The line of cloud-init's header comment, when the file has it.
        public var headerLine: Int?
        /// The file was modified after cloud-init last finished a boot (mtime
        /// later than /var/lib/cloud/instance/boot-finished); nil when unknown.
        public var modifiedAfterLastRun: Bool?
        /// Whether someone other than cloud-init wrote it last.
        public var handEdited: Bool { headerLine == nil || modifiedAfterLastRun == true }
        public var firstLine: String
    }

    /// A netplan `match: macaddress` with `set-name`: the name exists only on
    /// the card with that MAC.
    public struct MACPin: Sendable, Equatable {
        public var id: String
        public var mac: Located<String>
        public var setName: String
        /// The file is one cloud-init writes.
        public var generatedByCloudInit: Bool
    }

    public var runs: Runs = .notInstalled
    public var networkSource: NetworkSource = .datasource
    public var renders: Renders = .firstBoot
    /// The datasource of the last boot (/var/lib/cloud/instance/datasource).
    public var lastDatasource: Located<String>?
    /// datasource_list as ds-identify reads it.
    public var datasourceList: Located<[String]>?
    /// The renderer it would pick (`eni`, `netplan`, `sysconfig`, `network-manager`, `networkd`) and why.
    public var renderer: String?
    public var rendererReason = ""
    /// Every cloud.cfg file read, in merge order.
    public var configFiles: [CloudConfigFile] = []
    /// The network files cloud-init wrote that are on disk.
    public var generatedFiles: [GeneratedFile] = []
    public var macPins: [MACPin] = []
    /// /var/lib/cloud/instance/boot-finished, when cloud-init ever completed a boot.
    public var bootFinished: Bool = false

    public init() {}

    /// cloud-init runs at boot (or may, by the platform).
    public var mayRun: Bool {
        switch runs {
        case .yes, .dependsOnPlatform: true
        case .no, .notInstalled: false
        }
    }

    /// It renders the network (from somewhere) when it runs.
    public var rendersNetwork: Bool {
        if case .disabled = networkSource { return false }
        return mayRun
    }

    /// It renders the network at the next boot of this instance for sure.
    public var rendersAtNextBoot: Bool {
        guard rendersNetwork else { return false }
        if case .newInstanceOnly = renders { return false }
        return true
    }

    /// What it renders is not on the disk: the datasource's configuration.
    public var contentUnknown: Bool { networkSource == .datasource }

    /// The file is one cloud-init writes for any renderer.
    public static func isCloudInitPath(_ path: String) -> Bool {
        let name = path.split(separator: "/").last.map(String.init) ?? path
        if path == "/etc/netplan/50-cloud-init.yaml" || path == "/etc/network/interfaces.d/50-cloud-init"
            || path == "/etc/network/interfaces.d/50-cloud-init.cfg" { return true }
        if path.hasPrefix("/etc/NetworkManager/system-connections/"), name.hasPrefix("cloud-init-"), name.hasSuffix(".nmconnection") { return true }
        if path.hasPrefix("/etc/systemd/network/"), name.hasPrefix("10-cloud-init-"), name.hasSuffix(".network") { return true }
        return false
    }

    /// The generated file a configuration line comes from, if cloud-init writes it.
    public func generatedFile(_ path: String) -> GeneratedFile? { generatedFiles.first { $0.path == path } }

    /// The lines that decide whether it runs, what it renders and when.
    public var evidence: [SourceLine] {
        var out: [SourceLine] = []
        switch runs {
        case .yes(_, let l?), .no(_, let l?): out.append(l)
        default: break
        }
        switch networkSource {
        case .disabled(_, let l?): out.append(l)
        case .commandLine(let l), .systemConfig(let l): out.append(l)
        default: break
        }
        if let d = lastDatasource, !out.contains(d.source) { out.append(d.source) }
        return out
    }

    /// One sentence: what cloud-init does with the network at the next boot.
    public var summary: String {
        switch runs {
        case .notInstalled: return "cloud-init is not installed"
        case .no(let why, _): return "cloud-init does not run at boot: \(why)"
        case .yes, .dependsOnPlatform:
            var runsWords = "cloud-init runs at boot and"
            if case .dependsOnPlatform(let why) = runs { runsWords = "cloud-init runs only if \(why); then it" }
            switch networkSource {
            case .disabled(let why, _): return "\(runsWords) renders no network (\(why))"
            case .commandLine: return "\(runsWords) renders the network from the kernel command line's network-config="
            case .systemConfig(let s): return "\(runsWords) renders the network from \(s.location.path):\(s.location.line)" + whenWords
            case .datasource: return "\(runsWords) renders the network from the datasource (its fallback: DHCP on the first NIC)" + whenWords
            }
        }
    }

    var whenWords: String {
        switch renders {
        case .firstBoot: " at its first boot on this disk"
        case .everyBoot(let ds): " at every boot (datasource \(ds))"
        case .newInstanceOnly(let ds): " only for a new instance (datasource \(ds) keeps what it rendered at the first boot)"
        }
    }
}

/// Reads cloud-init's state through the confined reader.
enum CloudInitLoader {
    /// Datasources whose default update events include BOOT (cloud-init 22.4):
    /// they re-render the network at every boot.
    static let everyBootDatasources: Set<String> = ["Azure", "ConfigDrive", "Ec2", "OpenStack", "RbxCloud", "Scaleway", "SmartOS"]

    static func load(_ root: TargetRoot, units: UnitEnablement, initSystem: InitSystem, packages: PackageDatabase,
                     commandLine: KernelCommandLine?, netplan: NetplanConfig, osID: String?) -> CloudInitModel {
        var m = CloudInitModel()
        let unitNames = ["cloud-init-local.service", "cloud-init.service"]
        let hasUnits = unitNames.contains { units.unitFile($0) != nil }
        let hasProgram = ["/usr/bin/cloud-init", "/bin/cloud-init"].contains { root.exists($0) }
        let pkg = packages.package("cloud-init")
        let installed = !(packages.isKnown && pkg != nil && pkg?.filesPresent == false) && (hasUnits || hasProgram)

        // The configuration, in cloud-init's merge order: cloud.cfg, then cloud.cfg.d/*.cfg by name.
        var paths = ["/etc/cloud/cloud.cfg"]
        paths += (root.listFollowing("/etc/cloud/cloud.cfg.d") ?? []).map(\.name)
            .filter { $0.hasSuffix(".cfg") && !$0.hasPrefix(".") }
            .sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.map { "/etc/cloud/cloud.cfg.d/" + $0 }
        for p in paths {
            guard let bytes = root.bytes(p) else { continue }
            m.configFiles.append(CloudConfigParser.parse(bytes, path: p))
        }
        let network = m.configFiles.compactMap(\.network).last
        m.datasourceList = m.configFiles.compactMap(\.datasourceList).last
        let renderers = m.configFiles.compactMap(\.renderers).last
        let updates = m.configFiles.compactMap(\.networkUpdateEvents).last

        if let rec = root.bytes("/var/lib/cloud/instance/datasource"), let name = CloudInitDatasourceRecord.name(rec) {
            m.lastDatasource = Located(name, SourceLine(path: "/var/lib/cloud/instance/datasource", line: 1, text: Text.lines(rec).first ?? ""))
        }
        let finished = root.stat("/var/lib/cloud/instance/boot-finished")
        m.bootFinished = finished != nil

        m.runs = installed ? runs(root, units: units, initSystem: initSystem, commandLine: commandLine, model: m) : .notInstalled

        // The network source, in the order of the datasource's network_config_sources
        // (the default: command line, initramfs, system configuration, datasource).
        if root.exists("/var/lib/cloud/data/upgraded-network") {
            m.networkSource = .disabled("/var/lib/cloud/data/upgraded-network exists", SourceLine(path: "/var/lib/cloud/data/upgraded-network", line: 0, text: ""))
        } else if let v = commandLine?.value("network-config"), let cl = commandLine {
            m.networkSource = v == "disabled" ? .disabled("network-config=disabled on the kernel command line", cl.source) : .commandLine(cl.source)
        } else if case .disabled(let s)? = network {
            m.networkSource = .disabled("`network: {config: disabled}` in \(s.location.path)", s)
        } else if case .config(let s)? = network {
            m.networkSource = .systemConfig(s)
        }

        if let ds = m.lastDatasource?.value, m.bootFinished || root.exists("/var/lib/cloud/data/instance-id") {
            let boot = updates?.value.contains { ["boot", "boot-legacy"].contains($0) } ?? false
            m.renders = everyBootDatasources.contains(ds) || boot ? .everyBoot(ds + (boot && !everyBootDatasources.contains(ds) ? ", `updates: network: when: [boot]`" : "")) : .newInstanceOnly(ds)
        } else if root.exists("/var/lib/cloud/data/instance-id") || root.exists("/var/lib/cloud/instance") {
            m.renders = .newInstanceOnly("unknown")
        } else {
            m.renders = .firstBoot
        }

        (m.renderer, m.rendererReason) = renderer(root, units: units, osID: osID, priority: renderers)

        // The files it wrote, whichever renderer wrote them.
        var candidates = ["/etc/netplan/50-cloud-init.yaml", "/etc/network/interfaces.d/50-cloud-init", "/etc/network/interfaces.d/50-cloud-init.cfg"]
        for e in root.listFollowing("/etc/NetworkManager/system-connections") ?? [] { candidates.append("/etc/NetworkManager/system-connections/" + e.name) }
        for e in root.listFollowing("/etc/systemd/network") ?? [] { candidates.append("/etc/systemd/network/" + e.name) }
        for e in root.listFollowing("/etc/sysconfig/network-scripts") ?? [] where e.name.hasPrefix("ifcfg-") && e.name != "ifcfg-lo" {
            candidates.append("/etc/sysconfig/network-scripts/" + e.name)
        }
        for path in candidates {
            let isOurs = CloudInitModel.isCloudInitPath(path)
            guard let bytes = root.bytes(path) else { continue }
            let header = CloudInitHeader.headerLine(bytes)
            // An ifcfg file is cloud-init's only by its header (the names are the interfaces').
            guard isOurs || header != nil else { continue }
            var newer: Bool?
            // cloud-init writes the network files at the start of a boot and
            // boot-finished at its end; an edit comes later. A copy or a
            // checkout writes both within seconds, hence the minute of slack.
            if let f = finished, let st = root.stat(path) { newer = st.modificationTime > f.modificationTime + 60 }
            m.generatedFiles.append(.init(path: path, headerLine: header, modifiedAfterLastRun: newer,
                                          firstLine: Text.lines(bytes).first ?? ""))
        }

        for d in netplan.devices {
            guard let mac = d.match?.macAddress, let name = d.setName?.value else { continue }
            m.macPins.append(.init(id: d.id, mac: mac, setName: name,
                                   generatedByCloudInit: CloudInitModel.isCloudInitPath(d.source.location.path)))
        }
        return m
    }

    static func runs(_ root: TargetRoot, units: UnitEnablement, initSystem: InitSystem, commandLine: KernelCommandLine?,
                     model m: CloudInitModel) -> CloudInitModel.Runs {
        // The generator's order: the kernel command line, then /etc/cloud/cloud-init.{enabled,disabled}.
        var forcedOn = false
        if let v = commandLine?.value("cloud-init"), let cl = commandLine {
            if v == "disabled" { return .no("cloud-init=disabled is on the kernel command line", cl.source) }
            if v == "enabled" { forcedOn = true }
        }
        if !forcedOn {
            if root.isRegularFile("/etc/cloud/cloud-init.enabled") {
                forcedOn = true
            } else if root.isRegularFile("/etc/cloud/cloud-init.disabled") {
                return .no("/etc/cloud/cloud-init.disabled exists", SourceLine(path: "/etc/cloud/cloud-init.disabled", line: 0, text: ""))
            }
        }
        // Its stages must be enabled (cloud-init.target.wants, or multi-user.target.wants on old releases).
        guard let link = ["cloud-init-local.service", "cloud-init.service"].lazy.compactMap({ units.isEnabled($0) }).first else {
            if let mask = ["cloud-init-local.service", "cloud-init.service"].lazy.compactMap({ units.isMasked($0) }).first {
                return .no("its units are masked", SourceLine(path: mask.linkPath, line: 0, text: ""))
            }
            return .no("cloud-init-local.service and cloud-init.service are not enabled", nil)
        }
        let linkLine = SourceLine(path: link.linkPath, line: 0, text: "-> " + link.linkTarget)
        let generator = units.generator("cloud-init-generator")
        if generator == nil, units.startsAtBoot(link.unit) == nil {
            return .no("its units are enabled into cloud-init.target, which nothing starts (no cloud-init-generator)", linkLine)
        }
        if forcedOn { return .yes("enabled on the kernel command line or by /etc/cloud/cloud-init.enabled; ds-identify still runs", linkLine) }

        // ds-identify (absent: the generator enables cloud-init).
        let dsIdentify = ["/usr/lib/cloud-init/ds-identify", "/lib/cloud-init/ds-identify", "/usr/libexec/cloud-init/ds-identify"].first { root.exists($0) }
        guard dsIdentify != nil else { return .yes("its units are enabled and there is no ds-identify to disable it", linkLine) }
        var policy = commandLine?.value("ci.di.policy")
        var dsName = commandLine?.value("ci.ds") ?? commandLine?.value("ci.datasource")
        if let b = root.bytes("/etc/cloud/ds-identify.cfg") {
            let cfg = DsIdentifyConfigParser.parse(b, path: "/etc/cloud/ds-identify.cfg")
            if policy == nil { policy = cfg.policy?.value }
            if dsName == nil { dsName = cfg.datasource?.value }
        }
        let mode = policy.flatMap { $0.split(separator: ",").first.map(String.init) } ?? "search"
        if mode == "disabled" { return .no("ds-identify's policy is disabled", nil) }
        if mode == "enabled" { return .yes("ds-identify's policy is enabled", linkLine) }
        if let dsName, !dsName.isEmpty { return .yes("ds-identify is told the datasource (\(dsName))", linkLine) }
        if let list = m.datasourceList?.value.filter({ !$0.isEmpty }), list.count == 1 || (list.count == 2 && list[1] == "None") {
            return .yes("datasource_list names one datasource (\(list[0])), which ds-identify takes as found", m.datasourceList?.source)
        }
        // Seeds on the disk that ds-identify finds without the platform.
        for d in ["nocloud", "nocloud-net"] {
            let dir = "/var/lib/cloud/seed/" + d
            if root.isRegularFile(dir + "/meta-data") && root.isRegularFile(dir + "/user-data") {
                return .yes("ds-identify finds the NoCloud seed in \(dir)", SourceLine(path: dir + "/meta-data", line: 0, text: ""))
            }
        }
        if let ds = m.lastDatasource, ds.value != "None" {
            return .yes("ds-identify found datasource \(ds.value) at the last boot (assumed: the same platform)", ds.source)
        }
        let list = m.datasourceList?.value.joined(separator: ", ") ?? "its default list"
        return .dependsOnPlatform("ds-identify finds a datasource (\(list)) on the platform it boots on (it disables cloud-init otherwise)")
    }

    /// The renderer cloud-init's `renderers.select` picks: the first available
    /// of `system_info.network.renderers`, else of its default priority.
    static func renderer(_ root: TargetRoot, units: UnitEnablement, osID: String?, priority: Located<[String]>?) -> (String?, String) {
        let order = priority?.value ?? ["eni", "sysconfig", "netplan", "network-manager", "networkd"]
        func which(_ p: String, _ dirs: [String]) -> Bool { dirs.contains { root.isRegularFile($0 + "/" + p) } }
        for r in order {
            let available: Bool
            switch r {
            case "eni":
                available = ["ifquery", "ifup", "ifdown"].allSatisfy { which($0, ["/sbin", "/usr/sbin"]) } && root.isRegularFile("/etc/network/interfaces")
            case "sysconfig":
                let known = ["almalinux", "amazon", "centos", "cloudlinux", "eurolinux", "fedora", "miraclelinux", "openEuler", "opensuse",
                             "rhel", "rocky", "sles", "suse", "virtuozzo", "ol"]
                available = known.contains(osID ?? "") && ["ifup", "ifdown"].allSatisfy { which($0, ["/sbin", "/usr/sbin"]) }
                    && (root.isRegularFile("/etc/sysconfig/network-scripts/network-functions") || root.isRegularFile("/etc/sysconfig/config"))
            case "netplan":
                available = which("netplan", ["/usr/sbin", "/sbin"])
            case "network-manager":
                available = root.isRegularFile("/etc/NetworkManager/NetworkManager.conf")
                    && which("nmcli", ["/usr/bin", "/bin", "/usr/sbin", "/sbin"]) && units.isEnabled("NetworkManager.service") != nil
            case "networkd":
                available = which("ip", ["/usr/sbin", "/bin", "/sbin", "/usr/bin"]) && which("systemctl", ["/usr/sbin", "/bin", "/usr/bin"])
            default:
                available = false
            }
            if available {
                return (r, "the first available of " + (priority.map { "`renderers` in \($0.location.path)" } ?? "cloud-init's default order") + ": " + order.joined(separator: ", "))
            }
        }
        return (nil, "none of " + order.joined(separator: ", ") + " is available")
    }
}
