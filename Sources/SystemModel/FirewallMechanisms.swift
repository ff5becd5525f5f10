import Parsers
import TargetAccess

/// One `iptables-restore` a mechanism runs at boot.
struct IptablesLoad: Hashable, Sendable {
    var family: AddressFamily
    var path: String
    var noflush: Bool
    /// The script line, unit link or plugin that runs it.
    var invokedBy: SourceLine?
    var stopsInterface: Bool

    var program: String { (family == .ipv4 ? "iptables-restore" : "ip6tables-restore") + (noflush ? " -n" : "") }
}

/// How to load a mechanism's rules (again, with edits laid over the files).
enum MechanismRecipe: Sendable {
    case iptables([IptablesLoad])
    case ufw(invokedBy: SourceLine?)
    case firewalld
    case nftables(path: String, invokedBy: SourceLine?)
    /// Configured, but nothing is loaded (an inactive mechanism).
    case none
}

/// A mechanism's rules as loaded.
struct MechanismBuild: Sendable {
    var filters: [AddressFamily: PacketFilter] = [:]
    var firewalld: FirewalldState?
    var failures: [RestoreFailure] = []
    var notes: [String] = []
    var files: [String] = []
    /// Where the rules of each restored iptables-save file are (for fixes), by path.
    var layouts: [String: IptablesLayout] = [:]
    var nft: NftRuleset?
    /// Per family, the iptables tables a flushing restore really replaced
    /// (a missing or rejected file replaces nothing).
    var replacedTables: [AddressFamily: Set<String>] = [:]

    func covers(_ family: AddressFamily) -> Bool {
        filters[family] != nil || firewalld != nil
    }

    func evaluate(_ question: FirewallQuestion, _ family: AddressFamily, port: Int?, interface: String? = nil) -> FilterVerdict {
        if let fw = firewalld { return fw.verdict(question, family) }
        guard let f = filters[family] else { return FilterVerdict(answer: .accepted, evidence: []) }
        return f.evaluate(probe(question, family, port: port, interface: interface))
    }
}

/// The lines of a restored iptables-save file that fixes need: per
/// committed table, each chain's rule lines (and whether any rule is
/// inserted with -I) and the COMMIT line. Kept instead of the parsed file,
/// which for a big ruleset is large.
struct IptablesLayout: Sendable {
    struct Section: Sendable {
        var table: String
        var header: Int
        var commit: Int
        var rules: [String: [(line: Int, inserted: Bool)]] = [:]
        /// User chains declared in the section.
        var chains: Set<String> = []
    }
    var family: IptablesFamily
    var noflush: Bool
    var sections: [Section] = []

    init(_ file: IptablesRestoreFile, noflush: Bool) {
        family = file.family
        self.noflush = noflush
        for s in file.committedSections {
            var section = Section(table: s.table, header: s.header.location.line, commit: s.commit?.location.line ?? 0)
            let builtins = IptablesSaveParser.builtinChains(s.table)
            for c in s.commands {
                switch c {
                case .rule(let r): section.rules[r.chain, default: []].append((r.source.location.line, r.insertAt != nil))
                case .declare(let chain, _, _) where !builtins.contains(chain): section.chains.insert(chain)
                case .newChain(let chain, _): section.chains.insert(chain)
                default: break
                }
            }
            sections.append(section)
        }
    }

    func last(_ table: String) -> Section? { sections.last { $0.table == table } }
}

// MARK: - Which mechanisms run at boot

enum FirewallDetection {
    static let restorePrograms: Set<String> = [
        "iptables-restore", "ip6tables-restore", "iptables-legacy-restore", "ip6tables-legacy-restore",
        "iptables-nft-restore", "ip6tables-nft-restore",
    ]

