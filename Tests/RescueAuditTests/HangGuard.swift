import Foundation
import Testing

/// How long a guarded step may take before it counts as hung. Generous on
/// purpose: a test fails here only on a real hang (a blocked open, a loop
/// that never ends, an exponential blow-up), never because a loaded 2-core
/// machine was slow. How fast things are is measured in `benchmarks/`.
let hangLimit: Duration = .seconds(300)

/// The guarded step did not finish within its limit.
struct HungError: Error, CustomStringConvertible {
    var what: String
    var limit: Duration
    var description: String { "\(what) did not finish within \(limit): it hangs" }
}

/// A result passed from the guarded thread to the waiting test.
private final class Outcome<T>: @unchecked Sendable {
    let lock = NSLock()
    var value: Result<T, Error>?
}

/// Runs `body` on its own thread and waits at most `limit` for it. On a
/// hang the test records an issue and gets `HungError` instead of blocking
/// the whole run; the stuck thread is left behind (it cannot be cancelled).
func finishes<T>(_ what: String, within limit: Duration = hangLimit,
                 sourceLocation: Testing.SourceLocation = #_sourceLocation,
                 _ body: @escaping () throws -> T) throws -> T {
    let outcome = Outcome<T>()
    let done = DispatchSemaphore(value: 0)
    let work = UncheckedBox(body)
    let thread = Thread {
        let r = Result { try work.value() }
        outcome.lock.lock()
        outcome.value = r
        outcome.lock.unlock()
        done.signal()
    }
    thread.stackSize = 8 << 20
    thread.start()
    let (seconds, attoseconds) = limit.components
    let nanos = Int(clamping: seconds) * 1_000_000_000 + Int(attoseconds / 1_000_000_000)
    guard done.wait(timeout: .now() + .nanoseconds(nanos)) == .success else {
        let error = HungError(what: what, limit: limit)
        Issue.record("\(error)", sourceLocation: sourceLocation)
        throw error
    }
    outcome.lock.lock()
    defer { outcome.lock.unlock() }
    guard let value = outcome.value else { throw HungError(what: what, limit: limit) }
    return try value.get()
}

/// Hands a closure that is not `Sendable` to the guard's thread; the test
/// waits for that thread before touching anything the closure captured.
private struct UncheckedBox<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Runs a program like `run`, but kills it and fails the test when it does
/// not finish within `limit` (a child blocked forever, e.g. on a FIFO).
func runGuarded(_ executable: String, _ arguments: [String], within limit: Duration = hangLimit,
                sourceLocation: Testing.SourceLocation = #_sourceLocation) throws -> ProcessOutput {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: executable)
    p.arguments = arguments
    let out = Pipe(), err = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = FileHandle.nullDevice
    try p.run()
    do {
        return try finishes("\(executable) \(arguments.joined(separator: " "))", within: limit, sourceLocation: sourceLocation) {
            // Read both pipes before waiting so a large output cannot block the child.
            let o = out.fileHandleForReading.readDataToEndOfFile()
            let e = err.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return ProcessOutput(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
        }
    } catch let error as HungError {
        kill(p.processIdentifier, SIGKILL)
        throw error
    }
}
