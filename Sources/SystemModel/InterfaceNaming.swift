import Parsers
import RescueSys
import Synchronization
import TargetAccess

/// The kernel command line the next boot uses, and where it came from.
public struct BootCommandLine: Sendable {
    /// The command line of the default boot entry (grub.cfg's `linux` line,
    /// a BootLoaderSpec entry's `options`), else /etc/kernel/cmdline, else
    /// /etc/default/grub's; nil when none was found.
    public var effective: KernelCommandLine?
    /// One sentence: which file and entry decided.
    public var explanation: String
    /// GRUB_CMDLINE_LINUX and GRUB_CMDLINE_LINUX_DEFAULT of /etc/default/grub:
    /// they reach the boot only through update-grub.
    public var grubDefaults: [KernelCommandLine] = []
    /// The default boot entry's kernel and initramfs, as target paths.
    public var kernelPath: String?
    public var initrdPaths: [String] = []
    /// The line that names the initramfs, when a boot entry does.
    public var initrdSource: SourceLine?
    /// Which boot configuration was read (`/boot/grub/grub.cfg`), when one was.
    public var bootConfig: String?

    /// `net.ifnames=0` on the effective command line.
    public var disablesPredictableNames: Bool { effective?.disablesPredictableNames ?? false }
}

/// Whether udev's 80-net-setup-link.rules (which applies .link files) runs in one place.
public enum SetupLinkState: Sendable, Equatable {
    case active(path: String)
    /// A symlink to /dev/null or an empty file of that name hides the rule.
    case masked(path: String, how: String)
    case absent
}

/// The udev naming inputs of one place where udev runs: the root filesystem, or an initramfs.
public struct NamingLayer: Sendable {
    public var isInitramfs: Bool
    /// `the root filesystem`, `the initramfs /boot/initrd.img-6.1.0-18-amd64`.
    public var description: String
    public var setupLink: SetupLinkState
    /// .link files in udev's order (by file name), masked ones left out.
    public var linkFiles: [LinkFile]
    /// .link files masked by a /dev/null symlink or an empty file.
    public var maskedLinks: [String]
    /// Rules that assign NAME= (70-persistent-net.rules and the like).
    public var nameRules: [UdevRule]
    /// Kernel modules it carries (initramfs only).
    public var modules: Set<String>?
    /// It carries network drivers (drivers/net), so NICs appear, and are named, there.
    public var hasNetworkDrivers: Bool

    /// Whether 99-default.link (or whichever file matches every link) is masked.
    public var defaultLinkMasked: Bool { maskedLinks.contains { $0.hasSuffix("/99-default.link") } }
}

/// What became of the initramfs of the default boot entry.
public enum InitramfsStatus: Sendable {
    /// No initramfs was found; why (and where we looked).
    case notFound(String)
    case unreadable(path: String, why: String)
    case read(path: String, layer: NamingLayer, segments: [InitramfsSegment], how: String)

    public var layer: NamingLayer? {
        if case .read(_, let l, _, _) = self { return l }
        return nil
    }

    public var path: String? {
        switch self {
        case .notFound: nil
        case .unreadable(let p, _), .read(let p, _, _, _): p
        }
    }
}

/// One step of a NIC's naming at boot.
public struct NamingStep: Sendable, Hashable {
    public var from: String
    public var to: String
    /// Where it happens and by which file and line.
    public var why: String
    public var source: SourceLine?
}

/// Everything that decides the names network cards get at boot: the kernel
/// command line, udev's rules and .link files in the root and in the
/// initramfs of the default boot entry, which renames them first when their
/// driver loads there.
public struct InterfaceNaming: Sendable {
    public var commandLine: BootCommandLine
    public var root: NamingLayer
    private let initramfsSource: LazyInitramfs

    /// The initramfs of the default boot entry, read (streamed, decompressed
    /// and parsed) the first time anyone asks, once per audit.
    public var initramfs: InitramfsStatus { initramfsSource.status }

    /// Whether the initramfs has been read yet (it is read only when a question needs it).
    public var initramfsWasRead: Bool { initramfsSource.isResolved }

    /// The files a naming fix would mask or run that already exist on the
    /// root (`/etc/systemd/network/99-default.link`,
    /// `/etc/udev/rules.d/80-net-setup-link.rules`, `update-initramfs`), so
    /// rules decide on fixes without reaching the target.
    public var existingFixPaths: Set<String> = []
    static let fixPaths = ["/etc/systemd/network/99-default.link", "/etc/udev/rules.d/80-net-setup-link.rules",
                           "/usr/sbin/update-initramfs", "/sbin/update-initramfs"]

