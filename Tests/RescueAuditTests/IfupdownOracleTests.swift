import Foundation
import Parsers
import SystemModel
import TargetAccess
import Testing

/// ifquery from Debian's ifupdown package, unpacked (never installed) by
/// scripts/fetch-oracles.sh under .oracles/root/.
enum IfqueryOracle {
    static let repository = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().path

    static let executable: String? = ["/.oracles/root/sbin/ifquery", "/.oracles/root/usr/sbin/ifquery"]
        .map { repository + $0 }
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static let isCI = ProcessInfo.processInfo.environment["CI"] == "true"

    /// Runs ifquery on a fixture root's /etc/network/interfaces only. The
    /// working directory is the fixture root, so words that ifupdown resolves
    /// against its working directory (`/` at boot) land in the fixture too.
    /// `--no-mappings` keeps mapping scripts from running on this host; the
    /// state directory is a fresh temporary one.
    static func run(_ fixtureRoot: String, _ arguments: [String]) throws -> (stdout: String, stderr: String) {
        guard let executable else { return ("", "") }
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("ifquery-state-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: state) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["-i", fixtureRoot + "/etc/network/interfaces", "--state-dir=" + state.path, "--no-mappings"] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: fixtureRoot)
        process.environment = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"]
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }
}

/// Methods for which ifupdown prints only the options written in the file;
/// others (static, inet6 auto...) add computed defaults to ifquery's output.
private let methodsWithoutDefaults: Set<String> = ["manual", "loopback"]

private func unique(_ names: [String]) -> [String] {
    var seen: Set<String> = []
    return names.filter { seen.insert($0).inserted }
}

@Suite struct IfupdownOracleTests {
    static let fixtures = ["oracle-basic", "oracle-includes"]

    /// Fails in CI when the oracle is missing; elsewhere says how to get it.
    @Test func oracleIsAvailable() {
        if IfqueryOracle.executable == nil {
            if IfqueryOracle.isCI {
                Issue.record("ifquery is missing under .oracles/root; CI must run scripts/fetch-oracles.sh first.")
            } else {
                print("note: ifquery oracle tests skipped: run scripts/fetch-oracles.sh to unpack ifquery into .oracles/root")
            }
        }
    }

    @Test(
        .enabled(if: IfqueryOracle.executable != nil || IfqueryOracle.isCI, "ifquery not unpacked: run scripts/fetch-oracles.sh"),
        arguments: fixtures
    )
    func interfaceListsMatchIfquery(fixture: String) throws {
        try #require(IfqueryOracle.executable != nil, "ifquery is missing; run scripts/fetch-oracles.sh")
        let hostRoot = IfupdownFixtures.directory + "/" + fixture
        let config = try #require(IfupdownLoader.load(try TargetRoot(directory: hostRoot)))
        #expect(config.diagnostics.isEmpty)
        let defined = Set(config.stanzas.map(\.name))
        let implicitLo = config.addsLoopbackImplicitly ? ["lo"] : []

        // ifquery --list prints the names that have a stanza and complains
        // about the rest on stderr.
        let auto = try IfqueryOracle.run(hostRoot, ["--list"])
        let autoNames = unique(implicitLo + config.autoInterfaces.map(\.value))
        #expect(lines(auto.stdout) == autoNames.filter { defined.contains($0) || $0 == "lo" })
        #expect(unknownNames(auto.stderr) == autoNames.filter { !defined.contains($0) && $0 != "lo" })

        let hotplug = try IfqueryOracle.run(hostRoot, ["--list", "--allow=hotplug"])
        let hotplugNames = unique(config.hotplugInterfaces.map(\.value))
        #expect(lines(hotplug.stdout) == hotplugNames.filter { defined.contains($0) })
    }

    @Test(
        .enabled(if: IfqueryOracle.executable != nil || IfqueryOracle.isCI, "ifquery not unpacked: run scripts/fetch-oracles.sh"),
        arguments: fixtures
    )
    func optionsMatchIfquery(fixture: String) throws {
        try #require(IfqueryOracle.executable != nil, "ifquery is missing; run scripts/fetch-oracles.sh")
        let hostRoot = IfupdownFixtures.directory + "/" + fixture
        let config = try #require(IfupdownLoader.load(try TargetRoot(directory: hostRoot)))
        let names = unique(config.stanzas.map(\.name))
        #expect(names.count >= 5)
        for name in names {
            let stanzas = config.stanzas.filter { $0.name == name }
            var printed = ""
            for stanza in stanzas {
                for option in stanza.ifupdownOptions { printed += "\(option.key): \(option.value)\n" }
            }
            let ours = lines(printed)
            let theirs = lines(try IfqueryOracle.run(hostRoot, [name]).stdout)
            if stanzas.allSatisfy({ methodsWithoutDefaults.contains($0.method) }) {
                #expect(ours == theirs, "ifquery \(name)")
            } else {
                // ifupdown adds computed defaults for these methods; ours must all be there.
                #expect(ours.allSatisfy(theirs.contains), "ifquery \(name): \(theirs)")
            }
        }
    }

