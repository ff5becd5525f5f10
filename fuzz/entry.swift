// libFuzzer's entry points for scripts/fuzz.sh: the target is named by
// RESCUE_FUZZ_TARGET (one of FuzzTargets.names), so one instrumented binary
// serves every parser.
import Glibc

nonisolated(unsafe) var fuzzTarget = ""

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    guard let name = getenv("RESCUE_FUZZ_TARGET").map({ String(cString: $0) }), FuzzTargets.names.contains(name) else {
        print("RESCUE_FUZZ_TARGET must be one of: \(FuzzTargets.names.joined(separator: " "))")
        exit(2)
    }
    fuzzTarget = name
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = FuzzTargets.run(fuzzTarget, bytes)
    return 0
}
