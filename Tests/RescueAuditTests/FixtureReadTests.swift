import Foundation
import Rules
import SystemModel
import TargetAccess
import Testing

/// Every path the confined reader was asked for during one audit.
final class AccessLog: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [(TargetRoot.Access, String)] = []

    func record(_ access: TargetRoot.Access, _ path: String) {
        lock.lock()
        entries.append((access, path))
        lock.unlock()
    }

    var all: [(TargetRoot.Access, String)] {
        lock.lock()
        defer { lock.unlock() }
        return entries
    }

    /// Audits `directory` as the CLI does (model, rules, plan) and returns
    /// what was asked of the reader.
    static func audit(_ directory: URL) throws -> AccessLog {
        let log = AccessLog()
        let root = try TargetRoot(directory: directory.path, observer: { log.record($0, $1) })
        _ = AuditResult.run(SystemSnapshot.load(root: root))
        return log
    }
}

/// The fixture entries (files and symlinks, as paths relative to `root`)
/// that the accesses in `log` touched: each path is resolved inside the
/// fixture as the reader resolves it (absolute symlinks from the root, `..`
/// stopping there), and every entry on the way counts, so the merged-/usr
/// links and /etc/resolv.conf's symlink count when something is read
/// through them. A listed directory's entries count too: the audit uses
/// their names (enable links in `.wants` folders, hooks in `if-up.d`).
func touchedEntries(_ log: AccessLog, root: URL) -> Set<String> {
    var touched: Set<String> = []
    let fm = FileManager.default

    /// Resolves `path` (components from the root), marking each entry passed;
    /// returns the resolved components, or nil when it leaves the tree.
    func resolve(_ path: [String], followLast: Bool, hops: inout Int) -> [String]? {
        var done: [String] = []
        var rest = path[...]
        while let name = rest.first {
            rest = rest.dropFirst()
            if name == "." || name.isEmpty { continue }
            if name == ".." { _ = done.popLast(); continue }
            let candidate = done + [name]
            let rel = candidate.joined(separator: "/")
            let host = root.appendingPathComponent(rel).path
            guard let attributes = try? fm.attributesOfItem(atPath: host) else { return nil }
            touched.insert(rel)
            if attributes[.type] as? FileAttributeType == .typeSymbolicLink, !rest.isEmpty || followLast {
                hops += 1
                guard hops <= 40, let target = try? fm.destinationOfSymbolicLink(atPath: host) else { return nil }
                let parts = target.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                if target.hasPrefix("/") { done = [] }
                rest = (parts + Array(rest))[...]
                continue
            }
            done = candidate
        }
        return done
    }

    for (access, path) in log.all {
        let parts = path.split(separator: "/").map(String.init)
        var hops = 0
        switch access {
        case .read, .stat:
            _ = resolve(parts, followLast: true, hops: &hops)
        case .lstat:
            _ = resolve(parts, followLast: false, hops: &hops)
        case .list, .listFollowing:
            guard let dir = resolve(parts, followLast: access == .listFollowing, hops: &hops) else { continue }
            let rel = dir.joined(separator: "/")
            for name in (try? fm.contentsOfDirectory(atPath: root.appendingPathComponent(rel).path)) ?? [] {
                touched.insert(rel.isEmpty ? name : rel + "/" + name)
            }
        }
    }
    return touched
}

/// The files and symlinks under `root`, relative to it (directories are
/// not entries: git keeps them only for what is in them).
func fixtureEntries(_ root: URL) -> [String] {
    let fm = FileManager.default
    var out: [String] = []
    func walk(_ rel: String) {
        let host = rel.isEmpty ? root.path : root.appendingPathComponent(rel).path
        for name in ((try? fm.contentsOfDirectory(atPath: host)) ?? []).sorted() {
            let child = rel.isEmpty ? name : rel + "/" + name
            let type = (try? fm.attributesOfItem(atPath: root.appendingPathComponent(child).path))?[.type] as? FileAttributeType
            if type == .typeDirectory { walk(child) } else { out.append(child) }
        }
    }
    walk("")
    return out
}

/// The healthy roots keep only what an audit reads: a vendored file that no
/// audit touches adds lines to review and coverage to nobody.
@Suite struct FixtureReadTests {
    /// Entries kept although no audit touches them, `"<root>/<path>": reason`.
    /// None today: what HealthyRootTests checks directly (merged-/usr links,
    /// /sbin/init, if-up.d hooks, the networking.service enable link) the
    /// audit reads too.
    static let kept: [String: String] = [:]

    @Test(arguments: HealthyRootTests.names)
    func everyHealthyFixtureFileIsRead(_ name: String) throws {
        let root = HealthyRootTests.url(name)
        let touched = touchedEntries(try AccessLog.audit(root), root: root)
        let unread = fixtureEntries(root).filter { !touched.contains($0) && Self.kept["\(name)/\($0)"] == nil }
        #expect(unread.isEmpty, """
            \(name): \(unread.count) committed fixture entries are never read, stat'ed or listed by an audit; \
            delete them (or add them to FixtureReadTests.kept with a reason):
            \(unread.prefix(60).joined(separator: "\n"))
            """)
    }

    /// The recorder itself: a read through an absolute symlink in a merged-/usr
    /// root marks the link, the directory symlink and the file, nothing else.
    @Test func recorderFollowsSymlinksInsideTheRoot() throws {
        let dir = try makeTempDir("fixture-reads")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try write("x\n", to: dir.appendingPathComponent("usr/lib/systemd/system/a.service"))
        try write("unread\n", to: dir.appendingPathComponent("usr/lib/systemd/system/b.service"))
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("lib").path, withDestinationPath: "usr/lib")
        try fm.createDirectory(at: dir.appendingPathComponent("etc/systemd/system"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(atPath: dir.appendingPathComponent("etc/systemd/system/a.service").path,
                                  withDestinationPath: "/lib/systemd/system/a.service")
        let log = AccessLog()
        let root = try TargetRoot(directory: dir.path, observer: { log.record($0, $1) })
        #expect(root.bytes("/etc/systemd/system/a.service") == Array("x\n".utf8))
        let touched = touchedEntries(log, root: dir)
        #expect(touched == ["etc", "etc/systemd", "etc/systemd/system", "etc/systemd/system/a.service", "lib",
                            "usr", "usr/lib", "usr/lib/systemd", "usr/lib/systemd/system", "usr/lib/systemd/system/a.service"])
        #expect(fixtureEntries(dir) == ["etc/systemd/system/a.service", "lib", "usr/lib/systemd/system/a.service",
                                        "usr/lib/systemd/system/b.service"])
    }
}
