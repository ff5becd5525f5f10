/// The iptables-save format as `iptables-restore` (iptables 1.8.9, the
/// legacy restore, which builds every table in user space and so checks
/// chains, targets and policies even with `--test`) reads it. Pure: bytes and
/// a target path in, the tables, chains and rules plus the first error the
/// restore would stop at.
///
/// The restore reads line by line: `#` in column 0 is a comment, `*table`
/// opens a table, `:CHAIN POLICY [counters]` declares a chain, `COMMIT`
/// (exactly, followed by a newline) commits the table, anything else inside
/// a table is an iptables command line. The first error ends the restore:
/// tables committed before it stay loaded, the rest are not.

/// Which implementation `iptables-restore` is on the target: the legacy one,
/// or iptables-nft's (the default since Debian 10 and RHEL 8, chosen through
/// /etc/alternatives/iptables-restore). They differ on what this parser
/// checks only in one place: the legacy restore wants a newline after the
/// last `COMMIT` ("Bad argument `COMMIT'"), the nft one does not.
public enum IptablesBackend: String, Sendable, Hashable, Codable {
    case legacy, nft
}

/// Which restore program reads the file.
public enum IptablesFamily: String, Sendable, Hashable, Codable {
    case ipv4, ipv6

    /// `iptables-restore` or `ip6tables-restore`.
    public var restoreProgram: String { self == .ipv4 ? "iptables-restore" : "ip6tables-restore" }
}

/// An option value that may be negated with `!`.
public struct Negatable: Hashable, Sendable {
    public var value: String
    public var negated: Bool

    public init(_ value: String, negated: Bool = false) {
        self.value = value
        self.negated = negated
    }
}

/// One `--option values...` of a match or target, as written.
public struct IptablesOption: Hashable, Sendable {
    /// Without the leading dashes (`dport`, `ctstate`, `log-prefix`).
    public var name: String
    public var values: [String]
    public var negated: Bool

    public init(name: String, values: [String], negated: Bool = false) {
        self.name = name
        self.values = values
        self.negated = negated
    }
}

/// A match module of a rule (`-m conntrack --ctstate NEW`, or the protocol
/// match `-p tcp` loads implicitly for `--dport`).
public struct IptablesMatch: Hashable, Sendable {
    public var name: String
    public var options: [IptablesOption]
    /// Loaded by `-p` rather than `-m`.
    public var implicit: Bool

    public func option(_ names: String...) -> IptablesOption? { options.first { names.contains($0.name) } }
}

/// Where a rule sends a packet that matches it.
public enum IptablesTarget: Hashable, Sendable {
    /// ACCEPT, DROP, RETURN or QUEUE.
    case standard(String)
    /// A target extension (LOG, REJECT, MARK...), with its options.
    case extensionTarget(String, [IptablesOption])
    /// A user-defined chain (`-j name`, or `-g name` when `goto`).
    case chain(String, goto: Bool)
}

/// One `-A`/`-I` command line.
public struct IptablesRule: Hashable, Sendable {
    public var chain: String
    /// nil for `-A`; the 1-based position for `-I`.
    public var insertAt: Int?
    public var source: SourceLine
    /// Lowercased as iptables stores it (`tcp`, `6`, `all`).
    public var proto: Negatable?
    public var inInterface: Negatable?
    public var outInterface: Negatable?
    /// As written: an address, a network, a comma list or a host name.
    public var sourceAddress: Negatable?
    public var destinationAddress: Negatable?
    /// `-f` (false) or `! -f` (true); nil without either.
    public var fragmentNegated: Bool?
    public var matches: [IptablesMatch]
    /// nil when the rule has no `-j`/`-g` (it only counts).
    public var target: IptablesTarget?

    public func match(_ name: String) -> IptablesMatch? { matches.first { $0.name == name } }
}

/// One statement of a table section, in file order.
public enum IptablesCommand: Hashable, Sendable {
    /// `:NAME POLICY [p:b]`; policy nil for `-` (a user chain).
    case declare(chain: String, policy: String?, source: SourceLine)
    case rule(IptablesRule)
    /// `-N name`.
    case newChain(String, source: SourceLine)
    /// `-P chain policy`.
    case setPolicy(chain: String, policy: String, source: SourceLine)
    /// `-F [chain]`.
    case flush(chain: String?, source: SourceLine)
    /// A command we do not evaluate (`-D`, `-R`, `-X`, `-E`, `-Z`...): the
    /// restore accepts it, but what the table looks like afterwards is not known.
    case unevaluated(String, source: SourceLine)
}

/// `*table` up to `COMMIT`.
public struct IptablesSection: Hashable, Sendable {
    public var table: String
    public var header: SourceLine
    public var commands: [IptablesCommand]
    /// The COMMIT line; nil when the restore failed (or the file ended) before it.
    public var commit: SourceLine?

    public var isCommitted: Bool { commit != nil }
}

/// The error the restore stops at, worded as iptables-restore prints it.
public struct IptablesFailure: Error, Hashable, Sendable {
    public var location: SourceLocation
    /// The offending line ("" when the problem is the end of the file).
    public var text: String
    /// `iptables-restore: line 7 failed`, `COMMIT expected at line 12`...
    public var message: String
}