    /// A fatal error in the main file makes ifupdown refuse everything.
    @Test(.enabled(if: IfqueryOracle.executable != nil || IfqueryOracle.isCI, "ifquery not unpacked: run scripts/fetch-oracles.sh"))
    func misplacedOptionInMainFileIsRejectedByBoth() throws {
        try #require(IfqueryOracle.executable != nil, "ifquery is missing; run scripts/fetch-oracles.sh")
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("ifupdown-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try FileManager.default.createDirectory(atPath: dir + "/etc/network", withIntermediateDirectories: true)
        try "auto eth0\niface eth0 inet dhcp\nauto eth1\n  address 192.0.2.1\n".write(toFile: dir + "/etc/network/interfaces", atomically: true, encoding: .utf8)
        let result = try IfqueryOracle.run(dir, ["--list"])
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains(":4: misplaced option"))
        let config = try #require(IfupdownLoader.load(try TargetRoot(directory: dir)))
        #expect(config.rejectedByIfupdown)
        #expect(config.haltedFiles == [SourceLocation(path: "/etc/network/interfaces", line: 4)])
    }

    private func lines(_ s: String) -> [String] {
        var all = s.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if s.isEmpty || s.hasSuffix("\n") { all.removeLast() }
        return all
    }

    private func unknownNames(_ stderr: String) -> [String] {
        lines(stderr).compactMap { line in
            line.range(of: "unknown interface ").map { String(line[$0.upperBound...]) }
        }
    }

    /// `ifup -n` (no action: it prints the commands) decides the prefix: an
    /// explicit `netmask` wins over the address's /length, in inet and inet6.
    @Test(.enabled(if: (IfqueryOracle.executable != nil && IptablesOracle.unshare != nil && isRoot) || IfqueryOracle.isCI,
                   "ifup not unpacked, or unshare -n needs root"))
    func netmaskOverridesTheAddressLengthAsIfupDoes() throws {
        let ifup = try #require(IfqueryOracle.executable?.replacingOccurrences(of: "ifquery", with: "ifup"))
        let root = try makeTempDir("ifup-netmask")
        defer { try? FileManager.default.removeItem(at: root) }
        try write("""
            auto eth0
            iface eth0 inet static
              address 1.2.3.4/14
              netmask 255.255.255.128
            iface eth0 inet6 static
              address 2001:db8::4/48
              netmask 64
            iface eth1 inet static
              address 10.0.0.4/16
            """, to: root.appendingPathComponent("etc/network/interfaces"))
        let state = try makeTempDir("ifup-state")
        defer { try? FileManager.default.removeItem(at: state) }
        var printed: [String] = []
        for name in ["eth0", "eth1"] {
            let out = try run(IptablesOracle.unshare ?? "/usr/bin/unshare",
                              ["-n", ifup, "-n", "-v", "-i", root.path + "/etc/network/interfaces", "--state-dir=" + state.path, "--no-mappings", name],
                              environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"])
            printed += (out.stdout + out.stderr).split(separator: "\n").filter { $0.hasPrefix("ip addr add") || $0.hasPrefix("ip -6 addr add") }.map(String.init)
        }
        #expect(printed.contains { $0.contains("1.2.3.4/255.255.255.128") }, "\(printed)")
        #expect(printed.contains { $0.contains("2001:db8::4/64") }, "\(printed)")
        #expect(printed.contains { $0.contains("10.0.0.4/255.255.0.0") }, "\(printed)")
        let system = SystemSnapshot.load(root: try TargetRoot(directory: root.path))
        let prefixes = system.claims.filter { $0.stack == .ifupdown }.flatMap(\.addresses).map { "\($0.address)/\($0.prefixLength ?? -1)" }
        #expect(prefixes == ["1.2.3.4/25", "2001:db8::4/64", "10.0.0.4/16"])
    }
}
