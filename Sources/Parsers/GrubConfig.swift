/// One `menuentry` of a grub.cfg: what it boots.
public struct GrubMenuEntry: Hashable, Sendable {
    public var title: String
    /// `--id ID` or `$menuentry_id_option 'ID'`.
    public var id: String?
    /// The `menuentry` line.
    public var source: SourceLine
    /// The `linux` (or `linuxefi`, `linux16`) line.
    public var linux: SourceLine?
    /// The kernel path as written (relative to GRUB's root device: `/boot/vmlinuz-...`, or `/vmlinuz-...` with a separate /boot).
    public var kernelPath: String?
    /// The kernel command line: the words after the kernel path, unquoted.
    public var kernelArguments: [String] = []
    /// The `initrd` line and its paths (an early-microcode image may come first).
    public var initrd: SourceLine?
    public var initrdPaths: [String] = []
    /// Titles from the top level down to this entry (submenus first).
    public var titlePath: [String] = []
}

/// A `submenu` and what it holds.
public struct GrubSubmenu: Hashable, Sendable {
    public var title: String
    public var id: String?
    public var source: SourceLine
    public var items: [GrubMenuItem]
}

public indirect enum GrubMenuItem: Hashable, Sendable {
    case entry(GrubMenuEntry)
    case submenu(GrubSubmenu)

    var title: String {
        switch self {
        case .entry(let e): e.title
        case .submenu(let s): s.title
        }
    }

    var id: String? {
        switch self {
        case .entry(let e): e.id
        case .submenu(let s): s.id
        }
    }
}

/// A parsed grub.cfg: the menu as GRUB builds it, and the `set default=`
/// statements that pick an entry. Pure: the caller reads grub.cfg and grubenv.
public struct GrubConfig: Hashable, Sendable {
    public var path: String
    public var items: [GrubMenuItem] = []
    /// Top-level `set default=VALUE` statements, in file order.
    public var defaultSettings: [Located<String>] = []
    /// Whether the menu comes from BootLoaderSpec entries (`blscfg`, Fedora and RHEL 8+),
    /// which this parser does not expand.
    public var usesBLS: Bool = false
    public var diagnostics: [Diagnostic] = []

    /// Every entry, depth first, in menu order.
    public var allEntries: [GrubMenuEntry] {
        func walk(_ items: [GrubMenuItem]) -> [GrubMenuEntry] {
            items.flatMap { item -> [GrubMenuEntry] in
                switch item {
                case .entry(let e): [e]
                case .submenu(let s): walk(s.items)
                }
            }
        }
        return walk(items)
    }

    /// How the default entry was chosen.
    public struct DefaultChoice: Hashable, Sendable {
        public var entry: GrubMenuEntry
        /// The value GRUB resolved (`0`, `gnulinux-advanced-…>gnulinux-6.1…`, a title).
        public var value: String
        /// The `set default=` line, when one was used.
        public var setting: SourceLine?
        /// One sentence: how the value was found and what it matched.
        public var explanation: String
    }

    /// The entry GRUB boots without a keypress: `set default` (taking
    /// `${saved_entry}` from grubenv, ignoring the one-shot `${next_entry}`),
    /// resolved as GRUB does: a number counts entries and submenus at the
    /// top level, otherwise an id or a title; `>` descends into submenus.
    /// Anything unresolvable falls back to the first entry, as GRUB does.
    public func defaultEntry(grubenv: [String: String] = [:]) -> DefaultChoice? {
        let setting = defaultSettings.last { !$0.value.contains("next_entry") }
        var value = setting?.value ?? "0"
        var how = setting.map { "set default=\"\($0.value)\" (\($0.location))" } ?? "no `set default` (GRUB boots the first entry)"
        if value.contains("saved_entry") {
            let saved = grubenv["saved_entry"] ?? ""
            value = saved.isEmpty ? "0" : saved
            how += saved.isEmpty ? "; grubenv has no saved_entry, so the first entry" : "; grubenv saved_entry=\(saved)"
        }
        if value.isEmpty { value = "0" }
        if let e = resolve(value) { return DefaultChoice(entry: e, value: value, setting: setting?.source, explanation: how) }
        guard let first = firstEntry(items) else { return nil }
        return DefaultChoice(entry: first, value: value, setting: setting?.source,
                             explanation: how + "; \"\(value)\" matches no entry, so GRUB boots the first")
    }

    func resolve(_ value: String) -> GrubMenuEntry? {
        var level = items
        let parts = value.split(separator: ">", omittingEmptySubsequences: false).map(String.init)
        for (i, part) in parts.enumerated() {
            let item: GrubMenuItem?
            if let n = Int(part), n >= 0 {
                item = n < level.count ? level[n] : nil
            } else {
                item = level.first { $0.id == part } ?? level.first { $0.title == part }
            }
            guard let item else { return nil }
            switch item {
            case .entry(let e): return i == parts.count - 1 ? e : nil
            case .submenu(let s):
                if i == parts.count - 1 { return firstEntry(s.items) }
                level = s.items
            }
        }
        return nil
    }

    func firstEntry(_ items: [GrubMenuItem]) -> GrubMenuEntry? {
        for item in items {
            switch item {
            case .entry(let e): return e
            case .submenu(let s): if let e = firstEntry(s.items) { return e }
            }
        }
        return nil
    }

