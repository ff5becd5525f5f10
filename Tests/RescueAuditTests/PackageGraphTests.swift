import Foundation
import Testing

/// Package.swift shows the real module graph: each target declares exactly
/// what its sources import (scripts/check-imports.sh).
@Suite struct PackageGraphTests {
    @Test func everyTargetDeclaresExactlyWhatItImports() throws {
        let out = try run("/bin/sh", [Repo.root.appendingPathComponent("scripts/check-imports.sh").path, Repo.root.path])
        #expect(out.status == 0, "Package.swift and the imports disagree:\n\(out.stdout)\(out.stderr)")
    }

    /// The check sees a missing edge and an edge nothing uses.
    @Test func checkFindsAMissingAndAnUnusedDependency() throws {
        let dir = try makeTempDir("package-graph")
        defer { try? FileManager.default.removeItem(at: dir) }
        let fm = FileManager.default
        for (target, source) in [("Low", "public let x = 1\n"), ("Mid", "import Low\nlet y = x\n"), ("Top", "import Glibc\nlet z = 0\n")] {
            try fm.createDirectory(at: dir.appendingPathComponent("Sources/\(target)"), withIntermediateDirectories: true)
            try source.write(to: dir.appendingPathComponent("Sources/\(target)/\(target).swift"), atomically: true, encoding: .utf8)
        }
        let manifest = """
            let package = Package(
                name: "x",
                targets: [
                    .target(
                        name: "Low"
                    ),
                    .target(
                        name: "Mid",
                        dependencies: []
                    ),
                    .target(
                        name: "Top",
                        dependencies: [
                            "Low",
                        ]
                    ),
                ]
            )

            """
        try manifest.write(to: dir.appendingPathComponent("Package.swift"), atomically: true, encoding: .utf8)
        let out = try run("/bin/sh", [Repo.root.appendingPathComponent("scripts/check-imports.sh").path, dir.path])
        #expect(out.status == 1)
        #expect(out.stdout == "Mid imports Low but Package.swift does not declare it\nTop declares Low but imports nothing from it\n")
    }
}
