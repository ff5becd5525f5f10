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