    /// Starts reading the initramfs on another thread, when the model already
    /// knows a question will need it (see `needsInitramfs`): the decompression
    /// then runs while the rest of the model is built and the rules run.
    public func prefetchInitramfs() { initramfsSource.startInBackground() }

    /// Waits for a prefetch started by `prefetchInitramfs` to finish.
    public func settle() { initramfsSource.settle() }

    /// Whether `prefetchInitramfs` started a background read.
    public var initramfsPrefetched: Bool { initramfsSource.wasStarted }

    /// Whether the naming questions will read the initramfs: with the cards
    /// known, every configured card's name at boot goes through it; without
    /// them, only a kernel name (eth0) asks whether udev renames the card,
    /// in the initramfs first. The rule decides; this only predicts it, to
    /// start the read early (a wrong guess costs time, never a result).
    public static func needsInitramfs(claimNames: [String], hardwareKnown: Bool) -> Bool {
        if hardwareKnown { return !claimNames.isEmpty }
        return claimNames.contains { name in
            let base = name.split(separator: ":", maxSplits: 1).first.map { $0.split(separator: ".", maxSplits: 1).first ?? $0 } ?? Substring(name)
            return base.hasPrefix("eth") && base.count > 3 && base.dropFirst(3).allSatisfy(\.isNumber)
        }
    }

    init(commandLine: BootCommandLine, root: NamingLayer, initramfs: LazyInitramfs) {
        self.commandLine = commandLine
        self.root = root
        initramfsSource = initramfs
    }

    /// Reads the naming inputs of a target; `networkd` supplies the root's
    /// .link files, `boot` the default boot entry and its initramfs (read later, on demand).
    public static func load(_ root: TargetRoot, networkd: NetworkdConfig, boot: BootConfiguration) -> InterfaceNaming {
        let cmdline = BootCommandLineLoader.load(root, boot: boot)
        let rootLayer = rootLayer(root, networkd: networkd)
        let initramfs = LazyInitramfs { TargetRoot.$lazyModel.withValue("the initramfs") { InitramfsLocator.load(root, commandLine: cmdline) } }
        var naming = InterfaceNaming(commandLine: cmdline, root: rootLayer, initramfs: initramfs)
        naming.existingFixPaths = Set(fixPaths.filter { root.exists($0) })
        return naming
    }

    /// Nothing known (a snapshot built without a target).
    public static let none = InterfaceNaming(
        commandLine: BootCommandLine(explanation: "the boot configuration was not read"),
        root: NamingLayer(isInitramfs: false, description: "the root filesystem", setupLink: .absent, linkFiles: [],
                          maskedLinks: [], nameRules: [], modules: nil, hasNetworkDrivers: true),
        initramfs: LazyInitramfs { .notFound("the boot configuration was not read") })


    // MARK: - With the hardware known

    /// The name a NIC ends up with at the next boot, and how. `kernelName`
    /// is the name the kernel gives it (`eth0`, in probe order).
    public func finalName(of nic: HardwareNIC, kernelName: String) -> (name: String, steps: [NamingStep]) {
        var name = kernelName
        var renamed = false
        var steps: [NamingStep] = []
        var layers: [NamingLayer] = []
        if let l = initramfs.layer, l.appliesTo(driver: nic.driver) { layers.append(l) }
        layers.append(root)
        for layer in layers {
            if let r = layer.rename(nic, currentName: name, renamedBefore: renamed, namingOff: commandLine.disablesPredictableNames) {
                if r.to != name {
                    steps.append(NamingStep(from: name, to: r.to, why: "\(layer.description): \(r.why)", source: r.source))
                    name = r.to
                    renamed = true
                }
            }
        }
        return (name, steps)
    }

    /// The Ethernet cards of `hardware` with the names they get at the next
    /// boot, in kernel probe order (approximated by PCI address).
    public func bootNames(of hardware: [HardwareNIC]) -> [(nic: HardwareNIC, kernel: String, name: String, steps: [NamingStep])] {
        let nics = hardware.filter { ($0.type ?? 1) == 1 && $0.devicePath != nil && $0.devType != "wlan" && $0.devType != "wwan" }
            .sorted { ($0.pciAddress ?? $0.devicePath ?? "") < ($1.pciAddress ?? $1.devicePath ?? "") }
        return nics.enumerated().map { i, nic in
            let kernel = "eth\(i)"
            let r = finalName(of: nic, kernelName: kernel)
            return (nic, kernel, r.name, r.steps)
        }
    }

