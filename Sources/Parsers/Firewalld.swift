/// firewalld's zone and service files: a small, tolerant XML reader (no
/// DTD, no namespaces: what firewalld's own files use) and the parts of the
/// zone and service formats that decide what a zone lets in. Pure.

/// An XML element with the line it starts on.
public struct XMLNode: Hashable, Sendable {
    public var name: String
    public var attributes: [String: String]
    public var line: Int
    public var children: [XMLNode]
    /// The line of the end tag (the start line for `<x/>`), and whether the end tag starts its line.
    public var endLine: Int
    public var endStartsLine: Bool
    public var selfClosing: Bool

    public func children(_ name: String) -> [XMLNode] { children.filter { $0.name == name } }
}

public enum MiniXML {
    /// The root element, or nil with a diagnostic that says where the file stops being XML.
    public static func parse(_ bytes: [UInt8], path: String) -> (root: XMLNode?, diagnostics: [Diagnostic]) {
        let lines = Text.lines(bytes)
        let b = bytes
        let n = b.count
        var i = 0
        var line = 1
        var lineHasContent = false
        var stack: [XMLNode] = []
        var root: XMLNode? = nil
        func text(_ l: Int) -> String { l >= 1 && l <= lines.count ? lines[l - 1] : "" }
        func fail(_ l: Int, _ message: String) -> (XMLNode?, [Diagnostic]) {
            (nil, [Diagnostic(SourceLocation(path: path, line: l), text: text(l), message: message)])
        }
        func advance(_ count: Int) {
            for k in 0..<count where i + k < n && b[i + k] == 0x0A { line += 1; lineHasContent = false }
            i += count
        }
        func hasPrefix(_ s: String) -> Bool {
            let u = Array(s.utf8)
            return i + u.count <= n && Array(b[i..<(i + u.count)]) == u
        }
        func skipUntil(_ s: String) -> Bool {
            while i < n {
                if hasPrefix(s) { advance(s.utf8.count); return true }
                advance(1)
            }
            return false
        }
        func isNameByte(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
                || c == 0x2E || c == 0x3A || c >= 0x80
        }
        func skipBlanks() {
            while i < n, b[i] == 0x20 || b[i] == 0x09 || b[i] == 0x0A || b[i] == 0x0D { advance(1) }
        }
        func name() -> String {
            let s = i
            while i < n && isNameByte(b[i]) { i += 1 }
            return Text.decode(b[s..<i])
        }

        while i < n {
            let c = b[i]
            if c == 0x0A { advance(1); continue }
            if c == 0x20 || c == 0x09 || c == 0x0D { i += 1; continue }
            guard c == UInt8(ascii: "<") else {
                // Character data: allowed inside elements only.
                if stack.isEmpty { return fail(line, "Text outside the root element: firewalld cannot read this file.") }
                lineHasContent = true
                i += 1
                continue
            }
            let startsLine = !lineHasContent
            lineHasContent = true
            let tagLine = line
            if hasPrefix("<!--") {
                guard skipUntil("-->") else { return fail(tagLine, "Unterminated comment: firewalld cannot read this file.") }
                continue
            }
            if hasPrefix("<?") {
                guard skipUntil("?>") else { return fail(tagLine, "Unterminated processing instruction: firewalld cannot read this file.") }
                continue
            }
            if hasPrefix("<![CDATA[") {
                guard skipUntil("]]>") else { return fail(tagLine, "Unterminated CDATA section: firewalld cannot read this file.") }
                continue
            }
            if hasPrefix("<!") {
                guard skipUntil(">") else { return fail(tagLine, "Unterminated declaration: firewalld cannot read this file.") }
                continue
            }
            if hasPrefix("</") {
                i += 2
                let nm = name()
                skipBlanks()
                guard i < n && b[i] == UInt8(ascii: ">") else { return fail(tagLine, "Malformed end tag </\(nm): firewalld cannot read this file.") }
                i += 1
                guard var open = stack.popLast(), open.name == nm else {
                    return fail(tagLine, "Mismatched end tag </\(nm)>: firewalld cannot read this file.")
                }
                open.endLine = tagLine
                open.endStartsLine = startsLine
                if stack.isEmpty { root = open } else { stack[stack.count - 1].children.append(open) }
                continue
            }
            i += 1
            let nm = name()
            guard !nm.isEmpty else { return fail(tagLine, "Malformed tag: firewalld cannot read this file.") }
            if stack.isEmpty && root != nil { return fail(tagLine, "A second root element <\(nm)>: firewalld cannot read this file.") }
            var attributes: [String: String] = [:]
            var selfClosing = false
            while true {
                skipBlanks()
                guard i < n else { return fail(tagLine, "Unterminated tag <\(nm)>: firewalld cannot read this file.") }
                if b[i] == UInt8(ascii: ">") { i += 1; break }
                if b[i] == UInt8(ascii: "/") && i + 1 < n && b[i + 1] == UInt8(ascii: ">") { i += 2; selfClosing = true; break }
                let key = name()
                guard !key.isEmpty else { return fail(line, "Malformed attribute in <\(nm)>: firewalld cannot read this file.") }
                skipBlanks()
                guard i < n && b[i] == UInt8(ascii: "=") else { return fail(line, "Attribute \(key) of <\(nm)> has no value: firewalld cannot read this file.") }
                i += 1
                skipBlanks()
                guard i < n, b[i] == UInt8(ascii: "\"") || b[i] == UInt8(ascii: "'") else {
                    return fail(line, "Attribute \(key) of <\(nm)> is not quoted: firewalld cannot read this file.")
                }
                let quote = b[i]
                i += 1
                let s = i
                while i < n && b[i] != quote {
                    if b[i] == 0x0A { line += 1 }
                    i += 1
                }
                guard i < n else { return fail(tagLine, "Unterminated attribute value in <\(nm)>: firewalld cannot read this file.") }
                if attributes[key] != nil { return fail(tagLine, "Attribute \(key) repeated in <\(nm)>: firewalld cannot read this file.") }
                attributes[key] = unescape(Text.decode(b[s..<i]))
                i += 1
            }
            let node = XMLNode(name: nm, attributes: attributes, line: tagLine, children: [], endLine: tagLine,
                               endStartsLine: startsLine, selfClosing: selfClosing)
            if selfClosing {
                if stack.isEmpty { root = node } else { stack[stack.count - 1].children.append(node) }
            } else {
                stack.append(node)
            }
        }
        if let open = stack.last { return fail(open.line, "<\(open.name)> is never closed: firewalld cannot read this file.") }
        guard let root else { return fail(1, "No root element: firewalld cannot read this file.") }
        return (root, [])
    }