    /// Whether a unit (or, under sysvinit, an init script) starts at boot, why, and the link that says so.
    static func starts(_ c: FirewallContext, unit: String, sysv: [String]) -> (Bool, String, [SourceLine]) {
        let kind = c.initSystem.kind
        if kind == .systemd || kind == .unknown {
            if let m = c.units.isMasked(unit) { return (false, "\(unit) is masked (\(m.linkPath) -> /dev/null)", []) }
            if let e = c.units.startsAtBoot(unit) {
                let link = SourceLine(path: e.linkPath, line: 0, text: "-> \(e.linkTarget)")
                // Enabled, but its program is gone: the unit fails and restores nothing.
                if let f = c.units.execStartFailure(unit) {
                    return (false, "\(unit) is enabled (\(e.linkPath)), but \(f.words): it loads no rules", [link, f.source])
                }
                return (true, "\(unit) is enabled (\(e.linkPath))", [link])
            }
            if kind == .systemd { return (false, "\(unit) is not enabled (no link in /etc/systemd/system/*.wants)", []) }
        }
        for s in sysv {
            if let l = c.units.isEnabledSysV(s) {
                return (true, "the \(s) init script starts from \(l.linkPath)", [SourceLine(path: l.linkPath, line: 0, text: "-> \(l.linkTarget)")])
            }
        }
        return (false, "neither \(unit) nor an init script link starts it", [])
    }

    static func mechanisms(_ files: FileSource, _ c: FirewallContext) -> [FirewallMechanism] {
        var out: [FirewallMechanism] = []
        out += netfilterPersistent(files, c)
        out += iptablesServices(files, c)
        out += ufw(files, c)
        out += firewalld(files, c)
        out += nftables(files, c)
        out += scripts(files, c)
        return out
    }

    static func disableUnit(_ c: FirewallContext, _ unit: String, what: String) -> FirewallDisable {
        let name = c.units.canonicalName(unit)
        let links = c.units.links.filter { c.units.canonicalName($0.unit) == name && $0.kind != .staticWants && $0.kind != .runtime }
        return .disableUnit(unit: unit, links: links.map(\.linkPath), firewall: what)
    }

    // MARK: netfilter-persistent

    static func netfilterPersistent(_ files: FileSource, _ c: FirewallContext) -> [FirewallMechanism] {
        let v4 = "/etc/iptables/rules.v4", v6 = "/etc/iptables/rules.v6"
        let hasFiles = files.exists(v4) || files.exists(v6)
        let unitKnown = c.units.unitPaths["netfilter-persistent.service"] != nil || c.units.isEnabledSysV("netfilter-persistent") != nil
            || c.units.isEnabledSysV("iptables-persistent") != nil
        guard hasFiles || unitKnown else { return [] }
        var (active, reason, activation) = starts(c, unit: "netfilter-persistent.service", sysv: ["netfilter-persistent"])
        var oldScript = false
        if !active, c.units.isEnabledSysV("iptables-persistent") != nil {
            // Debian 7's iptables-persistent init script loads the files itself.
            (active, reason, activation) = starts(c, unit: "iptables-persistent.service", sysv: ["iptables-persistent"])
            oldScript = true
        }
        var loads: [IptablesLoad] = []
        var paths: [String] = []
        for (family, path, plugin) in [(AddressFamily.ipv4, v4, "15-ip4tables"), (.ipv6, v6, "25-ip6tables")] {
            guard files.exists(path) else { continue }
            paths.append(path)
            let pluginPath = "/usr/share/netfilter-persistent/plugins.d/" + plugin
            let hasPlugin = oldScript || files.exists(pluginPath) || c.packages.hasFiles("iptables-persistent") || !c.packages.isKnown
            if hasPlugin {
                let by = files.exists(pluginPath) ? SourceLine(path: pluginPath, line: 0, text: "\(family == .ipv4 ? "iptables" : "ip6tables")-restore < \(path)") : activation.first
                loads.append(IptablesLoad(family: family, path: path, noflush: false, invokedBy: by, stopsInterface: false))
            }
        }
        if active && loads.isEmpty {
            reason += paths.isEmpty ? "; there is no /etc/iptables/rules.v4 or rules.v6 to load"
                : "; but the iptables-persistent plugins that load \(paths.joined(separator: ", ")) are not installed"
            active = false
        }
        return [FirewallMechanism(kind: .netfilterPersistent, name: "netfilter-persistent", active: active, reason: reason,
                                  activation: activation, files: paths,
                                  disable: .moveAside(paths: paths, firewall: "netfilter-persistent"),
                                  recipe: active ? .iptables(loads) : .none)]
    }

    // MARK: iptables.service / ip6tables.service