    // MARK: - Without the hardware

    /// A rule or .link file that gives this exact name to a card (by MAC or otherwise).
    public func pin(for name: String) -> (layer: String, source: SourceLine, mac: String?)? {
        var layers = [root]
        if let l = initramfs.layer { layers.insert(l, at: 0) }
        for layer in layers.reversed() {
            if let r = layer.nameRules.first(where: { $0.assignedName == name }) {
                return (layer.description, r.source, r.matchedAddress)
            }
            if case .active = layer.setupLink, let l = layer.linkFiles.first(where: { $0.name?.value == name }), let s = l.name?.source {
                return (layer.description, s, l.match.macAddresses.first?.lowercased())
            }
        }
        return nil
    }

    /// Whether a layer renames an ordinary Ethernet card whose details are
    /// unknown: the .link file that matches any card, with a NamePolicy that
    /// yields a predictable name (or a Name=), while 80-net-setup-link.rules runs.
    public func genericRename(_ layer: NamingLayer) -> NamingStep? {
        guard case .active(let rules) = layer.setupLink else { return nil }
        guard let link = layer.linkFiles.first(where: { $0.matchesAnyEthernet }) else { return nil }
        let policies = link.namePolicy.filter { ["onboard", "slot", "path", "mac"].contains($0.value) }
        if !commandLine.disablesPredictableNames, let p = policies.first {
            return NamingStep(from: "eth0", to: "en…", why: "\(layer.description) renames Ethernet cards by NamePolicy=\(link.namePolicy.map(\.value).joined(separator: " ")) (\(link.path), applied by \(rules))", source: p.source)
        }
        if let n = link.name {
            return NamingStep(from: "eth0", to: n.value, why: "\(layer.description) names every card \(n.value) (\(link.path))", source: n.source)
        }
        return nil
    }

    /// The renames an unknown Ethernet card goes through at boot: in the
    /// initramfs (when it carries network drivers), then in the root.
    public var genericRenames: [NamingStep] {
        var out: [NamingStep] = []
        if let l = initramfs.layer, l.hasNetworkDrivers, let s = genericRename(l) { out.append(s) }
        if let s = genericRename(root) { out.append(s) }
        return out
    }

    // MARK: - Loading

    static let ruleDirectories = ["/etc/udev/rules.d", "/run/udev/rules.d", "/usr/local/lib/udev/rules.d",
                                  "/usr/lib/udev/rules.d", "/lib/udev/rules.d"]

    static func rootLayer(_ root: TargetRoot, networkd: NetworkdConfig) -> NamingLayer {
        var setup = SetupLinkState.absent
        var rules: [UdevRule] = []
        var seen: Set<String> = []
        var files: [(name: String, path: String)] = []
        for dir in ruleDirectories {
            for e in root.listFollowing(dir) ?? [] where e.name.hasSuffix(".rules") && !seen.contains(e.name) && e.kind != .directory {
                seen.insert(e.name)
                files.append((e.name, dir + "/" + e.name))
            }
        }
        files.sort { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
        for (name, path) in files {
            if name == "80-net-setup-link.rules" {
                if let info = root.lstat(path), info.kind == .symlink, info.linkTarget == "/dev/null" {
                    setup = .masked(path: path, how: "\(path) -> /dev/null")
                } else if let st = root.stat(path), st.kind == .regular, st.size == 0 {
                    setup = .masked(path: path, how: "\(path) is empty")
                } else if let b = root.bytes(path), b.contains(where: { !Text.isSpace(Character(UnicodeScalar($0))) }) {
                    setup = UdevRulesParser.parse(b, path: path).rules.contains { $0.pairs.contains { $0.value.contains("net_setup_link") } }
                        ? .active(path: path) : .masked(path: path, how: "\(path) does not import net_setup_link")
                }
                continue
            }
            // Only rules files that may name network interfaces are worth parsing.
            guard let b = root.bytes(path), b.count < 1 << 20, contains(b, "NAME") else { continue }
            rules += UdevRulesParser.parse(b, path: path).rules.filter { $0.assignedName != nil && $0.isNetRule }
        }
        return NamingLayer(isInitramfs: false, description: "the root filesystem", setupLink: setup,
                           linkFiles: networkd.linkFiles, maskedLinks: networkd.masked.filter { $0.hasSuffix(".link") },
                           nameRules: rules, modules: nil, hasNetworkDrivers: true)
    }

    static func contains(_ bytes: [UInt8], _ word: String) -> Bool {
        let w = Array(word.utf8)
        guard bytes.count >= w.count else { return false }
        for i in 0...(bytes.count - w.count) where bytes[i] == w[0] && Array(bytes[i..<(i + w.count)]) == w { return true }
        return false
    }
}

extension LinkFile {
    /// Whether it matches any Ethernet card whatever its MAC, path or driver:
    /// only name globs (against a kernel name like eth0) and `Type=ether`.
    var matchesAnyEthernet: Bool {
        let m = match
        guard m.macAddresses.isEmpty, m.drivers.isEmpty else { return false }
        return m.matches(name: "eth0", type: "ether") || (m.names.isEmpty && m.excludedNames.isEmpty && m.originalNames.contains("*"))
    }
}

extension UdevRule {
    /// A rule about network interfaces: SUBSYSTEM=="net", or one that matches on a MAC address.
    var isNetRule: Bool {
        value("SUBSYSTEM") == "net" || matchedAddress != nil
    }