/// A parsed iptables-save file.
public struct IptablesRestoreFile: Hashable, Sendable {
    public var path: String
    public var family: IptablesFamily
    public var sections: [IptablesSection]
    public var failure: IptablesFailure?
    /// Lines the restore accepts but we do not evaluate, with the reason.
    public var notes: [Diagnostic]
    /// The restore implementation the file was read as.
    public var backend: IptablesBackend = .legacy

    /// Every rule of every committed section, in order.
    public var committedSections: [IptablesSection] { sections.filter(\.isCommitted) }
}

public enum IptablesSaveParser {
    public static let tables = ["filter", "nat", "mangle", "raw", "security"]

    public static func builtinChains(_ table: String) -> [String] {
        switch table {
        case "filter", "security": ["INPUT", "FORWARD", "OUTPUT"]
        case "nat": ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]
        case "mangle": ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"]
        case "raw": ["PREROUTING", "OUTPUT"]
        default: []
        }
    }

    /// One command line of a table section, parsed as the restore would
    /// (for checking an inserted line without reading the whole file again).
    public static func parseLine(_ text: String, path: String, line: Int, table: String, userChains: Set<String>,
                                 family: IptablesFamily) -> Result<IptablesCommand?, IptablesFailure> {
        var context = CommandContext(table: table, builtins: builtinChains(table), chains: userChains, family: family,
                                     source: SourceLine(path: path, line: line, text: text), program: family.restoreProgram)
        switch context.parse(tokenize(Array(text.utf8))) {
        case .success(let c): return .success(c)
        case .failure(let f): return .failure(IptablesFailure(location: SourceLocation(path: path, line: line), text: text, message: f.message))
        }
    }

    /// The states a `--state`/`--ctstate` value names: conntrack takes any
    /// case-insensitive prefix of a state name (`ESTABLISH`), the first that fits.
    public static func conntrackStates(_ value: String) -> [String] {
        let names = ["INVALID", "ESTABLISHED", "NEW", "RELATED", "UNTRACKED", "SNAT", "DNAT"]
        return value.split(separator: ",").compactMap { part in
            let upper = part.uppercased()
            return names.first { $0.hasPrefix(upper) }
        }
    }

    /// fgets in the restore reads at most 10,239 bytes of a line at a time.
    static let maxLine = 10239

    /// Parses a file as `iptables-restore` (`noflush == false`) or
    /// `iptables-restore -n` reads it. `existingChains` are user chains
    /// that exist in the kernel before a `-n` restore (ufw creates its
    /// chains before restoring its files).
    public static func parse(_ bytes: [UInt8], path: String, family: IptablesFamily, noflush: Bool = false,
                             existingChains: [String: Set<String>] = [:], backend: IptablesBackend = .legacy) -> IptablesRestoreFile {
        var file = IptablesRestoreFile(path: path, family: family, sections: [], failure: nil, notes: [], backend: backend)
        var current: IptablesSection? = nil
        var chains: Set<String> = []
        var lineNumber = 0
        var start = 0
        let n = bytes.count

        func fail(_ line: Int, _ text: String, _ message: String) {
            file.failure = IptablesFailure(location: SourceLocation(path: path, line: line), text: text, message: message)
        }
        let prog = family.restoreProgram

        while start < n {
            var end = start
            while end < n && bytes[end] != 0x0A { end += 1 }
            let hasNewline = end < n
            lineNumber += 1
            let raw = bytes[start..<end]
            start = end + 1
            let text = fastDecode(raw)
            let source = SourceLine(path: path, line: lineNumber, text: text)

            if raw.count > maxLine {
                fail(lineNumber, text, "\(prog): line \(lineNumber) is longer than the 10,240-byte buffer iptables-restore reads lines into, so it is split and fails")
                break
            }
            if raw.isEmpty && hasNewline { continue }
            if raw.first == UInt8(ascii: "#") { continue }
            if current != nil && (hasNewline || backend == .nft) && raw.elementsEqual("COMMIT".utf8) {
                current!.commit = source
                file.sections.append(current!)
                current = nil
                continue
            }
            if current == nil && raw.first == UInt8(ascii: "*") {
                let words = splitWords(raw.dropFirst())
                guard let table = words.first else {
                    fail(lineNumber, text, "\(prog): line \(lineNumber) table name invalid")
                    break
                }
                guard tables.contains(table) else {
                    fail(lineNumber, text, "\(prog): unable to initialize table '\(table)'")
                    break
                }
                current = IptablesSection(table: table, header: source, commands: [], commit: nil)
                chains = noflush ? (existingChains[table] ?? []) : []
                continue
            }
            // Appended to in place: copying the section per line would make a big file quadratic.
            guard let table = current?.table else {
                fail(lineNumber, text, "\(prog): line \(lineNumber) failed")
                break
            }
            let builtins = builtinChains(table)
            if raw.first == UInt8(ascii: ":") {
                let words = splitWords(raw.dropFirst())
                guard let chain = words.first else {
                    fail(lineNumber, text, "\(prog): line \(lineNumber) chain name invalid")
                    break
                }
                if chain.utf8.count >= 29 {
                    fail(lineNumber, text, "Invalid chain name `\(chain)' (28 chars max)")
                    break
                }
                if !builtins.contains(chain) {
                    if chains.contains(chain) && !noflush {
                        fail(lineNumber, text, "error creating chain '\(chain)':File exists")
                        break
                    }
                    if ["ACCEPT", "DROP", "QUEUE", "RETURN"].contains(chain) {
                        fail(lineNumber, text, "error creating chain '\(chain)':File exists")
                        break
                    }
                    chains.insert(chain)
                }
                guard words.count >= 2 else {
                    fail(lineNumber, text, "\(prog): line \(lineNumber) policy invalid")
                    break
                }
                let policy = words[1]
                if policy != "-" {
                    guard builtins.contains(chain) else {
                        fail(lineNumber, text, "\(prog) v1.8.9 (legacy): Can't set policy `\(policy)' on `\(chain)' line \(lineNumber): Bad built-in chain name")
                        break
                    }
                    guard policy == "ACCEPT" || policy == "DROP" else {
                        fail(lineNumber, text, "\(prog) v1.8.9 (legacy): Can't set policy `\(policy)' on `\(chain)' line \(lineNumber): Bad policy name")
                        break
                    }
                }
                current!.commands.append(.declare(chain: chain, policy: policy == "-" ? nil : policy, source: source))
                continue
            }
            // A command line. `[pkts:bytes]` counters may lead it.
            var body = raw[...]
            if body.first == UInt8(ascii: "[") {
                guard let close = body.firstIndex(of: UInt8(ascii: "]")) else {
                    fail(lineNumber, text, "Bad line \(lineNumber): need ]")
                    break
                }
                body = body[(close + 1)...]
            }
            let argv = tokenize(body)
            var context = CommandContext(table: table, builtins: builtins, chains: chains, family: family,
                                         source: source, program: prog)
            switch context.parse(argv) {
            case .failure(let message):
                fail(lineNumber, text, message.message)
            case .success(let command):
                if let command {
                    current!.commands.append(command)
                    if case .unevaluated(let why, _) = command {
                        file.notes.append(Diagnostic(source.location, text: text, message: why))
                    }
                }
                chains = context.chains
                continue
            }
            break
        }
        if file.failure == nil, let open = current {
            fail(lineNumber + 1, "", "\(prog): COMMIT expected at line \(lineNumber + 1)")
            file.sections.append(open)
        } else if let open = current {
            file.sections.append(open)
        }
        return file
    }

    /// Text.decode, with a fast path for ASCII (nearly every rules file).
    @inline(__always)
    static func fastDecode<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        return Text.decode(bytes)
    }

    /// strtok(" \t\n") words.
    static func splitWords(_ bytes: ArraySlice<UInt8>) -> [String] {
        bytes.split(whereSeparator: { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A }).map { fastDecode($0) }
    }

    /// add_param_to_argv: blanks separate, double quotes group (a backslash
    /// escapes inside them), a closing quote ends the word. Everything else,
    /// a carriage return included, is part of a word.
    public static func tokenize<C: Collection>(_ bytes: C) -> [String] where C.Element == UInt8 {
        var out: [String] = []
        var param: [UInt8] = []
        var quoteOpen = false, escaped = false, quoted = false
        for c in bytes {
            if quoteOpen {
                if escaped { param.append(c); escaped = false; continue }
                if c == UInt8(ascii: "\\") { escaped = true; continue }
                if c == UInt8(ascii: "\"") {
                    quoteOpen = false
                } else {
                    param.append(c)
                    continue
                }
            } else if c == UInt8(ascii: "\"") {
                quoteOpen = true
                quoted = true
                continue
            }
            switch c {
            case UInt8(ascii: "\""):
                break
            case 0x20, 0x09, 0x0A:
                if param.isEmpty && !quoted { continue }
            default:
                param.append(c)
                continue
            }
            out.append(fastDecode(param))
            param.removeAll(keepingCapacity: true)
            quoted = false
        }
        if !param.isEmpty { out.append(fastDecode(param)) }
        return out
    }
}