    static func iptablesServices(_ files: FileSource, _ c: FirewallContext) -> [FirewallMechanism] {
        var out: [FirewallMechanism] = []
        for (unit, family, sysconfig, arch) in [("iptables.service", AddressFamily.ipv4, "/etc/sysconfig/iptables", "/etc/iptables/iptables.rules"),
                                                 ("ip6tables.service", .ipv6, "/etc/sysconfig/ip6tables", "/etc/iptables/ip6tables.rules")] {
            let script = String(unit.dropLast(8))
            let unitFile = c.units.unitFile(unit)
            guard unitFile != nil || c.units.isEnabledSysV(script) != nil || c.units.startsAtBoot(unit) != nil else { continue }
            var path: String? = nil
            var execLine: SourceLine? = nil
            if let (_, file) = unitFile, let exec = file.value("Service", "ExecStart") {
                execLine = exec.source
                let words = Text.words(exec.value).map(String.init)
                if let k = words.firstIndex(where: { restorePrograms.contains(UnitEnablement.lastComponent($0.trimmingCharacters(in: "-@+!:"))) }) {
                    path = words[(k + 1)...].first { !$0.hasPrefix("-") }
                } else if words.contains(where: { $0.hasSuffix(".init") }) {
                    path = sysconfig
                }
            }
            let file = path ?? (files.exists(sysconfig) ? sysconfig : files.exists(arch) ? arch : sysconfig)
            var (active, reason, activation) = starts(c, unit: unit, sysv: [script])
            if active && !files.exists(file) {
                active = false
                reason += "; but \(file) does not exist, so it loads no rules"
            }
            let load = IptablesLoad(family: family, path: file, noflush: false, invokedBy: execLine ?? activation.first, stopsInterface: false)
            out.append(FirewallMechanism(kind: .iptablesService, name: unit, active: active, reason: reason,
                                         activation: activation + (execLine.map { [$0] } ?? []), files: [file],
                                         disable: .moveAside(paths: [file], firewall: unit),
                                         recipe: active ? .iptables([load]) : .none))
        }
        return out
    }

    // MARK: ufw

    static func ufw(_ files: FileSource, _ c: FirewallContext) -> [FirewallMechanism] {
        let conf = "/etc/ufw/ufw.conf"
        guard let bytes = files.bytes(conf) else { return [] }
        let assignments = ShellAssignments.dictionary(ShellAssignments.parse(bytes, path: conf).assignments)
        let enabled = assignments["ENABLED"]
        let yes = enabled.map { $0.value == "yes" || $0.value == "YES" } ?? false
        var (active, reason, activation) = starts(c, unit: "ufw.service", sysv: ["ufw"])
        if !yes {
            reason = enabled.map { "ufw.conf sets \($0.source.text.trimmingBlanks)" } ?? "ufw.conf has no ENABLED=yes"
            active = false
        } else if let enabled {
            activation.insert(enabled.source, at: 0)
        }
        let disable = FirewallDisable.ufwEnabled
        return [FirewallMechanism(kind: .ufw, name: "ufw", active: active, reason: reason, activation: activation,
                                  files: [conf], disable: disable, recipe: active ? .ufw(invokedBy: enabled?.source) : .none)]
    }

    // MARK: firewalld

    static func firewalld(_ files: FileSource, _ c: FirewallContext) -> [FirewallMechanism] {
        let present = files.exists("/etc/firewalld") || files.exists("/usr/lib/firewalld/zones")
            || c.units.unitPaths["firewalld.service"] != nil
        guard present else { return [] }
        let (active, reason, activation) = starts(c, unit: "firewalld.service", sysv: ["firewalld"])
        return [FirewallMechanism(kind: .firewalld, name: "firewalld", active: active, reason: reason, activation: activation,
                                  files: ["/etc/firewalld/firewalld.conf"], disable: disableUnit(c, "firewalld.service", what: "firewalld"),
                                  recipe: active ? .firewalld : .none)]
    }

    // MARK: nftables

