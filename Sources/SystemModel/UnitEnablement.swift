import Parsers
import TargetAccess

/// A unit whose `ExecStart=` program cannot run: started at boot, it does nothing.
public struct ExecStartFailure: Hashable, Sendable {
    public var unit: String
    public var program: String
    /// The `ExecStart=` line.
    public var source: SourceLine
    /// The program exists but is not an executable regular file.
    public var exists: Bool

    /// `its ExecStart program /sbin/ifup does not exist, so it fails (203/EXEC)`.
    public var words: String {
        "its ExecStart program \(program) \(exists ? "is not an executable file" : "does not exist"), so it fails at once (status 203/EXEC)"
    }
}

/// One symlink that makes systemd start a unit at boot: the evidence that
/// the unit is enabled.
public struct EnablementFact: Hashable, Sendable {
    public enum Kind: String, Hashable, Sendable {
        /// In `/etc/systemd/system/X.wants/`: `systemctl enable` made it.
        case wants
        /// In `/etc/systemd/system/X.requires/`.
        case requires
        /// An alias symlink in `/etc/systemd/system/` (`sshd.service -> ssh.service`).
        case alias
        /// In `/run/systemd/system/...`: enabled for this boot only, gone after it.
        case runtime
        /// In a vendor directory's `.wants/` (`/lib/systemd/system/X.wants/`):
        /// shipped by the package, not something `systemctl disable` undoes.
        case staticWants
    }

    /// The unit this link enables, as named by the link (`ssh.service`).
    public var unit: String
    public var kind: Kind
    /// The symlink, a target path (`/etc/systemd/system/multi-user.target.wants/ssh.service`).
    public var linkPath: String
    /// The symlink's text as stored.
    public var linkTarget: String
    /// The unit whose `.wants`/`.requires` directory holds the link; nil for an alias.
    public var wantedBy: String?
    /// Whether the link resolves to a file in the target (a dangling link
    /// still names the unit, and systemd then looks it up by name).
    public var targetExists: Bool
}

/// A unit masked by a symlink to `/dev/null`: systemd will not start it, even
/// when something wants it.
public struct MaskFact: Hashable, Sendable {
    public var unit: String
    public var linkPath: String
    public var linkTarget: String
}

/// One `S??name` or `K??name` symlink of a sysvinit runlevel directory.
public struct SysVLink: Hashable, Sendable {
    /// The init script's name (`networking`).
    public var script: String
    /// `2`..`5`, `S`, `0`, `1`, `6`.
    public var runlevel: String
    /// True for `S` (start) links, false for `K` (kill) links.
    public var starts: Bool
    public var order: Int
    public var linkPath: String
    public var linkTarget: String
}

/// Which units and init scripts the target will start at boot, read from
/// the symlinks that decide it (never from presets), and where each unit
/// file lives, so the repair plan can name the exact `systemctl enable`
/// symlinks.
public struct UnitEnablement: Sendable {
    /// Where systemd looks for unit files, highest precedence first, as
    /// Debian 12's systemd 252 reports them (`systemd-analyze unit-paths`):
    /// split-usr builds put `/lib` before `/usr/lib`. On merged-/usr roots
    /// `/lib` is a symlink to `usr/lib` and both name the same files.
    public static let unitDirectories = [
        "/etc/systemd/system", "/run/systemd/system", "/usr/local/lib/systemd/system",
        "/lib/systemd/system", "/usr/lib/systemd/system",
    ]
    /// Where systemd looks for generators.
    public static let generatorDirectories = [
        "/etc/systemd/system-generators", "/run/systemd/system-generators",
        "/usr/local/lib/systemd/system-generators", "/lib/systemd/system-generators",
        "/usr/lib/systemd/system-generators",
    ]
    static let unitSuffixes = [".service", ".socket", ".target", ".timer", ".path", ".mount",
                               ".automount", ".swap", ".slice", ".scope", ".device"]

    /// Every enabling symlink found, in directory order.
    public var links: [EnablementFact] = []
    public var masks: [MaskFact] = []
    /// Unit files by name: the first directory in `unitDirectories` order
    /// holding the name wins (the entry may be a symlink: aliases, linked units).
    public var unitPaths: [String: String] = [:]
    /// Generators present, by name, with the path of the first one found.
    public var generators: [String: String] = [:]
    /// Every runlevel symlink of `/etc/rc?.d`.
    public var sysvLinks: [SysVLink] = []
    /// `/etc/inittab`'s `initdefault`, when the file exists and sets one.
    public var defaultRunlevel: Located<String>?
    /// Whether `/etc/inittab` exists (sysvinit without it asks on the console).
    public var hasInittab = false
    /// The units systemd pulls into the boot transaction: default.target and,
    /// transitively, what it wants (see `computeBootTransaction`).
    public var bootTransaction: Set<String> = []
    public var diagnostics: [Diagnostic] = []
    /// Kept so unit files are parsed only when asked for (a root holds
    /// hundreds); the root caches what it reads, so answers stay consistent.
    private var root: TargetRoot?