// MARK: - Extensions known to Debian 12's iptables 1.8.9

enum IptablesExtensions {
    static let commonMatches: Set<String> = [
        "addrtype", "bpf", "cgroup", "cluster", "comment", "connbytes", "connlabel", "connlimit", "connmark",
        "conntrack", "cpu", "dccp", "devgroup", "dscp", "ecn", "esp", "hashlimit", "helper", "ipcomp", "iprange",
        "ipvs", "length", "limit", "mac", "mark", "multiport", "nfacct", "osf", "owner", "physdev", "pkttype",
        "policy", "quota", "rateest", "recent", "rpfilter", "sctp", "set", "socket", "state", "statistic",
        "string", "tcp", "tcpmss", "time", "tos", "u32", "udp",
    ]
    static let v4Matches: Set<String> = ["ah", "icmp", "realm", "ttl"]
    static let v6Matches: Set<String> = ["ah", "dst", "eui64", "frag", "hbh", "hl", "icmp6", "ipv6header", "mh", "rt", "srh"]
    static let commonTargets: Set<String> = [
        "AUDIT", "CHECKSUM", "CLASSIFY", "CONNMARK", "CONNSECMARK", "CT", "DNAT", "DSCP", "HMARK", "IDLETIMER",
        "LED", "LOG", "MARK", "MASQUERADE", "NFLOG", "NFQUEUE", "NOTRACK", "RATEEST", "REDIRECT", "SECMARK", "SET",
        "SNAT", "SYNPROXY", "TCPMSS", "TCPOPTSTRIP", "TEE", "TOS", "TPROXY", "TRACE",
    ]
    static let v4Targets: Set<String> = ["CLUSTERIP", "ECN", "NETMAP", "REJECT", "TTL", "ULOG"]
    static let v6Targets: Set<String> = ["DNPT", "HL", "NETMAP", "REJECT", "SNPT"]