    static func nftables(_ files: FileSource, _ c: FirewallContext) -> [FirewallMechanism] {
        let unitFile = c.units.unitFile("nftables.service")
        var path = files.exists("/etc/sysconfig/nftables.conf") && !files.exists("/etc/nftables.conf") ? "/etc/sysconfig/nftables.conf" : "/etc/nftables.conf"
        var execLine: SourceLine? = nil
        if let (_, file) = unitFile, let exec = file.value("Service", "ExecStart") {
            execLine = exec.source
            let words = Text.words(exec.value).map(String.init)
            if let f = words.firstIndex(of: "-f"), f + 1 < words.count { path = words[f + 1] }
            else if let f = words.firstIndex(where: { $0.hasPrefix("--file") }), f + 1 < words.count { path = words[f + 1] }
        }
        guard unitFile != nil || files.exists(path) else { return [] }
        let (active, reason, activation) = starts(c, unit: "nftables.service", sysv: ["nftables"])
        return [FirewallMechanism(kind: .nftables, name: "nftables.service", active: active, reason: reason,
                                  activation: activation + (execLine.map { [$0] } ?? []), files: [path],
                                  disable: disableUnit(c, "nftables.service", what: "nftables"),
                                  recipe: active ? .nftables(path: path, invokedBy: execLine ?? activation.first) : .none)]
    }

    // MARK: scripts

    /// `iptables-restore [-n] < FILE`, `iptables-restore FILE`, `cat FILE | iptables-restore` in a shell line.
    static func invocations(_ line: SourceLine, stopsInterface: Bool) -> (loads: [IptablesLoad], unknown: [String]) {
        let text = Text.trimmed(line.text)
        if text.isEmpty || text.hasPrefix("#") { return ([], []) }
        var words: [String] = []
        for w in Text.words(text) {
            var s = String(w)
            if s.hasPrefix("#") { break }
            // `<FILE` and `FILE;` are split as the shell would.
            if s.count > 1 && s.hasPrefix("<") { words.append("<"); s.removeFirst() }
            while let l = s.last, l == ";" { s.removeLast() }
            if !s.isEmpty { words.append(s.trimmingCharacters(in: "\"'")) }
        }
        var loads: [IptablesLoad] = []
        var unknown: [String] = []
        for (k, w) in words.enumerated() {
            let program = UnitEnablement.lastComponent(w)
            guard restorePrograms.contains(program) else { continue }
            let family: AddressFamily = program.hasPrefix("ip6") ? .ipv6 : .ipv4
            var noflush = false, test = false
            var file: String? = nil
            var j = k + 1
            while j < words.count {
                let a = words[j]
                if ["|", "||", "&&", ";", "&", ">", "2>", "2>&1", ">/dev/null", "2>/dev/null"].contains(a) || a.hasPrefix(">") || a.hasPrefix("2>") { break }
                if a == "<" { if j + 1 < words.count { file = words[j + 1] }; j += 2; continue }
                if a == "-n" || a == "--noflush" { noflush = true }
                else if a == "-t" || a == "--test" { test = true }
                else if ["-w", "-W", "-T", "-M", "--table", "--modprobe"].contains(a) { j += 1 }
                else if a.hasPrefix("-") { }
                else if file == nil { file = a }
                j += 1
            }
            if file == nil, k >= 2, words[k - 1] == "|", let cat = words[..<(k - 1)].lastIndex(of: "cat"), cat + 1 < k - 1 {
                file = words[cat + 1]
            }
            if test { continue }
            guard let f = file else {
                unknown.append("\(line.location): \(program) reads its rules from standard input, which is not evaluated")
                continue
            }
            if f.contains("$") || f.contains("`") || !f.hasPrefix("/") {
                unknown.append("\(line.location): \(program) loads `\(f)`, which is not evaluated")
                continue
            }
            loads.append(IptablesLoad(family: family, path: f, noflush: noflush, invokedBy: line, stopsInterface: stopsInterface))
        }
        return (loads, unknown)
    }

    static func runPartsName(_ name: String) -> Bool {
        !name.isEmpty && name.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-") }
    }