    public init() {}

    public var configDiagnostics: [ConfigDiagnostic] {
        diagnostics.map { ConfigDiagnostic($0, format: "init", impact: .tolerated) }
    }

    // MARK: - Questions

    /// `ssh` → `ssh.service`; names with a unit suffix stay as they are.
    public static func unitName(_ name: String) -> String {
        unitSuffixes.contains(where: { name.hasSuffix($0) }) ? name : name + ".service"
    }

    /// The unit a name stands for once alias symlinks in the unit directories
    /// are followed (`sshd.service` → `ssh.service`); the name itself otherwise.
    public func canonicalName(_ name: String) -> String {
        TargetRoot.$lazyModel.withValue("unit files") { canonicalNameReading(name) }
    }

    private func canonicalNameReading(_ name: String) -> String {
        var current = Self.unitName(name)
        var seen: Set<String> = []
        while !seen.contains(current), let path = unitPaths[current], let root,
              let link = root.lstat(path)?.linkTarget {
            seen.insert(current)
            let target = Self.lastComponent(link)
            guard target != current, !Self.isDevNull(link, in: Self.directory(of: path)),
                  Self.unitSuffixes.contains(where: { target.hasSuffix($0) }) else { break }
            current = target
        }
        return current
    }

    /// The link that proves the unit starts at boot, or nil. Links made for
    /// any alias of the unit count, as they do for systemd. A link in
    /// `/etc` is preferred over a runtime or vendor one as evidence. A masked
    /// unit is not enabled, whatever links it has.
    public func isEnabled(_ unit: String) -> EnablementFact? {
        let name = canonicalName(unit)
        guard isMasked(name) == nil else { return nil }
        let candidates = links.filter { $0.kind != .alias && canonicalName($0.unit) == name }
            + links.filter { $0.kind == .alias && canonicalName($0.unit) == name }
        let rank: [EnablementFact.Kind: Int] = [.wants: 0, .requires: 0, .alias: 1, .runtime: 2, .staticWants: 3]
        return candidates.min { (rank[$0.kind] ?? 9) < (rank[$1.kind] ?? 9) }
    }

    /// The link that makes systemd start the unit at the next boot: a
    /// `.wants`/`.requires` link, in /etc or shipped by the package. An
    /// alias alone only makes the unit startable by that name (D-Bus
    /// activation for `dbus-org.freedesktop.network1.service`), and /run is
    /// empty at boot, so neither counts.
    ///
    /// The link must hang off a unit that is itself part of the boot: a link
    /// in `network-online.target.wants/` starts nothing unless something at
    /// boot wants network-online.target (seen in a qemu boot of Debian 12,
    /// docs/boot-checks.md).
    public func startsAtBoot(_ unit: String) -> EnablementFact? {
        guard isEnabled(unit) != nil else { return nil }
        let name = canonicalName(unit)
        let starting = links.filter { l in
            [.wants, .requires, .staticWants].contains(l.kind) && canonicalName(l.unit) == name
                && (l.wantedBy.map { bootTransaction.contains(canonicalName($0)) } ?? true)
        }
        let rank: [EnablementFact.Kind: Int] = [.wants: 0, .requires: 0, .staticWants: 1]
        return starting.min { (rank[$0.kind] ?? 9) < (rank[$1.kind] ?? 9) }
    }

    /// The standard target graph of systemd.special(7), for roots whose
    /// vendor target files are not at hand; the unit files add to it.
    static let standardWants: [String: [String]] = [
        "graphical.target": ["multi-user.target"],
        "multi-user.target": ["basic.target", "getty.target", "remote-fs.target"],
        "basic.target": ["sysinit.target", "sockets.target", "timers.target", "paths.target", "slices.target"],
        "sysinit.target": ["local-fs.target", "swap.target", "cryptsetup.target"],
    ]

