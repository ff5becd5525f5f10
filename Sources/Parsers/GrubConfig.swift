/// A boot entry from grub.cfg or a Boot Loader Specification entry file.
public struct BootEntry: Sendable, Hashable {
    public var title: String
    /// `--id` or `$menuentry_id_option 'gnulinux-…'` (GRUB); the file name without `.conf` (BLS).
    public var id: String?
    /// The `menuentry` line, or the entry file's `title` line.
    public var source: SourceLine
    /// The kernel as written (`/boot/vmlinuz-6.1.0-18-amd64`), with its line.
    public var kernel: Located<String>?
    /// Every initrd as written, in order (microcode first, often).
    public var initrds: [Located<String>]
    /// The kernel command line as written.
    public var options: String?
    /// The filesystem GRUB reads the paths from: `search --fs-uuid --set=root UUID`.
    public var searchUUID: String?
    /// BLS `version`, when given.
    public var version: String?

    public init(title: String, id: String?, source: SourceLine, kernel: Located<String>? = nil, initrds: [Located<String>] = [],
                options: String? = nil, searchUUID: String? = nil, version: String? = nil) {
        self.title = title
        self.id = id
        self.source = source
        self.kernel = kernel
        self.initrds = initrds
        self.options = options
        self.searchUUID = searchUUID
        self.version = version
    }
}

/// A node of GRUB's menu: an entry, or a submenu holding more.
public indirect enum GrubMenuItem: Sendable, Hashable {
    case entry(BootEntry)
    case submenu(title: String, id: String?, source: SourceLine, items: [GrubMenuItem])

    public var title: String {
        switch self {
        case .entry(let e): e.title
        case .submenu(let t, _, _, _): t
        }
    }

    public var id: String? {
        switch self {
        case .entry(let e): e.id
        case .submenu(_, let id, _, _): id
        }
    }
}

/// What grub.cfg says: the menu, and every `set default=` outside of entries.
public struct GrubConfig: Sendable {
    public var menu: [GrubMenuItem]
    /// `set default=VALUE` statements at the top level, in order, with the
    /// variable they read from when the value is `${name}` (`next_entry`, `saved_entry`).
    public var defaults: [Located<String>]
    /// `blscfg` is called: the entries come from /boot/loader/entries (Fedora, RHEL).
    public var usesBLS: Bool
    /// A `search --fs-uuid --set=root` outside any entry.
    public var topLevelSearchUUID: String?
    public var diagnostics: [Diagnostic]
}

/// Parses grub.cfg as far as the menu needs: GRUB's script lexer (words,
/// quotes, `\` escapes, `#` comments, `;` and newlines), `menuentry` and
/// `submenu` blocks with their nesting, `linux`/`initrd` lines and their
/// 16/efi variants, `search … --set=root`, and `set default=`.
public enum GrubConfigParser {
    public static func parse(_ bytes: [UInt8], path: String) -> GrubConfig {
        let commands = tokenize(bytes, path: path)
        var diagnostics: [Diagnostic] = []
        var index = 0
        var defaults: [Located<String>] = []
        var usesBLS = false
        var topSearch: String?

        func parseBlock(depth: Int) -> [GrubMenuItem] {
            var items: [GrubMenuItem] = []
            while index < commands.count {
                let c = commands[index]
                index += 1
                guard let word = c.words.first else { continue }
                if word == "}" { return items }
                switch word {
                case "menuentry", "submenu":
                    let (title, id) = titleAndID(c.words)
                    guard c.words.last == "{" else {
                        diagnostics.append(Diagnostic(c.source.location, text: c.source.text, message: "\(word) without a `{` on its line."))
                        continue
                    }
                    if word == "submenu" {
                        // GRUB itself nests no deeper than its stack allows; a hostile file must not exhaust ours.
                        guard depth < 16 else {
                            diagnostics.append(Diagnostic(c.source.location, text: c.source.text, message: "Submenus nest deeper than 16 levels; the rest is not read."))
                            skipBlock()
                            continue
                        }
                        let inner = parseBlock(depth: depth + 1)
                        items.append(.submenu(title: title, id: id, source: c.source, items: inner))
                    } else {
                        items.append(.entry(parseEntry(title: title, id: id, source: c.source)))
                    }
                case "set" where depth == 0:
                    for w in c.words.dropFirst() where w.hasPrefix("default=") {
                        defaults.append(Located(String(w.dropFirst("default=".count)), c.source))
                    }
                case "blscfg":
                    usesBLS = true
                case "search", "search.fs_uuid":
                    if depth == 0, let u = searchUUID(c.words) { topSearch = u }
                case "if", "elif", "else", "fi", "function", "then", "for", "while", "do", "done":
                    // Control flow is walked straight through: both branches'
                    // `set default=` lines are recorded, the caller picks.
                    if word == "function", c.words.last == "{" { skipBlock() }
                    continue
                default:
                    if c.words.last == "{" { skipBlock() }
                }
            }
            return items
        }

        func skipBlock() {
            var depth = 1
            while index < commands.count, depth > 0 {
                if commands[index].words.last == "{" { depth += 1 }
                if commands[index].words.first == "}" { depth -= 1 }
                index += 1
            }
        }

        func parseEntry(title: String, id: String?, source: SourceLine) -> BootEntry {
            var entry = BootEntry(title: title, id: id, source: source)
            var depth = 1
            while index < commands.count {
                let c = commands[index]
                index += 1
                guard let word = c.words.first else { continue }
                if word == "}" {
                    depth -= 1
                    if depth == 0 { break }
                    continue
                }
                if c.words.last == "{" { depth += 1 }
                switch word {
                case "linux", "linux16", "linuxefi", "multiboot", "multiboot2":
                    if c.words.count > 1, entry.kernel == nil {
                        entry.kernel = Located(c.words[1], c.source)
                        entry.options = c.words.dropFirst(2).joined(separator: " ")
                    }
                case "initrd", "initrd16", "initrdefi":
                    entry.initrds += c.words.dropFirst().map { Located($0, c.source) }
                case "search", "search.fs_uuid":
                    if let u = searchUUID(c.words) { entry.searchUUID = u }
                default:
                    break
                }
            }
            return entry
        }

        let menu = parseBlock(depth: 0)
        return GrubConfig(menu: menu, defaults: defaults, usesBLS: usesBLS, topLevelSearchUUID: topSearch, diagnostics: diagnostics)
    }

