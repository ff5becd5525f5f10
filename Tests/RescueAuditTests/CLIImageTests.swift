import Foundation
import Testing

/// `rescue-audit` on real disk images, as a user runs it from a rescue shell.
@Suite("CLI on real images", .serialized, .enabled(if: discoveryLoopTestsEnabled, discoverySkipReason))
struct CLIImageTests {
    static let rootUUID = "5a1e0000-1111-4c2d-9e0f-0123456789ab"

    /// A GPT image whose ext4 root holds the seed-000/001 example tree plus the basics of a root.
    func exampleImage(_ w: Workdir) throws -> (image: String, tree: String) {
        let tree = "\(w.path)/root"
        try makeRootTree(tree)
        try sh("cp -a '\(Repo.example.path)/.' '\(tree)/'")
        let image = "\(w.path)/disk.img"
        try makeGPTImage(image, parts: [
            PartSpec(sizeMiB: 16, name: "root", content: .ext4(tree: tree, uuid: Self.rootUUID)),
            PartSpec(sizeMiB: 4, name: "swap", content: .swap),
        ])
        return (image, tree)
    }

    /// The findings of a JSON report, without what legitimately differs between targets.
    func findings(_ out: ProcessOutput) throws -> [String] {
        let doc = try #require(try JSONSerialization.jsonObject(with: Data(out.stdout.utf8)) as? [String: Any], "\(out.stderr)")
        let list = doc["findings"] as? [[String: Any]] ?? []
        return list.map { f in
            let ev = (f["evidence"] as? [[String: Any]] ?? []).map { "\($0["path"] ?? ""):\($0["line"] ?? "")" }
            return "\(f["rule"] ?? "") \(f["severity"] ?? "") \(ev.joined(separator: ","))"
        }
    }

    @Test func imageAndDirectoryGiveTheSameFindings() throws {
        let w = try Workdir()
        let (image, tree) = try exampleImage(w)
        let before = try sha256(image)
        let fromImage = try rescueAudit(["audit", image, "--format", "json"])
        #expect(fromImage.status == 1, "\(fromImage.stderr)")
        let fromTree = try rescueAudit(["audit", tree, "--format", "json"])
        let a = try findings(fromImage), b = try findings(fromTree)
        #expect(!a.isEmpty)
        // clone-identity-baked-in (info) is about disk images only: a machine's own root
        // is not a template that will be cloned. Every other finding is the same.
        #expect(a.filter { !$0.hasPrefix("clone-identity-baked-in ") } == b)
        #expect(a.contains { $0.hasPrefix("clone-identity-baked-in info") })
        #expect(fromImage.stdout.contains("\"uuid\" : \"\(Self.rootUUID)\""))
        #expect(fromImage.stdout.contains("\"kind\" : \"image\""))
        #expect(try sha256(image) == before, "the image is never written")
        try expectNothingLeft(w.path, inProcess: false)
    }

    @Test func devicesListsPartitionsAndMarksTheRoot() throws {
        let w = try Workdir()
        let (image, _) = try exampleImage(w)
        let out = try rescueAudit(["devices", image])
        #expect(out.status == 0, "\(out.stderr)")
        #expect(out.stdout.contains("UUID=\(Self.rootUUID)"))
        #expect(out.stdout.contains("Debian GNU/Linux 6.0 (squeeze)"), "the root is marked with its OS: \(out.stdout)")
        #expect(out.stdout.contains("swap"))
        let json = try rescueAudit(["devices", image, "--format", "json"])
        let doc = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
        #expect((doc?["rootCandidates"] as? [Any])?.count == 1)
        try expectNothingLeft(w.path, inProcess: false)
    }

    @Test func sigtermAtAnyMomentLeavesNothingBehind() throws {
        let w = try Workdir()
        let (image, _) = try exampleImage(w)
        let before = try sha256(image)
        // A TMPDIR of its own, so only these runs' scratch directories are counted.
        let tmp = "\(w.path)/tmp"
        try sh("mkdir -p '\(tmp)'")
        var env = ProcessInfo.processInfo.environment
        env["TMPDIR"] = tmp
        // Kill the audit at spread-out moments, from probing to unmounting.
        for delayMs in stride(from: 0, through: 120, by: 8) {
            let p = Process()
            p.executableURL = Repo.binary
            p.arguments = ["audit", image, "--format", "json"]
            p.environment = env
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(useconds_t(delayMs * 1000))
            kill(p.processIdentifier, SIGTERM)
            p.waitUntilExit()
            let loops = try sh("losetup -a || true")
            #expect(!loops.contains(image), "loop device left after SIGTERM at \(delayMs) ms: \(loops)")
            #expect(ScratchMounts(try sh("cat /proc/self/mountinfo")).isEmpty, "mount left after SIGTERM at \(delayMs) ms")
        }
        let left = try sh("ls -A '\(tmp)'")
        #expect(left.isEmpty, "scratch directories left: \(left)")
        #expect(try sha256(image) == before)
    }

    @Test func severalRootsExitTwoAndNameTheChoice() throws {
        let w = try Workdir()
        try makeRootTree("\(w.path)/a")
        try makeRootTree("\(w.path)/b", name: "Fedora Linux 40", version: "40")
        let image = "\(w.path)/two.img"
        try makeGPTImage(image, parts: [
            PartSpec(sizeMiB: 16, name: "a", content: .ext4(tree: "\(w.path)/a", uuid: "5a1e0000-aaaa-4c2d-9e0f-0123456789ab")),
            PartSpec(sizeMiB: 16, name: "b", content: .ext4(tree: "\(w.path)/b", uuid: "5a1e0000-bbbb-4c2d-9e0f-0123456789ab")),
        ])
        let out = try rescueAudit(["audit", image])
        #expect(out.status == 2)
        #expect(out.stderr.contains("--root"), "\(out.stderr)")
        let chosen = try rescueAudit(["audit", image, "--root", "UUID=5a1e0000-bbbb-4c2d-9e0f-0123456789ab", "--format", "json"])
        #expect(chosen.stdout.contains("Fedora Linux 40"), "\(chosen.stderr)")
        try expectNothingLeft(w.path, inProcess: false)
    }
}
