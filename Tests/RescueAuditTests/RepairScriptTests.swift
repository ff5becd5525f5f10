import Foundation
import Parsers
@testable import Plan
@testable import Report
@testable import Rules
import SystemModel
import TargetAccess
import Testing

// The repair script is tested by running it: on copies of every failing
// scenario with an automatic fix, on a composite root, and on hand-built plans
// that use every kind of operation. Every script and undo.sh goes through
// `shellcheck -s sh`. Scripts run under /bin/sh (dash on Debian) and, where
// installed, busybox sh. The chroot test needs root and a static busybox
// (Debian package busybox-static): CI must run it; elsewhere it falls back to
// checking the dry run and the trap.

/// A tree as path → kind, mode, SHA-256 or link target; the backup directory left out.
func manifest(_ root: URL, excluding: [String] = ["/var/backups/rescue-audit"]) throws -> [String: String] {
    var out: [String: String] = [:]
    let fm = FileManager.default
    func walk(_ rel: String) throws {
        for name in try fm.contentsOfDirectory(atPath: root.path + rel) {
            let r = rel + "/" + name
            if excluding.contains(where: { r == $0 || r.hasPrefix($0 + "/") }) { continue }
            let full = root.path + r
            let attrs = try fm.attributesOfItem(atPath: full)
            let mode = String((attrs[.posixPermissions] as? Int) ?? -1, radix: 8)
            switch attrs[.type] as? FileAttributeType {
            case .typeSymbolicLink?:
                out[r] = "link " + (try fm.destinationOfSymbolicLink(atPath: full))
            case .typeDirectory?:
                out[r] = "dir \(mode)"
                try walk(r)
            case .typeRegular?:
                out[r] = "file \(mode) " + sha256Hex([UInt8](try Data(contentsOf: URL(fileURLWithPath: full))))
            default:
                out[r] = "other"
            }
        }
    }
    try walk("")
    return out
}

/// Runs `shellcheck -s sh` on a script; a missing shellcheck fails in CI.
func expectShellcheckClean(_ path: String, sourceLocation: Testing.SourceLocation = #_sourceLocation) throws {
    guard let sc = which("shellcheck") else {
        #expect(!mustRunPrivileged, "shellcheck is not installed (Debian package shellcheck)", sourceLocation: sourceLocation)
        return
    }
    let r = try run(sc, ["-s", "sh", path])
    #expect(r.status == 0, "shellcheck \(path):\n\(r.stdout)\(r.stderr)", sourceLocation: sourceLocation)
}

/// Copies a tree exactly (modes, symlinks).
func copyTree(_ from: URL, to: URL) throws {
    let r = try run("/bin/cp", ["-a", "--", from.path, to.path])
    #expect(r.status == 0, "cp -a: \(r.stderr)")
}

func auditDirectory(_ url: URL, environment: (AuditEnvironment, TargetKind) = (AuditEnvironment(), .directory)) throws -> (AuditResult, SystemSnapshot) {
    let system = SystemSnapshot.load(root: try TargetRoot(directory: url.path), kind: environment.1, environment: environment.0)
    return (AuditResult.run(system), system)
}

func testContext(_ target: String, kind: TargetKind = .directory, uuid: String? = nil) -> ReportContext {
    ReportContext(toolVersion: "test", libblkidVersion: "test", target: target, kind: kind,
                  device: kind == .device ? "/dev/vdb1" : nil, uuid: uuid, auditedAt: "2026-01-01T00:00:00Z")
}

/// A generated script on disk, and how to run it.
struct ScriptUnderTest {
    var path: String
    var text: String

    init(_ text: String, in dir: URL) throws {
        self.text = text
        path = dir.appendingPathComponent("repair.sh").path
        try Data(text.utf8).write(to: URL(fileURLWithPath: path))
        try expectShellcheckClean(path)
    }

    func run(root: URL?, shell: String = "/bin/sh", _ env: [String: String] = [:]) throws -> ProcessOutput {
        var e = ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"]
        if let root { e["ROOT"] = root.path }
        e.merge(env) { $1 }
        let args = shell.hasSuffix("busybox") ? ["sh", path] : [path]
        return try RescueAuditTests.run(shell, args, environment: e)
    }
}

/// The undo.sh directories the script left in a root.
func backupDirs(_ root: URL) -> [URL] {
    let base = root.appendingPathComponent("var/backups/rescue-audit")
    let names = ((try? FileManager.default.contentsOfDirectory(atPath: base.path)) ?? []).filter { $0 != "done" }.sorted()
    return names.map { base.appendingPathComponent($0) }
}

/// The manifest after undo may keep the directories that hold the backups.
func withoutBackupParents(_ m: [String: String], original: [String: String]) -> [String: String] {
    m.filter { key, _ in !(["/var", "/var/backups"].contains(key) && original[key] == nil) }
}

