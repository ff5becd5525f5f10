import Foundation
@testable import Report
import Testing

/// The repair script's shell helpers live as files, Sources/Report/shell/*.sh,
/// embedded into the binary by scripts/generate-shell.sh.
@Suite struct ShellHelperTests {
    static let folder = Repo.root.appendingPathComponent("Sources/Report/shell")

    static var files: [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []).filter { $0.hasSuffix(".sh") }.sorted()
    }

    @Test func embeddedHelpersMatchTheFiles() throws {
        let out = try run("/bin/sh", [Repo.root.appendingPathComponent("scripts/generate-shell.sh").path, "--stdout"])
        #expect(out.status == 0, "scripts/generate-shell.sh failed: \(out.stderr)")
        let committed = try String(contentsOf: Repo.root.appendingPathComponent("Sources/Report/RepairScript+Shell.swift"), encoding: .utf8)
        #expect(out.stdout == committed, "Sources/Report/RepairScript+Shell.swift is stale: run scripts/generate-shell.sh")
        #expect(Self.files.count >= 10, "the helpers are in \(Self.folder.path): \(Self.files)")
    }

    /// Each file on its own, as sh. SC2034 (assigned, never used) is
    /// allowed: a fragment sets what the next one reads (the prelude's
    /// DRY_RUN, FORCE, BK...); the whole scripts are checked without it.
    @Test(arguments: files)
    func helperIsShellcheckClean(_ name: String) throws {
        guard let sc = which("shellcheck") else {
            #expect(!mustRunPrivileged, "shellcheck is not installed (Debian package shellcheck)")
            return
        }
        let r = try run(sc, ["-s", "sh", "-e", "SC2034", Self.folder.appendingPathComponent(name).path])
        #expect(r.status == 0, "shellcheck \(name):\n\(r.stdout)\(r.stderr)")
    }

    /// A fragment that would end the Swift raw string is refused.
    @Test func generatorRefusesAFileThatWouldEndTheString() throws {
        let dir = try makeTempDir("shell-generator")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        try fm.createDirectory(at: dir.appendingPathComponent("scripts"), withIntermediateDirectories: true)
        try fm.createDirectory(at: dir.appendingPathComponent("Sources/Report/shell"), withIntermediateDirectories: true)
        try fm.copyItem(at: Repo.root.appendingPathComponent("scripts/generate-shell.sh"), to: dir.appendingPathComponent("scripts/generate-shell.sh"))
        try "echo '\"\"\"##'\n".write(to: dir.appendingPathComponent("Sources/Report/shell/x.sh"), atomically: true, encoding: .utf8)
        let out = try run("/bin/sh", [dir.appendingPathComponent("scripts/generate-shell.sh").path, "--stdout"])
        #expect(out.status != 0)
        #expect(out.stderr.contains("Sources/Report/shell/x.sh"))
    }

    /// undo.sh's head is a quoted here-document: a value holding the
    /// delimiter as a line gets another delimiter, and the shell writes the
    /// text back byte for byte, `$(...)` and all.
    @Test func hereDocumentWritesTheTextBack() throws {
        let text = "#!/bin/sh\nx_path='/etc/$(reboot)\nRESCUE_AUDIT_UNDO\n`id`'\nRESCUE_AUDIT_UNDO_1\n"
        let lines = hereDocument(text)
        #expect(lines.first == "    cat <<'RESCUE_AUDIT_UNDO_2'" && lines.last == "RESCUE_AUDIT_UNDO_2")
        let out = try run("/bin/sh", ["-c", (["f() {"] + lines + ["}", "f"]).joined(separator: "\n")])
        #expect(out.status == 0 && out.stdout == text, "\(out.stdout)\(out.stderr)")
    }
}
