import Parsers
import TargetAccess

/// Signs that a package manager was interrupted in the middle of its work.
public struct PackageTransactions: Sendable {
    /// dpkg status stanzas left half-way: half-installed, half-configured,
    /// unpacked, triggers-awaited, triggers-pending, or flagged reinstreq.
    public var dpkgUnfinished: [DpkgPackage]
    /// Files in /var/lib/dpkg/updates: status changes dpkg journalled but
    /// never folded into the status file.
    public var dpkgUpdates: [String]
    /// pacman's lock file, left behind when pacman died.
    public var pacmanLock: PathInfo?
    /// The last pacman transaction that started and never completed, from /var/log/pacman.log.
    public var pacmanInterrupted: [SourceLine]
    /// dnf's last transaction, when it never recorded its end or ended in error (/var/lib/dnf/history.sqlite).
    public var dnfUnfinished: DnfTransaction? = nil
    /// yum's transaction files of a transaction yum-complete-transaction would finish (/var/lib/yum/transaction-all.*).
    public var yumUnfinished: [String] = []
    /// What could not be read of dnf's history.
    public var diagnostics: [Diagnostic] = []

    public static let none = PackageTransactions(dpkgUnfinished: [], dpkgUpdates: [], pacmanLock: nil, pacmanInterrupted: [])
    public static let dnfHistoryPath = "/var/lib/dnf/history.sqlite"

    public static let dpkgUpdatesDir = "/var/lib/dpkg/updates"
    public static let pacmanLockPath = "/var/lib/pacman/db.lck"

    static func load(_ root: TargetRoot) -> PackageTransactions {
        var out = PackageTransactions.none
        if let bytes = root.bytes("/var/lib/dpkg/status") {
            out.dpkgUnfinished = DpkgStatusParser.parse(bytes, path: "/var/lib/dpkg/status").packages.filter(\.isUnfinished)
        }
        // dpkg names its journal files with digits only; anything else there it ignores.
        out.dpkgUpdates = (root.list(dpkgUpdatesDir) ?? []).map(\.name).filter { n in !n.isEmpty && n.allSatisfy(\.isNumber) }
        out.pacmanLock = root.lstat(pacmanLockPath)
        if out.pacmanLock != nil, case .success(let reader) = root.openReader("/var/log/pacman.log") {
            let start = max(0, reader.size - (1 << 20))
            if let tail = reader.read(at: start, count: Int(reader.size - start)) {
                out.pacmanInterrupted = interruptedPacmanTransaction(tail, path: "/var/log/pacman.log", partial: start > 0)
            }
        }
        if case .file(let f) = root.readLarge(dnfHistoryPath, cap: 256 << 20) {
            let h = DnfHistory.unfinished(f.bytes, path: dnfHistoryPath)
            out.dnfUnfinished = h.transaction
            out.diagnostics += h.diagnostics
        }
        // yum writes transaction-all.<time> and transaction-done.<time> and removes both when it finishes.
        out.yumUnfinished = (root.list("/var/lib/yum") ?? []).map(\.name).filter { $0.hasPrefix("transaction-all.") }
            .sorted().map { "/var/lib/yum/" + $0 }
        return out
    }

    /// The lines of the last `transaction started` that has no `transaction
    /// completed` after it: what pacman was doing when it stopped.
    static func interruptedPacmanTransaction(_ bytes: [UInt8], path: String, partial: Bool) -> [SourceLine] {
        let lines = Text.lines(bytes)
        guard let start = lines.lastIndex(where: { $0.contains("[ALPM] transaction started") }) else { return [] }
        let after = lines[start...]
        if after.contains(where: { $0.contains("[ALPM] transaction completed") }) { return [] }
        // Line numbers are only known when the whole log was read.
        return after.prefix(40).enumerated().map { i, text in SourceLine(path: path, line: partial ? 0 : start + i + 1, text: text) }
    }
}

extension DpkgPackage {
    /// A state `dpkg --configure -a` or a reinstall has to finish.
    public var isUnfinished: Bool {
        ["half-installed", "half-configured", "unpacked", "triggers-awaited", "triggers-pending"].contains(state) || flag == "reinstreq"
    }

    /// `dpkg --configure -a` finishes these; half-installed and reinstreq need the package again.
    public var configureFinishes: Bool {
        ["half-configured", "unpacked", "triggers-awaited", "triggers-pending"].contains(state) && flag != "reinstreq"
    }
}