    public static func parse(_ bytes: [UInt8], path: String) -> GrubConfig {
        var config = GrubConfig(path: path)
        enum Block { case entry(GrubMenuEntry), submenu(GrubSubmenu), other }
        var stack: [Block] = []
        var titles: [String] = []

        func add(_ item: GrubMenuItem) {
            for i in stack.indices.reversed() {
                if case .submenu(var s) = stack[i] {
                    s.items.append(item)
                    stack[i] = .submenu(s)
                    return
                }
                if case .entry = stack[i] { return } // entries inside entries are not menu items
            }
            config.items.append(item)
        }
        func currentEntryIndex() -> Int? {
            stack.indices.last { if case .entry = stack[$0] { true } else { false } }
        }

        for (i, raw) in Text.lines(bytes).enumerated() {
            let source = SourceLine(path: path, line: i + 1, text: raw)
            let words = GrubWords.split(raw)
            guard let first = words.first else { continue }
            switch first {
            case "menuentry", "submenu":
                let args = Array(words.dropFirst())
                let title = args.first { !$0.hasPrefix("-") && $0 != "{" } ?? ""
                var id: String?
                for (k, w) in args.enumerated() where (w == "--id" || w == "$menuentry_id_option" || w == "${menuentry_id_option}") && k + 1 < args.count {
                    id = args[k + 1]
                }
                if first == "menuentry" {
                    stack.append(.entry(GrubMenuEntry(title: title, id: id, source: source, titlePath: titles + [title])))
                } else {
                    stack.append(.submenu(GrubSubmenu(title: title, id: id, source: source, items: [])))
                    titles.append(title)
                }
                if words.last != "{" && !raw.contains("{") {
                    config.diagnostics.append(Diagnostic(source.location, text: raw, message: "\(first) without an opening brace on its line; the entry is read up to the next closing brace."))
                }
            case "}":
                guard let top = stack.popLast() else {
                    config.diagnostics.append(Diagnostic(source.location, text: raw, message: "A closing brace without an open block."))
                    continue
                }
                switch top {
                case .entry(let e): add(.entry(e))
                case .submenu(let s):
                    titles.removeLast()
                    add(.submenu(s))
                case .other: break
                }
            case "linux", "linuxefi", "linux16":
                guard let k = currentEntryIndex(), case .entry(var e) = stack[k] else { continue }
                e.linux = source
                e.kernelPath = words.count > 1 ? words[1] : nil
                e.kernelArguments = Array(words.dropFirst(2))
                stack[k] = .entry(e)
            case "initrd", "initrdefi", "initrd16":
                guard let k = currentEntryIndex(), case .entry(var e) = stack[k] else { continue }
                e.initrd = source
                e.initrdPaths = Array(words.dropFirst())
                stack[k] = .entry(e)
            case "blscfg":
                config.usesBLS = true
            case "set":
                if stack.allSatisfy({ if case .other = $0 { true } else { false } }),
                   words.count >= 2, words[1].hasPrefix("default=") {
                    config.defaultSettings.append(Located(String(words[1].dropFirst(8)), source))
                }
            default:
                if first == "function" || words.last == "{" { stack.append(.other) }
            }
        }
        if !stack.isEmpty {
            config.diagnostics.append(Diagnostic(SourceLocation(path: path, line: 0), text: "",
                                                 message: "\(stack.count) block(s) are never closed; GRUB would refuse this file."))
        }
        return config
    }
}

/// grubenv: `# GRUB Environment Block`, then `key=value` lines, padded with `#` to 1024 bytes.
public enum GrubEnv {
    public static func parse(_ bytes: [UInt8]) -> [String: String] {
        var out: [String: String] = [:]
        for line in Text.lines(bytes) where !line.hasPrefix("#") {
            guard let eq = line.firstIndex(of: "=") else { continue }
            out[String(line[..<eq])] = String(line[line.index(after: eq)...])
        }
        return out
    }
}

/// Splits a GRUB script or kernel command line into words: blanks separate,
/// single and double quotes group, a backslash escapes; `$variables` stay literal.
public enum GrubWords {
    public static func split(_ line: String) -> [String] {
        var words: [String] = []
        var current = ""
        var inWord = false
        var quote: Character?
        var escape = false
        for c in line {
            if escape { current.append(c); escape = false; inWord = true; continue }
            if let q = quote {
                if c == q { quote = nil } else if c == "\\" && q == "\"" { escape = true } else { current.append(c) }
                continue
            }
            switch c {
            case "\\": escape = true; inWord = true
            case "'", "\"": quote = c; inWord = true
            case "#" where !inWord: return words
            case " ", "\t", "\r", ";":
                if inWord { words.append(current); current = ""; inWord = false }
            default:
                current.append(c); inWord = true
            }
        }
        if inWord { words.append(current) }
        return words
    }
}

/// A kernel command line and the settings udev reads from it.
public struct KernelCommandLine: Hashable, Sendable {
    public var words: [String]
    /// Where it was read (the `linux` line, /etc/kernel/cmdline, a GRUB_CMDLINE_LINUX assignment).
    public var source: SourceLine

    public init(words: [String], source: SourceLine) {
        self.words = words
        self.source = source
    }

    /// The value of the last `key=value` for `key` (the last one wins, as
    /// systemd reads /proc/cmdline); `""` for a bare `key`.
    public func value(_ key: String) -> String? {
        var out: String?
        for w in words {
            if w == key { out = "" } else if w.hasPrefix(key + "=") { out = String(w.dropFirst(key.count + 1)) }
        }
        return out
    }

    /// `net.ifnames=0` (or `no`, `false`, `off`): predictable naming is off.
    public var disablesPredictableNames: Bool {
        guard let v = value("net.ifnames") else { return false }
        return ["0", "no", "n", "false", "f", "off"].contains(v.lowercased())
    }
}
