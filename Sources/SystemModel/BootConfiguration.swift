import Parsers
import TargetAccess

/// Which kernel the machine boots by default, and whether its files are there.
public struct BootConfiguration: Sendable {
    public enum Loader: String, Sendable { case grub, bls, systemdBoot = "systemd-boot" }

    /// Nil when no boot loader configuration was found on the target.
    public var loader: Loader?
    /// grub.cfg, or the BLS entries directory.
    public var configPath: String?
    /// The entry booted when nobody touches the console.
    public var defaultEntry: BootEntry?
    /// The lines that decide the default (`set default=`, grubenv's
    /// `saved_entry`, /etc/default/grub's `GRUB_DEFAULT`), in that order.
    public var defaultEvidence: [SourceLine]
    /// How the default was chosen, in words ("entry 0: GRUB_DEFAULT=0").
    public var defaultReason: String
    /// Every bootable entry (submenus flattened), in menu order.
    public var entries: [BootEntry]
    /// The target paths of the default entry's files, as the loader finds them.
    public var files: BootFiles?
    /// What could not be decided, for the report.
    public var notes: [String]

    public static let none = BootConfiguration(loader: nil, configPath: nil, defaultEntry: nil, defaultEvidence: [],
                                               defaultReason: "", entries: [], files: nil, notes: [])
}

/// Where the files of a boot entry are on the target, and whether they exist.
public struct BootFiles: Sendable {
    public struct File: Sendable {
        /// As written in the entry (`/vmlinuz-6.1.0-18-amd64`).
        public var written: Located<String>
        /// The target path it resolves to (`/boot/vmlinuz-6.1.0-18-amd64`), nil when
        /// it cannot be resolved (a variable, another disk).
        public var targetPath: String?
        public var exists: Bool
    }
    public var kernel: File?
    public var initrds: [File]
    /// The kernel release (`uname -r`), from the image's header or its file name.
    public var release: String?
    /// `/lib/modules/RELEASE` (or under /usr), when the release is known.
    public var modulesPath: String
    public var modulesExist: Bool?
}

extension BootConfiguration {
    static let grubConfigs = ["/boot/grub/grub.cfg", "/boot/grub2/grub.cfg"]

    static func load(_ root: TargetRoot, fstab: FstabConfig, environment: AuditEnvironment) -> BootConfiguration {
        let places = BootPlaces(root: root, fstab: fstab, environment: environment)
        for path in grubConfigs {
            guard let bytes = root.bytes(path) else { continue }
            let cfg = GrubConfigParser.parse(bytes, path: path)
            let dir = String(path.dropLast("/grub.cfg".count))
            let env = (root.bytes(dir + "/grubenv")).map { GrubEnvParser.parse($0, path: dir + "/grubenv") } ?? [:]
            if cfg.usesBLS {
                return loadBLS(root, places: places, entriesDir: "/boot/loader/entries", loader: .bls, grubEnv: env, loaderConf: nil)
            }
            return loadGrub(root, cfg: cfg, path: path, env: env, places: places)
        }
        for base in ["/boot", "/efi", "/boot/efi"] where root.list(base + "/loader/entries") != nil {
            let conf = root.bytes(base + "/loader/loader.conf").map { ($0, base + "/loader/loader.conf") }
            return loadBLS(root, places: places, entriesDir: base + "/loader/entries", loader: .systemdBoot, grubEnv: [:], loaderConf: conf)
        }
        return .none
    }

    // MARK: - GRUB

    static func loadGrub(_ root: TargetRoot, cfg: GrubConfig, path: String, env: [String: Located<String>], places: BootPlaces) -> BootConfiguration {
        var evidence: [SourceLine] = []
        var notes: [String] = []
        // grub-mkconfig writes `if [ "${next_entry}" ]; then set default="${next_entry}" … else set default="…" fi`:
        // next_entry (grub-reboot) wins for one boot; otherwise the last other `set default`.
        var chosen: Located<String>?
        let nextEntry = env["next_entry"].flatMap { $0.value.isEmpty ? nil : $0 }
        for d in cfg.defaults {
            if d.value.contains("next_entry") {
                if nextEntry != nil { chosen = d; break }
                continue
            }
            chosen = d
        }
        var value = chosen?.value ?? "0"
        var reason = chosen.map { "`set default=\"\($0.value)\"` in \(path)" } ?? "no `set default` in \(path), so the first entry"
        if let chosen { evidence.append(chosen.source) }
        for variable in ["next_entry", "saved_entry"] where value.contains(variable) {
            let v = env[variable]
            value = value.replacingVariable(variable, with: v?.value ?? "")
            if let v {
                evidence.append(v.source)
                reason += ", with \(variable)=\(v.value) from grubenv"
            } else {
                reason += ", and grubenv has no \(variable), so GRUB uses the first entry"
            }
        }
        if let bytes = root.bytes("/etc/default/grub"),
           let a = ShellAssignments.parse(bytes, path: "/etc/default/grub").assignments.last(where: { $0.key == "GRUB_DEFAULT" }) {
            evidence.append(a.source)
            if a.value != chosen?.value, !(a.value == "saved" && (chosen?.value.contains("saved_entry") ?? false)) {
                notes.append("/etc/default/grub says GRUB_DEFAULT=\(a.value), but grub.cfg was generated differently; grub.cfg is what boots until update-grub runs again.")
            }
        }
        let (entry, how) = select(value, in: cfg.menu)
        reason += how.map { "; \($0)" } ?? ""
        let flat = flatten(cfg.menu)
        var config = BootConfiguration(loader: .grub, configPath: path, defaultEntry: entry, defaultEvidence: evidence,
                                       defaultReason: reason, entries: flat, files: nil, notes: notes + cfg.diagnostics.map(\.message))
        if let entry {
            config.files = places.files(of: entry, relativeTo: entry.searchUUID ?? cfg.topLevelSearchUUID, bls: false)
        }
        return config
    }

