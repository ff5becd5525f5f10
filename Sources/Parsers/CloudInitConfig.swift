/// What one cloud-init configuration file (`/etc/cloud/cloud.cfg` or a
/// `cloud.cfg.d/*.cfg`) says about the network, as cloud-init 22.4 reads it:
/// the `network` key (disabled, or a configuration it renders itself),
/// `datasource_list`, `updates: {network: {when: [...]}}` and
/// `system_info: {network: {renderers: [...]}}`.
public struct CloudConfigFile: Sendable {
    /// The top-level `network` key.
    public enum Network: Sendable, Equatable {
        /// `network: {config: disabled}`.
        case disabled(SourceLine)
        /// A network configuration (version 1 or 2) that cloud-init renders in
        /// place of the datasource's.
        case config(SourceLine)
        /// `network` with only other keys (`renderers`, say), or `config` set
        /// to something other than `disabled` with no configuration beside it.
        case other(SourceLine)
    }
    public var path: String
    public var network: Network?
    /// `datasource_list: [NoCloud, None]`, as written.
    public var datasourceList: Located<[String]>?
    /// `updates: network: when: [boot, ...]`.
    public var networkUpdateEvents: Located<[String]>?
    /// `system_info: network: renderers: [...]`.
    public var renderers: Located<[String]>?
    /// Why the file could not be read as YAML (cloud-init then ignores it and logs a warning).
    public var problem: Diagnostic?

    public init(path: String) { self.path = path }
}

/// cloud-init's cloud.cfg and cloud.cfg.d/*.cfg, read with libyaml (the
/// library PyYAML's C loader wraps, which cloud-init uses).
public enum CloudConfigParser {
    public static func parse(_ bytes: [UInt8], path: String) -> CloudConfigFile {
        var file = CloudConfigFile(path: path)
        let lines = Text.lines(bytes)
        func line(_ n: Int) -> SourceLine {
            SourceLine(path: path, line: n, text: n >= 1 && n <= lines.count ? lines[n - 1] : "")
        }
        let root: YAMLNode
        switch YAMLGuard.read(bytes, limit: 100_000) {
        case .ok(let node, _):
            guard let node else { return file }
            root = node
        case .syntaxError(let l, let message):
            file.problem = Diagnostic(SourceLocation(path: path, line: l), text: line(l).text,
                                      message: "cloud-init cannot read this file as YAML (\(message)); it ignores the whole file.")
            return file
        case .tooLarge(let l, let limit, _):
            file.problem = Diagnostic(SourceLocation(path: path, line: l), text: line(l).text,
                                      message: "this file expands to more than \(limit) YAML nodes; it was not read.")
            return file
        }
        guard case .mapping(let pairs, _) = root else { return file }
        for p in pairs {
            switch p.key.string {
            case "network":
                file.network = network(p.value, line(p.key.line))
            case "datasource_list":
                if let list = strings(p.value) { file.datasourceList = Located(list, line(p.key.line)) }
            case "updates":
                if let events = value(p.value, ["network", "when"]), let list = strings(events) {
                    file.networkUpdateEvents = Located(list, line(events.line))
                }
            case "system_info":
                if let r = value(p.value, ["network", "renderers"]), let list = strings(r) {
                    file.renderers = Located(list, line(r.line))
                }
            default:
                continue
            }
        }
        return file
    }

    /// Whether the file says `network: {config: disabled}` (in flow or block style).
    public static func disablesNetwork(_ bytes: [UInt8]) -> Bool {
        if case .disabled = parse(bytes, path: "").network { return true }
        return false
    }

    static func network(_ node: YAMLNode, _ source: SourceLine) -> CloudConfigFile.Network {
        guard case .mapping(let pairs, _) = node else { return .other(source) }
        // cloud-init's net.is_disabled_cfg: `config: disabled` (a repeated key: the last wins).
        if let c = pairs.last(where: { $0.key.string == "config" }), c.value.string == "disabled" { return .disabled(source) }
        let keys = Set(pairs.compactMap(\.key.string))
        if keys.contains("version") && (keys.contains("config") || !keys.isDisjoint(with: ["ethernets", "bonds", "bridges", "vlans", "wifis"])) {
            return .config(source)
        }
        return .other(source)
    }

    /// The value at `path` of nested mappings.
    static func value(_ node: YAMLNode, _ path: [String]) -> YAMLNode? {
        var n = node
        for key in path {
            guard case .mapping(let pairs, _) = n, let v = pairs.last(where: { $0.key.string == key })?.value else { return nil }
            n = v
        }
        return n
    }

    /// A sequence of scalars, or one scalar.
    static func strings(_ node: YAMLNode) -> [String]? {
        switch node {
        case .scalar(let s, _): return s.isEmpty ? [] : [s]
        case .sequence(let items, _): return items.compactMap(\.string)
        case .mapping: return nil
        }
    }
}

/// /etc/cloud/ds-identify.cfg as ds-identify's `_read_config` reads it: lines
/// `key: value`, `#` comments, the last `policy` and `datasource` win.
public enum DsIdentifyConfigParser {
    public static func parse(_ bytes: [UInt8], path: String) -> (policy: Located<String>?, datasource: Located<String>?) {
        var policy: Located<String>?
        var datasource: Located<String>?
        for (i, raw) in Text.lines(bytes).enumerated() {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
            guard let colon = line.firstIndex(of: ":") else { continue }
            let key = Text.trimmed(String(line[..<colon]))
            var value = Text.trimmed(String(line[line.index(after: colon)...]))
            if value.count >= 2, let f = value.first, f == "\"" || f == "'", value.last == f { value = String(value.dropFirst().dropLast()) }
            let source = SourceLine(path: path, line: i + 1, text: raw)
            if key == "policy" { policy = Located(value, source) }
            if key == "datasource" { datasource = Located(value, source) }
        }
        return (policy, datasource)
    }
}

/// The comment cloud-init writes at the top of every network file it renders.
public enum CloudInitHeader {
    /// The sentences of cloud-init's headers: Debian/Ubuntu's eni and netplan
    /// header, sysconfig's and NetworkManager's.
    static let markers = [
        "This file is generated from information provided by the datasource",
        "Created by cloud-init",
        "Generated by cloud-init",
    ]

    /// The line number of cloud-init's header among the file's leading comments, or nil.
    public static func headerLine(_ bytes: [UInt8]) -> Int? {
        for (i, line) in Text.lines(bytes).prefix(12).enumerated() {
            let t = Text.trimmed(line)
            guard t.hasPrefix("#") || t.isEmpty else { return nil }
            if markers.contains(where: { t.contains($0) }) { return i + 1 }
        }
        return nil
    }
}

/// The first line of /var/lib/cloud/instance/datasource:
/// `DataSourceNoCloud: DataSourceNoCloud [seed=/dev/vdb][dsmode=net]`.
public enum CloudInitDatasourceRecord {
    /// The datasource's name as datasource_list spells it (`NoCloud`, `Ec2`), from its class name.
    public static func name(_ bytes: [UInt8]) -> String? {
        guard let first = Text.lines(bytes).first else { return nil }
        let cls = Text.trimmed(String(first.split(separator: ":", maxSplits: 1).first ?? ""))
        guard cls.hasPrefix("DataSource"), cls.count > 10 else { return nil }
        var name = String(cls.dropFirst(10))
        // The local and network variants of one datasource share its name in datasource_list.
        for suffix in ["Local", "Net"] where name.hasSuffix(suffix) && name.count > suffix.count {
            name = String(name.dropLast(suffix.count))
        }
        return name
    }
}