    /// Whether the rule matches this card (keys we cannot evaluate are taken as matching).
    func matches(_ nic: HardwareNIC, currentName: String) -> Bool {
        for p in pairs where p.op == "==" || p.op == "!=" {
            let subject: String?
            switch p.key {
            case "SUBSYSTEM": subject = "net"
            case "KERNEL": subject = currentName
            case "ATTR{address}", "ATTRS{address}": subject = nic.mac?.lowercased()
            case "DRIVERS", "DRIVER": subject = nic.driver
            case "ATTR{type}": subject = nic.type.map(String.init)
            default: continue
            }
            guard let subject else { return false }
            let hit = fnmatchGlob(p.op == "==" || p.op == "!=" ? p.value.lowercased() : p.value, subject.lowercased())
            if hit != (p.op == "==") { return false }
        }
        return true
    }
}

extension NamingLayer {
    /// The initramfs renames a card only when its driver loads there.
    func appliesTo(driver: String?) -> Bool {
        guard isInitramfs else { return true }
        guard let driver, let modules else { return hasNetworkDrivers }
        return modules.contains(String(driver.map { $0 == "-" ? "_" : $0 }))
    }

    /// What this layer renames the card to, if anything.
    func rename(_ nic: HardwareNIC, currentName: String, renamedBefore: Bool, namingOff: Bool) -> (to: String, why: String, source: SourceLine?)? {
        if let r = nameRules.first(where: { $0.matches(nic, currentName: currentName) }), let n = r.assignedName {
            return (n, "NAME=\"\(n)\" in \(r.source.location)", r.source)
        }
        guard case .active = setupLink else { return nil }
        guard let link = linkFiles.first(where: { $0.match.matches(name: currentName, mac: nic.mac, driver: nic.driver, type: nic.type == 1 ? "ether" : nil) }) else { return nil }
        if !namingOff {
            for p in link.namePolicy {
                switch p.value {
                case "keep":
                    if renamedBefore { return nil }
                case "onboard", "slot", "path", "mac":
                    if let n = nic.predictableName(p.value) {
                        return (n, "NamePolicy=\(link.namePolicy.map(\.value).joined(separator: " ")) of \(link.path) gives the \(p.value) name \(n)", p.source)
                    }
                default: continue
                }
            }
        }
        if let n = link.name {
            return (n.value, "Name=\(n.value) in \(link.path)", n.source)
        }
        return nil
    }
}

func fnmatchGlob(_ pattern: String, _ s: String) -> Bool {
    // udev's patterns: * ? [..] and | alternatives.
    pattern.split(separator: "|", omittingEmptySubsequences: false).contains { globMatch(Array($0.utf8), Array(s.utf8)) }
}

private func globMatch(_ p: [UInt8], _ s: [UInt8]) -> Bool {
    var pi = 0, si = 0, star = -1, mark = 0
    while si < s.count {
        if pi < p.count, p[pi] == UInt8(ascii: "[") , let close = p[pi...].firstIndex(of: UInt8(ascii: "]")) {
            let set = p[(pi + 1)..<close]
            if set.contains(s[si]) || rangeMatch(set, s[si]) { pi = close + 1; si += 1; continue }
        } else if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == s[si] {
            pi += 1; si += 1; continue
        }
        if pi < p.count, p[pi] == UInt8(ascii: "*") { star = pi; mark = si; pi += 1; continue }
        if star >= 0 { pi = star + 1; mark += 1; si = mark; continue }
        return false
    }
    while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
    return pi == p.count
}

private func rangeMatch(_ set: ArraySlice<UInt8>, _ c: UInt8) -> Bool {
    let a = Array(set)
    var i = 0
    while i + 2 < a.count {
        if a[i + 1] == UInt8(ascii: "-"), a[i] <= c, c <= a[i + 2] { return true }
        i += 1
    }
    return false
}

// MARK: - The boot entry and its command line

/// The kernel command line of the default boot entry, which
/// `BootConfiguration` finds (GRUB, BootLoaderSpec, systemd-boot), with
/// /etc/kernel/cmdline and /etc/default/grub as fallbacks.
enum BootCommandLineLoader {
    static func load(_ root: TargetRoot, boot: BootConfiguration) -> BootCommandLine {
        var out = BootCommandLine(explanation: "")
        if let b = root.bytes("/etc/default/grub") {
            let assignments = ShellAssignments.parse(b, path: "/etc/default/grub").assignments
            for key in ["GRUB_CMDLINE_LINUX", "GRUB_CMDLINE_LINUX_DEFAULT"] {
                if let a = assignments.last(where: { $0.key == key }) {
                    out.grubDefaults.append(KernelCommandLine(words: GrubWords.split(a.value), source: a.source))
                }
            }
        }
        if let entry = boot.defaultEntry {
            out.bootConfig = boot.configPath
            if let options = entry.options {
                var words = GrubWords.split(options)
                // RHEL 8's BLS entries take the command line from grubenv's kernelopts.
                if let i = words.firstIndex(where: { $0 == "$kernelopts" || $0 == "${kernelopts}" }) {
                    words.replaceSubrange(i...i, with: GrubWords.split(kernelopts(root) ?? ""))
                }
                out.effective = KernelCommandLine(words: words, source: entry.kernel?.source ?? entry.source)
            }
            out.kernelPath = boot.files?.kernel?.targetPath
            out.initrdPaths = boot.files?.initrds.compactMap(\.targetPath) ?? []
            out.initrdSource = entry.initrds.first?.source
            out.explanation = "the default entry of \(boot.configPath ?? "the boot configuration") is \"\(entry.title)\" (\(boot.defaultReason))"
            return out
        }
        if let b = root.bytes("/etc/kernel/cmdline") {
            let line = Text.lines(b).first ?? ""
            out.effective = KernelCommandLine(words: GrubWords.split(line), source: SourceLine(path: "/etc/kernel/cmdline", line: 1, text: line))
            out.explanation = "no boot loader configuration was found; /etc/kernel/cmdline is what kernel-install uses"
            return out
        }
        if !out.grubDefaults.isEmpty {
            out.effective = KernelCommandLine(words: out.grubDefaults.flatMap(\.words), source: out.grubDefaults[0].source)
            out.explanation = "no grub.cfg was found; /etc/default/grub is what update-grub would write"
            return out
        }
        out.explanation = "no boot loader configuration (grub.cfg, BootLoaderSpec entries, /etc/kernel/cmdline, /etc/default/grub) was found"
        return out
    }