    /// The entry GRUB boots for `default` (a number, an id or title, or a
    /// `>`-separated path through submenus); GRUB falls back to the first entry.
    static func select(_ value: String, in menu: [GrubMenuItem]) -> (BootEntry?, String?) {
        var items = menu
        var chosen: GrubMenuItem?
        var note: String?
        let parts = value.isEmpty ? ["0"] : value.split(separator: ">", omittingEmptySubsequences: false).map(String.init)
        for part in parts {
            let found: GrubMenuItem?
            if let n = Int(part) {
                found = n >= 0 && n < items.count ? items[n] : nil
            } else {
                found = items.first { $0.id == part } ?? items.first { $0.title == part }
            }
            guard let found else {
                note = "default \"\(value)\" names no entry, so GRUB boots the first one"
                chosen = menu.first
                break
            }
            chosen = found
            if case .submenu(_, _, _, let inner) = found { items = inner } else { break }
        }
        // A submenu chosen as a whole opens at its first entry.
        while case .submenu(_, _, _, let inner)? = chosen { chosen = inner.first }
        if case .entry(let e)? = chosen { return (e, note) }
        return (nil, note)
    }

    static func flatten(_ menu: [GrubMenuItem]) -> [BootEntry] {
        menu.flatMap { item -> [BootEntry] in
            switch item {
            case .entry(let e): [e]
            case .submenu(_, _, _, let inner): flatten(inner)
            }
        }
    }

    // MARK: - Boot Loader Specification

    static func loadBLS(_ root: TargetRoot, places: BootPlaces, entriesDir: String, loader: Loader,
                        grubEnv: [String: Located<String>], loaderConf: ([UInt8], String)?) -> BootConfiguration {
        var entries: [BootEntry] = []
        for e in root.list(entriesDir) ?? [] where e.name.hasSuffix(".conf") {
            guard let bytes = root.bytes(entriesDir + "/" + e.name) else { continue }
            entries.append(BLSEntryParser.parse(bytes, path: entriesDir + "/" + e.name))
        }
        // Newest version first, as blscfg and systemd-boot show them.
        entries.sort { a, b in
            let c = DebianVersion.compare(a.version ?? a.id ?? "", b.version ?? b.id ?? "")
            return c != 0 ? c > 0 : (a.id ?? "") > (b.id ?? "")
        }
        var evidence: [SourceLine] = []
        var reason = "no default is set, so the newest entry"
        var entry = entries.first
        if let saved = grubEnv["saved_entry"], !saved.value.isEmpty {
            evidence.append(saved.source)
            if let e = entries.first(where: { $0.id == saved.value }) {
                entry = e
                reason = "saved_entry=\(saved.value) in grubenv"
            } else {
                reason = "saved_entry=\(saved.value) in grubenv names no entry, so the newest entry"
            }
        }
        if let (bytes, path) = loaderConf {
            for (i, raw) in Text.lines(bytes).enumerated() {
                let words = Text.words(raw)
                guard words.first == "default", words.count > 1 else { continue }
                let pattern = String(words[1])
                evidence.append(SourceLine(path: path, line: i + 1, text: raw))
                if pattern.hasPrefix("@") {
                    reason = "`default \(pattern)` in \(path) is decided by an EFI variable, which cannot be read from the disk; assuming the newest entry"
                } else if let e = entries.first(where: { glob(pattern, ($0.id ?? "") + ".conf") || glob(pattern, $0.id ?? "") }) {
                    entry = e
                    reason = "`default \(pattern)` in \(path)"
                }
            }
        }
        var config = BootConfiguration(loader: loader, configPath: entriesDir, defaultEntry: entry, defaultEvidence: evidence,
                                       defaultReason: reason, entries: entries, files: nil, notes: [])
        if let entry {
            config.files = places.files(of: entry, relativeTo: nil, bls: true,
                                        blsBase: String(entriesDir.dropLast("/loader/entries".count)))
        }
        return config
    }

