import Foundation
import Glibc
import Parsers
import SystemModel
import TargetAccess
import Testing

/// Fixture roots for the ifupdown tests, found next to this file.
enum IfupdownFixtures {
    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Fixtures/ifupdown").path

    static func root(_ name: String) throws -> TargetRoot {
        try TargetRoot(directory: directory + "/" + name)
    }
}

private func parse(_ text: String, path: String = "/etc/network/interfaces") -> IfupdownFile {
    IfupdownParser.parse(Array(text.utf8), path: path)
}

private func stanzas(_ file: IfupdownFile) -> [IfaceStanza] {
    file.items.compactMap { if case .iface(let s) = $0 { s } else { nil } }
}

@Suite struct IfupdownParserTests {
    @Test func everyTopLevelKeyword() throws {
        let file = parse("""
            # comment
              # indented comment

            auto lo eth0
            allow-auto eth1
            allow-hotplug eth2
            allow-wired eth3
            no-auto-down eth0
            no-scripts eth2
            rename enp1s0=lan
            source interfaces.d/*.cfg
            source-directory /etc/network/interfaces.d
            source-dirs more.d
            """)
        #expect(file.diagnostics.isEmpty)
        #expect(file.haltLine == nil)
        let l = { (n: Int, t: String) in SourceLine(path: "/etc/network/interfaces", line: n, text: t) }
        #expect(file.items == [
            .auto(["lo", "eth0"], l(4, "auto lo eth0")),
            .auto(["eth1"], l(5, "allow-auto eth1")),
            .allow(className: "hotplug", ["eth2"], l(6, "allow-hotplug eth2")),
            .allow(className: "wired", ["eth3"], l(7, "allow-wired eth3")),
            .flag(keyword: "no-auto-down", ["eth0"], l(8, "no-auto-down eth0")),
            .flag(keyword: "no-scripts", ["eth2"], l(9, "no-scripts eth2")),
            .flag(keyword: "rename", ["enp1s0=lan"], l(10, "rename enp1s0=lan")),
            .source(pattern: "interfaces.d/*.cfg", l(11, "source interfaces.d/*.cfg")),
            .sourceDirectory(directory: "/etc/network/interfaces.d", l(12, "source-directory /etc/network/interfaces.d")),
            .sourceDirectory(directory: "more.d", l(13, "source-dirs more.d")),
        ])
    }

    @Test func ifaceStanzasWithOptionsAliasesAndFamilies() throws {
        let file = parse("""
            iface eth0 inet static
                address 192.0.2.1/24
                gate_way 192.0.2.254
                post-up ip route add 203.0.113.0/24 via 192.0.2.9
                pre-down echo  "two  spaces"
            iface eth0:1 inet static
            \taddress 192.0.2.2/24
            iface eth0 inet6 static
                address 2001:db8::1/64
            """)
        #expect(file.diagnostics.isEmpty)
        let s = stanzas(file)
        #expect(s.map { "\($0.name) \($0.family) \($0.method)" } == ["eth0 inet static", "eth0:1 inet static", "eth0 inet6 static"])
        // `_` is kept (checked with ifquery); post-up and pre-down become up and down.
        #expect(s[0].options.map(\.key) == ["address", "gate_way", "up", "down"])
        #expect(s[0].value("down")?.value == "echo  \"two  spaces\"")
        #expect(s[0].value("up")?.source.text == "    post-up ip route add 203.0.113.0/24 via 192.0.2.9")
        #expect(s[0].value("up")?.source.location.line == 4)
        #expect(s[1].isAlias && s[1].baseName == "eth0")
        #expect(s[2].value("address")?.value == "2001:db8::1/64")
    }

    @Test func continuationLinesJoinAndKeepTheFirstLineAsEvidence() {
        let file = parse("iface eth0 inet manual\n    up echo a \\\n  b \\\n  c\n  mtu \\\n 9000\n# not continued \\\n  after yes\n")
        let s = stanzas(file)
        #expect(file.diagnostics.isEmpty)
        #expect(s.first?.ifupdownOptions.map { "\($0.key)=\($0.value)" } == ["up=echo a   b   c", "mtu=9000", "after=yes"])
        #expect(s.first?.value("up")?.source.location.line == 2)
        #expect(s.first?.value("mtu")?.source.location.line == 5)
        #expect(s.first?.value("after")?.source.location.line == 8)
    }

    @Test func crlfIsToleratedButBackslashCRLFDoesNotContinue() {
        let file = parse("auto eth0\r\niface eth0 inet manual\r\n  mtu 1500\r\n  up a \\\r\n  down b\r\n")
        let s = stanzas(file)
        #expect(file.diagnostics.isEmpty)
        #expect(file.items.first == .auto(["eth0"], SourceLine(path: "/etc/network/interfaces", line: 1, text: "auto eth0")))
        // As ifupdown: the `\` before CRLF is not a continuation and stays in the value.
        #expect(s.first?.ifupdownOptions.map { "\($0.key)=\($0.value)" } == ["mtu=1500", "up=a \\", "down=b"])
    }

    @Test func duplicateKeysAndRepeatedStanzas() {
        let file = parse("""
            iface eth0 inet manual
                dns-nameservers 192.0.2.53
                dns-nameservers 198.51.100.53
                up one
                up two
                x? first
                x second
                y 1
                y? ignored
            iface eth0 inet manual
                mtu 1500
            """)
        let s = stanzas(file)
        #expect(s.count == 2, "ifupdown keeps a repeated iface as a second stanza")
        #expect(s[0].values("dns-nameservers").count == 2)
        #expect(s[0].ifupdownOptions.map { "\($0.key)=\($0.value)" } == [
            "dns-nameservers=192.0.2.53\n198.51.100.53", "up=one", "up=two", "x=first\nsecond", "y=1",
        ])
    }

    @Test func mappingStanza() {
        let file = parse("""
            mapping eth0 eth1
                script /usr/local/sbin/map-scheme
                map HOME eth0-home
                map WORK eth0-work
            """)
        guard case .mapping(let m)? = file.items.first else {
            Issue.record("no mapping")
            return
        }
        #expect(m.patterns == ["eth0", "eth1"])
        #expect(m.script == "/usr/local/sbin/map-scheme")
        #expect(m.maps == ["HOME eth0-home", "WORK eth0-work"])
        #expect(file.diagnostics.isEmpty)
    }

    @Test func syntaxErrorsHaveLineNumbersAndTheRestStillParses() {
        let file = parse("""
            address 192.0.2.1
            iface
            iface eth0
            iface eth0 inet
            iface eth0 inet statc
                address 192.0.2.9
            iface eth0 ipv5 static
            iface eth1 inet manual extra
                mtu
                mtu 1500
            auto eth1
                orphan 1
            mapping eth2
                script a
                script b
                bogus 1
            iface eth1 inet6 manual inherits
            auto eth9
            """)
        #expect(file.diagnostics.map(\.location.line) == [1, 2, 3, 4, 5, 7, 8, 9, 12, 15, 16, 17])
        #expect(file.diagnostics[0].text == "address 192.0.2.1")
        #expect(file.diagnostics[0].message.contains("misplaced"))
        #expect(file.haltLine == 1)
        // The stanza with a bad method is dropped and its options are not reported again.
        #expect(stanzas(file).map(\.name) == ["eth1"])
        #expect(stanzas(file).first?.ifupdownOptions.map(\.key) == ["mtu"])
        #expect(file.items.last == .auto(["eth9"], SourceLine(path: "/etc/network/interfaces", line: 18, text: "auto eth9")))
    }

    @Test func inheritsIsParsed() {
        let file = parse("iface base inet manual\n  mtu 9000\niface eth0 inherits base\niface eth1 inet static inherits base\n")
        let s = stanzas(file)
        #expect(file.diagnostics.isEmpty)
        #expect(s[1].inherits == "base" && s[1].family.isEmpty)
        #expect(s[2].inherits == "base" && s[2].family == "inet" && s[2].method == "static")
    }

    @Test func nonUTF8AndNULNeverCrash() {
        var bytes = Array("auto eth\u{0}0\niface e".utf8) + [0xFF, 0xC3] + Array(" inet manual\n  descr caf".utf8) + [0xE9] + [0x0A]
        bytes += [0x80, 0x0A, 0x0D, 0x0A]
        let file = IfupdownParser.parse(bytes, path: "/etc/network/interfaces")
        let s = stanzas(file)
        #expect(file.items.first == .auto(["eth"], SourceLine(path: "/etc/network/interfaces", line: 1, text: "auto eth\u{0}0")))
        #expect(s.first?.name == "e\\xff\\xc3")
        #expect(s.first?.value("descr")?.value == "caf\\xe9")
        #expect(file.diagnostics.count == 1)
        #expect(file.diagnostics.first?.text == "\\x80")
    }

    @Test func emptyInputAndGarbage() {
        #expect(parse("").items.isEmpty)
        #expect(IfupdownParser.parse([0x5C], path: "/x").items.isEmpty)
        #expect(IfupdownParser.parse([0x5C, 0x0A, 0x5C], path: "/x").diagnostics.isEmpty)
    }
}

