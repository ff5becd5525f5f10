import Foundation
import Parsers
import SystemModel
import TargetAccess
import Testing

func listenFixture(_ name: String) throws -> ServiceListeners {
    ServiceListeners.load(try TargetRoot(directory: Repo.fixtures.appendingPathComponent("listen/\(name)").path))
}

/// `host:port` as sshd -T prints it, `*` for any address.
private func endpoint(_ l: Listener) -> String {
    let host = l.address.map { $0.contains(":") ? "[\($0)]" : $0 } ?? "*"
    return "\(host):\(l.port.map(String.init) ?? "?")"
}

@Suite struct ListenTests {
    // MARK: - sshd

    /// Expected values are what OpenSSH 9.2p1's `sshd -T` (Debian 12)
    /// prints for this configuration once the two lines sshd refuses are
    /// removed (the Port 99999 line and the Port inside Match).
    @Test func sshdIncludePortsAndListenAddresses() throws {
        let l = try listenFixture("debian")
        #expect(l.sshPorts.map(\.value) == [2222, 22])
        #expect(l.sshPorts[0].location == SourceLocation(path: "/etc/ssh/sshd_config.d/10-port.conf", line: 2))
        #expect(l.listeners(of: "sshd").map(endpoint) == [
            "192.0.2.10:2222", "192.0.2.10:22", "[2001:db8::1]:2200", "10.0.0.1:2022", "[::]:2222", "[::]:22",
        ])
        // README does not match the Include's *.conf.
        #expect(!l.files.contains("/etc/ssh/sshd_config.d/README"))
    }

    @Test func sshdRefusesPortInMatchAndBadPorts() throws {
        let l = try listenFixture("debian")
        #expect(l.sshIgnoredInMatch.map(\.location) == [SourceLocation(path: "/etc/ssh/sshd_config", line: 14)])
        let sshd = l.diagnostics.filter { $0.location.path.hasPrefix("/etc/ssh/") }.map(\.location)
        #expect(sshd.contains(SourceLocation(path: "/etc/ssh/sshd_config.d/10-port.conf", line: 3)))
        #expect(sshd.contains(SourceLocation(path: "/etc/ssh/sshd_config", line: 14)))
    }

    /// OpenSSH 9.2p1's `sshd -T`: a Match block in an included file ends
    /// with that file, and an Include inside a Match block puts the included
    /// lines in it (there "Directive 'Port' is not allowed within a Match block").
    @Test func sshdMatchScopeAcrossIncludes() throws {
        let tmp = try makeTempDir("sshd-match")
        defer { try? FileManager.default.removeItem(at: tmp) }
        try write("Include conf.d/*.conf\nPort 2022\nMatch User x\nInclude inner/*.conf\n",
                  to: tmp.appendingPathComponent("etc/ssh/sshd_config"))
        try write("Match User x\n\tPasswordAuthentication no\n", to: tmp.appendingPathComponent("etc/ssh/conf.d/a.conf"))
        try write("Port 2030\n", to: tmp.appendingPathComponent("etc/ssh/inner/b.conf"))
        let l = ServiceListeners.load(try TargetRoot(directory: tmp.path))
        #expect(l.sshPorts.map(\.value) == [2022])
        #expect(l.sshIgnoredInMatch.map(\.location) == [SourceLocation(path: "/etc/ssh/inner/b.conf", line: 1)])
    }

    @Test func sshdDefaultPort() throws {
        let l = try listenFixture("rhel")
        #expect(l.sshPorts.map(\.value) == [22])
        #expect(l.sshPorts.first?.location.line == 0)
        #expect(l.listeners(of: "sshd").map(endpoint) == ["*:22"])
    }

    @Test func sshdSyntax() {
        let text = "port=2022\nListenAddress = \"[::1]:23\" # trailing comment\nMatch all\nPort 24\n"
        let f = SshdConfigParser.parse(Array(text.utf8), path: "/etc/ssh/sshd_config")
        #expect(f.directives.map(\.keyword) == ["port", "listenaddress", "match", "port"])
        #expect(f.directives[0].arguments == ["2022"])
        #expect(f.directives[1].arguments == ["[::1]:23"])
        #expect(f.directives[3].inMatch)
        #expect(SshdConfigParser.listenAddress("[::1]:23") == ListenSpec(host: "::1", port: 23))
        #expect(SshdConfigParser.listenAddress("fe80::1") == ListenSpec(host: "fe80::1", port: nil))
        #expect(SshdConfigParser.listenAddress("host.example:2200") == ListenSpec(host: "host.example", port: 2200))
        #expect(SshdConfigParser.listenAddress("1.2.3.4:0") == nil)
    }

    @Test func nonUTF8NeverCrashes() {
        var bytes = Array("Port 2222\n# caf".utf8)
        bytes += [0xE9, 0xFF, 0x0A]
        bytes += Array("ListenAddress 10.0.0.\u{1}".utf8) + [0xC3, 0x0A]
        let f = SshdConfigParser.parse(bytes, path: "/etc/ssh/sshd_config")
        #expect(f.directives.count == 2)
        #expect(f.directives[1].source.text.contains("\\xc3"))
        _ = HostsParser.parse(bytes, path: "/etc/hosts")
        _ = NginxConfigParser.parse(bytes, path: "/etc/nginx/nginx.conf")
        _ = ApacheConfigParser.parse(bytes, path: "/etc/apache2/apache2.conf")
        _ = PostfixParser.parseMain(bytes, path: "/etc/postfix/main.cf")
        _ = AmavisConfigParser.parse(bytes, path: "/etc/amavis/conf.d/50-user")
    }

    // MARK: - postfix

    @Test func postfixInetInterfacesAndMasterServices() throws {
        let l = try listenFixture("debian")
        let smtp = l.listeners(of: "postfix").filter { $0.detail == "smtp" }
        // loopback-only plus $myip, continued on an indented line.
        #expect(smtp.map(endpoint) == ["127.0.0.1:25", "[::1]:25", "192.0.2.10:25"])
        #expect(smtp.first?.source.location == SourceLocation(path: "/etc/postfix/master.cf", line: 2))
        #expect(smtp.first?.addressSource?.location == SourceLocation(path: "/etc/postfix/main.cf", line: 4))
        let reinjection = l.listeners(of: "postfix").filter { $0.detail == "127.0.0.1:10025" }
        #expect(reinjection.map(endpoint) == ["127.0.0.1:10025"])
        #expect(reinjection.first?.source.location.line == 5)
        // The commented submission line and the unix pickup service do not listen.
        #expect(l.listeners(of: "postfix").count == 4)
        #expect(l.diagnostics.contains { $0.location == SourceLocation(path: "/etc/postfix/main.cf", line: 7) })
    }

    @Test func postfixSyntax() {
        #expect(PostfixParser.inetInterfaces("all") == nil)
        #expect(PostfixParser.inetInterfaces("127.0.0.1, [::1]  192.0.2.1") == ["127.0.0.1", "[::1]", "192.0.2.1"])
        #expect(PostfixParser.expand("${a}-$b", ["a": "x", "b": "$a"]) == "x-x")
        let main = PostfixParser.parseMain(Array("a = 1\n  2\n# c\n  3\n".utf8), path: "/etc/postfix/main.cf")
        #expect(main.parameters.map(\.value) == ["1 2 3"])
    }

    // MARK: - amavisd

    @Test func amavisConfDLastAssignmentWins() throws {
        let l = try listenFixture("debian")
        let a = l.listeners(of: "amavisd")
        #expect(a.map(endpoint) == ["127.0.0.1:10024", "127.0.0.1:10026"])
        #expect(a.first?.source.location == SourceLocation(path: "/etc/amavis/conf.d/50-user", line: 3))
        // `$inet_socket_port = $x + 1;` cannot be evaluated: reported, not guessed.
        #expect(l.diagnostics.contains { $0.location == SourceLocation(path: "/etc/amavis/conf.d/50-user", line: 5) })
    }

    @Test func amavisRHELDefault() throws {
        let a = try listenFixture("rhel").listeners(of: "amavisd")
        #expect(a.map(endpoint) == ["127.0.0.1:10024"])
        #expect(a.first?.source.location == SourceLocation(path: "/etc/amavisd/amavisd.conf", line: 0))
    }

    // MARK: - nginx

    @Test func nginxIncludesAndListen() throws {
        let l = try listenFixture("debian")
        let n = l.listeners(of: "nginx")
        #expect(n.map(endpoint) == ["127.0.0.1:8080", "*:80", "[::]:80", "*:80"])
        #expect(n[0].source.location == SourceLocation(path: "/etc/nginx/conf.d/api.conf", line: 2))
        // sites-enabled/default is a symlink into sites-available; evidence keeps the enabled path.
        #expect(n[1].source.location == SourceLocation(path: "/etc/nginx/sites-enabled/default", line: 2))
        // The server block without listen gets *:80.
        #expect(n[3].source.location == SourceLocation(path: "/etc/nginx/conf.d/api.conf", line: 7))
        #expect(!l.diagnostics.contains { $0.location.path.hasPrefix("/etc/nginx") })
    }

    @Test func nginxSyntax() {
        #expect(NginxConfigParser.listen("8080") == .some(ListenSpec(host: nil, port: 8080)))
        #expect(NginxConfigParser.listen("*:443") == .some(ListenSpec(host: nil, port: 443)))
        #expect(NginxConfigParser.listen("[::1]") == .some(ListenSpec(host: "::1", port: 80)))
        #expect(NginxConfigParser.listen("localhost") == .some(ListenSpec(host: "localhost", port: 80)))
        #expect(NginxConfigParser.listen("unix:/run/x.sock") == .some(nil))
        #expect(NginxConfigParser.listen("1.2.3.4:http") == nil)
        let f = NginxConfigParser.parse(Array("http {\n server {\n listen 81;\n}\n".utf8), path: "/etc/nginx/nginx.conf")
        #expect(f.directives.first?.context == ["http", "server"])
        #expect(f.diagnostics.count == 1) // the http block is never closed
    }

    // MARK: - Apache httpd

    @Test func apacheDebianPortsConf() throws {
        let a = try listenFixture("debian").listeners(of: "apache2")
        #expect(a.map(endpoint) == ["*:8081", "*:443", "192.0.2.10:8443", "[::1]:8082"])
        #expect(a[1].condition == "IfModule ssl_module")
        #expect(a[2].detail == "https")
        #expect(a.allSatisfy { $0.source.location.path == "/etc/apache2/ports.conf" })
    }

    @Test func apacheRHEL() throws {
        let a = try listenFixture("rhel").listeners(of: "httpd")
        #expect(a.map(endpoint) == ["*:80", "*:443"])
        #expect(a[1].source.location == SourceLocation(path: "/etc/httpd/conf.d/ssl.conf", line: 1))
    }

    // MARK: - /etc/hosts

    @Test func hostsFile() throws {
        let l = try listenFixture("debian")
        #expect(l.hosts.count == 4)
        #expect(l.resolve("localhost") == ["127.0.0.1", "::1"])
        #expect(l.resolve("MAIL.example.org") == ["127.0.1.1", "192.0.2.10"])
        #expect(l.resolve("192.0.2.99") == ["192.0.2.99"])
        #expect(l.resolve("nowhere") == [])
        let lines = l.diagnostics.filter { $0.location.path == "/etc/hosts" }.map(\.location.line)
        #expect(lines == [5, 6])
    }
}