    /// Walks from default.target through `.wants`/`.requires` links and the
    /// `Wants=`/`Requires=`/`BindsTo=` of each unit's file: every unit systemd
    /// adds to the boot transaction. Masked units pull nothing in.
    func computeBootTransaction() -> Set<String> {
        var start = canonicalName("default.target")
        if start == "default.target" { start = "graphical.target" }
        var edges: [String: [String]] = [:]
        for l in links where [.wants, .requires, .staticWants].contains(l.kind) {
            guard let by = l.wantedBy else { continue }
            edges[canonicalName(by), default: []].append(canonicalName(l.unit))
        }
        var seen: Set<String> = []
        var queue = [start]
        while let u = queue.popLast() {
            guard seen.insert(u).inserted, isMasked(u) == nil else { continue }
            var next = (edges[u] ?? []) + (Self.standardWants[u] ?? [])
            if let (_, file) = unitFile(u) {
                for key in ["Wants", "Requires", "BindsTo"] {
                    for e in file.values("Unit", key) { next += Text.words(e.value).map { canonicalName(String($0)) } }
                }
            }
            queue += next.filter { !seen.contains($0) }
        }
        return seen
    }

    /// The mask of a unit (or of the alias name asked for), or nil.
    public func isMasked(_ unit: String) -> MaskFact? {
        let name = Self.unitName(unit)
        return masks.first { $0.unit == name } ?? masks.first { $0.unit == canonicalName(name) }
    }

    /// The unit file systemd would load for a name, parsed, with its target
    /// path. An alias resolves to its unit's file; an instance
    /// (`getty@tty1.service`) to its template. Nil when absent or masked.
    public func unitFile(_ name: String) -> (path: String, UnitFile)? {
        TargetRoot.$lazyModel.withValue("unit files") { unitFileReading(name) }
    }

    private func unitFileReading(_ name: String) -> (path: String, UnitFile)? {
        guard let root, isMasked(name) == nil else { return nil }
        let canonical = canonicalName(name)
        guard let path = unitPaths[canonical] ?? Self.template(of: canonical).flatMap({ unitPaths[$0] }) else { return nil }
        // A linked unit (`/etc/systemd/system/x.service -> /opt/x.service`): systemd reads the link's target.
        var realPath = path
        if let link = root.lstat(path)?.linkTarget {
            realPath = Self.absolute(link, relativeTo: Self.directory(of: path))
        }
        guard let bytes = root.bytes(realPath) else { return nil }
        return (realPath, SystemdUnitParser.parse(bytes, path: realPath))
    }

    /// A unit file with its drop-ins (`/etc`, then vendor directories; a
    /// drop-in in /etc replaces one of the same name), as systemd reads it.
    public func unitFileWithDropIns(_ name: String) -> (path: String, UnitFile)? {
        TargetRoot.$lazyModel.withValue("unit files") { unitFileWithDropInsReading(name) }
    }

    private func unitFileWithDropInsReading(_ name: String) -> (path: String, UnitFile)? {
        guard let root, let (path, file) = unitFile(name) else { return nil }
        var byName: [String: String] = [:]
        for dir in Self.unitDirectories.reversed() where !dir.hasPrefix("/run") {
            let d = dir + "/" + canonicalName(name) + ".d"
            for e in root.listFollowing(d) ?? [] where e.name.hasSuffix(".conf") { byName[e.name] = d + "/" + e.name }
        }
        var merged = file
        for key in byName.keys.sorted() {
            guard let p = byName[key], let b = root.bytes(p) else { continue }
            merged = merged.applying(SystemdUnitParser.parse(b, path: p))
        }
        return (path, merged)
    }

    /// `ExecStart=-/usr/sbin/sshd -D $SSHD_OPTS` → `/usr/sbin/sshd`: the
    /// first word without systemd's prefixes `-@:+!`; nil when not absolute.
    public static func program(_ exec: String) -> String? {
        guard let first = Text.words(exec).first else { return nil }
        let p = String(first.drop { "-@:+!".contains($0) })
        return p.hasPrefix("/") ? p : nil
    }

    /// Why a unit does nothing when started: the program of one of its
    /// `ExecStart=` lines (in order; a oneshot stops at the first that
    /// cannot run) is absent from the target or not an executable file,
    /// symlinks followed inside the target root. systemd fails it with
    /// status 203/EXEC; a line with the `-` prefix is skipped (systemd
    /// ignores its failure and the unit goes on). Nil when every program is there, or the unit
    /// has no file or an ExecStart= that is not an absolute path.
    public func execStartFailure(_ name: String) -> ExecStartFailure? {
        TargetRoot.$lazyModel.withValue("unit files") { execStartFailureReading(name) }
    }