@Suite struct IfupdownLoaderTests {
    @Test func missingMainFileIsNil() throws {
        let root = try IfupdownFixtures.root("loader")
        #expect(IfupdownLoader.load(root, path: "/etc/network/nope") == nil)
    }

    @Test func sourcesGlobsDirectoriesAndLoops() throws {
        let root = try IfupdownFixtures.root("loader")
        let config = try #require(IfupdownLoader.load(root))
        #expect(config.files == [
            "/etc/network/interfaces", "/etc/network/more/a", "/etc/network/more/b",
            "/etc/network/interfaces.d/eth0", "/etc/network/self-loop", "/etc/network/top",
        ])
        #expect(config.stanzas.map(\.name) == ["lo", "ma", "mb", "eth0", "sl", "top"])
        #expect(config.autoInterfaces.map(\.value) == ["lo", "eth0"])
        #expect(config.autoInterfaces.last?.location == SourceLocation(path: "/etc/network/interfaces.d/eth0", line: 1))
        // The subdirectory matched the run-parts rule but is not a file: reported, the rest goes on.
        #expect(config.diagnostics.map(\.message).contains { $0.contains("/etc/network/interfaces.d/sub-dir was not read") })
        #expect(!config.rejectedByIfupdown)
        #expect(!config.addsLoopbackImplicitly)
    }

    @Test func unreadableIncludesAreSkippedAndHaltsRecorded() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ifupdown-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/etc/network", withIntermediateDirectories: true)
        try "source fifo\nsource broken\niface after inet manual\n  k v\n".write(toFile: dir + "/etc/network/interfaces", atomically: true, encoding: .utf8)
        try "iface b1 inet manual\n  k\n  z 1\n".write(toFile: dir + "/etc/network/broken", atomically: true, encoding: .utf8)
        #expect(mkfifo(dir + "/etc/network/fifo", 0o600) == 0)
        let config = try #require(IfupdownLoader.load(try TargetRoot(directory: dir)))
        #expect(config.stanzas.map(\.name) == ["b1", "after"])
        #expect(config.diagnostics.first?.location == SourceLocation(path: "/etc/network/interfaces", line: 1))
        #expect(config.diagnostics.first?.message.contains("fifo") == true)
        #expect(config.haltedFiles == [SourceLocation(path: "/etc/network/broken", line: 2)])
        #expect(!config.rejectedByIfupdown)
        #expect(config.addsLoopbackImplicitly)
    }

    @Test func inheritsIsResolvedAcrossFiles() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ifupdown-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/etc/network", withIntermediateDirectories: true)
        try "source base\niface eth0 inherits base\n  address 192.0.2.1\niface eth1 inherits nothing\n".write(toFile: dir + "/etc/network/interfaces", atomically: true, encoding: .utf8)
        try "iface base inet static\n  mtu 9000\n".write(toFile: dir + "/etc/network/base", atomically: true, encoding: .utf8)
        let config = try #require(IfupdownLoader.load(try TargetRoot(directory: dir)))
        let eth0 = try #require(config.stanzas.first { $0.name == "eth0" })
        #expect(eth0.family == "inet" && eth0.method == "static")
        #expect(eth0.options.map(\.key) == ["mtu", "address"])
        #expect(config.rejectedByIfupdown, "an unknown template in the main file stops ifupdown")
    }

    /// ifupdown2's shipped examples and ifupdown-ng's own test fixtures read
    /// with their dialect: nothing that stops the file. The same files read as
    /// Debian's ifupdown 0.8 do stop it (`iface swp30` has no family), which
    /// is why the dialect follows the installed package.
    @Test(arguments: [("ifupdown2-3.0.0", IfupdownDialect.ifupdown2), ("ifupdown-ng-e42da09", .ifupdownNG)])
    func upstreamDialectFilesParse(_ dir: String, _ dialect: IfupdownDialect) throws {
        let folder = Repo.fixtures.appendingPathComponent("upstream/\(dir)")
        let names = try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
        #expect(names.count >= 8)
        var haltsAsDebian = 0
        for name in names {
            let bytes = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
            let file = IfupdownParser.parse(bytes, path: "/etc/network/interfaces", dialect: dialect)
            #expect(file.haltLine == nil, "\(dir)/\(name): \(file.diagnostics.map { "\($0.location.line): \($0.message)" })")
            if IfupdownParser.parse(bytes, path: "/etc/network/interfaces").haltLine != nil { haltsAsDebian += 1 }
        }
        #expect(haltsAsDebian > 0, "the dialect makes a difference on \(dir)")
    }
}