    static func matchName(_ name: String, _ family: IptablesFamily) -> String? {
        var n = name
        if family == .ipv6, ["icmpv6", "ipv6-icmp", "icmp6"].contains(n) { n = "icmp6" }
        if commonMatches.contains(n) { return n }
        if family == .ipv4 ? v4Matches.contains(n) : v6Matches.contains(n) { return n }
        return nil
    }

    static func isTarget(_ name: String, _ family: IptablesFamily) -> Bool {
        commonTargets.contains(name) || (family == .ipv4 ? v4Targets : v6Targets).contains(name)
    }

    /// Options of the modules whose whole option set we know, with whether
    /// each takes an argument. An option not listed for a module we know
    /// fully is an "unknown option" when only such modules are loaded.
    static let options: [String: [String: Bool]] = [
        "tcp": ["source-port": true, "sport": true, "destination-port": true, "dport": true, "syn": false,
                "tcp-flags": true, "tcp-option": true],
        "udp": ["source-port": true, "sport": true, "destination-port": true, "dport": true],
        "icmp": ["icmp-type": true],
        "icmp6": ["icmpv6-type": true],
        "multiport": ["source-ports": true, "sports": true, "destination-ports": true, "dports": true, "ports": true],
        "state": ["state": true],
        "conntrack": ["ctstate": true, "ctproto": true, "ctorigsrc": true, "ctorigdst": true, "ctreplsrc": true,
                      "ctrepldst": true, "ctorigsrcport": true, "ctorigdstport": true, "ctreplsrcport": true,
                      "ctrepldstport": true, "ctstatus": true, "ctexpire": true, "ctdir": true],
        "comment": ["comment": true],
        "limit": ["limit": true, "limit-burst": true],
        "addrtype": ["src-type": true, "dst-type": true, "limit-iface-in": false, "limit-iface-out": false],
        "pkttype": ["pkt-type": true],
        "mac": ["mac-source": true],
        "recent": ["set": false, "rcheck": false, "update": false, "remove": false, "seconds": true, "reap": false,
                   "hitcount": true, "rttl": false, "name": true, "mask": true, "rsource": false, "rdest": false],
        "iprange": ["src-range": true, "dst-range": true],
        "length": ["length": true],
        "mark": ["mark": true],
        "connlimit": ["connlimit-upto": true, "connlimit-above": true, "connlimit-mask": true,
                      "connlimit-saddr": false, "connlimit-daddr": false],
        "hashlimit": ["hashlimit": true, "hashlimit-upto": true, "hashlimit-above": true, "hashlimit-burst": true,
                      "hashlimit-mode": true, "hashlimit-srcmask": true, "hashlimit-dstmask": true,
                      "hashlimit-name": true, "hashlimit-htable-size": true, "hashlimit-htable-max": true,
                      "hashlimit-htable-expire": true, "hashlimit-htable-gcinterval": true,
                      "hashlimit-rate-match": false, "hashlimit-rate-interval": true],
        // Targets.
        "LOG": ["log-level": true, "log-prefix": true, "log-tcp-sequence": false, "log-tcp-options": false,
                "log-ip-options": false, "log-uid": false, "log-macdecode": false],
        "REJECT": ["reject-with": true],
        "REDIRECT": ["to-ports": true, "random": false],
        "MASQUERADE": ["to-ports": true, "random": false, "random-fully": false],
        "NFLOG": ["nflog-group": true, "nflog-prefix": true, "nflog-range": true, "nflog-size": true,
                  "nflog-threshold": true],
    ]

    /// Whether `s` could name a service in services(5): letters, digits and `-._+/*`.
    static func couldBeServiceName(_ s: String) -> Bool {
        s.unicodeScalars.allSatisfy { c in
            c.isASCII && (c.properties.isAlphabetic || ("0"..."9").contains(c) || "-._+/*".unicodeScalars.contains(c))
        }
    }

    /// Options that take two arguments.
    static let twoArgumentOptions: Set<String> = ["tcp-flags"]

    static let protocols: [String: Int] = [
        "all": 0, "ip": 0, "icmp": 1, "igmp": 2, "ipencap": 4, "tcp": 6, "egp": 8, "udp": 17, "dccp": 33,
        "ipv6": 41, "ipv6-route": 43, "ipv6-frag": 44, "rsvp": 46, "gre": 47, "esp": 50, "ah": 51,
        "icmpv6": 58, "ipv6-icmp": 58, "ipv6-nonxt": 59, "ipv6-opts": 60, "eigrp": 88, "ospf": 89, "ipip": 94,
        "etherip": 97, "encap": 98, "pim": 103, "ipcomp": 108, "vrrp": 112, "l2tp": 115, "sctp": 132,
        "mobility-header": 135, "ipv6-mh": 135, "mh": 135, "udplite": 136,
    ]
    /// Protocols whose match `-p` loads for options like `--dport`.
    static let protocolMatches: [String: String] = [
        "tcp": "tcp", "6": "tcp", "udp": "udp", "17": "udp", "icmp": "icmp", "1": "icmp",
        "icmpv6": "icmp6", "ipv6-icmp": "icmp6", "58": "icmp6", "sctp": "sctp", "132": "sctp", "dccp": "dccp",
        "33": "dccp", "esp": "esp", "50": "esp", "ah": "ah", "51": "ah",
    ]
}

