import Foundation
import Testing

/// Paths of the repository, found from this file so tests run from anywhere.
enum Repo {
    static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static var rules: URL { root.appendingPathComponent("rules") }
    static var examples: URL { root.appendingPathComponent("examples") }
    /// The bundled example root as the README audits it: a copy with the
    /// modes of its `.modes` sidecar applied (as scripts/example-root.sh makes it).
    static let example: URL = {
        let (url, problem) = ScenarioCopies.prepare(examples.appendingPathComponent("seed-000-001-broken-root"), rule: "examples")
        if let problem { Issue.record("the bundled example could not be prepared: \(problem)") }
        return url
    }()
    static var fixtures: URL { root.appendingPathComponent("Tests/RescueAuditTests/Fixtures") }

    /// The built `rescue-audit`, beside the test bundle.
    static var binary: URL {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = dir.appendingPathComponent("rescue-audit")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            dir = dir.deletingLastPathComponent()
        }
        return root.appendingPathComponent(".build/debug/rescue-audit")
    }
}

/// True when running as root (loop devices, mounts, mknod).
var isRoot: Bool { getuid() == 0 }

/// In CI a test that needs root must run, never skip.
var mustRunPrivileged: Bool { ProcessInfo.processInfo.environment["CI"] == "true" }

/// A fresh temporary directory, removed by the caller with `cleanup`.
func makeTempDir(_ name: String = "rescue-audit-test") throws -> URL {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
}

func write(_ text: String, to url: URL) throws {
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: false, encoding: .utf8)
}

/// What a finished process printed.
struct ProcessOutput {
    var status: Int32
    var stdout: String
    var stderr: String
}

/// Runs a program and waits for it; stdin is /dev/null.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil, cwd: URL? = nil) throws -> ProcessOutput {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    if let environment { p.environment = environment }
    if let cwd { p.currentDirectoryURL = cwd }
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    // Read both pipes before waiting so a large output cannot block the child.
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return ProcessOutput(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
}

/// Runs the built rescue-audit.
func rescueAudit(_ arguments: [String], environment: [String: String]? = nil) throws -> ProcessOutput {
    try run(Repo.binary.path, arguments, environment: environment)
}

/// A path of a tool on the machine, or nil.
func which(_ tool: String) -> String? {
    for dir in ["/usr/sbin", "/usr/bin", "/sbin", "/bin", "/usr/local/bin"] {
        let p = dir + "/" + tool
        if FileManager.default.isExecutableFile(atPath: p) { return p }
    }
    return nil
}