    static func unescape(_ s: String) -> String {
        guard s.contains("&") else { return s }
        var out = ""
        var rest = Substring(s)
        while let amp = rest.firstIndex(of: "&") {
            out += rest[..<amp]
            let after = rest[amp...]
            guard let semi = after.firstIndex(of: ";") else { out += after; return out }
            let entity = after[after.index(after: amp)..<semi]
            switch entity {
            case "amp": out += "&"
            case "lt": out += "<"
            case "gt": out += ">"
            case "quot": out += "\""
            case "apos": out += "'"
            default:
                if entity.hasPrefix("#x"), let v = UInt32(entity.dropFirst(2), radix: 16), let u = UnicodeScalar(v) { out.unicodeScalars.append(u) }
                else if entity.hasPrefix("#"), let v = UInt32(entity.dropFirst()), let u = UnicodeScalar(v) { out.unicodeScalars.append(u) }
                else { out += after[amp...semi] }
            }
            rest = after[after.index(after: semi)...]
        }
        return out + rest
    }
}

/// A port or port range with its protocol (`<port port="22" protocol="tcp"/>`).
public struct FirewalldPort: Hashable, Sendable {
    public var ports: ClosedRange<Int>
    public var proto: String
    public var source: SourceLine
}

/// A rich rule, reduced to what decides whether it concerns a probe.
public struct FirewalldRichRule: Hashable, Sendable {
    public var family: String?
    /// It only applies to some sources or destinations.
    public var conditional: Bool
    public var services: [String]
    public var ports: [FirewalldPort]
    public var protocols: [String]
    public var icmpTypes: [String]
    /// `accept`, `reject`, `drop`, `mark`, or nil (log/audit only).
    public var action: String?
    public var source: SourceLine
    /// `priority=`: below 0 the rule runs before the zone's own rules, above
    /// 0 after its allow list (firewalld.richlanguage(5)); 0 by default.
    public var priority: Int = 0
}

/// A zone file.
public struct FirewalldZone: Hashable, Sendable {
    public var name: String
    public var path: String
    /// The `<zone>` line.
    public var header: SourceLine
    /// `default` when not set; `ACCEPT`, `%%REJECT%%`, `DROP`.
    public var target: String
    public var services: [Located<String>]
    public var ports: [FirewalldPort]
    public var protocols: [Located<String>]
    public var icmpBlocks: [Located<String>]
    public var icmpBlockInversion: SourceLine?
    public var interfaces: [Located<String>]
    public var sources: [Located<String>]
    public var richRules: [FirewalldRichRule]
    /// The `</zone>` line, when the end tag starts its line (where new entries go).
    public var closing: SourceLine?
    public var lines: [String]
}

/// A service definition.
public struct FirewalldService: Hashable, Sendable {
    public var name: String
    public var path: String
    public var ports: [FirewalldPort]
    public var protocols: [String]
    public var includes: [String]
}