// MARK: - One command line

/// Parses one command line as do_command4 and do_parse would, for the
/// commands a restore file holds. Tracks the user chains of the table.
struct CommandContext {
    var table: String
    var builtins: [String]
    var chains: Set<String>
    var family: IptablesFamily
    var source: SourceLine
    var program: String

    /// `.success(nil)` for a line the restore ignores (`-6` in an IPv4 file).
    mutating func parse(_ argv: [String]) -> Result<IptablesCommand?, ParseFailure> {
        var command: String? = nil
        var chain: String? = nil
        var ruleNumber: Int? = nil
        var extra: String? = nil
        var rule = IptablesRule(chain: "", insertAt: nil, source: source, proto: nil, inInterface: nil,
                                outInterface: nil, sourceAddress: nil, destinationAddress: nil, fragmentNegated: nil,
                                matches: [], target: nil)
        var invert = false
        var seen: UInt8 = 0
        var protoUsed = false
        var jumpSeen = false
        var i = 0
        let prog = program

        func tryHelp(_ message: String) -> Result<IptablesCommand?, ParseFailure> {
            .failure(ParseFailure("\(prog) v1.8.9 (legacy): \(message)\nError occurred at line: \(source.location.line)"))
        }
        func value() -> String? {
            guard i + 1 < argv.count else { return nil }
            i += 1
            return argv[i]
        }
        func hasArg() -> Bool { i + 1 < argv.count && !argv[i + 1].hasPrefix("-") && !argv[i + 1].hasPrefix("!") }
        func setCommand(_ c: String) -> String? {
            if let command { return "Cannot use -\(c) with -\(command)" }
            command = c
            return nil
        }
        func once(_ flag: String) -> String? {
            let bit: UInt8 = switch flag { case "p": 1; case "s": 2; case "d": 4; case "i": 8; case "o": 16; default: 32 }
            if seen & bit != 0 { return "multiple -\(flag) flags not allowed" }
            seen |= bit
            return nil
        }

        while i < argv.count {
            let arg = argv[i]
            if arg == "!" {
                if invert { return tryHelp("multiple consecutive ! not allowed") }
                invert = true
                i += 1
                continue
            }
            let (name, inline) = Self.splitLong(arg)
            // Match and target options (`--dport`) skip the comparisons with every command and generic option.
            switch name.hasPrefix("--") && !Self.genericLong.contains(name) ? "" : name {
            case "-A", "--append", "-I", "--insert", "-D", "--delete", "-R", "--replace", "-C", "--check",
                 "-N", "--new-chain", "-X", "--delete-chain", "-F", "--flush", "-Z", "--zero", "-P", "--policy",
                 "-E", "--rename-chain", "-L", "--list", "-S", "--list-rules":
                let letter = Self.commandLetter(name)
                if invert { return tryHelp("unexpected ! flag before -\(letter)") }
                if let e = setCommand(letter) { return tryHelp(e) }
                let optionalChain = ["F", "X", "Z", "L", "S"].contains(letter)
                if let inline { chain = inline }
                else if optionalChain { if hasArg() { chain = value() } }
                else {
                    guard let c = value() else { return tryHelp("option \"\(arg)\" requires an argument") }
                    chain = c
                }
                switch letter {
                case "I", "D", "Z", "L", "S":
                    if hasArg() {
                        guard let n = Int(argv[i + 1]), n >= 1 else { return tryHelp("Invalid rule number `\(argv[i + 1])'") }
                        ruleNumber = n
                        i += 1
                    }
                case "R":
                    guard hasArg(), let n = Int(argv[i + 1]), n >= 1 else { return tryHelp("-R requires a rule number") }
                    ruleNumber = n
                    i += 1
                case "P":
                    guard hasArg() else { return tryHelp("-P requires a chain and a policy") }
                    extra = value()
                case "E":
                    guard hasArg() else { return tryHelp("-E requires old-chain-name and new-chain-name") }
                    extra = value()
                default: break
                }
                i += 1
                continue
            case "-t", "--table":
                return tryHelp("The -t option cannot be used in \(prog).\n")
            case "-4", "--ipv4":
                if family == .ipv6 { return .success(nil) }
                i += 1
                continue
            case "-6", "--ipv6":
                if family == .ipv4 { return .success(nil) }
                i += 1
                continue
            case "-p", "--protocol":
                if let e = once("p") { return tryHelp(e) }
                guard let v = inline ?? value() else { return tryHelp("option \"\(arg)\" requires an argument") }
                let p = v.lowercased()
                if let number = Int(p) {
                    guard number >= 0 && number <= 255 else { return tryHelp("unknown protocol \"\(v)\" specified") }
                    if number == 0 && invert { return tryHelp("rule would never match protocol") }
                } else if IptablesExtensions.protocols[p] == nil {
                    // The restoring host's /etc/protocols decides; we do not know it.
                    rule.proto = Negatable(p, negated: invert)
                    invert = false
                    i += 1
                    continue
                } else if IptablesExtensions.protocols[p] == 0 && invert {
                    return tryHelp("rule would never match protocol")
                }
                rule.proto = Negatable(p, negated: invert)
            case "-s", "--source", "--src", "-d", "--destination", "--dst":
                let letter = name.hasPrefix("-s") || name.hasPrefix("--s") ? "s" : "d"
                if let e = once(letter) { return tryHelp(e) }
                guard let v = inline ?? value() else { return tryHelp("option \"\(arg)\" requires an argument") }
                if letter == "s" { rule.sourceAddress = Negatable(v, negated: invert) }
                else { rule.destinationAddress = Negatable(v, negated: invert) }
            case "-i", "--in-interface", "-o", "--out-interface":
                let letter = name == "-i" || name == "--in-interface" ? "i" : "o"
                if let e = once(letter) { return tryHelp(e) }
                guard let v = inline ?? value() else { return tryHelp("option \"\(arg)\" requires an argument") }
                if v.isEmpty { return tryHelp("Empty interface is likely to be undesired") }
                if v.utf8.count > 15 { return tryHelp("interface name `\(v)' must be shorter than IFNAMSIZ (15)") }
                if letter == "i" { rule.inInterface = Negatable(v, negated: invert) }
                else { rule.outInterface = Negatable(v, negated: invert) }
            case "-f", "--fragment":
                if family == .ipv6 { return tryHelp("`-f' is not supported in IPv6, use -m frag instead") }
                if let e = once("f") { return tryHelp(e) }
                rule.fragmentNegated = invert
            case "-j", "--jump", "-g", "--goto":
                if jumpSeen { return tryHelp("multiple -j flags not allowed") }
                jumpSeen = true
                guard let v = inline ?? value() else { return tryHelp("option \"\(arg)\" requires an argument") }
                let isGoto = name == "-g" || name == "--goto"
                if ["ACCEPT", "DROP", "RETURN", "QUEUE"].contains(v) && !isGoto {
                    rule.target = .standard(v)
                } else if !isGoto && IptablesExtensions.isTarget(v, family) {
                    rule.target = .extensionTarget(v, [])
                } else {
                    rule.target = .chain(v, goto: isGoto)
                }
            case "-m", "--match":
                if invert { return tryHelp("unexpected ! flag before --match") }
                guard let v = inline ?? value() else { return tryHelp("option \"\(arg)\" requires an argument") }
                guard let m = IptablesExtensions.matchName(v, family) else {
                    return .failure(ParseFailure("\(prog) v1.8.9 (legacy): Couldn't load match `\(v)':No such file or directory\n\nError occurred at line: \(source.location.line)"))
                }
                rule.matches.append(IptablesMatch(name: m, options: [], implicit: false))
            case "-c", "--set-counters":
                guard hasArg() else { return tryHelp("-c requires packet and byte counter") }
                i += 1
                if !argv[i].contains(","), hasArg() { i += 1 }
            case "-v", "--verbose", "-n", "--numeric", "-x", "--exact", "--line-numbers":
                break
            case "-w", "--wait":
                return tryHelp("You cannot use `-w' from \(prog)")
            case "-W", "--wait-interval":
                return tryHelp("You cannot use `-W' from \(prog)")
            default:
                if !arg.hasPrefix("-") || arg == "-" {
                    return .failure(ParseFailure("Bad argument `\(arg)'\nError occurred at line: \(source.location.line)"))
                }
                guard arg.hasPrefix("--") else { return tryHelp("unknown option \"\(arg)\"") }
                let option = String(name.dropFirst(2))
                // A target option, when the target is an extension that takes it.
                if case .extensionTarget(let t, var opts)? = rule.target, let known = IptablesExtensions.options[t],
                   let takesArg = known[option] {
                    var values: [String] = []
                    if let inline { values = [inline] } else if takesArg {
                        guard let v = value() else { return tryHelp("option \"\(arg)\" requires an argument") }
                        values = [v]
                    }
                    opts.append(IptablesOption(name: option, values: values, negated: invert))
                    rule.target = .extensionTarget(t, opts)
                    break
                }
                if case .extensionTarget(let t, var opts)? = rule.target, IptablesExtensions.options[t] == nil {
                    // A target whose options we do not list: keep its values.
                    var values: [String] = inline.map { [$0] } ?? []
                    while inline == nil && i + 1 < argv.count && !argv[i + 1].hasPrefix("-") && argv[i + 1] != "!" {
                        i += 1
                        values.append(argv[i])
                    }
                    opts.append(IptablesOption(name: option, values: values, negated: invert))
                    rule.target = .extensionTarget(t, opts)
                    break
                }
                // A loaded match that owns the option, then the protocol match `-p`
                // loads on demand, then a loaded match whose options we do not list.
                var owner: Int? = rule.matches.lastIndex { IptablesExtensions.options[$0.name]?[option] != nil }
                var unknownOwner = false
                let protoMatch = rule.proto.flatMap { IptablesExtensions.protocolMatches[$0.value] }
                    .flatMap { IptablesExtensions.matchName($0, family) }
                if owner == nil, !protoUsed, let pm = protoMatch, IptablesExtensions.options[pm]?[option] != nil {
                    protoUsed = true
                    rule.matches.append(IptablesMatch(name: pm, options: [], implicit: true))
                    owner = rule.matches.count - 1
                }
                if owner == nil, let k = rule.matches.lastIndex(where: { IptablesExtensions.options[$0.name] == nil }) {
                    owner = k
                    unknownOwner = true
                }
                if owner == nil, !protoUsed, let pm = protoMatch, IptablesExtensions.options[pm] == nil {
                    protoUsed = true
                    rule.matches.append(IptablesMatch(name: pm, options: [], implicit: true))
                    owner = rule.matches.count - 1
                    unknownOwner = true
                }
                guard let k = owner else { return tryHelp("unknown option \"\(arg)\"") }
                var values: [String] = []
                if let inline { values = [inline] }
                else if unknownOwner {
                    while i + 1 < argv.count && !argv[i + 1].hasPrefix("-") && argv[i + 1] != "!" {
                        i += 1
                        values.append(argv[i])
                    }
                } else if IptablesExtensions.options[rule.matches[k].name]?[option] == true {
                    guard let v = value() else { return tryHelp("option \"\(arg)\" requires an argument") }
                    values = [v]
                    // `--tcp-flags MASK COMP` takes two (libxt_tcp.c: the second is argv[optind++]).
                    if IptablesExtensions.twoArgumentOptions.contains(option) {
                        guard i + 1 < argv.count, !argv[i + 1].hasPrefix("-"), !argv[i + 1].hasPrefix("!") else {
                            return tryHelp("--\(option) requires two args.")
                        }
                        i += 1
                        values.append(argv[i])
                    }
                }
                if let problem = Self.checkOption(rule.matches[k].name, option, values, family) {
                    return tryHelp(problem)
                }
                rule.matches[k].options.append(IptablesOption(name: option, values: values, negated: invert))
            }
            invert = false
            i += 1
        }
        if invert { return tryHelp("no argument following `!'") }

        guard let command else {
            return tryHelp("no command specified")
        }
        if table == "nat", case .standard("DROP")? = rule.target {
            return tryHelp("\nThe \"nat\" table is not intended for filtering, the use of DROP is therefore inhibited.\n\n")
        }
        if let problem = finalChecks(rule) { return tryHelp(problem) }

        switch command {
        case "A", "I":
            guard let chain else { return tryHelp("no chain specified") }
            guard builtins.contains(chain) || chains.contains(chain) else {
                return .failure(ParseFailure("\(prog): line \(source.location.line) failed"))
            }
            if ["PREROUTING", "INPUT"].contains(chain), rule.outInterface != nil {
                return tryHelp("Can't use -o with \(chain)\n")
            }
            if ["POSTROUTING", "OUTPUT"].contains(chain), rule.inInterface != nil {
                return tryHelp("Can't use -i with \(chain)\n")
            }
            if case .chain(let target, let isGoto)? = rule.target {
                if isGoto && !chains.contains(target) {
                    return tryHelp("goto '\(target)' is not a chain\n")
                }
                guard chains.contains(target) else {
                    return .failure(ParseFailure("\(prog) v1.8.9 (legacy): Couldn't load target `\(target)':No such file or directory\n\nError occurred at line: \(source.location.line)"))
                }
            }
            rule.chain = chain
            rule.insertAt = command == "I" ? (ruleNumber ?? 1) : nil
            return .success(.rule(rule))
        case "N":
            guard let chain else { return tryHelp("no chain specified") }
            if builtins.contains(chain) || chains.contains(chain) || ["ACCEPT", "DROP", "QUEUE", "RETURN"].contains(chain) {
                return .failure(ParseFailure("\(prog): line \(source.location.line) failed"))
            }
            if chain.utf8.count >= 29 { return tryHelp("chain name `\(chain)' too long (must be under 29 chars)") }
            chains.insert(chain)
            return .success(.newChain(chain, source: source))
        case "P":
            guard let chain, let policy = extra else { return tryHelp("-P requires a chain and a policy") }
            guard builtins.contains(chain), policy == "ACCEPT" || policy == "DROP" else {
                return .failure(ParseFailure("\(prog): line \(source.location.line) failed"))
            }
            return .success(.setPolicy(chain: chain, policy: policy, source: source))
        case "F":
            if let chain, !builtins.contains(chain) && !chains.contains(chain) {
                return .failure(ParseFailure("\(prog): line \(source.location.line) failed"))
            }
            return .success(.flush(chain: chain, source: source))
        default:
            return .success(.unevaluated("`-\(command)` is accepted by \(prog), but its effect on the table is not evaluated.", source: source))
        }
    }