    /// fnmatch(3) with `*` and `?`, as systemd-boot matches `default`.
    static func glob(_ pattern: String, _ name: String) -> Bool {
        let p = Array(pattern.utf8), n = Array(name.utf8)
        var pi = 0, ni = 0, star = -1, mark = 0
        while ni < n.count {
            if pi < p.count, p[pi] == UInt8(ascii: "?") || p[pi] == n[ni] { pi += 1; ni += 1 }
            else if pi < p.count, p[pi] == UInt8(ascii: "*") { star = pi; mark = ni; pi += 1 }
            else if star >= 0 { pi = star + 1; mark += 1; ni = mark }
            else { return false }
        }
        while pi < p.count, p[pi] == UInt8(ascii: "*") { pi += 1 }
        return pi == p.count
    }
}

/// Where the loader's paths land on the target: GRUB reads them from the
/// filesystem its `search` found, which is /boot when /boot is separate.
struct BootPlaces {
    let root: TargetRoot
    /// Whether /boot is its own filesystem (fstab, or what discovery mounted).
    let separateBoot: Bool
    let bootUUIDs: Set<String>
    let rootUUIDs: Set<String>

    init(root: TargetRoot, fstab: FstabConfig, environment: AuditEnvironment) {
        self.root = root
        func uuids(_ mountPoint: String) -> Set<String> {
            var out = Set<String>()
            if let e = fstab.entry(mountedAt: mountPoint), case .uuid(let u) = e.device { out.insert(u.lowercased()) }
            for fs in environment.filesystems where fs.mountPoint == mountPoint {
                if let u = fs.ext?.uuid { out.insert(u.lowercased()) }
                if let d = environment.blockDevices?.first(where: { $0.name == fs.device }), let u = d.uuid { out.insert(u.lowercased()) }
            }
            return out
        }
        bootUUIDs = uuids("/boot")
        rootUUIDs = uuids("/")
        separateBoot = fstab.entry(mountedAt: "/boot") != nil || environment.filesystems.contains { $0.mountPoint == "/boot" }
    }

    /// The target paths a loader path may mean, most likely first.
    func candidates(_ written: String, searchUUID: String?, bls: Bool, blsBase: String) -> [String]? {
        var path = written
        // `(hd0,gpt2)/vmlinuz` or `($root)/vmlinuz`: the device part is GRUB's, the rest is the path.
        if path.hasPrefix("("), let close = path.firstIndex(of: ")") { path = String(path[path.index(after: close)...]) }
        guard path.hasPrefix("/"), !path.contains("$") else { return nil }
        if bls {
            // BLS paths are relative to the partition holding the entries.
            if blsBase != "/boot" || separateBoot { return [blsBase + path] }
            return [blsBase + path, path]
        }
        if let u = searchUUID?.lowercased() {
            if bootUUIDs.contains(u) { return ["/boot" + path] }
            if rootUUIDs.contains(u) { return [path] }
        }
        if path.hasPrefix("/boot/") { return [path] }
        return separateBoot ? ["/boot" + path] : [path]
    }

    func files(of entry: BootEntry, relativeTo searchUUID: String?, bls: Bool, blsBase: String = "/boot") -> BootFiles {
        func file(_ w: Located<String>) -> BootFiles.File {
            guard let paths = candidates(w.value, searchUUID: searchUUID, bls: bls, blsBase: blsBase) else {
                return BootFiles.File(written: w, targetPath: nil, exists: true)
            }
            let found = paths.first { root.isRegularFile($0) }
            return BootFiles.File(written: w, targetPath: found ?? paths[0], exists: found != nil)
        }
        let kernel = entry.kernel.map(file)
        var release: String?
        if let k = kernel, k.exists, let p = k.targetPath, case .success(let reader) = root.openReader(p),
           let head = reader.read(at: 0, count: 64 * 1024) {
            release = KernelImage.release(head)
        }
        if release == nil, let k = entry.kernel {
            release = KernelImage.release(fileName: String(k.value.split(separator: "/").last ?? "")) ?? entry.version
        }
        var modulesPath = "/lib/modules"
        var modulesExist: Bool?
        if let release, !release.contains("/") {
            modulesPath = "/lib/modules/" + release
            let usr = "/usr/lib/modules/" + release
            modulesExist = root.stat(modulesPath)?.kind == .directory || root.stat(usr)?.kind == .directory
        }
        return BootFiles(kernel: kernel, initrds: entry.initrds.map(file), release: release,
                         modulesPath: modulesPath, modulesExist: modulesExist)
    }
}

extension String {
    /// Replaces `${name}` and `$name` with `value`.
    func replacingVariable(_ name: String, with value: String) -> String {
        var out = self
        for form in ["${\(name)}", "$\(name)"] {
            while let r = out.firstRange(of: form) { out.replaceSubrange(r, with: value) }
        }
        return out
    }
}