public enum FirewalldParser {
    public static func zone(_ bytes: [UInt8], path: String, name: String) -> (zone: FirewalldZone?, diagnostics: [Diagnostic]) {
        let (root, diags) = MiniXML.parse(bytes, path: path)
        guard let root else { return (nil, diags) }
        let lines = Text.lines(bytes)
        func src(_ l: Int) -> SourceLine { SourceLine(path: path, line: l, text: l >= 1 && l <= lines.count ? lines[l - 1] : "") }
        guard root.name == "zone" else {
            return (nil, [Diagnostic(SourceLocation(path: path, line: root.line), text: src(root.line).text,
                                     message: "The root element is <\(root.name)>, not <zone>: firewalld cannot use this zone.")])
        }
        var z = FirewalldZone(name: name, path: path, header: src(root.line), target: root.attributes["target"] ?? "default",
                              services: [], ports: [], protocols: [], icmpBlocks: [], icmpBlockInversion: nil,
                              interfaces: [], sources: [], richRules: [], closing: nil, lines: lines)
        if !root.selfClosing && root.endStartsLine { z.closing = src(root.endLine) }
        for c in root.children {
            switch c.name {
            case "service": if let v = c.attributes["name"] { z.services.append(Located(v, src(c.line))) }
            case "port": if let p = port(c, src(c.line)) { z.ports.append(p) }
            case "protocol": if let v = c.attributes["value"] { z.protocols.append(Located(v, src(c.line))) }
            case "icmp-block": if let v = c.attributes["name"] { z.icmpBlocks.append(Located(v, src(c.line))) }
            case "icmp-block-inversion": z.icmpBlockInversion = src(c.line)
            case "interface": if let v = c.attributes["name"] { z.interfaces.append(Located(v, src(c.line))) }
            case "source":
                if let v = c.attributes["address"] ?? c.attributes["mac"] ?? c.attributes["ipset"] { z.sources.append(Located(v, src(c.line))) }
            case "rule":
                var r = FirewalldRichRule(family: c.attributes["family"], conditional: false, services: [], ports: [],
                                          protocols: [], icmpTypes: [], action: nil, source: src(c.line))
                for e in c.children {
                    switch e.name {
                    case "source", "destination": r.conditional = true
                    case "service": if let v = e.attributes["name"] { r.services.append(v) }
                    case "port": if let p = port(e, src(e.line)) { r.ports.append(p) }
                    case "protocol": if let v = e.attributes["value"] { r.protocols.append(v) }
                    case "icmp-type", "icmp-block": if let v = e.attributes["name"] { r.icmpTypes.append(v) }
                    case "accept", "reject", "drop", "mark": r.action = e.name
                    case "limit": r.conditional = true
                    default: break
                    }
                    if e.name == "accept" && !e.children("limit").isEmpty { r.conditional = true }
                }
                if let p = c.attributes["priority"] {
                    // firewalld accepts -32768...32767; anything else makes the zone invalid,
                    // which firewalld reports; read it as a conditional rule.
                    if let n = Int(p.prefix(7)), n >= -32768, n <= 32767 { r.priority = n } else { r.conditional = true }
                }
                z.richRules.append(r)
            default: break
            }
        }
        return (z, [])
    }

    public static func service(_ bytes: [UInt8], path: String, name: String) -> (service: FirewalldService?, diagnostics: [Diagnostic]) {
        let (root, diags) = MiniXML.parse(bytes, path: path)
        guard let root else { return (nil, diags) }
        let lines = Text.lines(bytes)
        func src(_ l: Int) -> SourceLine { SourceLine(path: path, line: l, text: l >= 1 && l <= lines.count ? lines[l - 1] : "") }
        guard root.name == "service" else {
            return (nil, [Diagnostic(SourceLocation(path: path, line: root.line), text: src(root.line).text,
                                     message: "The root element is <\(root.name)>, not <service>: firewalld cannot use this service.")])
        }
        var s = FirewalldService(name: name, path: path, ports: [], protocols: [], includes: [])
        for c in root.children {
            switch c.name {
            case "port": if let p = port(c, src(c.line)) { s.ports.append(p) }
            case "protocol": if let v = c.attributes["value"] { s.protocols.append(v) }
            case "include": if let v = c.attributes["service"] { s.includes.append(v) }
            default: break
            }
        }
        return (s, [])
    }

    static func port(_ node: XMLNode, _ source: SourceLine) -> FirewalldPort? {
        guard let p = node.attributes["port"], let proto = node.attributes["protocol"] else { return nil }
        guard let range = PortSpec.parseRange(p) else { return nil }
        return FirewalldPort(ports: range, proto: proto.lowercased(), source: source)
    }
}
