/// What OpenSSH's sshd (Debian 12, OpenSSH 9.2p1) does with each keyword of
/// sshd_config and with its value, so an offline audit can say whether
/// `sshd -t` accepts a configuration. The table was read off the real
/// binary: every keyword was run through `sshd -t` globally and inside
/// `Match User x` (Tests/RescueAuditTests/SshdOracleTests.swift checks it
/// again against the unpacked binary). Pure.
public enum SshdKeywords {
    /// How sshd treats a keyword it knows.
    public enum Support: Hashable, Sendable {
        /// Read and used.
        case supported
        /// "Deprecated option X": logged and ignored; sshd starts.
        case deprecated
        /// "Unsupported option X": a feature not built in; logged and ignored.
        case unsupported
    }

    /// The shape of a keyword's value that sshd checks while parsing.
    public enum Value: Hashable, Sendable {
        /// Anything (paths, lists sshd checks only later, patterns).
        case any
        /// `yes` or `no` (case-insensitive).
        case flag
        /// One of these words (case-insensitive).
        case choice([String])
        /// A TCP port.
        case port
        /// A non-negative integer (`none` too when `orNone`).
        case integer(orNone: Bool)
        /// A time: digits with optional s/m/h/d/w units, repeated (`1m30s`).
        case time(orNone: Bool)
        /// A comma-separated algorithm list, `+`/`-`/`^` prefixes allowed.
        case algorithms([String])
        /// `start[:rate:full]`.
        case maxStartups
        /// A list of log levels.
        case logLevel
        /// Any number of words, at least one (AllowUsers, AcceptEnv...).
        case words
    }

    public struct Keyword: Hashable, Sendable {
        public var support: Support
        /// Whether sshd accepts it inside a `Match` block other than `Match all`.
        public var inMatch: Bool
        public var value: Value
    }