    private static func kernelopts(_ root: TargetRoot) -> String? {
        for p in ["/boot/grub2/grubenv", "/boot/grub/grubenv"] {
            if let b = root.bytes(p), let v = GrubEnvParser.parse(b, path: p)["kernelopts"] { return v.value }
        }
        return nil
    }
}

// MARK: - The initramfs

/// The initramfs status, computed once, by the first caller; others wait for it.
final class LazyInitramfs: Sendable {
    private let state = Mutex<InitramfsStatus?>(nil)
    private let compute: @Sendable () -> InitramfsStatus

    init(_ compute: @escaping @Sendable () -> InitramfsStatus) { self.compute = compute }

    var status: InitramfsStatus {
        state.withLock { s in
            if let s { return s }
            let v = compute()
            s = v
            return v
        }
    }

    var isResolved: Bool { state.withLock { $0 != nil } }

    private let started = Mutex(false)

    /// Starts reading in the background (decompressing a 130 MB initramfs is
    /// most of an audit's time): the first `status` then waits only for what
    /// is left. The read happens once, whoever comes first.
    func startInBackground() {
        guard state.withLock({ $0 == nil }), started.withLock({ s in defer { s = true }; return !s }) else { return }
        // A POSIX thread, not a Task: see sysStartThread. If none starts,
        // the first question computes the status itself.
        _ = sysStartThread { _ = self.status }
    }

