import Glibc
import Parsers
import TargetAccess

/// Where one service expects to listen, by its own configuration.
public struct Listener: Hashable, Sendable {
    /// The program: `sshd`, `postfix`, `amavisd`, `nginx`, `apache2`, `httpd`.
    public var service: String
    /// Which part of it, when it has several (`smtp`, `127.0.0.1:10025`, a server block).
    public var detail: String?
    /// The address as written (an IP address or a host name); nil means any address.
    public var address: String?
    /// nil when the configuration does not say and no default is known.
    public var port: Int?
    /// A condition the listener depends on that we do not evaluate (`IfModule ssl_module`).
    public var condition: String?
    /// The line that sets it (line 0 for a built-in default of that file).
    public var source: SourceLine
    /// The line the address comes from when another file sets it (postfix:
    /// the port is in master.cf, the address in main.cf's `inet_interfaces`).
    public var addressSource: SourceLine?

    public init(service: String, detail: String? = nil, address: String?, port: Int?, condition: String? = nil,
                source: SourceLine, addressSource: SourceLine? = nil) {
        self.service = service
        self.detail = detail
        self.address = address
        self.port = port
        self.condition = condition
        self.source = source
        self.addressSource = addressSource
    }
}

/// The addresses and ports the target's network services are configured to
/// listen on, read offline from their configuration files, and the hosts
/// file that resolves the names they use. Rules compare these with the
/// addresses the network configuration will bring up.
public struct ServiceListeners: Sendable {
    public var listeners: [Listener] = []
    /// sshd's effective `Port` values; `22` (line 0 of sshd_config) when none is set.
    public var sshPorts: [Located<Int>] = []
    /// `AddressFamily` of sshd (first value wins), when set.
    public var sshAddressFamily: Located<String>?
    /// Port and ListenAddress lines sshd reads inside Match blocks. sshd
    /// refuses such a configuration, so they are also diagnostics.
    public var sshIgnoredInMatch: [SourceLine] = []
    public var hosts: [HostsEntry] = []
    /// Every file read.
    public var files: [String] = []
    public var diagnostics: [Diagnostic] = []

    public init() {}

    /// sshd_config's own problems are left out: sshd-config-invalid reports
    /// them, graded by what sshd does with them.
    public var configDiagnostics: [ConfigDiagnostic] {
        diagnostics.filter { !$0.location.path.hasPrefix("/etc/ssh/") }
            .map { ConfigDiagnostic($0, format: "service configuration", impact: .tolerated) }
    }

    /// The listeners of one service.
    public func listeners(of service: String) -> [Listener] { listeners.filter { $0.service == service } }

    /// The addresses a name resolves to through /etc/hosts, in file order; an
    /// IP address resolves to itself. Empty when the hosts file does not
    /// know the name (DNS may, but not at boot before the network is up).
    public func resolve(_ name: String) -> [String] {
        if IPText.isIP(name) { return [name] }
        let lower = name.lowercased()
        return hosts.filter { $0.names.contains { $0.lowercased() == lower } }.map(\.address)
    }

    // MARK: - Loading

    /// `sshdConfig`: sshd_config with its Includes expanded, as the sshd
    /// model reads it (loaded here when not given).
    public static func load(_ root: TargetRoot, sshdConfig: SshdConfigModel? = nil) -> ServiceListeners {
        var model = ServiceListeners()
        model.loadHosts(root)
        model.loadSshd(sshdConfig ?? SshdConfigModel.load(root))
        model.loadPostfix(root)
        model.loadAmavis(root)
        model.loadNginx(root)
        model.loadApache(root)
        return model
    }

    private mutating func read(_ root: TargetRoot, _ path: String) -> [UInt8]? {
        guard let bytes = root.bytes(path) else { return nil }
        files.append(path)
        return bytes
    }

    /// An included file, read within `budget`: nil, with a diagnostic at the
    /// include line, for a file that includes itself (every one of these
    /// servers stops at a nesting limit, so it refuses the configuration)
    /// and once the budget is spent (the audit cannot tell what follows).
    private mutating func readIncluded(_ root: TargetRoot, _ path: String, at include: SourceLine, service: String,
                                       budget: inout ExpansionBudget) -> [UInt8]? {
        if budget.isCycle(path) {
            diagnostics.append(Diagnostic(include.location, text: include.text,
                message: "\(budget.cycleMessage(path)): \(service) refuses to start with this configuration (nested includes past its limit)."))
            return nil
        }
        guard !budget.exhausted, let bytes = root.bytes(path) else { return nil }
        guard budget.take(bytes: bytes.count) else {
            diagnostics.append(Diagnostic(include.location, text: include.text, message: "\(service): " + budget.exhaustedMessage + "."))
            return nil
        }
        files.append(path)
        return bytes
    }