    static func scripts(_ files: FileSource, _ c: FirewallContext) -> [FirewallMechanism] {
        var out: [FirewallMechanism] = []
        func add(_ path: String, name: String, notRun: (why: String, line: SourceLine?)? = nil, reason: String, stops: Bool,
                 lines: [SourceLine], disable: FirewallDisable) {
            var loads: [IptablesLoad] = []
            var unknown: [String] = []
            for l in lines {
                let r = invocations(l, stopsInterface: stops)
                loads += r.loads
                unknown += r.unknown
            }
            guard !loads.isEmpty || !unknown.isEmpty else { return }
            if let notRun {
                // A hook that cannot run restores nothing: the tables stay as the other mechanisms left them.
                out.append(FirewallMechanism(kind: .restoreScript, name: name, active: false, reason: "\(reason), but \(notRun.why), so it restores nothing",
                                             activation: (notRun.line.map { [$0] } ?? []) + loads.compactMap(\.invokedBy),
                                             files: [path] + loads.map(\.path), disable: disable, recipe: .none))
                return
            }
            var m = FirewallMechanism(kind: .restoreScript, name: name, active: true, reason: reason,
                                      activation: loads.compactMap(\.invokedBy), files: [path] + loads.map(\.path),
                                      disable: disable, recipe: .iptables(loads))
            m.notes = unknown
            out.append(m)
        }
        if c.ifupdownRunsAtBoot {
            for dir in ["/etc/network/if-pre-up.d", "/etc/network/if-up.d"] {
                for name in files.list(dir) where runPartsName(name) {
                    let path = dir + "/" + name
                    guard files.isExecutable(path), let bytes = files.bytes(path) else { continue }
                    let lines = Text.lines(bytes).enumerated().map { SourceLine(path: path, line: $0.offset + 1, text: $0.element) }
                    let stops = dir.hasSuffix("pre-up.d")
                    let restoreLines = lines.filter { !invocations($0, stopsInterface: stops).loads.isEmpty }.map(\.location.line)
                    add(path, name: path, notRun: c.hooks.whyNotRun(path, firstUse: restoreLines.min()),
                        reason: "ifup runs \(path) for every interface it brings up\(stops ? ", before the interface is up" : "")",
                        stops: stops, lines: lines,
                        disable: .moveHook(path: path, directory: dir, name: name))
                }
            }
            if let config = c.ifupdown {
                let boot = config.bootInterfaces
                for stanza in config.stanzas where boot.contains(stanza.name) {
                    for option in stanza.options where ["pre-up", "up", "post-up"].contains(option.key) {
                        let line = SourceLine(option.source.location, option.source.text)
                        let stops = option.key == "pre-up"
                        let probe = invocations(SourceLine(option.source.location, option.value), stopsInterface: stops)
                        guard !probe.loads.isEmpty || !probe.unknown.isEmpty else { continue }
                        add(option.source.location.path, name: "\(option.key) of \(stanza.name) in \(option.source.location.path)",
                            reason: "ifup runs the `\(option.key)` command when it brings up \(stanza.name)",
                            stops: stops, lines: [SourceLine(line.location, option.value)],
                            disable: .restoreLine(line))
                        if var last = out.popLast() {
                            // Evidence is the stanza line as written, not the option value alone.
                            last.activation = [line]
                            out.append(last)
                        }
                    }
                }
            }
        }
        let rcLocal = "/etc/rc.local"
        if files.isExecutable(rcLocal), let bytes = files.bytes(rcLocal) {
            let lines = Text.lines(bytes).enumerated().map { SourceLine(path: rcLocal, line: $0.offset + 1, text: $0.element) }
            add(rcLocal, name: rcLocal, reason: "/etc/rc.local is executable, so it runs at the end of boot", stops: false, lines: lines,
                disable: .rcLocal)
        }
        return out
    }
}

// MARK: - Loading a mechanism's rules

enum MechanismBuilder {
    static func build(_ recipe: MechanismRecipe, files: FileSource, context: FirewallContext) -> MechanismBuild {
        switch recipe {
        case .none: return MechanismBuild()
        case .iptables(let loads): return iptables(loads, files: files)
        case .ufw(let by): return UfwBuilder.build(files: files, invokedBy: by)
        case .firewalld: return FirewalldState.build(files: files, context: context)
        case .nftables(let path, let by): return nftables(path, invokedBy: by, files: files)
        }
    }