    var wasStarted: Bool { started.withLock { $0 } }

    /// Waits for a background read to finish, so nothing reads through the
    /// target after the audit lets go of it (an image is unmounted then).
    func settle() {
        if started.withLock({ $0 }) { _ = status }
    }
}

enum InitramfsLocator {
    /// The largest initramfs file read (compressed); larger ones are reported unread.
    static let cap: Int64 = 512 << 20
    /// At most this many different files (a boot entry may name several: microcode, then the main one).
    static let maxFiles = 16
    /// All files together may give at most this much when decompressed.
    static let decompressionBudget = 512 << 20

    static func wanted(_ path: String) -> Bool {
        let dirs = ["etc/udev/rules.d/", "lib/udev/rules.d/", "usr/lib/udev/rules.d/",
                    "etc/systemd/network/", "lib/systemd/network/", "usr/lib/systemd/network/"]
        guard dirs.contains(where: { path.hasPrefix($0) }) else { return false }
        return path.hasSuffix(".rules") || path.hasSuffix(".link")
    }

    static func load(_ root: TargetRoot, commandLine: BootCommandLine) -> InitramfsStatus {
        var candidates = commandLine.initrdPaths
        var how = commandLine.initrdSource.map { "named by \($0.location)" } ?? ""
        if candidates.isEmpty {
            if let link = root.lstat("/initrd.img"), link.kind == .symlink, root.isRegularFile("/initrd.img") {
                candidates = ["/initrd.img"]
                how = "the /initrd.img symlink (-> \(link.linkTarget ?? "?")); no boot entry names one"
            } else if let newest = newestInBoot(root) {
                candidates = [newest]
                how = "the newest in /boot; no boot entry names one"
            } else {
                return .notFound("no boot entry names an initramfs, and there is no /initrd.img or /boot/initrd.img-* / /boot/initramfs-*.img")
            }
        }
        var merged = InitramfsContents()
        var anyRead = false
        var segments: [InitramfsSegment] = []
        // A path named again (or another name of the same file) is read once:
        // the kernel unpacks it again, which gives the same members, so its
        // contents are merged again in order without decompressing anything.
        struct FileID: Hashable { var device: UInt64; var inode: UInt64 }
        var read: [FileID: InitramfsContents] = [:]
        var budget = decompressionBudget
        for path in candidates {
            let contents: InitramfsContents
            var repeated = false
            switch root.openReader(path) {
            case .failure(.missing):
                if candidates.count == 1 { return .unreadable(path: path, why: "it does not exist (the boot entry names a missing file)") }
                continue
            case .failure(.skipped(let why)):
                return .unreadable(path: path, why: why.description)
            case .success(let reader):
                let id = FileID(device: reader.status.device, inode: reader.status.inode)
                if let again = read[id] {
                    contents = again
                    repeated = true
                } else {
                    guard read.count < maxFiles else {
                        return .unreadable(path: path, why: "the boot entry names more than \(maxFiles) different initramfs files")
                    }
                    guard reader.size <= cap else {
                        return .unreadable(path: path, why: SkipReason.tooLarge(size: reader.size, cap: cap).description)
                    }
                    var limits = Initramfs.Limits()
                    limits.maxDecompressed = budget
                    let fresh = Initramfs.read(size: Int(reader.size), limits: limits, source: { offset, count in
                        reader.read(at: Int64(offset), count: count)
                    }, want: wanted)
                    if let e = fresh.error {
                        return .unreadable(path: path, why: budget < decompressionBudget && fresh.decompressedBytes >= budget
                                           ? "\(e) (all initramfs files together may give \(decompressionBudget >> 20) MiB)" : e)
                    }
                    budget -= fresh.decompressedBytes
                    read[id] = fresh
                    segments += fresh.segments
                    contents = fresh
                }
            }
            if !anyRead {
                merged = contents
                anyRead = true
            } else {
                merged.members.merge(contents.members) { $1 }
                merged.topLevelLinks.merge(contents.topLevelLinks) { $1 }
                if !repeated {
                    merged.modules.formUnion(contents.modules)
                    merged.networkModules.formUnion(contents.networkModules)
                }
            }
        }
        guard anyRead else { return .notFound("none of \(candidates.joined(separator: ", ")) exists") }
        let main = candidates.last ?? ""
        return .read(path: main, layer: layer(merged, description: "the initramfs \(main)"), segments: segments, how: how)
    }