    static let ciphers = ["3des-cbc", "aes128-cbc", "aes192-cbc", "aes256-cbc", "aes128-ctr", "aes192-ctr", "aes256-ctr",
                          "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "chacha20-poly1305@openssh.com"]
    static let macs = ["hmac-sha1", "hmac-sha1-96", "hmac-sha2-256", "hmac-sha2-512", "hmac-md5", "hmac-md5-96",
                       "umac-64@openssh.com", "umac-128@openssh.com", "hmac-sha1-etm@openssh.com", "hmac-sha1-96-etm@openssh.com",
                       "hmac-sha2-256-etm@openssh.com", "hmac-sha2-512-etm@openssh.com", "hmac-md5-etm@openssh.com",
                       "hmac-md5-96-etm@openssh.com", "umac-64-etm@openssh.com", "umac-128-etm@openssh.com"]
    static let kex = ["diffie-hellman-group1-sha1", "diffie-hellman-group14-sha1", "diffie-hellman-group14-sha256",
                      "diffie-hellman-group16-sha512", "diffie-hellman-group18-sha512", "diffie-hellman-group-exchange-sha1",
                      "diffie-hellman-group-exchange-sha256", "ecdh-sha2-nistp256", "ecdh-sha2-nistp384", "ecdh-sha2-nistp521",
                      "curve25519-sha256", "curve25519-sha256@libssh.org", "sntrup761x25519-sha512",
                      "sntrup761x25519-sha512@openssh.com"]

    static let flags = [
        "allowagentforwarding", "challengeresponseauthentication", "debianbanner", "disableforwarding", "dsaauthentication",
        "exposeauthinfo", "gssapiauthentication", "gssapicleanupcredentials", "gssapicleanupcreds", "gssapikeyexchange",
        "gssapistorecredentialsonrekey", "gssapistrictacceptorcheck", "hostbasedauthentication",
        "hostbasedusesnamefrompacketonly", "ignoreuserknownhosts", "kbdinteractiveauthentication", "kerberosauthentication",
        "kerberosorlocalpasswd", "kerberosticketcleanup", "keepalive", "passwordauthentication", "permitemptypasswords",
        "permittty", "permituserrc", "printlastlog", "printmotd", "pubkeyauthentication", "skeyauthentication",
        "streamlocalbindunlink", "strictmodes", "tcpkeepalive", "usedns", "usepam", "x11forwarding", "x11uselocalhost",
    ]

    /// Keywords allowed inside a Match block (sshd_config(5), and the
    /// aliases that share their opcode).
    static let matchAllowed: Set<String> = [
        "acceptenv", "allowagentforwarding", "allowgroups", "allowstreamlocalforwarding", "allowtcpforwarding", "allowusers",
        "authenticationmethods", "authorizedkeyscommand", "authorizedkeyscommanduser", "authorizedkeysfile",
        "authorizedkeysfile2", "authorizedprincipalscommand", "authorizedprincipalscommanduser", "authorizedprincipalsfile",
        "banner", "casignaturealgorithms", "challengeresponseauthentication", "channeltimeout", "chrootdirectory",
        "clientalivecountmax", "clientaliveinterval", "denygroups", "denyusers", "disableforwarding", "exposeauthinfo",
        "forcecommand", "gatewayports", "gssapiauthentication", "hostbasedacceptedalgorithms", "hostbasedacceptedkeytypes",
        "hostbasedauthentication", "hostbasedusesnamefrompacketonly", "ignorerhosts", "include", "ipqos",
        "kbdinteractiveauthentication", "kerberosauthentication", "loglevel", "logverbose", "match", "maxauthtries",
        "maxsessions", "passwordauthentication", "permitemptypasswords", "permitlisten", "permitopen", "permitrootlogin",
        "permittty", "permittunnel", "permituserrc", "pubkeyacceptedalgorithms", "pubkeyacceptedkeytypes",
        "pubkeyauthentication", "pubkeyauthoptions", "rdomain", "rekeylimit", "requiredrsasize", "revokedkeys",
        "rhostsrsaauthentication", "rsaauthentication", "setenv", "skeyauthentication", "streamlocalbindmask",
        "streamlocalbindunlink", "trustedusercakeys", "unusedconnectiontimeout", "x11displayoffset", "x11forwarding",
        "x11uselocalhost",
    ]

    static let deprecated: Set<String> = [
        "authorizedkeysfile2", "checkmail", "keyregenerationinterval", "pamauthenticationviakbdint", "permitblacklistedkeys",
        "reversemappingcheck", "rhostsauthentication", "rhostsrsaauthentication", "rsaauthentication", "serverkeybits",
        "uselogin", "useprivilegeseparation", "verifyreversemapping",
    ]

    static let unsupported: Set<String> = [
        "afstokenpassing", "gssapiusesessioncredcache", "gssusesessionccache", "kerberosgetafstoken", "kerberostgtpassing",
    ]

    static let others = [
        "acceptenv", "addressfamily", "allowgroups", "allowstreamlocalforwarding", "allowtcpforwarding", "allowusers",
        "authenticationmethods", "authorizedkeyscommand", "authorizedkeyscommanduser", "authorizedkeysfile",
        "authorizedprincipalscommand", "authorizedprincipalscommanduser", "authorizedprincipalsfile", "banner",
        "casignaturealgorithms", "channeltimeout", "chrootdirectory", "ciphers", "clientalivecountmax", "clientaliveinterval",
        "compression", "denygroups", "denyusers", "fingerprinthash", "forcecommand", "gatewayports", "gssapikexalgorithms",
        "hostbasedacceptedalgorithms", "hostbasedacceptedkeytypes", "hostcertificate", "hostdsakey", "hostkey",
        "hostkeyagent", "hostkeyalgorithms", "ignorerhosts", "include", "ipqos", "kexalgorithms", "listenaddress",
        "logingracetime", "loglevel", "logverbose", "macs", "match", "maxauthtries", "maxsessions", "maxstartups",
        "modulifile", "permitlisten", "permitopen", "permitrootlogin", "permittunnel", "permituserenvironment",
        "persourcemaxstartups", "persourcenetblocksize", "pidfile", "port", "protocol", "pubkeyacceptedalgorithms",
        "pubkeyacceptedkeytypes", "pubkeyauthoptions", "rdomain", "rekeylimit", "requiredrsasize", "revokedkeys",
        "securitykeyprovider", "setenv", "streamlocalbindmask", "subsystem", "syslogfacility", "trustedusercakeys",
        "unusedconnectiontimeout", "versionaddendum", "x11displayoffset", "xauthlocation",
    ]

    static let values: [String: Value] = [
        "addressfamily": .choice(["inet", "inet6", "any"]),
        "permitrootlogin": .choice(["yes", "no", "prohibit-password", "without-password", "forced-commands-only"]),
        "compression": .choice(["yes", "delayed", "no"]),
        "gatewayports": .choice(["yes", "no", "clientspecified"]),
        "allowtcpforwarding": .choice(["yes", "no", "all", "local", "remote"]),
        "allowstreamlocalforwarding": .choice(["yes", "no", "all", "local", "remote"]),
        "ignorerhosts": .choice(["yes", "no", "shosts-only"]),
        "permittunnel": .choice(["yes", "no", "point-to-point", "ethernet"]),
        "fingerprinthash": .choice(["md5", "sha1", "sha256", "sha384", "sha512"]),
        "syslogfacility": .choice(["daemon", "user", "auth", "authpriv", "local0", "local1", "local2", "local3", "local4",
                                   "local5", "local6", "local7"]),
        "loglevel": .logLevel,
        "port": .port,
        "maxauthtries": .integer(orNone: false), "maxsessions": .integer(orNone: false),
        "clientalivecountmax": .integer(orNone: false), "x11displayoffset": .integer(orNone: false),
        "requiredrsasize": .integer(orNone: false), "persourcemaxstartups": .integer(orNone: true),
        "logingracetime": .time(orNone: false), "clientaliveinterval": .time(orNone: false),
        "unusedconnectiontimeout": .time(orNone: true),
        "ciphers": .algorithms(ciphers), "macs": .algorithms(macs), "kexalgorithms": .algorithms(kex),
        "maxstartups": .maxStartups,
        "allowusers": .words, "denyusers": .words, "allowgroups": .words, "denygroups": .words, "acceptenv": .words,
    ]

    /// Every keyword sshd 9.2 knows, lowercased.
    public static let table: [String: Keyword] = {
        var t: [String: Keyword] = [:]
        for name in flags + others + Array(deprecated) + Array(unsupported) {
            let support: Support = deprecated.contains(name) ? .deprecated : unsupported.contains(name) ? .unsupported : .supported
            let value: Value = flags.contains(name) ? .flag : values[name] ?? .any
            t[name] = Keyword(support: support, inMatch: matchAllowed.contains(name), value: value)
        }
        return t
    }()

    /// Why sshd refuses this value of a keyword, or nil when it accepts it.
    /// `arguments` excludes the keyword.
    public static func valueProblem(_ keyword: String, _ arguments: [String]) -> String? {
        guard let kw = table[keyword] else { return nil }
        if arguments.isEmpty && keyword != "include" {
            // Deprecated and unsupported keywords are skipped before their arguments are read.
            if kw.support != .supported { return nil }
            return "no argument after keyword: sshd refuses to start"
        }
        func single() -> String? {
            arguments.count > 1 ? "extra arguments at end of line: sshd refuses to start" : nil
        }
        let first = arguments.first ?? ""
        switch kw.value {
        case .any, .words:
            return nil
        case .flag:
            guard ["yes", "no"].contains(first.lowercased()) else { return "'\(first)' is not yes or no: sshd refuses to start" }
            return single()
        case .choice(let words):
            guard words.contains(first.lowercased()) else {
                return "'\(first)' is not one of \(words.joined(separator: ", ")): sshd refuses to start"
            }
            return single()
        case .port:
            guard SshdConfigParser.port(first) != nil || first == "ssh" else { return "bad port number '\(first)': sshd refuses to start" }
            return single()
        case .integer(let orNone):
            if orNone && first.lowercased() == "none" { return single() }
            guard let n = Int(first), n >= 0 else { return "'\(first)' is not a non-negative integer: sshd refuses to start" }
            return single()
        case .time(let orNone):
            if orNone && first.lowercased() == "none" { return single() }
            guard isTime(first) else { return "'\(first)' is not a time value: sshd refuses to start" }
            return single()
        case .algorithms(let known):
            var list = first[...]
            var wildcardsAllowed = false
            if let p = list.first, "+-^".contains(p) {
                wildcardsAllowed = p == "-"
                list = list.dropFirst()
            }
            for name in list.split(separator: ",", omittingEmptySubsequences: true) {
                if wildcardsAllowed { continue }
                guard known.contains(String(name).lowercased()) else {
                    return "'\(name)' is not an algorithm this sshd knows: sshd refuses to start"
                }
            }
            return single()
        case .maxStartups:
            let parts = first.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 1 || parts.count == 3, parts.allSatisfy({ Int($0).map { $0 >= 0 } ?? false }) else {
                return "'\(first)' is not start[:rate:full]: sshd refuses to start"
            }
            return single()
        case .logLevel:
            let levels = ["quiet", "fatal", "error", "info", "verbose", "debug", "debug1", "debug2", "debug3"]
            guard levels.contains(first.lowercased()) else { return "unsupported log level '\(first)': sshd refuses to start" }
            return single()
        }
    }

    /// `convtime`: one or more of digits followed by an optional unit.
    static func isTime(_ s: String) -> Bool {
        guard !s.isEmpty else { return false }
        var sawDigit = false
        for c in s {
            if c.isASCII && c.isNumber { sawDigit = true; continue }
            guard sawDigit, "sSmMhHdDwW".contains(c) else { return false }
            sawDigit = false
        }
        return true
    }

    /// Why sshd refuses a `Match` line's criteria, or nil.
    public static func matchProblem(_ criteria: [String]) -> String? {
        guard let first = criteria.first else { return "Match without criteria: sshd refuses to start" }
        if first.lowercased() == "all" {
            return criteria.count == 1 ? nil : "'all' cannot be combined with other Match attributes: sshd refuses to start"
        }
        let known = ["user", "group", "host", "address", "localaddress", "localport", "rdomain"]
        var i = 0
        while i < criteria.count {
            let attribute = criteria[i].lowercased()
            guard known.contains(attribute) else {
                return attribute == "all" ? "'all' cannot be combined with other Match attributes: sshd refuses to start"
                    : "unsupported Match attribute '\(criteria[i])': sshd refuses to start"
            }
            guard i + 1 < criteria.count else { return "Match \(criteria[i]) without a value: sshd refuses to start" }
            if attribute == "localport", SshdConfigParser.port(criteria[i + 1]) == nil {
                return "invalid LocalPort '\(criteria[i + 1])' on a Match line: sshd refuses to start"
            }
            i += 2
        }
        return nil
    }
}
