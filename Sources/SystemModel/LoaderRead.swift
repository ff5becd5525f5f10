import Glibc
import Parsers
import TargetAccess

extension TargetRoot {
    /// Reads a configuration file for a loader: a file that was read joins
    /// `files`; one that was skipped (FIFO, too large, looping links) becomes
    /// a diagnostic of that loader, and the loader goes on without it.
    func readConfig(_ path: String, files: inout [String], diagnostics: inout [Diagnostic]) -> [UInt8]? {
        switch read(path) {
        case .file(let f):
            files.append(path)
            return f.bytes
        case .missing:
            return nil
        case .skipped(let why):
            diagnostics.append(Diagnostic(SourceLocation(path: path, line: 0), text: "", message: "\(path) was not read: \(why)."))
            return nil
        }
    }
}

extension TargetRoot {
    /// Target paths matching a glob, in lexical order, as glob(3) returns
    /// them (sshd's, nginx's and Apache's Include). Only the last component
    /// may hold wildcards (as every include in the wild does); a pattern
    /// without any is the path itself when it exists.
    func glob(_ pattern: String) -> [String] {
        let normalized = TargetRoot.normalize(pattern)
        guard normalized.contains(where: { "*?[".contains($0) }) else {
            return exists(normalized) ? [normalized] : []
        }
        let dir = UnitEnablement.directory(of: normalized)
        let last = UnitEnablement.lastComponent(normalized)
        guard !dir.contains(where: { "*?[".contains($0) }) else { return [] }
        return (listFollowing(dir) ?? []).map(\.name)
            .filter { !$0.hasPrefix(".") && fnmatch(last, $0, FNM_PERIOD) == 0 }
            .sorted()
            .map { (dir == "/" ? "" : dir) + "/" + $0 }
    }
}
