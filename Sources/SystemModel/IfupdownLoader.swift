import Glibc
import Parsers
import TargetAccess

/// Reads /etc/network/interfaces and everything it sources, as ifupdown 0.8
/// does, through the confined `TargetRoot` only.
///
/// Include rules, checked against ifquery 0.8.41:
/// - `source` and `source-directory` paths that do not start with `/` are
///   relative to the directory of the file that names them. ifupdown prefixes
///   only the start of the line before wordexp(3) splits it, so in
///   `source a b` only `a` is relative to that directory and `b` is relative
///   to ifup's working directory, which at boot is `/`.
/// - Each word is a glob: wildcards in any component, a leading `.` only
///   matched explicitly, matches sorted in byte order. A word that matches
///   nothing is skipped without a word.
/// - `source-directory` reads the names matching `^[a-zA-Z0-9_-]+$`, sorted.
/// - A file is read once per configuration. ifupdown remembers file names
///   (so `./a` after `a` is read again); we remember the file (device and
///   inode), so no spelling or symlink can make an include cycle, and nesting
///   stops at `maxDepth` besides.
/// - After a fatal error in a sourced file ifupdown drops the rest of that
///   file; we keep it and mark the file in `IfupdownConfig.haltedFiles`.
public enum IfupdownLoader {
    /// How deep `source` may nest before we stop following it.
    public static let maxDepth = 16

    /// The configuration rooted at `path`, or nil when that file does not exist.
    /// `dialect`: the implementation installed on the target (see `dialect(_:packages:osID:)`).
    public static func load(_ root: TargetRoot, path: String = "/etc/network/interfaces",
                            dialect: IfupdownDialect = .ifupdown) -> IfupdownConfig? {
        let mainPath = TargetRoot.normalize(path)
        if case .missing = root.read(mainPath) { return nil }
        var loader = Loader(root: root, config: IfupdownConfig(mainPath: mainPath), dialect: dialect)
        loader.config.dialect = dialect
        loader.include(mainPath, depth: 0, from: nil)
        loader.resolveInheritance()
        return loader.config
    }

    /// ifupdown2 when its package is on disk; ifupdown-ng on Alpine (its
    /// default since 3.13) or when apk lists it; else Debian's ifupdown.
    public static func dialect(_ root: TargetRoot, packages: PackageDatabase, osID: String?) -> IfupdownDialect {
        if packages.hasFiles("ifupdown2") && !packages.hasFiles("ifupdown") { return .ifupdown2 }
        if packages.hasFiles("ifupdown-ng") { return .ifupdownNG }
        if osID == "alpine" { return .ifupdownNG }
        if let apk = root.bytes("/lib/apk/db/installed"), Text.decode(apk).contains("\nP:ifupdown-ng\n") { return .ifupdownNG }
        return .ifupdown
    }

    private struct Loader {
        let root: TargetRoot
        var config: IfupdownConfig
        var dialect: IfupdownDialect = .ifupdown
        var seen: Set<String> = []

        mutating func include(_ path: String, depth: Int, from line: SourceLine?) {
            let key = TargetRoot.normalize(path)
            guard depth <= IfupdownLoader.maxDepth else {
                note(line, "Sources nest deeper than \(IfupdownLoader.maxDepth) files; \(key) was not read.")
                return
            }
            let bytes: [UInt8]
            switch root.read(key) {
            case .file(let f):
                // Remember the file itself, not its name: `a`, `./a` and a
                // symlink to it are one file, so no spelling can make a loop.
                guard seen.insert("\(f.status.device):\(f.status.inode)").inserted else { return }
                bytes = f.bytes
            case .missing: return  // as ifupdown: a missing match is skipped silently
            case .skipped(let why):
                note(line, "\(key) was not read: \(why).")
                return
            }
            let file = IfupdownParser.parse(bytes, path: key, dialect: dialect)
            config.files.append(key)
            config.diagnostics += file.diagnostics
            if let halt = file.haltLine { config.haltedFiles.append(SourceLocation(path: key, line: halt)) }
            let directory = Self.dirname(key)
            for item in file.items {
                switch item {
                case .source(let pattern, let src):
                    for match in expand(pattern, relativeTo: directory, src) {
                        include(match, depth: depth + 1, from: src)
                    }
                case .sourceDirectory(let pattern, let src):
                    for dir in expand(pattern, relativeTo: directory, src) {
                        guard let entries = root.listFollowing(dir) else { continue }
                        for entry in entries where Self.isRunPartsName(entry.name) {
                            include(Self.join(dir, entry.name), depth: depth + 1, from: src)
                        }
                    }
                default:
                    config.items.append(item)
                }
            }
        }

