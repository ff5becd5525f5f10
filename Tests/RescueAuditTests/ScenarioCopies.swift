import Foundation
import Testing

/// Scenarios that git cannot hold as they are read get a prepared copy
/// under the temporary directory, so no test writes to the checkout:
/// - `<scenario>.modes`: git keeps only the executable bit; lines
///   `0600 /target/path` give other modes (NetworkManager ignores keyfiles
///   others can read), and `0775 1000:1000 /target/path` an owner and group
///   too (sshd's StrictModes judges both; chown needs root, as CI runs).
/// - `<scenario>.journals`: lines `/target/path.journal Tests/.../x.export`;
///   the journal file is written from the export (a few KB in git instead of
///   megabytes of binary) by scripts/make-journal.sh, i.e. by the real
///   systemd-journal-remote unpacked into .oracles/.
enum ScenarioCopies {
    /// Why a copy could not be prepared.
    struct Problem: Error, CustomStringConvertible, Sendable {
        var description: String
        /// Only a tool from scripts/fetch-oracles.sh is missing.
        var missingOracle = false
    }

    /// Copies of this process's run, removed when the next run starts.
    static let base: URL = {
        let tmp = FileManager.default.temporaryDirectory
        let prefix = "rescue-audit-scenarios-"
        for old in (try? FileManager.default.contentsOfDirectory(atPath: tmp.path)) ?? [] where old.hasPrefix(prefix) {
            // Another test process still running keeps its copies.
            if let pid = Int32(old.dropFirst(prefix.count)), kill(pid, 0) == 0 || errno == EPERM { continue }
            try? FileManager.default.removeItem(at: tmp.appendingPathComponent(old))
        }
        return tmp.appendingPathComponent(prefix + String(getpid()))
    }()

    /// The root a scenario's tests read: `source` itself when it has no
    /// sidecar, else a prepared copy (and what went wrong preparing it).
    static func prepare(_ source: URL, rule: String) -> (URL, Problem?) {
        let sidecar = { (ext: String) in source.deletingLastPathComponent().appendingPathComponent(source.lastPathComponent + ext) }
        let modes = try? String(contentsOf: sidecar(".modes"), encoding: .utf8)
        let journals = try? String(contentsOf: sidecar(".journals"), encoding: .utf8)
        guard modes != nil || journals != nil else { return (source, nil) }
        let copy = base.appendingPathComponent(rule).appendingPathComponent(source.lastPathComponent)
        do {
            try FileManager.default.createDirectory(at: copy.deletingLastPathComponent(), withIntermediateDirectories: true)
            let cp = try run("/bin/cp", ["-a", "--", source.path, copy.path])
            guard cp.status == 0 else { return (copy, Problem(description: "cp -a: \(cp.stderr)")) }
            for (mode, rest) in lines(modes ?? "") {
                guard let bits = Int(mode, radix: 8) else { return (copy, Problem(description: "\(sidecar(".modes").path): bad mode \(mode)")) }
                var path = rest
                var attributes: [FileAttributeKey: Any] = [.posixPermissions: bits]
                if !rest.hasPrefix("/") {
                    let parts = rest.split(separator: " ", maxSplits: 1).map(String.init)
                    let ids = parts[0].split(separator: ":").compactMap { Int($0) }
                    guard parts.count == 2, ids.count == 2 else { return (copy, Problem(description: "\(sidecar(".modes").path): bad line \(mode) \(rest)")) }
                    path = parts[1]
                    attributes[.ownerAccountID] = ids[0]
                    attributes[.groupOwnerAccountID] = ids[1]
                }
                // A path git could not keep (an empty directory) is not there to chmod.
                guard (try? FileManager.default.attributesOfItem(atPath: copy.path + path)) != nil else { continue }
                try FileManager.default.setAttributes(attributes, ofItemAtPath: copy.path + path)
            }
            for (path, export) in lines(journals ?? "") {
                if let problem = writeJournal(copy.path + path, from: Repo.root.appendingPathComponent(export)) { return (copy, problem) }
            }
        } catch {
            return (copy, Problem(description: "preparing a copy of \(source.path): \(error)"))
        }
        return (copy, nil)
    }

    /// `first rest` pairs of a sidecar's non-empty lines.
    private static func lines(_ text: String) -> [(String, String)] {
        text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ", maxSplits: 1)
            return parts.count == 2 ? (String(parts[0]), String(parts[1])) : nil
        }
    }

    /// Writes a journal file with scripts/make-journal.sh from an export.
    static func writeJournal(_ path: String, from export: URL) -> Problem? {
        let oracle = Repo.root.appendingPathComponent(".oracles/root")
        guard ["lib/systemd/systemd-journal-remote", "usr/lib/systemd/systemd-journal-remote"].contains(where: {
            FileManager.default.isExecutableFile(atPath: oracle.appendingPathComponent($0).path)
        }) else {
            return Problem(description: "systemd-journal-remote is not in .oracles, so \(path) cannot be written: run scripts/fetch-oracles.sh",
                           missingOracle: true)
        }
        do {
            try FileManager.default.createDirectory(at: URL(fileURLWithPath: path).deletingLastPathComponent(), withIntermediateDirectories: true)
            let r = try run("/bin/sh", ["-c", "\"$0\" \"$1\" < \"$2\"", Repo.root.appendingPathComponent("scripts/make-journal.sh").path, path, export.path])
            return r.status == 0 ? nil : Problem(description: "make-journal.sh \(path) < \(export.path): \(r.stderr)")
        } catch {
            return Problem(description: "make-journal.sh: \(error)")
        }
    }
}