    private func execStartFailureReading(_ name: String) -> ExecStartFailure? {
        guard let root, let (_, file) = unitFileWithDropIns(name) else { return nil }
        for exec in file.values("Service", "ExecStart") {
            // `-`: systemd ignores this line's failure and goes on; the unit is not failed by it.
            guard !exec.value.prefix(while: { "-@:+!".contains($0) }).contains("-") else { continue }
            guard let program = Self.program(exec.value) else { continue }
            guard let st = root.stat(program) else {
                return ExecStartFailure(unit: canonicalName(name), program: program, source: exec.source, exists: false)
            }
            if st.kind != .regular || !st.isExecutable {
                return ExecStartFailure(unit: canonicalName(name), program: program, source: exec.source, exists: true)
            }
        }
        return nil
    }

    /// The symlinks `systemctl enable UNIT` would create, from the unit's
    /// `[Install]` section in the target: `Alias=`, `WantedBy=`,
    /// `RequiredBy=`, `UpheldBy=`, then the same for each `Also=` unit, in
    /// the order systemctl 252 creates them. Link targets are the unit
    /// files' target paths; links live under `/etc/systemd/system/`.
    public func enableLinks(for unit: String) -> [(linkPath: String, target: String)] {
        var out: [(linkPath: String, target: String)] = []
        var visited: Set<String> = []
        collectLinks(canonicalName(unit), into: &out, visited: &visited)
        return out
    }

    private func collectLinks(_ name: String, into out: inout [(linkPath: String, target: String)], visited: inout Set<String>) {
        guard !visited.contains(name), let (path, file) = unitFile(name) else { return }
        visited.insert(name)
        let base = "/etc/systemd/system/"
        // An instance's links are named after the instance; a bare template
        // is enabled as its DefaultInstance=, if it has one.
        var linkName = name
        if name.contains("@.") {
            guard let instance = file.value("Install", "DefaultInstance")?.value else { return }
            linkName = name.replacing("@.", with: "@" + instance + ".")
        }
        func add(_ linkPath: String) {
            // systemctl does not link a unit file onto itself (a unit that lives in /etc).
            guard linkPath != path, !out.contains(where: { $0.linkPath == linkPath }) else { return }
            out.append((linkPath, path))
        }
        for e in file.values("Install", "Alias") {
            for alias in Text.words(e.value) { add(base + alias) }
        }
        for (key, dir) in [("WantedBy", ".wants"), ("RequiredBy", ".requires"), ("UpheldBy", ".upholds")] {
            for e in file.values("Install", key) {
                for owner in Text.words(e.value) { add(base + owner + dir + "/" + linkName) }
            }
        }
        for e in file.values("Install", "Also") {
            for also in Text.words(e.value) { collectLinks(canonicalName(String(also)), into: &out, visited: &visited) }
        }
    }

    /// The start link of an init script in runlevels 2–5 or S, or nil.
    public func isEnabledSysV(_ script: String) -> SysVLink? {
        sysvLinks.first { $0.script == script && $0.starts && ["2", "3", "4", "5", "S"].contains($0.runlevel) }
    }

    /// The first generator of that name (`netplan`), with its target path.
    public func generator(_ name: String) -> String? { generators[name] }

    /// netplan's generator, which writes networkd (or NetworkManager) units
    /// for netplan's YAML at every boot and so starts networkd without any
    /// enablement symlink.
    public var netplanGenerator: String? { generators["netplan"] }

    // MARK: - Loading

