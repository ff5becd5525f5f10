import Parsers

/// A change to one line range of a text file, as audited.
public struct LineEdit: Hashable, Sendable, Codable {
    /// First line replaced (1-based). For a pure insertion, the line the new
    /// lines go before; `count + 1` appends.
    public var line: Int
    /// How many lines are replaced (0 for a pure insertion).
    public var removeCount: Int
    /// The lines that take their place.
    public var insert: [String]

    public init(line: Int, removeCount: Int, insert: [String]) {
        self.line = line
        self.removeCount = removeCount
        self.insert = insert
    }

    /// Deletes lines `line ..< line + count`.
    public static func delete(line: Int, count: Int = 1) -> LineEdit { LineEdit(line: line, removeCount: count, insert: []) }
    /// Inserts lines before `line`.
    public static func insert(_ lines: [String], before line: Int) -> LineEdit { LineEdit(line: line, removeCount: 0, insert: lines) }
    /// Replaces one line.
    public static func replace(line: Int, with lines: [String]) -> LineEdit { LineEdit(line: line, removeCount: 1, insert: lines) }

    var range: Range<Int> { line..<(line + removeCount) }
}

/// A symlink to create, as `systemctl enable` would.
public struct SymlinkSpec: Hashable, Sendable, Codable {
    public var path: String
    public var target: String

    public init(path: String, target: String) {
        self.path = path
        self.target = target
    }
}

/// The permission bits and numeric owner of a target file. Owners are
/// numbers from the target's own passwd and group, never names resolved on
/// the host the script runs on.
public struct FileOwnership: Hashable, Sendable, Codable {
    /// Permission bits (`& 0o7777`).
    public var mode: UInt32
    public var uid: UInt32
    public var gid: UInt32

    public init(mode: UInt32, uid: UInt32, gid: UInt32) {
        self.mode = mode & 0o7777
        self.uid = uid
        self.gid = gid
    }

    /// `755 0 0`, as `stat -c '%a %u %g'` prints it.
    public var words: String { "\(String(mode, radix: 8)) \(uid) \(gid)" }
}

/// One typed repair step a rule proposes. Target paths only; the plan turns
/// file edits into whole-file writes with a SHA-256 before and after.
public enum RepairAction: Hashable, Sendable {
    /// Edits lines of an existing text file.
    case editLines(path: String, edits: [LineEdit])
    /// Appends lines to a file, creating it when it does not exist.
    case appendBlock(path: String, lines: [String])
    /// Writes a new file that must not exist yet.
    case createFile(path: String, lines: [String], mode: UInt32)
    /// Moves a file into the backup directory so it no longer takes effect.
    case moveAside(path: String)
    /// Creates a symlink (for example a mask to /dev/null).
    case createSymlink(SymlinkSpec)
    /// Removes a symlink that points exactly to `target` (a unit's mask to
    /// /dev/null); undo.sh puts it back.
    case removeSymlink(SymlinkSpec)
    /// Changes the mode and numeric owner of a file or directory from `from`
    /// (as audited; the script refuses when it differs) to `to`.
    case setOwnership(path: String, from: FileOwnership, to: FileOwnership)
    /// Enables a unit by creating exactly the symlinks `systemctl enable` would.
    case enableUnit(unit: String, links: [SymlinkSpec])
    /// Runs a command inside the target with /proc, /sys, /dev and /run bound.
    /// `changes` names the files it may change, as `DIR/PATTERN` globs (a
    /// literal absolute directory, a file-name pattern): the script copies
    /// them aside before the command runs, and undo.sh puts them back and
    /// removes the ones the command created. `undoable` says whether that
    /// reverses all the command does.
    case chroot(command: [String], why: String, undoable: Bool, changes: [String] = [])
    /// A step a person must do, with the exact commands.
    case manual(description: String, commands: [ShellCommand])

    /// The target file this action writes, if any.
    public var path: String? {
        switch self {
        case .editLines(let p, _), .appendBlock(let p, _), .createFile(let p, _, _), .moveAside(let p): p
        case .createSymlink(let s), .removeSymlink(let s): s.path
        case .setOwnership(let p, _, _): p
        case .enableUnit, .chroot, .manual: nil
        }
    }

    /// The order class: file edits first, then enables, then chroot steps, then manual steps.
    var phase: Int {
        switch self {
        case .editLines, .appendBlock, .createFile, .moveAside, .createSymlink, .removeSymlink, .setOwnership: 0
        case .enableUnit: 1
        case .chroot: 2
        case .manual: 3
        }
    }

    /// Whether the repair script carries this out (everything but manual steps).
    public var isAutomatic: Bool {
        if case .manual = self { return false }
        return true
    }
}