    static func iptables(_ loads: [IptablesLoad], files: FileSource) -> MechanismBuild {
        var b = MechanismBuild()
        var states: [AddressFamily: IptablesState] = [:]
        var loaded = Set<AddressFamily>()
        for load in loads {
            let fam: IptablesFamily = load.family == .ipv4 ? .ipv4 : .ipv6
            var state = states[load.family] ?? IptablesState(family: fam)
            defer { states[load.family] = state }
            b.files.append(load.path)
            guard let bytes = files.bytes(load.path) else {
                let why = files.root.exists(load.path) ? "it cannot be read" : "No such file or directory"
                b.failures.append(RestoreFailure(path: load.path, program: load.program, line: nil,
                                                 message: "Can't open \(load.path): \(why)", invokedBy: load.invokedBy,
                                                 stopsInterface: load.stopsInterface, fixes: []))
                continue
            }
            let file = IptablesSaveParser.parse(bytes, path: load.path, family: fam, noflush: load.noflush,
                                                existingChains: load.noflush ? state.userChains : [:],
                                                backend: backend(files.root, fam))
            b.layouts[load.path] = IptablesLayout(file, noflush: load.noflush)
            if let f = file.failure {
                b.failures.append(failure(f, file: file, bytes: bytes, load: load))
            }
            state.apply(file, noflush: load.noflush)
            // A table is committed whole or not at all: a rejected file leaves the tables as they were.
            if !file.committedSections.isEmpty { loaded.insert(load.family) }
            if !load.noflush { b.replacedTables[load.family, default: []].formUnion(file.committedSections.map(\.table)) }
        }
        // Only what was really loaded takes part in the tables at the end of boot.
        for (family, state) in states where loaded.contains(family) { b.filters[family] = PacketFilter(stages: state.stages()) }
        return b
    }

    /// The implementation behind the target's `iptables-restore`: the
    /// alternatives link (Debian), else the command's own link (RHEL:
    /// `xtables-nft-multi`); legacy when neither says.
    static func backend(_ root: TargetRoot, _ family: IptablesFamily) -> IptablesBackend {
        let name = family.restoreProgram
        for path in ["/etc/alternatives/\(name)", "/usr/sbin/\(name)", "/sbin/\(name)"] {
            guard let target = root.readlink(path) else { continue }
            if target.contains("nft") { return .nft }
            if target.contains("legacy") { return .legacy }
        }
        return .legacy
    }

    /// A restore failure, with the minimal fix when there is a safe one:
    /// a missing COMMIT at the end of the file is appended.
    static func failure(_ f: IptablesFailure, file: IptablesRestoreFile, bytes: [UInt8], load: IptablesLoad) -> RestoreFailure {
        var fixes: [FirewallFix] = []
        if f.message.contains("COMMIT expected") {
            var fixed = bytes
            if let last = fixed.last, last != 0x0A { fixed.append(0x0A) }
            fixed += Array("COMMIT\n".utf8)
            let again = IptablesSaveParser.parse(fixed, path: load.path, family: file.family, noflush: load.noflush,
                                                 backend: file.backend)
            if again.failure == nil {
                fixes.append(.appendCommit(path: load.path))
            }
        }
        let line: SourceLine? = f.location.line > 0 && !f.text.isEmpty ? SourceLine(f.location, f.text) : nil
        return RestoreFailure(path: load.path, program: load.program, line: line, message: f.message,
                              invokedBy: load.invokedBy, stopsInterface: load.stopsInterface, fixes: fixes)
    }

    static func nftables(_ path: String, invokedBy: SourceLine?, files: FileSource) -> MechanismBuild {
        var b = MechanismBuild()
        let set = NftRuleset.load(path, files: files)
        b.files = set.files
        b.nft = set
        if let e = set.errors.first {
            let line: SourceLine? = e.location.line > 0 ? SourceLine(e.location, e.text) : nil
            b.failures.append(RestoreFailure(path: e.location.path, program: "nft -f \(path)", line: line, message: e.message,
                                             invokedBy: invokedBy, stopsInterface: false, fixes: []))
            // nft -f is one transaction: with an error nothing is loaded.
            return b
        }
        b.notes = set.notes.map { "\($0.location): \($0.message)" }
        for family in [AddressFamily.ipv4, .ipv6] { b.filters[family] = PacketFilter(stages: set.stages(for: family)) }
        return b
    }
}