    public static func load(_ root: TargetRoot) -> UnitEnablement {
        var model = UnitEnablement()
        model.root = root
        // On merged-/usr roots /lib is /usr/lib: read each directory once.
        var seenDirectories: [(UInt64, UInt64)] = []
        for (index, dir) in unitDirectories.enumerated() {
            guard let entries = root.listFollowing(dir), let st = root.stat(dir) else { continue }
            let identity = (UInt64(st.device), UInt64(st.inode))
            if seenDirectories.contains(where: { $0 == identity }) { continue }
            seenDirectories.append(identity)
            let isVendor = index >= 2
            for entry in entries {
                let path = dir + "/" + entry.name
                if entry.kind == .directory, entry.name.hasSuffix(".wants") || entry.name.hasSuffix(".requires") {
                    let isWants = entry.name.hasSuffix(".wants")
                    let owner = String(entry.name.dropLast(isWants ? 6 : 9))
                    let kind: EnablementFact.Kind = isVendor ? .staticWants
                        : dir.hasPrefix("/run") ? .runtime : (isWants ? .wants : .requires)
                    model.readWants(root, path, owner: owner, kind: kind)
                    continue
                }
                guard unitSuffixes.contains(where: { entry.name.hasSuffix($0) }) else { continue }
                if model.unitPaths[entry.name] == nil { model.unitPaths[entry.name] = path }
                guard entry.kind == .symlink, let link = root.lstat(path)?.linkTarget else { continue }
                if isDevNull(link, in: dir) {
                    if !isVendor { model.masks.append(MaskFact(unit: entry.name, linkPath: path, linkTarget: link)) }
                    continue
                }
                let target = lastComponent(link)
                // An alias in /etc is how `systemctl enable` records `Alias=`; in a
                // vendor directory it is just another name for the unit.
                if !isVendor, target != entry.name, unitSuffixes.contains(where: { target.hasSuffix($0) }) {
                    let exists = root.stat(path) != nil
                    model.links.append(EnablementFact(unit: target, kind: dir.hasPrefix("/run") ? .runtime : .alias,
                                                      linkPath: path, linkTarget: link, wantedBy: nil, targetExists: exists))
                }
            }
        }
        for dir in generatorDirectories {
            for entry in root.listFollowing(dir) ?? [] where model.generators[entry.name] == nil {
                model.generators[entry.name] = dir + "/" + entry.name
            }
        }
        model.loadSysV(root)
        model.bootTransaction = model.computeBootTransaction()
        return model
    }

    private mutating func readWants(_ root: TargetRoot, _ dir: String, owner: String, kind: EnablementFact.Kind) {
        for entry in root.listFollowing(dir) ?? [] {
            let path = dir + "/" + entry.name
            guard entry.kind == .symlink, let link = root.lstat(path)?.linkTarget else {
                // systemd only follows symlinks here; a regular file is ignored.
                let s = SourceLine(path: path, line: 0, text: "")
                diagnostics.append(Diagnostic(s.location, text: "",
                    message: "Not a symbolic link: systemd ignores it, so it enables nothing."))
                continue
            }
            if Self.isDevNull(link, in: dir) { continue }
            links.append(EnablementFact(unit: entry.name, kind: kind, linkPath: path, linkTarget: link,
                                        wantedBy: owner, targetExists: root.stat(path) != nil))
        }
    }

    private mutating func loadSysV(_ root: TargetRoot) {
        for level in ["S", "0", "1", "2", "3", "4", "5", "6"] {
            let dir = "/etc/rc\(level).d"
            for entry in root.listFollowing(dir) ?? [] {
                let name = Array(entry.name)
                guard name.count > 3, name[0] == "S" || name[0] == "K",
                      let order = Int(String(name[1...2])), name[1].isASCII, name[2].isASCII else { continue }
                let path = dir + "/" + entry.name
                let link = root.lstat(path)?.linkTarget ?? ""
                // The script is the link's target (`../init.d/networking`); insserv names links after it.
                let script = link.isEmpty ? String(name[3...]) : Self.lastComponent(link)
                sysvLinks.append(SysVLink(script: script, runlevel: level, starts: name[0] == "S", order: order,
                                          linkPath: path, linkTarget: link))
            }
        }
        if let bytes = root.bytes("/etc/inittab") {
            hasInittab = true
            let tab = InittabParser.parse(bytes, path: "/etc/inittab")
            defaultRunlevel = tab.defaultRunlevel
            diagnostics += tab.diagnostics
        }
    }

    // MARK: - Path helpers

    static func lastComponent(_ path: String) -> String {
        path.split(separator: "/").last.map(String.init) ?? path
    }

    static func directory(of path: String) -> String {
        var parts = path.split(separator: "/")
        parts.removeLast()
        return "/" + parts.joined(separator: "/")
    }

    /// `getty@tty1.service` → `getty@.service`.
    static func template(of name: String) -> String? {
        guard let at = name.firstIndex(of: "@"), let dot = name.lastIndex(of: "."), at < dot else { return nil }
        return String(name[...at]) + String(name[dot...])
    }

    /// A symlink's text as an absolute target path, `..` resolved lexically
    /// (the reader confines it to the target either way).
    static func absolute(_ link: String, relativeTo dir: String) -> String {
        let joined = link.hasPrefix("/") ? link : dir + "/" + link
        var parts: [Substring] = []
        for c in joined.split(separator: "/") {
            if c == "." { continue }
            if c == ".." { _ = parts.popLast(); continue }
            parts.append(c)
        }
        return "/" + parts.joined(separator: "/")
    }

    static func isDevNull(_ link: String, in dir: String) -> Bool {
        absolute(link, relativeTo: dir) == "/dev/null"
    }
}