/// Dry-run, repair, re-audit, run again and undo one root copied from `source`.
func roundTrip(_ source: URL, shell: String = "/bin/sh", environment: (AuditEnvironment, TargetKind) = (AuditEnvironment(), .directory),
               prepare: ((URL) throws -> Void)? = nil) throws {
    let work = try makeTempDir("repair-roundtrip")
    defer { try? FileManager.default.removeItem(at: work) }
    let root = work.appendingPathComponent("root")
    try copyTree(source, to: root)
    try prepare?(root)

    let (before, system) = try auditDirectory(root, environment: environment)
    // The verdict the plan predicts in memory, to compare with the audit of the really repaired copy.
    let predicted = before.predictAfterRepair(system)
    let script = try ScriptUnderTest(RepairScript.render(before, context: testContext(root.path), osName: system.osName), in: work)
    let chroots = before.plan.automaticActions.compactMap { a -> [String]? in
        if case .chroot(let command, _, _, _) = a.operation { return command }
        return nil
    }
    // Chroot steps run in one of two ways on a fixture. dpkg runs for real in
    // a minimal userland built into the copy (ChrootKit). update-initramfs
    // cannot (no kernel, no initramfs-tools): a stand-in chroot(8), bound
    // over the host's in a private mount namespace, rebuilds the initramfs
    // the way Debian's udev hook would (ChrootStandIn).
    var runShell = shell
    let standIn = !chroots.isEmpty && !chroots.allSatisfy { ChrootKit.commands.contains($0.first ?? "") }
    if standIn {
        guard getuid() == 0, which("unshare") != nil else {
            #expect(!mustRunPrivileged, "a plan with a chroot step needs root and unshare(1) for its stand-in")
            return
        }
        runShell = try ChrootStandIn.wrapper(work, shell: shell).path
    } else if !chroots.isEmpty {
        let unknown = chroots.filter { !ChrootKit.commands.contains($0.first ?? "") }
        #expect(unknown.isEmpty, "no chroot test kit for \(unknown)")
        if let why = ChrootKit.unavailable {
            #expect(!mustRunPrivileged, "\(why); CI must run them")
            let dry = try script.run(root: root, shell: shell, ["DRY_RUN": "1"])
            #expect(dry.status == 0 && dry.stdout.contains("would bind /proc /sys /dev /run"), "dry run: \(dry.stdout)\(dry.stderr)")
            return
        }
        try ChrootKit.install(into: root)
    }
    let original = try manifest(root, excluding: [])

    // A dry run changes nothing at all.
    let dry = try script.run(root: root, shell: shell, ["DRY_RUN": "1"])
    #expect(dry.status == 0, "dry run: \(dry.stderr)")
    #expect(try manifest(root, excluding: []) == original, "DRY_RUN=1 changed the tree")

    let first = try script.run(root: root, shell: runShell)
    #expect(first.status == 0, "first run failed: \(first.stdout)\(first.stderr)")

    // Each rule has at most as many findings as it had unfixed ones: fixed ones are gone, none is new.
    let (after, _) = try auditDirectory(root, environment: environment)
    var unfixed: [String: Int] = [:]
    for (i, f) in before.findings.enumerated() {
        let auto = (before.plan.actionsByFinding[i] ?? []).contains { ref in before.plan.automaticActions.contains { $0.id == ref.id } }
        if !auto { unfixed[f.rule, default: 0] += 1 }
    }
    for rule in Set(after.findings.map(\.rule)) {
        let n = after.findings.filter { $0.rule == rule }.count
        #expect(n <= unfixed[rule, default: 0], "after the repair \(rule) has \(n) finding(s): \(after.findings.filter { $0.rule == rule }.map(\.message))")
    }
    #expect(after.plan.automaticActions.isEmpty, "nothing automatic is left to do: \(after.plan.automaticActions.map(\.summary))")
    // The prediction made in memory before the repair is what the repaired copy gets.
    if predicted.notModelled.isEmpty {
        #expect(predicted.verdict.line == after.verdict?.line, "predicted after repair: \(predicted.verdict.line); audited after repair: \(after.verdict?.line ?? "none")")
        #expect(predicted.verdict.outcome == after.verdict?.outcome)
        let said = { (r: [Finding]) in r.map { "\($0.rule) \($0.severity.rawValue): \($0.message)" }.sorted() }
        #expect(said(predicted.findings) == said(after.findings), "the findings predicted after repair differ from the repaired copy's")
    }

    let repaired = try manifest(root, excluding: [])
    let dirs = backupDirs(root)
    #expect(dirs.count == 1, "one backup directory: \(dirs)")

    // A second run does nothing, not even a new backup directory.
    let second = try script.run(root: root, shell: runShell)
    #expect(second.status == 0, "second run: \(second.stderr)")
    #expect(second.stdout.contains("Nothing to do"), "\(second.stdout)")
    #expect(try manifest(root, excluding: []) == repaired, "the second run changed the tree")

    // undo.sh restores every byte.
    guard let bk = dirs.first else { return }
    let undo = bk.appendingPathComponent("undo.sh").path
    try expectShellcheckClean(undo)
    let u = try run(shell, shell.hasSuffix("busybox") ? ["sh", undo] : [undo], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
    #expect(u.status == 0, "undo: \(u.stdout)\(u.stderr)")
    // What a chroot command changed cannot be undone (the script and undo.sh
    // say so), unless the step declares the files: those undo.sh puts back.
    let declared = before.plan.automaticActions.flatMap { a -> [String] in
        if case .chroot(_, _, _, let changes) = a.operation { return changes }
        return []
    }
    let restorable = { (key: String) in declared.contains { fnmatch($0, key, FNM_PATHNAME) == 0 } }
    let rewritten = standIn ? ChrootStandIn.changed(work) : []
    let undoable = { (key: String) in
        (rewritten.contains(key) && !restorable(key))
            || (!chroots.isEmpty && !standIn && ChrootKit.changedByCommands.contains { key == $0 || key.hasPrefix($0 + "/") } && !restorable(key))
    }
    let restored = withoutBackupParents(try manifest(root), original: original).filter { !undoable($0.key) }
    #expect(restored == original.filter { !$0.key.hasPrefix("/var/backups/rescue-audit") && !undoable($0.key) }, "undo.sh did not restore the tree")
    if !chroots.isEmpty && !standIn { #expect(first.stdout.contains("running in the target"), "\(first.stdout)") }
}

/// The shells the scripts must run under: /bin/sh (dash on Debian) and busybox sh when installed.
let testShells: [String] = ["/bin/sh"] + (which("busybox").map { [$0] } ?? [])

/// Runs undo.sh with `shell`.
func runUndo(_ path: String, shell: String) throws -> ProcessOutput {
    try run(shell, shell.hasSuffix("busybox") ? ["sh", path] : [path], environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
}

/// A failing scenario whose plan has something automatic to do. A failing
/// scenario whose audit throws is kept too, so its round trip fails (saying
/// why) instead of the scenario silently dropping out.
struct RepairScenario: CustomTestStringConvertible, Sendable {
    var scenario: Scenario
    var testDescription: String { scenario.testDescription }

    static let all: [RepairScenario] = Scenario.all.filter { s in
        guard s.shouldFail else { return false }
        guard let r = try? s.audit() else { return true }
        return !r.plan.automaticActions.isEmpty
    }.map { RepairScenario(scenario: $0) }
}

/// The example root plus more: a sourced file with a syntax error (not fixed
/// automatically), /etc/network reached through an absolute symlink (the
/// script must resolve it inside the root), a non-UTF-8 comment and mode 0640.
func makeComposite(_ root: URL) throws {
    let fm = FileManager.default
    let etc = root.appendingPathComponent("etc")
    try fm.moveItem(at: etc.appendingPathComponent("network"), to: etc.appendingPathComponent("network-real"))
    try fm.createSymbolicLink(atPath: etc.appendingPathComponent("network").path, withDestinationPath: "/etc/network-real")
    let interfaces = etc.appendingPathComponent("network-real/interfaces")
    var bytes = [UInt8](try Data(contentsOf: interfaces))
    bytes += Array("\n# caf\u{e9} in Latin-1: ".utf8) + [0x63, 0x61, 0x66, 0xE9, 0x0A] + Array("source /etc/network/interfaces.d/*\n".utf8)
    try Data(bytes).write(to: interfaces)
    try fm.setAttributes([.posixPermissions: 0o640], ofItemAtPath: interfaces.path)
    try write("    address 192.0.2.9/24\nauto eth1\niface eth1 inet dhcp\n", to: etc.appendingPathComponent("network-real/interfaces.d/extra"))
}

@Suite struct RepairScriptTests {
    @Test(arguments: RepairScenario.all)
    func scenarioRoundTrip(_ s: RepairScenario) throws {
        guard s.scenario.prepared() else { return }
        try roundTrip(s.scenario.url, environment: try s.scenario.environment())
    }

    /// Every failing scenario is audited without an error, and each one whose
    /// plan has automatic actions is among the round trips above: none is
    /// left out, whatever their number.
    @Test func everyFailingScenarioWithAutomaticActionsRoundTrips() throws {
        let roundTrips = Set(RepairScenario.all.map(\.testDescription))
        var automatic: [String] = []
        for s in Scenario.all where s.shouldFail && s.prepared() {
            let result: AuditResult
            do { result = try s.audit() } catch {
                Issue.record("\(s.testDescription): the audit failed: \(error)")
                continue
            }
            guard !result.plan.automaticActions.isEmpty else { continue }
            automatic.append(s.testDescription)
            #expect(roundTrips.contains(s.testDescription), "\(s.testDescription) has automatic actions but no round trip")
        }
        #expect(!automatic.isEmpty, "no failing scenario has an automatic repair: the round trips test nothing")
    }

    @Test func compositeRootRoundTrip() throws {
        let src = Repo.example
        var findings: [String] = []
        try roundTrip(src) { root in
            try makeComposite(root)
            findings = try auditDirectory(root).0.findings.map(\.rule)
        }
        #expect(Set(findings).isSuperset(of: ["loopback-not-configured", "multiple-default-routes", "config-syntax-error"]), "\(findings)")
    }

    @Test func exampleRootRoundTripUnderBusybox() throws {
        guard let bb = which("busybox") else {
            #expect(!mustRunPrivileged, "busybox is not installed (Debian package busybox-static)")
            return
        }
        try roundTrip(Repo.example, shell: bb)
    }

    /// The file changed after the audit: the script refuses, naming it, and changes nothing; FORCE=1 proceeds.
    @Test func refusesAFileChangedSinceTheAudit() throws {
        let work = try makeTempDir("repair-mismatch")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        try copyTree(Repo.example, to: root)
        let (result, _) = try auditDirectory(root)
        let script = try ScriptUnderTest(RepairScript.render(result, context: testContext(root.path)), in: work)

        let interfaces = root.appendingPathComponent("etc/network/interfaces")
        let handle = try FileHandle(forWritingTo: interfaces)
        try handle.seekToEnd()
        try handle.write(contentsOf: Data("\n# edited after the audit\n".utf8))
        try handle.close()
        let edited = try manifest(root, excluding: [])

        let refused = try script.run(root: root)
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("/etc/network/interfaces") && refused.stderr.contains("changed since the audit"), "\(refused.stderr)")
        #expect(try manifest(root, excluding: []) == edited, "a refused run changes nothing")

        let forced = try script.run(root: root, ["FORCE": "1"])
        #expect(forced.status == 0, "\(forced.stderr)")
        let interfacesWrite = result.plan.automaticActions.first { a in
            if case .writeFile(let path, _, _, _, _, _) = a.operation { return path == "/etc/network/interfaces" }
            return false
        }
        guard case .writeFile(_, _, let after, _, _, _)? = interfacesWrite?.operation else {
            Issue.record("the example plan writes /etc/network/interfaces")
            return
        }
        #expect(sha256Hex([UInt8](try Data(contentsOf: interfaces))) == after)
        // undo.sh puts back what was there, the edited file.
        let undo = try #require(backupDirs(root).first).appendingPathComponent("undo.sh")
        let u = try run("/bin/sh", [undo.path])
        #expect(u.status == 0, "\(u.stderr)")
        #expect(withoutBackupParents(try manifest(root), original: edited) == edited)
    }

    /// Where the script gets its root from, and what it refuses.
    @Test func rootHandling() throws {
        let work = try makeTempDir("repair-root")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        try copyTree(Repo.example, to: root)
        let (result, _) = try auditDirectory(root)

        let dir = try ScriptUnderTest(RepairScript.render(result, context: testContext(root.path)), in: work)
        let unset = try dir.run(root: nil)
        #expect(unset.status == 2 && unset.stderr.contains("ROOT=/path sh"), "\(unset.stderr)")
        let slash = try dir.run(root: URL(fileURLWithPath: "/"))
        #expect(slash.status != 0 && slash.stderr.contains("ROOT is /"), "\(slash.stderr)")
        // After an audit of / itself (inside a chroot of the target), ROOT=/ is the target.
        let chrooted = RepairScript.render(result, context: testContext("/"))
        #expect(!chrooted.contains("ROOT is /, the system this script runs on") && chrooted.contains("ROOT=/ is the target"))
        let noEtc = try dir.run(root: work)
        #expect(noEtc.status != 0 && noEtc.stderr.contains("/etc is not a directory"), "\(noEtc.stderr)")

        let image = try ScriptUnderTest(RepairScript.render(result, context: testContext("/srv/disk image.img", kind: .image)), in: work)
        let i = try image.run(root: nil)
        #expect(i.status == 2 && i.stderr.contains("losetup --find --show --partscan '/srv/disk image.img'"), "\(i.stderr)")

        let device = try ScriptUnderTest(RepairScript.render(result, context: testContext("/dev/vdb1", kind: .device, uuid: "0bad0bad-0000-4000-8000-00000000dead")), in: work)
        #expect(device.text.contains("AUDIT_UUID='0bad0bad-0000-4000-8000-00000000dead'"))
        #expect(device.text.contains("mount -o rw \"$dev\" \"$MNT\""))
        #expect(device.text.contains("mount -o ro,noload \"$dev\" \"$MNT\""), "a dry run does not replay a journal")
        let d = try device.run(root: nil, ["DRY_RUN": "1"])
        #expect(d.status != 0 && d.stderr.contains("no device with UUID 0bad0bad"), "\(d.stderr)")
        // A UUID that could walk out of /dev/disk/by-uuid is not used.
        let bad = RepairScript.render(result, context: testContext("/dev/vdb1", kind: .device, uuid: "../../sda"))
        #expect(!bad.contains("AUDIT_UUID"))
    }

    /// Every kind of operation, built by hand, on a root made for it.
    @Test(arguments: testShells)
    func handBuiltPlanWithEveryOperation(shell: String) throws {
        let work = try makeTempDir("repair-handbuilt")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        let fm = FileManager.default
        try write("old contents\n", to: root.appendingPathComponent("etc/edited.conf"))
        try fm.setAttributes([.posixPermissions: 0o600], ofItemAtPath: root.appendingPathComponent("etc/edited.conf").path)
        try write("obsolete\n", to: root.appendingPathComponent("etc/obsolete.conf"))
        try fm.createDirectory(at: root.appendingPathComponent("etc/systemd/system/multi-user.target.wants"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("etc/systemd/system/multi-user.target.wants/a.service").path,
                                  withDestinationPath: "/lib/systemd/system/a.service")
        try fm.createSymbolicLink(atPath: root.appendingPathComponent("etc/systemd/system/masked.service").path, withDestinationPath: "/dev/null")
        try fm.createDirectory(at: root.appendingPathComponent("home/u/.ssh"), withIntermediateDirectories: true)
        try fm.setAttributes([.posixPermissions: 0o775, .ownerAccountID: 0, .groupOwnerAccountID: 0],
                             ofItemAtPath: root.appendingPathComponent("home/u/.ssh").path)
        let edited: [UInt8] = Array("new\u{0}\u{1}%s\\n".utf8) + [0xFF, 0xFE] + Array("\nlast line, no newline".utf8)
        let created: [UInt8] = [0x2D, 0x2D, 0x0A, 0x0A, 0xC3]  // "--", empty line, a cut UTF-8 sequence
        let actions: [PlannedAction] = [
            PlannedAction(id: "A1", operation: .writeFile(path: "/etc/edited.conf", before: sha256Hex(Array("old contents\n".utf8)),
                                                          after: sha256Hex(edited), content: edited, mode: nil, edits: []),
                          summary: "Edit /etc/edited.conf", rules: ["r"]),
            PlannedAction(id: "A2", operation: .writeFile(path: "/etc/new/dir/created.conf", before: nil, after: sha256Hex(created),
                                                          content: created, mode: 0o640, edits: []),
                          summary: "Create /etc/new/dir/created.conf", rules: ["r"]),
            PlannedAction(id: "A3", operation: .moveAside(path: "/etc/obsolete.conf", before: sha256Hex(Array("obsolete\n".utf8))),
                          summary: "Move /etc/obsolete.conf aside", rules: ["r"]),
            PlannedAction(id: "A4", operation: .createSymlink(SymlinkSpec(path: "/etc/systemd/system/bad.service", target: "/dev/null")),
                          summary: "Mask bad.service", rules: ["r"]),
            PlannedAction(id: "A5", operation: .enableUnit(unit: "a.service", links: [
                SymlinkSpec(path: "/etc/systemd/system/multi-user.target.wants/a.service", target: "/lib/systemd/system/a.service"),
                SymlinkSpec(path: "/etc/systemd/system/sockets.target.wants/a.socket", target: "/lib/systemd/system/a.socket"),
            ]), summary: "Enable a.service", rules: ["r"]),
            PlannedAction(id: "A6", operation: .manual(description: "Check the cabling", commands: ["ip link show"]),
                          summary: "Check the cabling", rules: ["r"]),
            PlannedAction(id: "A7", operation: .removeSymlink(SymlinkSpec(path: "/etc/systemd/system/masked.service", target: "/dev/null")),
                          summary: "Unmask masked.service", rules: ["r"]),
            PlannedAction(id: "A8", operation: .setOwnership(path: "/home/u/.ssh", from: FileOwnership(mode: 0o775, uid: 0, gid: 0),
                                                             to: FileOwnership(mode: 0o700, uid: 4242, gid: 4343)),
                          summary: "Give /home/u/.ssh to uid 4242", rules: ["r"]),
        ]
        let finding = Finding(rule: "r", severity: .high, message: "m", atBoot: "b", evidence: [.fact("/etc/edited.conf", "x")])
        let manualOnly = Finding(rule: "s", severity: .low, message: "m", atBoot: "b", evidence: [.fact("/etc", "x")])
        let plan = RepairPlan(actions: actions, conflicts: [PlanConflict(path: "/etc/x", rules: ["p", "q"], message: "p and q disagree about /etc/x")],
                              actionsByFinding: [0: actions.filter { $0.id != "A6" }.map { PlanReference(id: $0.id, summary: $0.summary) },
                                                 1: [PlanReference(id: "A6", summary: "Check the cabling")]])
        let result = AuditResult(findings: [finding, manualOnly], plan: plan)
        let script = try ScriptUnderTest(RepairScript.render(result, context: testContext(root.path)), in: work)
        #expect(script.text.contains("# Findings it does NOT fix"))
        #expect(script.text.contains("#       A6 (manual): Check the cabling"))
        #expect(script.text.contains("#           ip link show"))
        #expect(script.text.contains("p and q disagree about /etc/x"))

        let original = try manifest(root, excluding: [])
        let dry = try script.run(root: root, shell: shell, ["DRY_RUN": "1"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(try manifest(root, excluding: []) == original)

        let r = try script.run(root: root, shell: shell)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        let m = try manifest(root)
        #expect(m["/etc/edited.conf"] == "file 600 " + sha256Hex(edited), "edited in place, mode kept")
        #expect(m["/etc/new/dir/created.conf"] == "file 640 " + sha256Hex(created))
        #expect(m["/etc/obsolete.conf"] == nil)
        #expect(m["/etc/systemd/system/bad.service"] == "link /dev/null")
        #expect(m["/etc/systemd/system/sockets.target.wants/a.socket"] == "link /lib/systemd/system/a.socket")
        #expect(m["/etc/systemd/system/masked.service"] == nil, "the mask is moved into the backup")
        #expect(m["/home/u/.ssh"] == "dir 700")
        let owner = try fm.attributesOfItem(atPath: root.appendingPathComponent("home/u/.ssh").path)
        #expect((owner[.ownerAccountID] as? Int) == 4242 && (owner[.groupOwnerAccountID] as? Int) == 4343, "numeric owner: \(owner)")
        let bk = try #require(backupDirs(root).first)
        #expect(fm.fileExists(atPath: bk.appendingPathComponent("files/etc/obsolete.conf").path))
        #expect(try String(contentsOf: bk.appendingPathComponent("files/etc/edited.conf"), encoding: .utf8) == "old contents\n")
        #expect(fm.fileExists(atPath: bk.appendingPathComponent("repair.log").path))

        let repaired = try manifest(root, excluding: [])
        let again = try script.run(root: root, shell: shell)
        #expect(again.status == 0 && again.stdout.contains("Nothing to do"), "\(again.stdout)\(again.stderr)")
        #expect(try manifest(root, excluding: []) == repaired)

        let undo = bk.appendingPathComponent("undo.sh").path
        try expectShellcheckClean(undo)
        let undoText = try String(contentsOfFile: undo, encoding: .utf8)
        #expect(!undoText.unicodeScalars.contains { ($0 != "\n" && $0 != "\t" && Text.isControl($0)) || Text.isBidiOrSeparator($0) })
        let u = try runUndo(undo, shell: shell)
        #expect(u.status == 0, "\(u.stdout)\(u.stderr)")
        #expect(withoutBackupParents(try manifest(root), original: original) == original, "undo.sh restores the tree, removing created directories")
        let back = try fm.attributesOfItem(atPath: root.appendingPathComponent("home/u/.ssh").path)
        #expect((back[.ownerAccountID] as? Int) == 0 && (back[.groupOwnerAccountID] as? Int) == 0, "undo.sh puts the owner back: \(back)")
        let u2 = try runUndo(undo, shell: shell)
        #expect(u2.status == 0, "undo.sh twice is harmless: \(u2.stderr)")
    }

    /// Something else where a link goes: refused; FORCE=1 replaces it and undo puts it back.
    @Test func linkOverSomethingElse() throws {
        let work = try makeTempDir("repair-link")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        try write("a unit file\n", to: root.appendingPathComponent("etc/systemd/system/bad.service"))
        let plan = RepairPlan(actions: [PlannedAction(id: "A1", operation: .createSymlink(SymlinkSpec(path: "/etc/systemd/system/bad.service", target: "/dev/null")),
                                                      summary: "Mask bad.service", rules: ["r"])], conflicts: [], actionsByFinding: [:])
        let script = try ScriptUnderTest(RepairScript.render(AuditResult(findings: [], plan: plan), context: testContext(root.path)), in: work)
        let original = try manifest(root, excluding: [])
        let refused = try script.run(root: root)
        #expect(refused.status != 0 && refused.stderr.contains("/etc/systemd/system/bad.service"), "\(refused.stderr)")
        #expect(try manifest(root, excluding: []) == original)
        let forced = try script.run(root: root, ["FORCE": "1"])
        #expect(forced.status == 0, "\(forced.stderr)")
        #expect(try manifest(root)["/etc/systemd/system/bad.service"] == "link /dev/null")
        let u = try run("/bin/sh", [try #require(backupDirs(root).first).appendingPathComponent("undo.sh").path])
        #expect(u.status == 0, "\(u.stderr)")
        #expect(withoutBackupParents(try manifest(root), original: original) == original)
    }

    /// Values from the target never run: paths, link targets, contents,
    /// summaries and header text full of shell syntax stay data.
    @Test(arguments: testShells)
    func hostileValuesStayData(shell: String) throws {
        let work = try makeTempDir("repair-hostile")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        let pwned = "/tmp/pwned-\(UUID().uuidString)"
        let nasty = ["'", "\"", "$(touch \(pwned))", "`touch \(pwned)`", "a\nb", "with space", ";reboot", "-rf", "${IFS}", "\\", "%s%n", "esc\u{1B}]0;t\u{07}\u{202E}bidi"]
        var actions: [PlannedAction] = []
        var expected: [String: [UInt8]] = [:]
        for (i, n) in nasty.enumerated() {
            let path = "/etc/\(n)/-\(n)\(i)"
            let content = Array("iface \(n) inet manual\n# \(n)\n".utf8)
            expected[path] = content
            actions.append(PlannedAction(id: "A\(i + 1)", operation: .writeFile(path: path, before: nil, after: sha256Hex(content), content: content, mode: nil, edits: []),
                                         summary: "Create \(n)\n$(touch \(pwned))", rules: ["r"]))
        }
        actions.append(PlannedAction(id: "A\(nasty.count + 1)", operation: .enableUnit(unit: "x;reboot", links: [
            SymlinkSpec(path: "/etc/$(touch \(pwned)).wants/-x", target: "-$(touch \(pwned))\n`reboot`'"),
        ]), summary: "Enable x;reboot", rules: ["r"]))
        actions.append(PlannedAction(id: "A\(nasty.count + 2)", operation: .chroot(command: ["/bin/sh", "-c", "touch \(pwned)"], why: "why\nrm -rf /", undoable: false),
                                     summary: "chroot $(touch \(pwned))", rules: ["r"]))
        actions.append(PlannedAction(id: "A\(nasty.count + 3)", operation: .manual(description: "desc\nreboot", commands: [ShellCommand(words: [.literal("ip a\n$(touch \(pwned))")])]),
                                     summary: "manual\nreboot", rules: ["r"]))
        let finding = Finding(rule: "r\nreboot", severity: .high, message: "m", atBoot: "b", evidence: [])
        let plan = RepairPlan(actions: actions, conflicts: [PlanConflict(path: "/etc/a\nreboot", rules: ["x"], message: "no\n$(touch \(pwned))")],
                              actionsByFinding: [0: actions.map { PlanReference(id: $0.id, summary: $0.summary) }])
        let context = ReportContext(toolVersion: "t\nreboot", libblkidVersion: "", target: "/mnt/x'\n$(touch \(pwned))", kind: .directory,
                                    auditedAt: "now\nreboot")
        let script = try ScriptUnderTest(RepairScript.render(AuditResult(findings: [finding], plan: plan), context: context, osName: "Debian\nreboot"), in: work)

        // `cat repair.sh` is safe: no raw control or bidi character from a value (issue 20).
        #expect(!script.text.unicodeScalars.contains { ($0 != "\n" && $0 != "\t" && Text.isControl($0)) || Text.isBidiOrSeparator($0) })

        // The header is comments only: no value's newline ends a comment.
        let header = script.text.split(separator: "\n", omittingEmptySubsequences: false).prefix { $0 != "set -eu" }.dropFirst()
        for line in header { #expect(line.isEmpty || line.hasPrefix("#"), "header line escaped its comment: \(line)") }

        // A dry run (the chroot step only prints) and a real run without the chroot step.
        let dry = try script.run(root: root, shell: shell, ["DRY_RUN": "1"])
        #expect(dry.status == 0, "\(dry.stderr)")
        #expect(!FileManager.default.fileExists(atPath: pwned))

        var noChroot = actions
        noChroot.removeAll { if case .chroot = $0.operation { true } else { false } }
        let plan2 = RepairPlan(actions: noChroot, conflicts: plan.conflicts, actionsByFinding: [:])
        let script2 = try ScriptUnderTest(RepairScript.render(AuditResult(findings: [finding], plan: plan2), context: context), in: work)
        let r = try script2.run(root: root, shell: shell)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: pwned), "a value was executed")
        for (path, content) in expected {
            let data = try? Data(contentsOf: URL(fileURLWithPath: root.path + path))
            #expect(data.map { [UInt8]($0) } == content, "\(path) written exactly")
        }
        let m = try manifest(root)
        #expect(m["/etc/$(touch \(pwned)).wants/-x"] == "link -$(touch \(pwned))\n`reboot`'")
        let again = try script2.run(root: root, shell: shell)
        #expect(again.status == 0 && again.stdout.contains("Nothing to do"), "\(again.stderr)")
        let undo = try #require(backupDirs(root).first).appendingPathComponent("undo.sh").path
        try expectShellcheckClean(undo)
        let u = try runUndo(undo, shell: shell)
        #expect(u.status == 0, "\(u.stderr)")
        #expect(try manifest(root).keys.sorted() == ["/etc", "/var", "/var/backups"])
        #expect(!FileManager.default.fileExists(atPath: pwned), "a value was executed")
        try? FileManager.default.removeItem(atPath: pwned)
    }

    /// A symlinked directory in the target that points outside (absolute, or
    /// with ..) is followed inside the root, never on the host.
    @Test func symlinksResolveInsideTheRoot() throws {
        let work = try makeTempDir("repair-escape")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        let outside = work.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: root.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("etc/abs").path, withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("etc/up").path, withDestinationPath: "../../../../../../../../" + outside.path)
        let content = Array("x\n".utf8)
        let plan = RepairPlan(actions: ["abs", "up"].enumerated().map { i, d in
            PlannedAction(id: "A\(i + 1)", operation: .writeFile(path: "/etc/\(d)/f", before: nil, after: sha256Hex(content), content: content, mode: nil, edits: []),
                          summary: "write through \(d)", rules: ["r"])
        }, conflicts: [], actionsByFinding: [:])
        let script = try ScriptUnderTest(RepairScript.render(AuditResult(findings: [], plan: plan), context: testContext(root.path)), in: work)
        let r = try script.run(root: root)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty, "the script wrote outside the root")
        #expect(FileManager.default.fileExists(atPath: root.path + outside.path + "/f"), "the absolute link is followed from the root")
    }

    /// Chroot steps: binds, runs once, always unbinds. Needs root and a static busybox.
    @Test func chrootStepRunsOnceAndAlwaysUnbinds() throws {
        let work = try makeTempDir("repair-chroot")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        for d in ["etc", "bin", "proc", "sys", "dev", "run", "tmp"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        // A file name full of shell syntax, created inside the root by the command.
        let ran = "/tmp/ran $(id) `id` ;id -x"
        func plan(_ command: [String]) -> AuditResult {
            AuditResult(findings: [], plan: RepairPlan(actions: [
                PlannedAction(id: "A1", operation: .chroot(command: command, why: "configure half-installed packages", undoable: false),
                              summary: "Run dpkg --configure -a", rules: ["r"])], conflicts: [], actionsByFinding: [:]))
        }
        let ok = try ScriptUnderTest(RepairScript.render(plan(["/bin/busybox", "touch", ran]), context: testContext(root.path)), in: work)
        #expect(ok.text.contains("CANNOT undo"))
        #expect(ok.text.contains("trap 'rc=$?; cleanup; exit \"$rc\"' EXIT"))
        let dry = try ok.run(root: root, ["DRY_RUN": "1"])
        #expect(dry.status == 0)
        #expect(dry.stdout.contains("would bind /proc /sys /dev /run") && dry.stdout.contains("would unbind"), "\(dry.stdout)")
        #expect(try manifest(root, excluding: []).keys.sorted() == ["/bin", "/dev", "/etc", "/proc", "/run", "/sys", "/tmp"])

        // A /proc that is a symlink (here to the host's /proc) is refused before anything happens.
        let trap = work.appendingPathComponent("trap-root")
        try FileManager.default.createDirectory(at: trap.appendingPathComponent("etc"), withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: trap.appendingPathComponent("proc").path, withDestinationPath: "/proc")
        let refused = try ok.run(root: trap)
        #expect(refused.status != 0 && refused.stderr.contains("proc is a symlink"), "\(refused.stderr)")

        guard isRoot, let bb = which("busybox"), (try? run("/usr/bin/file", [bb]).stdout.contains("statically linked")) ?? true else {
            #expect(!mustRunPrivileged, "the chroot test needs root and busybox-static in CI")
            return
        }
        try FileManager.default.copyItem(atPath: bb, toPath: root.appendingPathComponent("bin/busybox").path)
        func mounts() throws -> [String] {
            try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8).split(separator: "\n").filter { $0.contains(root.path) }.map(String.init)
        }
        let r = try ok.run(root: root)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(r.stdout.contains("running in the target"), "\(r.stdout)")
        #expect(FileManager.default.fileExists(atPath: root.path + ran), "the command ran inside the root")
        #expect(try mounts().isEmpty, "binds left behind")
        try FileManager.default.removeItem(atPath: root.path + ran)
        let again = try ok.run(root: root)
        #expect(again.status == 0 && again.stdout.contains("Nothing to do"), "\(again.stdout)")
        #expect(!FileManager.default.fileExists(atPath: root.path + ran), "a chroot step runs once")
        let undo = try #require(backupDirs(root).first).appendingPathComponent("undo.sh").path
        let u = try run("/bin/sh", [undo])
        #expect(u.status == 0 && u.stdout.contains("cannot undo"), "\(u.stdout)")

        let failing = try ScriptUnderTest(RepairScript.render(plan(["/bin/busybox", "false"]), context: testContext(root.path)), in: work)
        let f = try failing.run(root: root)
        #expect(f.status != 0, "a failing command fails the script")
        #expect(try mounts().isEmpty, "binds left behind after a failure")
    }

    /// A chroot step that declares the files it changes: they are copied
    /// aside before it runs, and undo.sh puts back the changed and removed
    /// ones and deletes the ones it created, byte for byte. Needs root and a
    /// static busybox.
    @Test func chrootStepDeclaredChangesAreUndone() throws {
        let work = try makeTempDir("repair-chroot-undo")
        defer { try? FileManager.default.removeItem(at: work) }
        let root = work.appendingPathComponent("root")
        for d in ["etc", "bin", "proc", "sys", "dev", "run", "tmp", "boot"] {
            try FileManager.default.createDirectory(at: root.appendingPathComponent(d), withIntermediateDirectories: true)
        }
        try write("old initrd 1\n", to: root.appendingPathComponent("boot/initrd.img-6.1.0-1-amd64"))
        try write("old initrd 2\n", to: root.appendingPathComponent("boot/initrd.img-6.1.0-2-amd64"))
        try write("kernel\n", to: root.appendingPathComponent("boot/vmlinuz-6.1.0-1-amd64"))
        try FileManager.default.createSymbolicLink(atPath: root.appendingPathComponent("boot/initrd.img-link").path, withDestinationPath: "initrd.img-6.1.0-1-amd64")
        // Rewrites one initrd, deletes another, creates a third, retargets a
        // link, and touches a file outside the declared glob.
        let command = ["/bin/busybox", "sh", "-c",
                       "echo new > /boot/initrd.img-6.1.0-1-amd64; rm /boot/initrd.img-6.1.0-2-amd64; echo made > '/boot/initrd.img-6.9 $(x)'; "
                           + "ln -sfn initrd.img-6.9 /boot/initrd.img-link; echo other > /boot/vmlinuz-6.1.0-1-amd64"]
        let plan = AuditResult(findings: [], plan: RepairPlan(actions: [
            PlannedAction(id: "A1", operation: .chroot(command: command, why: "rebuild the initramfs", undoable: false, changes: ["/boot/initrd.img-*"]),
                          summary: "Rebuild", rules: ["r"])], conflicts: [], actionsByFinding: [:]))
        let script = try ScriptUnderTest(RepairScript.render(plan, context: testContext(root.path)), in: work)
        #expect(script.text.contains("(/boot/initrd.img-*) are copied aside before it runs"), "the header says what undo.sh restores")
        #expect(script.text.contains("Anything else it changes cannot be restored."))
        guard isRoot, let bb = which("busybox"), (try? run("/usr/bin/file", [bb]).stdout.contains("statically linked")) ?? true else {
            #expect(!mustRunPrivileged, "the chroot test needs root and busybox-static in CI")
            return
        }
        try FileManager.default.copyItem(atPath: bb, toPath: root.appendingPathComponent("bin/busybox").path)
        let original = try manifest(root, excluding: [])
        let r = try script.run(root: root)
        #expect(r.status == 0, "\(r.stdout)\(r.stderr)")
        #expect(try String(contentsOfFile: root.path + "/boot/initrd.img-6.1.0-1-amd64", encoding: .utf8) == "new\n", "the command ran")
        let dir = try #require(backupDirs(root).first)
        try expectShellcheckClean(dir.appendingPathComponent("undo.sh").path)
        for shell in testShells {
            let u = try runUndo(dir.appendingPathComponent("undo.sh").path, shell: shell)
            #expect(u.status == 0, "\(shell): \(u.stdout)\(u.stderr)")
            var restored = withoutBackupParents(try manifest(root), original: original)
            // Outside the declared glob: not restored (the header says so).
            #expect(restored["/boot/vmlinuz-6.1.0-1-amd64"] != original["/boot/vmlinuz-6.1.0-1-amd64"])
            restored["/boot/vmlinuz-6.1.0-1-amd64"] = original["/boot/vmlinuz-6.1.0-1-amd64"]
            #expect(restored == original, "\(shell): undo.sh did not restore /boot")
        }
    }

    @Test func planCommandWritesAnExecutableScript() throws {
        let work = try makeTempDir("repair-cli")
        defer { try? FileManager.default.removeItem(at: work) }
        let example = Repo.example.path
        let out = work.appendingPathComponent("repair.sh").path
        let r = try rescueAudit(["plan", example, "-o", out])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("ROOT=/mnt/target sh"), "\(r.stdout)")
        let attrs = try FileManager.default.attributesOfItem(atPath: out)
        #expect((attrs[.posixPermissions] as? Int) == 0o755)
        try expectShellcheckClean(out)
        let stdout = try rescueAudit(["plan", example, "-o", "-"])
        #expect(stdout.status == 0 && stdout.stdout.hasPrefix("#!/bin/sh\n"))
        let audit = try rescueAudit(["audit", example, "--script", out + ".2"])
        #expect(audit.status == 1, "findings: exit 1")
        #expect(FileManager.default.fileExists(atPath: out + ".2"))
    }

    @Test func printfEncodingIsByteExact() throws {
        let work = try makeTempDir("repair-printf")
        defer { try? FileManager.default.removeItem(at: work) }
        let all = (0...255).map(UInt8.init) + Array("-x\n%d\n\\0101\n".utf8)
        let fn = "f() {\n" + printfStatements(all).joined(separator: "\n") + "\n}\nf\n"
        let path = work.appendingPathComponent("p.sh").path
        try Data(fn.utf8).write(to: URL(fileURLWithPath: path))
        for shell in ["/bin/sh", which("busybox")].compactMap({ $0 }) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: shell)
            p.arguments = shell.hasSuffix("busybox") ? ["sh", path] : [path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            #expect([UInt8](data) == all, "\(shell) reproduces every byte")
        }
    }
}
