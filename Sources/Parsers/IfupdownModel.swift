/// One option line inside an `iface` or `mapping` stanza (`address 192.0.2.1/24`).
public struct IfupdownOption: Hashable, Sendable {
    /// The option name as ifupdown 0.8 stores it: as written (case and `_`
    /// kept; checked with ifquery), except `post-up` → `up` and `pre-down` → `down`.
    public var key: String
    /// The rest of the line after the key, with continuation lines joined.
    public var value: String
    public var source: SourceLine

    public init(key: String, value: String, source: SourceLine) {
        self.key = key
        self.value = value
        self.source = source
    }
}

/// `iface NAME FAMILY METHOD` and its options.
public struct IfaceStanza: Hashable, Sendable {
    public var name: String
    /// `inet`, `inet6`, `ipx`, `can`...
    public var family: String
    /// `static`, `dhcp`, `loopback`, `manual`, `auto`, `ppp`...
    public var method: String
    public var options: [IfupdownOption]
    public var source: SourceLine
    /// `inherits TEMPLATE` on the iface line. The loader copies the template's
    /// options (and family and method, when the line names none) in front of
    /// this stanza's own; the parser leaves `family`/`method` empty then.
    public var inherits: String?

    public init(name: String, family: String, method: String, options: [IfupdownOption] = [], source: SourceLine, inherits: String? = nil) {
        self.name = name
        self.family = family
        self.method = method
        self.options = options
        self.source = source
        self.inherits = inherits
    }

    /// The options as ifupdown 0.8 holds them, which is what `ifquery NAME`
    /// prints: `up`/`down`/`pre-up`/`post-down` hooks each kept; any other
    /// repeated key joined to its first value with a newline; a key written
    /// `key?` only sets the value when the key is not set yet.
    public var ifupdownOptions: [(key: String, value: String)] {
        let hooks: Set<String> = ["pre-up", "up", "down", "post-down"]
        var out: [(key: String, value: String)] = []
        for option in options {
            var key = option.key
            let onlyIfUnset = key.hasSuffix("?") && key.count > 1
            if onlyIfUnset { key.removeLast() }
            if !hooks.contains(key), let i = out.firstIndex(where: { $0.key == key }) {
                if !onlyIfUnset { out[i].value += "\n" + option.value }
                continue
            }
            out.append((key, option.value))
        }
        return out
    }

    /// All values of an option, in file order.
    public func values(_ key: String) -> [IfupdownOption] { options.filter { $0.key == key } }

    /// The first value of an option.
    public func value(_ key: String) -> IfupdownOption? { options.first { $0.key == key } }

    /// The physical interface of an alias: `eth0` for `eth0:0`.
    public var baseName: String { String(name.split(separator: ":", maxSplits: 1).first ?? Substring(name)) }

    public var isAlias: Bool { name.contains(":") }
}

/// `mapping PATTERN...` with its `script` and `map` lines.
public struct MappingStanza: Hashable, Sendable {
    public var patterns: [String]
    public var script: String?
    public var maps: [String]
    public var source: SourceLine

    public init(patterns: [String], script: String? = nil, maps: [String] = [], source: SourceLine) {
        self.patterns = patterns
        self.script = script
        self.maps = maps
        self.source = source
    }
}

/// One top-level statement of an interfaces(5) file, in file order.
public enum IfupdownItem: Hashable, Sendable {
    /// `auto` and `allow-auto`: brought up by `ifup -a` at boot.
    case auto([String], SourceLine)
    /// `allow-CLASS` (allow-hotplug and the rest), with the class name without `allow-`.
    case allow(className: String, [String], SourceLine)
    /// `no-auto-down`, `no-scripts` and `rename` (arguments `CUR=NEW`), with the keyword.
    case flag(keyword: String, [String], SourceLine)
    case iface(IfaceStanza)
    case mapping(MappingStanza)
    /// `source PATTERN`: a file or glob, relative paths as ifupdown resolves them.
    case source(pattern: String, SourceLine)
    /// `source-directory DIR`: run-parts-named files of a directory.
    case sourceDirectory(directory: String, SourceLine)
}

/// What the parser made of one file.
public struct IfupdownFile: Sendable {
    public var path: String
    public var items: [IfupdownItem]
    public var diagnostics: [Diagnostic]
    /// The first line at which ifupdown 0.8 gives up on this file (misplaced
    /// option, empty value, bad iface line). Nothing after it counts for
    /// ifupdown; in the main file, ifupdown rejects the whole configuration.
    public var haltLine: Int?

    public init(path: String, items: [IfupdownItem] = [], diagnostics: [Diagnostic] = [], haltLine: Int? = nil) {
        self.path = path
        self.items = items
        self.diagnostics = diagnostics
        self.haltLine = haltLine
    }
}