    /// Checks the final-call conditions of the matches we know.
    func finalChecks(_ rule: IptablesRule) -> String? {
        for m in rule.matches {
            switch m.name {
            case "multiport":
                let p = rule.proto?.value ?? ""
                if !["tcp", "udp", "udplite", "sctp", "dccp", "6", "17", "136", "132", "33"].contains(p) || rule.proto?.negated == true {
                    return "multiport needs `-p tcp', `-p udp', `-p udplite', `-p sctp' or `-p dccp'"
                }
                if m.options.isEmpty { return "multiport expection an option" }
            case "state":
                if m.options.isEmpty { return "You must specify \"--state\"" }
            case "conntrack":
                if m.options.isEmpty { return "You must specify one or more options" }
            case "comment":
                if m.options.isEmpty { return "comment: option \"--comment\" must be specified" }
            default: break
            }
        }
        return nil
    }

    /// Values the restore checks while parsing an option.
    static func checkOption(_ match: String, _ option: String, _ values: [String], _ family: IptablesFamily) -> String? {
        guard let v = values.first else { return nil }
        switch (match, option) {
        case ("tcp", "dport"), ("tcp", "sport"), ("tcp", "destination-port"), ("tcp", "source-port"),
             ("udp", "dport"), ("udp", "sport"), ("udp", "destination-port"), ("udp", "source-port"):
            for side in v.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false) {
                let s = String(side)
                if s.isEmpty && v.contains(":" as Character) { continue }
                // A name only the restoring host's /etc/services knows is not an error
                // we can be sure of; a word no services(5) entry can be (a template's
                // `<PLACEHOLDER>`, `${PORT}`) is.
                if PortSpec.number(s) == nil && (!s.contains(where: { $0.isLetter }) || !IptablesExtensions.couldBeServiceName(s)) {
                    return "invalid port/service `\(s)' specified"
                }
            }
        case ("multiport", _):
            let parts = v.split(separator: ",", omittingEmptySubsequences: false)
            var count = 0
            for p in parts {
                if p.isEmpty { return "invalid port/service `' specified" }
                count += p.contains(":" as Character) ? 2 : 1
                let first = p.split(separator: ":").first.map(String.init) ?? ""
                if PortSpec.number(first) == nil && (!first.contains(where: { $0.isLetter }) || !IptablesExtensions.couldBeServiceName(first)) {
                    return "invalid port/service `\(first)' specified"
                }
            }
            if count > 15 { return "too many ports specified" }
        case ("state", "state"), ("conntrack", "ctstate"):
            let allowed: Set<String> = option == "state"
                ? ["INVALID", "ESTABLISHED", "NEW", "RELATED", "UNTRACKED"]
                : ["INVALID", "ESTABLISHED", "NEW", "RELATED", "UNTRACKED", "SNAT", "DNAT"]
            // conntrack's parser takes any case-insensitive prefix of a state name.
            for s in v.split(separator: ",", omittingEmptySubsequences: false)
            where s.isEmpty || !allowed.contains(where: { $0.hasPrefix(s.uppercased()) }) {
                return option == "state" ? "Bad state \"\(s)\"" : "Bad ctstate \"\(s)\""
            }
        default:
            break
        }
        return nil
    }

    static let genericLong: Set<String> = [
        "--append", "--insert", "--delete", "--replace", "--check", "--new-chain", "--delete-chain", "--flush", "--zero",
        "--policy", "--rename-chain", "--list", "--list-rules", "--table", "--ipv4", "--ipv6", "--protocol", "--source",
        "--src", "--destination", "--dst", "--in-interface", "--out-interface", "--fragment", "--jump", "--goto",
        "--match", "--set-counters", "--verbose", "--numeric", "--exact", "--line-numbers", "--wait", "--wait-interval",
    ]

    /// `--dport=22` → (`--dport`, `22`).
    static func splitLong(_ arg: String) -> (String, String?) {
        guard arg.hasPrefix("--"), let eq = arg.firstIndex(of: "=") else { return (arg, nil) }
        return (String(arg[..<eq]), String(arg[arg.index(after: eq)...]))
    }

    static func commandLetter(_ name: String) -> String {
        switch name {
        case "--append": "A"
        case "--insert": "I"
        case "--delete": "D"
        case "--replace": "R"
        case "--check": "C"
        case "--new-chain": "N"
        case "--delete-chain": "X"
        case "--flush": "F"
        case "--zero": "Z"
        case "--policy": "P"
        case "--rename-chain": "E"
        case "--list": "L"
        case "--list-rules": "S"
        default: String(name.dropFirst())
        }
    }
}

