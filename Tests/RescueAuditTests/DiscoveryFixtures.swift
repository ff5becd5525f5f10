import Foundation
import Testing
@testable import Discovery
import RescueSys

/// Whether the real-device tests can run: root and loop devices. In CI
/// (`CI=true`) they always run, so a missing privilege fails instead of skipping.
let discoveryLoopTestsEnabled: Bool = {
    if ProcessInfo.processInfo.environment["CI"] == "true" { return true }
    return getuid() == 0 && FileManager.default.fileExists(atPath: "/dev/loop-control")
        && ProcessInfo.processInfo.environment["RESCUE_AUDIT_SKIP_LOOP_TESTS"] == nil
}()

let discoverySkipReason: Comment = "needs root and loop devices (run as root, or set CI=true to make a missing privilege fail)"

/// Runs a shell script with `set -eu`; throws with its output when it fails.
@discardableResult
func sh(_ script: String) throws -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/bin/sh")
    p.arguments = ["-euc", script]
    let pipe = Pipe()
    p.standardOutput = pipe
    p.standardError = pipe
    try p.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    let out = String(decoding: data, as: UTF8.self)
    guard p.terminationStatus == 0 else {
        throw FixtureError(message: "script failed (\(p.terminationStatus)): \(script)\n\(out)")
    }
    return out
}

struct FixtureError: Error, CustomStringConvertible { let message: String; var description: String { message } }

/// A fresh directory for one test's images, removed afterwards.
final class Workdir {
    let path: String
    init() throws {
        path = try sh("mktemp -d /var/tmp/discovery-test.XXXXXX").trimmingCharacters(in: .whitespacesAndNewlines)
    }
    deinit { _ = try? sh("rm -rf '\(path)'") }
}

/// Writes a small root tree: os-release, fstab, init, passwd.
func makeRootTree(_ dir: String, name: String = "Debian GNU/Linux 12 (bookworm)", version: String = "12", fstab: String = "") throws {
    try sh("""
    mkdir -p '\(dir)/etc' '\(dir)/sbin' '\(dir)/var' '\(dir)/usr/lib' '\(dir)/boot'
    printf 'PRETTY_NAME="%s"\\nNAME="Test"\\nVERSION_ID="%s"\\n' '\(name)' '\(version)' > '\(dir)/etc/os-release'
    printf '%s\\n' '\(fstab)' > '\(dir)/etc/fstab'
    printf '#!/bin/sh\\n' > '\(dir)/sbin/init'; chmod 755 '\(dir)/sbin/init'
    printf 'root:x:0:0:root:/root:/bin/sh\\n' > '\(dir)/etc/passwd'
    """)
}

/// One partition of a test disk: its size in MiB and how to fill it.
struct PartSpec {
    enum Content { case ext4(tree: String?, uuid: String), swap, empty }
    let sizeMiB: Int
    let name: String
    let content: Content
}

/// Builds a GPT disk image from separately made partition images, copied in
/// with `dd conv=notrunc` at 1 MiB alignment.
func makeGPTImage(_ path: String, parts: [PartSpec]) throws {
    var start = 1
    var table = "label: gpt\n"
    var fill = ""
    for (i, part) in parts.enumerated() {
        table += "start=\(start)MiB, size=\(part.sizeMiB)MiB, type=linux, name=\(part.name)\n"
        let piece = "\(path).p\(i + 1)"
        switch part.content {
        case .ext4(let tree, let uuid):
            fill += "truncate -s \(part.sizeMiB)M '\(piece)'\nmkfs.ext4 -q -F -U \(uuid) \(tree.map { "-d '\($0)'" } ?? "") '\(piece)'\n"
        case .swap:
            fill += "truncate -s \(part.sizeMiB)M '\(piece)'\nmkswap -q '\(piece)' >/dev/null\n"
        case .empty:
            continue
        }
        fill += "dd if='\(piece)' of='\(path)' bs=1M seek=\(start) conv=notrunc,sparse status=none\nrm -f '\(piece)'\n"
        start += part.sizeMiB
    }
    try sh("""
    truncate -s \(start + 1)M '\(path)'
    printf '%s' '\(table)' | sfdisk -q '\(path)' >/dev/null
    \(fill)
    """)
}

func sha256(_ path: String) throws -> String {
    try sh("sha256sum '\(path)' | cut -d' ' -f1").trimmingCharacters(in: .whitespacesAndNewlines)
}

/// Fails when a loop device or a mount of ours still exists for `dir`.
/// `inProcess`: the test opened the target in this process, so its private
/// namespace is checked too. A CLI test's mounts lived in the child's own
/// namespace, which died with it; this process's shared namespace holds
/// other suites' mounts at that moment, so it proves nothing there.
func expectNothingLeft(_ dir: String, inProcess: Bool = true, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let loops = try sh("losetup -a || true")
    #expect(!loops.contains(dir), "loop devices left: \(loops)", sourceLocation: sourceLocation)
    let host = try sh("cat /proc/self/mountinfo")
    #expect(ScratchMounts(host).isEmpty, "mounts left in the host namespace", sourceLocation: sourceLocation)
    guard inProcess else { return }
    let ns = try PrivateMountNamespace.shared()
    let inside = try sh("cat \(ns.mountInfoPath)")
    // The scratch base itself stays for the process's life; nothing may stay mounted in it.
    #expect(ScratchMounts(inside).under.isEmpty, "mounts left in the private namespace: \(inside)", sourceLocation: sourceLocation)
}

/// Our mounts in a mountinfo text: the scratch base tmpfs (source
/// `rescue-audit`, mounted over a host directory in the private namespace
/// only) and every mount below its mount point.
struct ScratchMounts {
    /// Mount points of the scratch tmpfs.
    let scratch: [String]
    /// The mountinfo lines of the mounts under a scratch directory.
    let under: [String]

    init(_ mountinfo: String) {
        let lines = mountinfo.split(separator: "\n").map(String.init)
        func fields(_ l: String) -> [String] { l.split(separator: " ").map(String.init) }
        scratch = lines.compactMap { l in
            let f = fields(l)
            guard let dash = f.firstIndex(of: "-"), dash + 2 < f.count, f[dash + 1] == "tmpfs", f[dash + 2] == "rescue-audit",
                  f.count > 4 else { return nil }
            return f[4]
        }
        let points = scratch
        under = lines.filter { l in
            let f = fields(l)
            return f.count > 4 && points.contains { f[4].hasPrefix($0 + "/") }
        }
    }

    var isEmpty: Bool { scratch.isEmpty && under.isEmpty }
}

/// Opens an image as the CLI does, checks its description, reads /etc/passwd
/// through the confined reader, closes it, and checks that nothing of ours is
/// left and that the image's bytes did not change.
func openReadClose(_ image: String, workdir: Workdir, sourceLocation: SourceLocation = #_sourceLocation,
                   _ check: (AuditTarget) throws -> Void) throws {
    let before = try sha256(image)
    let target = try TargetOpener.open(image)
    try check(target)
    do {
        let root = try target.openRoot()
        #expect(root.isRegularFile("/etc/passwd"), sourceLocation: sourceLocation)
    }
    target.close()
    try expectNothingLeft(workdir.path, sourceLocation: sourceLocation)
    #expect(try sha256(image) == before, "the image is never written", sourceLocation: sourceLocation)
}