    /// The title (first argument) and the id (`--id X`, `--id=X`, or the word
    /// after `$menuentry_id_option`, which grub-mkconfig writes).
    static func titleAndID(_ words: [String]) -> (String, String?) {
        let title = words.count > 1 ? words[1] : ""
        var id: String?
        var i = 2
        while i < words.count {
            let w = words[i]
            if (w == "--id" || w == "$menuentry_id_option" || w == "${menuentry_id_option}"), i + 1 < words.count {
                id = words[i + 1]
                i += 1
            } else if w.hasPrefix("--id=") {
                id = String(w.dropFirst(5))
            }
            i += 1
        }
        return (title, id)
    }

    /// `search --no-floppy --fs-uuid --set=root UUID` (options in any order;
    /// `--hint…` options skipped) and `search.fs_uuid UUID root`.
    static func searchUUID(_ words: [String]) -> String? {
        if words.first == "search.fs_uuid" { return words.count > 2 && words[2] == "root" ? words[1] : nil }
        guard words.contains("--fs-uuid") || words.contains("-u") else { return nil }
        var setsRoot = false
        var value: String?
        var i = 1
        while i < words.count {
            let w = words[i]
            if w == "--set=root" || w == "--set" { setsRoot = true; if w == "--set", i + 1 < words.count, !words[i + 1].hasPrefix("-") { setsRoot = words[i + 1] == "root"; i += 1 } }
            else if w.hasPrefix("--set=") { setsRoot = w == "--set=root" }
            else if w.hasPrefix("--hint") { if !w.contains("="), i + 1 < words.count { i += 1 } }
            else if !w.hasPrefix("-") { value = w }
            i += 1
        }
        return setsRoot ? value : nil
    }

    /// One command: its words after quote removal, and the line it starts on.
    struct Command {
        var words: [String]
        var source: SourceLine
    }