    static func newestInBoot(_ root: TargetRoot) -> String? {
        let names = (root.listFollowing("/boot") ?? []).map(\.name).filter {
            ($0.hasPrefix("initrd.img-") || $0.hasPrefix("initramfs-") && $0.hasSuffix(".img")) && !$0.contains("kdump") && !$0.contains("rescue")
        }
        return names.max { DebianVersion.compare($0, $1) < 0 }.map { "/boot/" + $0 }
    }

    static func layer(_ c: InitramfsContents, description: String) -> NamingLayer {
        func isMask(_ m: InitramfsMember) -> Bool {
            (m.kind == .symlink && String(decoding: m.data, as: UTF8.self) == "/dev/null")
                || (m.kind == .regular && m.data.allSatisfy { Text.isSpace(Character(UnicodeScalar($0))) })
                || m.kind == .other
        }
        // Rules: /etc over /run-less /lib and /usr/lib, by file name, as udev does.
        var rulesByName: [String: InitramfsMember] = [:]
        for dir in ["usr/lib/udev/rules.d", "lib/udev/rules.d", "etc/udev/rules.d"] {
            for m in c.members(in: dir) where m.path.hasSuffix(".rules") {
                rulesByName[String(m.path.split(separator: "/").last ?? "")] = m
            }
        }
        var setup = SetupLinkState.absent
        var nameRules: [UdevRule] = []
        for name in rulesByName.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard let m = rulesByName[name] else { continue }
            let inPath = description + ":/" + m.path
            if name == "80-net-setup-link.rules" {
                if isMask(m) {
                    setup = .masked(path: inPath, how: m.kind == .symlink ? "/\(m.path) -> /dev/null in the initramfs" : "/\(m.path) is empty in the initramfs")
                } else {
                    let rules = UdevRulesParser.parse(m.data, path: "/" + m.path).rules
                    setup = rules.contains { $0.pairs.contains { $0.value.contains("net_setup_link") } }
                        ? .active(path: "/\(m.path) in the initramfs") : .masked(path: inPath, how: "/\(m.path) in the initramfs does not import net_setup_link")
                }
                continue
            }
            guard m.kind == .regular else { continue }
            nameRules += UdevRulesParser.parse(m.data, path: "/" + m.path).rules.filter { $0.assignedName != nil && $0.isNetRule }
        }
        // .link files: /etc over /usr/lib and /lib, by file name; masks hide the name.
        var linksByName: [String: InitramfsMember] = [:]
        for dir in ["usr/lib/systemd/network", "lib/systemd/network", "etc/systemd/network"] {
            for m in c.members(in: dir) where m.path.hasSuffix(".link") {
                linksByName[String(m.path.split(separator: "/").last ?? "")] = m
            }
        }
        var links: [LinkFile] = []
        var masked: [String] = []
        for name in linksByName.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }) {
            guard let m = linksByName[name] else { continue }
            if isMask(m) { masked.append("/" + m.path); continue }
            let unit = SystemdUnitParser.parse(m.data, path: "/" + m.path)
            if unit.rejected { continue }
            links.append(LinkFile(unit: unit, path: "/" + m.path))
        }
        return NamingLayer(isInitramfs: true, description: description, setupLink: setup, linkFiles: links,
                           maskedLinks: masked, nameRules: nameRules, modules: c.modules,
                           hasNetworkDrivers: c.hasNetworkDrivers)
    }
}

extension LinkFile {
    /// A .link file from its parsed unit (used for the initramfs's copies).
    init(unit: UnitFile, path: String) {
        let policy = unit.values("Link", "NamePolicy").flatMap { e in Text.words(e.value).map { Located(String($0), e.source) } }
        self.init(path: path, dropIns: [], match: NetworkdMatch.parse(unit),
                  name: unit.value("Link", "Name").map { Located($0.value, $0.source) }, namePolicy: policy,
                  macAddressPolicy: unit.value("Link", "MACAddressPolicy").map { Located($0.value, $0.source) })
    }
}
