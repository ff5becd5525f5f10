import Parsers
import TargetAccess

extension SSHDModel {
    /// Where sshd listens: with socket activation (`ssh.socket`, Ubuntu
    /// 22.10 and later) systemd binds `ListenStream=` and sshd's `Port` is
    /// ignored, unless Ubuntu's sshd-socket-generator (24.04) is present,
    /// which writes `ListenStream=` from sshd_config's Port and
    /// ListenAddress at every boot.
    mutating func evaluateListen(_ root: TargetRoot, _ ctx: SSHDContext) -> (BootLink, [Located<Int>], [Located<String>]) {
        var ports: [Located<Int>] = []
        var listen: [(host: String?, port: Int, source: SourceLine)] = []
        var how = ""
        if socketActivated, ctx.units.generator("sshd-socket-generator") == nil,
           let socket = startedBy, let (_, unit) = Self.unitWithDropIns(root, ctx.units, socket) {
            how = " (socket activation: \(socket) ListenStream= decides, Port in sshd_config is ignored)"
            for e in unit.values("Socket", "ListenStream") {
                guard let spec = Self.listenStream(e.value) else { continue }
                listen.append((spec.host, spec.port ?? 22, e.source))
            }
            if listen.isEmpty {
                return (BootLink(.listens, .broken, "\(socket) has no TCP ListenStream=: nothing listens for SSH",
                                 evidence: [SourceLine(path: unit.path, line: 0, text: "")]), [], [])
            }
        } else {
            let main = config.mainPath
            var portLines = config.globalAll("port").compactMap { d -> Located<Int>? in
                guard let a = d.arguments.first else { return nil }
                return Located(SshdConfigParser.port(a) ?? (a == "ssh" ? 22 : 0), d.source)
            }.filter { $0.value > 0 }
            if portLines.isEmpty { portLines = [Located(22, SourceLine(path: main, line: 0, text: ""))] }
            let addressLines = config.globalAll("listenaddress")
            if addressLines.isEmpty {
                listen = portLines.map { (nil, $0.value, $0.source) }
            }
            for d in addressLines {
                guard let a = d.arguments.first, let spec = SshdConfigParser.listenAddress(a) else { continue }
                if let p = spec.port { listen.append((spec.host, p, d.source)) }
                else { listen += portLines.map { (spec.host, $0.value, d.source) } }
            }
        }
        for l in listen where !ports.contains(where: { $0.value == l.port }) {
            ports.append(Located(l.port, l.source))
        }
        var addresses: [Located<String>] = []
        for l in listen { if let h = l.host, !addresses.contains(where: { $0.value == h }) { addresses.append(Located(h, l.source)) } }
        let portText = ports.map { String($0.value) }.joined(separator: ", ")
        let specific = listen.filter { $0.host != nil && !($0.host.flatMap(IPAddress.init)?.isUnspecified ?? false) && $0.host != "*" }
        guard !specific.isEmpty, specific.count == listen.count else {
            return (BootLink(.listens, .holds, "listens on every address, port \(portText)\(how)", evidence: ports.map(\.source)), ports, addresses)
        }
        var present: [String] = [], missing: [String] = [], unsure: [String] = []
        var evidence: [SourceLine] = []
        let configured = ctx.claims.flatMap { c in c.addresses.map { (c, $0) } }
        for l in specific {
            guard let host = l.host else { continue }
            let ips = ctx.listeners.resolve(host).compactMap(IPAddress.init)
            if ips.isEmpty { unsure.append("\(host), a name /etc/hosts does not resolve, if DNS at boot gives an address this machine has"); continue }
            var found = false
            for ip in ips {
                if ip.isLoopback || ip.isUnspecified { found = true; break }
                if let hit = configured.first(where: { IPAddress($0.1.address) == ip }) {
                    found = true
                    evidence.append(hit.1.source)
                    break
                }
            }
            if found { present.append("\(host):\(l.port)"); continue }
            let leasing = ctx.claims.filter { ips.first?.isV6 == true ? $0.dhcp6 : $0.dhcp4 }
            if !leasing.isEmpty {
                let names = Set(leasing.compactMap(\.name)).sorted()
                unsure.append("\(host), if the DHCP server leases that address to \(names.isEmpty ? "a DHCP interface" : names.joined(separator: " or "))")
            } else { missing.append(host) }
            evidence.append(l.source)
        }
        if !present.isEmpty {
            let note = missing.isEmpty ? "" : "; \(missing.joined(separator: ", ")) is not configured at boot and is skipped"
            return (BootLink(.listens, .holds, "listens on \(present.joined(separator: ", "))\(how)\(note)", evidence: specific.map(\.source) + evidence), ports, addresses)
        }
        if !unsure.isEmpty {
            return (BootLink(.listens, .cannotTell, "sshd listens only on addresses no persisted configuration assigns; it can bind \(unsure.joined(separator: "; or "))",
                             evidence: specific.map(\.source)), ports, addresses)
        }
        return (BootLink(.listens, .broken,
                         "no persisted network configuration gives any interface \(missing.joined(separator: " or ")): sshd cannot bind any address and exits",
                         evidence: specific.map(\.source)), ports, addresses)
    }

    /// A `ListenStream=` value: a port, `addr:port`, `[v6]:port`; nil for
    /// UNIX sockets, abstract sockets, vsock and netlink.
    static func listenStream(_ v: String) -> ListenSpec? {
        if v.hasPrefix("/") || v.hasPrefix("@") || v.hasPrefix("vsock:") { return nil }
        if let p = SshdConfigParser.port(v) { return ListenSpec(host: nil, port: p) }
        if v.hasPrefix("[") {
            guard let close = v.firstIndex(of: "]") else { return nil }
            let host = String(v[v.index(after: v.startIndex)..<close])
            let rest = v[v.index(after: close)...]
            guard rest.hasPrefix(":"), let p = SshdConfigParser.port(String(rest.dropFirst())) else { return nil }
            return ListenSpec(host: host, port: p)
        }
        guard let colon = v.lastIndex(of: ":"), let p = SshdConfigParser.port(String(v[v.index(after: colon)...])) else { return nil }
        return ListenSpec(host: String(v[..<colon]), port: p)
    }
}