        mutating func note(_ line: SourceLine?, _ message: String) {
            let location = line?.location ?? SourceLocation(path: config.mainPath, line: 0)
            config.diagnostics.append(Diagnostic(location, text: line?.text ?? "", message: message))
        }

        /// The paths a `source` argument names, as wordexp(3) would give them.
        mutating func expand(_ argument: String, relativeTo directory: String, _ src: SourceLine) -> [String] {
            if argument.contains(where: { "$`~'\"\\".contains($0) }) {
                note(src, "Shell expansion in `\(argument)` is not performed by this audit; the words are taken literally.")
            }
            var out: [String] = []
            for (i, word) in Text.words(argument).enumerated() {
                // Only the first word gets the including file's directory; see the type's comment.
                let path = word.hasPrefix("/") ? String(word) : Self.join(i == 0 ? directory : "/", String(word))
                out += glob(path)
            }
            return out
        }

        /// glob(3) over the target: each component with a wildcard is matched
        /// with fnmatch against a directory listing.
        func glob(_ pattern: String) -> [String] {
            let components = pattern.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
            var paths = ["/"]
            for (index, component) in components.enumerated() {
                let last = index == components.count - 1
                if !Self.hasWildcard(component) {
                    paths = paths.map { Self.join($0, component) }
                    continue
                }
                var next: [String] = []
                for dir in paths {
                    guard let entries = root.listFollowing(dir) else { continue }
                    for entry in entries where Self.fnmatch(component, entry.name) {
                        let path = Self.join(dir, entry.name)
                        if last || root.stat(path)?.kind == .directory { next.append(path) }
                    }
                }
                paths = next
            }
            // glob sorts the matches of one word; C-locale collation is byte order.
            return Self.hasWildcard(pattern) ? paths.sorted { Array($0.utf8).lexicographicallyPrecedes($1.utf8) } : paths
        }

        /// `iface X ... inherits T`: T's options first, then X's own, and T's
        /// family and method when X names none (ifupdown's copy_variables).
        mutating func resolveInheritance() {
            var earlier: [IfaceStanza] = []
            for index in config.items.indices {
                guard case .iface(var stanza) = config.items[index] else { continue }
                if let template = stanza.inherits {
                    let base = earlier.last { $0.name == template && (stanza.family.isEmpty || $0.family == stanza.family) }
                    if let base {
                        stanza.options = base.options + stanza.options
                        if stanza.family.isEmpty { stanza.family = base.family }
                        if stanza.method.isEmpty { stanza.method = base.method }
                        config.items[index] = .iface(stanza)
                    } else {
                        note(stanza.source, "`iface \(stanza.name)` inherits from `\(template)`, which is not defined before it; ifupdown stops reading the file here.")
                        config.haltedFiles.append(stanza.source.location)
                    }
                }
                earlier.append(stanza)
            }
        }

        static func hasWildcard(_ s: String) -> Bool { s.contains { $0 == "*" || $0 == "?" || $0 == "[" } }

        static func fnmatch(_ pattern: String, _ name: String) -> Bool {
            Glibc.fnmatch(pattern, name, FNM_PERIOD) == 0
        }

        /// run-parts' default name rule, which ifupdown applies to source-directory.
        static func isRunPartsName(_ name: String) -> Bool {
            !name.isEmpty && name.utf8.allSatisfy { b in
                (b >= 0x30 && b <= 0x39) || (b >= 0x41 && b <= 0x5A) || (b >= 0x61 && b <= 0x7A) || b == 0x5F || b == 0x2D
            }
        }

        static func dirname(_ path: String) -> String {
            guard let slash = path.lastIndex(of: "/") else { return "/" }
            let d = String(path[..<slash])
            return d.isEmpty ? "/" : d
        }

        static func join(_ dir: String, _ name: String) -> String {
            dir.hasSuffix("/") ? dir + name : dir + "/" + name
        }
    }
}