    /// GRUB's lexer, simplified: words split on blanks, `;` and newlines end
    /// a command, `'…'` is literal, `"…"` and bare words honour `\`, `#`
    /// starts a comment at the start of a word. `{` and `}` are words.
    static func tokenize(_ bytes: [UInt8], path: String) -> [Command] {
        let lines = Text.lines(bytes)
        var out: [Command] = []
        var words: [String] = []
        var word: [UInt8] = []
        var inWord = false
        var startLine = 1
        var quote: UInt8 = 0
        func endWord() {
            if inWord { words.append(Text.decode(word)) }
            word = []
            inWord = false
        }
        func endCommand(_ line: Int) {
            endWord()
            if !words.isEmpty {
                out.append(Command(words: words, source: SourceLine(path: path, line: startLine, text: lines.indices.contains(startLine - 1) ? lines[startLine - 1] : "")))
            }
            words = []
        }
        var lineNumber = 1
        var i = 0
        while i < bytes.count {
            let c = bytes[i]
            if words.isEmpty && !inWord && quote == 0 { startLine = lineNumber }
            if c == 0x0A { lineNumber += 1 }
            if quote == UInt8(ascii: "'") {
                if c == quote { quote = 0 } else { word.append(c) }
                i += 1
                continue
            }
            if quote == UInt8(ascii: "\"") {
                if c == quote { quote = 0 }
                else if c == UInt8(ascii: "\\"), i + 1 < bytes.count, [UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "$"), 0x0A].contains(bytes[i + 1]) {
                    if bytes[i + 1] == 0x0A { lineNumber += 1 } else { word.append(bytes[i + 1]) }
                    i += 1
                } else { word.append(c) }
                i += 1
                continue
            }
            switch c {
            case UInt8(ascii: " "), UInt8(ascii: "\t"), 0x0D:
                endWord()
            case 0x0A, UInt8(ascii: ";"):
                endCommand(lineNumber)
            case UInt8(ascii: "#") where !inWord:
                while i < bytes.count, bytes[i] != 0x0A { i += 1 }
                continue
            case UInt8(ascii: "'"), UInt8(ascii: "\""):
                quote = c
                inWord = true
            case UInt8(ascii: "\\"):
                if i + 1 < bytes.count {
                    // A backslash-newline joins lines and is no part of a word.
                    if bytes[i + 1] == 0x0A {
                        lineNumber += 1
                    } else {
                        inWord = true
                        word.append(bytes[i + 1])
                    }
                    i += 1
                }
            default:
                inWord = true
                word.append(c)
            }
            i += 1
        }
        endCommand(lineNumber)
        return out
    }
}

/// A Boot Loader Specification entry (`/boot/loader/entries/*.conf`):
/// `key value` lines, `initrd` may repeat.
public enum BLSEntryParser {
    public static func parse(_ bytes: [UInt8], path: String) -> BootEntry {
        let name = String(path.split(separator: "/").last ?? "")
        let id = name.hasSuffix(".conf") ? String(name.dropLast(5)) : name
        var entry = BootEntry(title: id, id: id, source: SourceLine(path: path, line: 0, text: ""))
        for (i, raw) in Text.lines(bytes).enumerated() {
            let line = Text.trimmed(raw)
            if line.isEmpty || line.hasPrefix("#") { continue }
            let key = String(line.prefix { !Text.isSpace($0) })
            let value = Text.trimmed(String(line.dropFirst(key.count)))
            let here = SourceLine(path: path, line: i + 1, text: raw)
            switch key {
            case "title":
                entry.title = value
                entry.source = here
            case "linux", "efi":
                if entry.kernel == nil { entry.kernel = Located(value, here) }
            case "initrd":
                entry.initrds += Text.words(value).map { Located(String($0), here) }
            case "options":
                entry.options = entry.options.map { $0 + " " + value } ?? value
            case "version":
                entry.version = value
            default:
                break
            }
        }
        if entry.source.location.line == 0, let k = entry.kernel { entry.source = k.source }
        return entry
    }
}

/// GRUB's environment block (`/boot/grub/grubenv`): `# GRUB Environment Block`,
/// `name=value` lines, padded with `#` to 1024 bytes.
public enum GrubEnvParser {
    public static func parse(_ bytes: [UInt8], path: String) -> [String: Located<String>] {
        var out: [String: Located<String>] = [:]
        for (i, raw) in Text.lines(bytes).enumerated() {
            guard !raw.hasPrefix("#"), let eq = raw.firstIndex(of: "=") else { continue }
            out[String(raw[..<eq])] = Located(String(raw[raw.index(after: eq)...]), SourceLine(path: path, line: i + 1, text: raw))
        }
        return out
    }
}

/// Reads the kernel release from a bzImage's setup header, the string that
/// `uname -r` prints and `/lib/modules` is named after.
public enum KernelImage {
    /// Nil unless `head` (the first 64 KiB of the image) has the `HdrS`
    /// setup header with a version string.
    public static func release(_ head: [UInt8]) -> String? {
        guard head.count > 0x210, Array(head[0x202..<0x206]) == Array("HdrS".utf8) else { return nil }
        let offset = Int(UInt16(head[0x20E]) | UInt16(head[0x20F]) << 8) + 0x200
        guard offset > 0x200, offset < head.count else { return nil }
        let bytes = head[offset...].prefix { $0 != 0 && $0 != 0x20 }
        guard !bytes.isEmpty, bytes.count < 128 else { return nil }
        return Text.decode(bytes)
    }

    /// The release in a file name: `vmlinuz-6.1.0-18-amd64` → `6.1.0-18-amd64`.
    public static func release(fileName: String) -> String? {
        for prefix in ["vmlinuz-", "vmlinux-", "kernel-", "bzImage-", "Image-"] where fileName.hasPrefix(prefix) {
            let v = String(fileName.dropFirst(prefix.count))
            return v.first?.isNumber == true ? v : nil
        }
        return nil
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