    private mutating func loadHosts(_ root: TargetRoot) {
        guard let bytes = read(root, "/etc/hosts") else { return }
        let parsed = HostsParser.parse(bytes, path: "/etc/hosts")
        hosts = parsed.entries
        diagnostics += parsed.diagnostics
    }

    // MARK: sshd

    /// Ports, addresses and address family from sshd_config as the sshd
    /// model expanded it (Includes in place, Match blocks marked).
    private mutating func loadSshd(_ config: SshdConfigModel) {
        guard config.exists else { return }
        let main = config.mainPath
        files += config.files
        let directives = config.directives
        var ports: [Located<Int>] = []
        var addresses: [(ListenSpec, SourceLine)] = []
        for d in directives {
            switch d.keyword {
            case "port", "listenaddress":
                // `Match all` keeps them global: sshd -t accepts Port after it.
                if d.inConditionalMatch {
                    // servconf.c: "Directive 'Port' is not allowed within a Match block", a fatal error.
                    sshIgnoredInMatch.append(d.source)
                    diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                        message: "\(d.keyword == "port" ? "Port" : "ListenAddress") is not allowed inside a Match block: sshd refuses to start with this configuration."))
                    continue
                }
                guard let arg = d.arguments.first else {
                    diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                        message: "Missing argument: sshd refuses to start with this configuration."))
                    continue
                }
                if d.keyword == "port" {
                    guard let port = SshdConfigParser.port(arg) else {
                        diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                            message: "Bad port number '\(arg)': sshd refuses to start with this configuration."))
                        continue
                    }
                    ports.append(Located(port, d.source))
                } else {
                    guard let spec = SshdConfigParser.listenAddress(arg) else {
                        diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                            message: "Bad ListenAddress '\(arg)': sshd refuses to start with this configuration."))
                        continue
                    }
                    addresses.append((spec, d.source))
                }
            case "addressfamily":
                // sshd keeps the first value of most keywords.
                if sshAddressFamily == nil, !d.inMatch, let arg = d.arguments.first {
                    sshAddressFamily = Located(arg.lowercased(), d.source)
                }
            default:
                break
            }
        }
        // Without Port, sshd uses 22 (SSH_DEFAULT_PORT); ports from every
        // Port line accumulate, as do ListenAddress lines.
        if ports.isEmpty { ports = [Located(22, SourceLine(path: main, line: 0, text: ""))] }
        sshPorts = ports
        if addresses.isEmpty {
            for p in ports { listeners.append(Listener(service: "sshd", address: nil, port: p.value, source: p.source)) }
        }
        for (spec, source) in addresses {
            if let port = spec.port {
                // A ListenAddress with its own port ignores the Port lines.
                listeners.append(Listener(service: "sshd", address: spec.host, port: port, source: source))
            } else {
                for p in ports { listeners.append(Listener(service: "sshd", address: spec.host, port: p.value, source: source)) }
            }
        }
    }

    // MARK: postfix

    private mutating func loadPostfix(_ root: TargetRoot) {
        let mainPath = "/etc/postfix/main.cf", masterPath = "/etc/postfix/master.cf"
        guard let mainBytes = read(root, mainPath) else { return }
        let main = PostfixParser.parseMain(mainBytes, path: mainPath)
        diagnostics += main.diagnostics
        var params: [String: String] = [:]
        var sources: [String: SourceLine] = [:]
        for p in main.parameters {
            params[p.name] = p.value
            sources[p.name] = p.source
        }
        // postfix's default is `all`.
        let interfacesSource = sources["inet_interfaces"] ?? SourceLine(path: mainPath, line: 0, text: "")
        var interfaces: [String?] = [nil]
        if let value = params["inet_interfaces"], PostfixParser.expand(value, params) == nil {
            diagnostics.append(Diagnostic(interfacesSource.location, text: interfacesSource.text,
                message: "inet_interfaces nests $macros more than \(PostfixParser.maxDepth) deep (a macro that names itself: postfix stops with \"unreasonable macro call nesting\") or expands past \(PostfixParser.maxLength / 1024) KiB; the audit cannot tell where postfix listens."))
            return
        }
        if let value = params["inet_interfaces"], let expanded = PostfixParser.expand(value, params),
           let words = PostfixParser.inetInterfaces(expanded) {
            interfaces = words.flatMap { w -> [String?] in
                switch w.lowercased() {
                case "loopback-only": ["127.0.0.1", "::1"]
                default: [w.hasPrefix("[") && w.hasSuffix("]") ? String(w.dropFirst().dropLast()) : w]
                }
            }
        }
        guard let masterBytes = read(root, masterPath) else {
            // Without master.cf postfix does not start at all; smtp on 25 is what it would have served.
            return
        }
        let master = PostfixParser.parseMaster(masterBytes, path: masterPath)
        diagnostics += master.diagnostics
        for service in master.services {
            guard let spec = service.listen else { continue }
            let detail = service.service
            if let host = spec.host {
                listeners.append(Listener(service: "postfix", detail: detail, address: host, port: spec.port, source: service.source))
            } else {
                for address in interfaces {
                    // The address comes from main.cf's inet_interfaces; the port from master.cf.
                    listeners.append(Listener(service: "postfix", detail: detail, address: address, port: spec.port,
                                              source: service.source, addressSource: interfacesSource))
                }
            }
        }
    }

    // MARK: amavisd

    /// Debian reads /etc/amavis/conf.d/* in name order; RHEL reads one
    /// file. Perl assignments: the last one wins. amavisd-new's own defaults
    /// (its `$inet_socket_port` 10024 bound to `127.0.0.1`, as every
    /// distribution ships it) apply when the configuration does not set them.
    private mutating func loadAmavis(_ root: TargetRoot) {
        var paths: [String] = []
        if let entries = root.listFollowing("/etc/amavis/conf.d") {
            // amavisd-new's Debian wrapper skips editor backups and dpkg leftovers.
            paths = entries.map(\.name).filter { !$0.hasSuffix("~") && !$0.contains(".dpkg-") && !$0.hasPrefix(".") }
                .map { "/etc/amavis/conf.d/" + $0 }
        } else {
            paths = ["/etc/amavisd.conf", "/etc/amavisd/amavisd.conf"].filter { root.isRegularFile($0) }
        }
        guard !paths.isEmpty else { return }
        var bind: AmavisAssignment?
        var port: AmavisAssignment?
        for path in paths {
            guard let bytes = read(root, path) else { continue }
            let parsed = AmavisConfigParser.parse(bytes, path: path)
            diagnostics += parsed.diagnostics
            for a in parsed.assignments {
                if a.name == "inet_socket_bind" { bind = a } else { port = a }
            }
        }
        let defaultSource = SourceLine(path: paths[0], line: 0, text: "")
        let ports: [(Int?, SourceLine)]
        if let port {
            ports = port.values.map { (SshdConfigParser.port($0), port.source) }
            for v in port.values where SshdConfigParser.port(v) == nil {
                diagnostics.append(Diagnostic(port.source.location, text: port.source.text,
                    message: "'\(v)' is not a TCP port: amavisd cannot listen on it."))
            }
        } else {
            ports = [(10024, defaultSource)]
        }
        // `undef` (no values) binds every address.
        let addresses: [String?] = bind.map { $0.values.isEmpty ? [nil] : $0.values.map { Self.unbracket($0) } } ?? ["127.0.0.1"]
        for (p, source) in ports where p != nil {
            for a in addresses {
                // The port's line is the evidence: it is what a rule compares with the MTA's content_filter.
                listeners.append(Listener(service: "amavisd", address: a, port: p, source: source, addressSource: bind?.source))
            }
        }
    }

    static func unbracket(_ s: String) -> String {
        s.hasPrefix("[") && s.hasSuffix("]") ? String(s.dropFirst().dropLast()) : s
    }

    // MARK: nginx

    private mutating func loadNginx(_ root: TargetRoot) {
        let main = "/etc/nginx/nginx.conf"
        guard let bytes = read(root, main) else { return }
        var directives: [NginxDirective] = []
        var servers: [NginxServerBlock] = []
        var nextBlock = 0
        var budget = ExpansionBudget()
        budget.enter(main)
        collectNginx(root, bytes, path: main, context: [], depth: 0, budget: &budget, nextBlock: &nextBlock, directives: &directives, servers: &servers)
        var withListen: Set<Int> = []
        for d in directives where d.name == "listen" {
            guard let arg = d.arguments.first else {
                diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                    message: "listen without an address: nginx refuses the configuration."))
                continue
            }
            if let block = d.block { withListen.insert(block) }
            guard let parsed = NginxConfigParser.listen(arg) else {
                diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                    message: "Bad listen address '\(arg)': nginx refuses the configuration."))
                continue
            }
            guard let spec = parsed else { continue } // a unix: socket
            listeners.append(Listener(service: "nginx", detail: d.context.joined(separator: " "),
                                      address: spec.host, port: spec.port, source: d.source))
        }
        // An http server block without listen gets *:80 (nginx runs as root here).
        for s in servers where s.context.last == "http" && !withListen.contains(s.block) {
            listeners.append(Listener(service: "nginx", detail: "http server", address: nil, port: 80, source: s.source))
        }
    }

    private mutating func collectNginx(_ root: TargetRoot, _ bytes: [UInt8], path: String, context: [String], depth: Int,
                                       budget: inout ExpansionBudget, nextBlock: inout Int, directives: inout [NginxDirective], servers: inout [NginxServerBlock]) {
        let file = NginxConfigParser.parse(bytes, path: path, context: context, firstBlock: nextBlock)
        nextBlock += file.servers.count
        diagnostics += file.diagnostics
        servers += file.servers
        for d in file.directives {
            guard d.name == "include" else { directives.append(d); continue }
            guard depth < 16, let pattern = d.arguments.first else { continue }
            let absolute = pattern.hasPrefix("/") ? pattern : "/etc/nginx/" + pattern
            let matches = root.glob(absolute)
            if matches.isEmpty && !absolute.contains(where: { "*?[".contains($0) }) {
                diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                    message: "Include of a missing file: nginx refuses the configuration."))
            }
            for included in matches {
                guard let b = readIncluded(root, included, at: d.source, service: "nginx", budget: &budget) else { continue }
                // An included file's directives sit where the include is; a
                // server block opened in it belongs to that file alone, but a
                // listen in a file included inside a server block is that server's.
                let before = directives.count
                budget.enter(included)
                defer { budget.leave() }
                collectNginx(root, b, path: included, context: d.context, depth: depth + 1, budget: &budget,
                             nextBlock: &nextBlock, directives: &directives, servers: &servers)
                if let block = d.block {
                    for k in before..<directives.count where directives[k].block == nil { directives[k].block = block }
                }
            }
        }
    }

    // MARK: Apache httpd

    /// Debian: /etc/apache2/apache2.conf (which includes ports.conf); RHEL:
    /// /etc/httpd/conf/httpd.conf (which includes conf.d/*.conf). Relative
    /// includes are under ServerRoot. Sections (`IfModule`, `IfDefine`) are
    /// not evaluated; a Listen inside one carries it as its condition.
    private mutating func loadApache(_ root: TargetRoot) {
        let candidates: [(service: String, serverRoot: String, main: String)] = [
            ("apache2", "/etc/apache2", "/etc/apache2/apache2.conf"),
            ("httpd", "/etc/httpd", "/etc/httpd/conf/httpd.conf"),
        ]
        for c in candidates {
            var main = c.main
            if !root.isRegularFile(main) {
                // A Debian system with only ports.conf left is still worth reading.
                guard c.service == "apache2", root.isRegularFile("/etc/apache2/ports.conf") else { continue }
                main = "/etc/apache2/ports.conf"
            }
            guard let bytes = read(root, main) else { continue }
            var directives: [ApacheDirective] = []
            var serverRoot = c.serverRoot
            var budget = ExpansionBudget()
            budget.enter(main)
            collectApache(root, bytes, path: main, service: c.service, sections: [], serverRoot: &serverRoot, depth: 0, budget: &budget, into: &directives)
            for d in directives where d.name.lowercased() == "listen" {
                guard let arg = d.arguments.first, let spec = ApacheConfigParser.listen(arg) else {
                    diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                        message: "Bad Listen directive: \(c.service) refuses to start with this configuration."))
                    continue
                }
                listeners.append(Listener(service: c.service, detail: d.arguments.count > 1 ? d.arguments[1] : nil,
                                          address: spec.host, port: spec.port,
                                          condition: d.sections.isEmpty ? nil : d.sections.joined(separator: ", "),
                                          source: d.source))
            }
        }
    }

    private mutating func collectApache(_ root: TargetRoot, _ bytes: [UInt8], path: String, service: String, sections: [String],
                                        serverRoot: inout String, depth: Int, budget: inout ExpansionBudget, into out: inout [ApacheDirective]) {
        let parsed = ApacheConfigParser.parse(bytes, path: path)
        diagnostics += parsed.diagnostics
        for var d in parsed.directives {
            d.sections = sections + d.sections
            let name = d.name.lowercased()
            if name == "serverroot", let arg = d.arguments.first { serverRoot = arg; continue }
            guard name == "include" || name == "includeoptional" else { out.append(d); continue }
            guard depth < 16, let pattern = d.arguments.first else { continue }
            let absolute = pattern.hasPrefix("/") ? pattern : serverRoot + "/" + pattern
            var matches = root.glob(absolute)
            // Include of a directory reads every file in it.
            if matches.count == 1, let only = matches.first, root.stat(only)?.kind == .directory {
                matches = (root.listFollowing(only) ?? []).map { only + "/" + $0.name }
            }
            if matches.isEmpty && name == "include" && !absolute.contains(where: { "*?[".contains($0) }) {
                diagnostics.append(Diagnostic(d.source.location, text: d.source.text,
                    message: "Include of a missing file: httpd refuses to start with this configuration."))
            }
            for included in matches {
                guard let b = readIncluded(root, included, at: d.source, service: service, budget: &budget) else { continue }
                budget.enter(included)
                collectApache(root, b, path: included, service: service, sections: d.sections, serverRoot: &serverRoot, depth: depth + 1, budget: &budget, into: &out)
                budget.leave()
            }
        }
    }
}