struct ParseFailure: Error {
    var message: String
    init(_ message: String) { self.message = message }
}

// MARK: - Ports

/// Port numbers and ranges as iptables and nft write them.
public enum PortSpec {
    /// Service names that /etc/services gives every Debian and RHEL system.
    public static let services: [String: Int] = [
        "ftp-data": 20, "ftp": 21, "ssh": 22, "telnet": 23, "smtp": 25, "domain": 53, "bootps": 67, "bootpc": 68,
        "tftp": 69, "http": 80, "www": 80, "pop3": 110, "sunrpc": 111, "ntp": 123, "imap2": 143, "imap": 143,
        "snmp": 161, "ldap": 389, "https": 443, "submissions": 465, "smtps": 465, "syslog": 514,
        "submission": 587, "ldaps": 636, "imaps": 993, "pop3s": 995, "openvpn": 1194, "mysql": 3306,
        "postgresql": 5432, "http-alt": 8080,
    ]

    /// A port number or a known service name.
    public static func number(_ s: String) -> Int? {
        if let n = Int(s) { return (0...65535).contains(n) ? n : nil }
        return services[s.lowercased()]
    }

    /// `22`, `1000:2000`, `1024:`, `:1023` (iptables) or `1000-2000` (nft).
    public static func parseRange(_ s: String) -> ClosedRange<Int>? {
        let sep: Character = s.utf8.contains(UInt8(ascii: ":")) ? ":" : "-"
        guard s.utf8.contains(UInt8(ascii: sep == ":" ? ":" : "-")) else { return number(s).map { $0...$0 } }
        let parts = s.split(separator: sep, maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard parts.count == 2 else { return nil }
        let lo = parts[0].isEmpty ? 0 : number(parts[0])
        let hi = parts[1].isEmpty ? 65535 : number(parts[1])
        guard let lo, let hi else { return nil }
        return min(lo, hi)...max(lo, hi)
    }
}
