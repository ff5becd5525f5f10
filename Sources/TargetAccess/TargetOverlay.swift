import RescueSys

/// Changes laid over a target in memory: files as a repair plan would write
/// them, links it would make or remove, modes it would set. A `TargetRoot`
/// opened over an overlay (`TargetRoot.overlaying`) answers every read,
/// stat and listing as the target would look after the plan ran, and
/// nothing is written anywhere. Paths are target paths.
public struct TargetOverlay: Sendable {
    public enum Entry: Sendable, Hashable {
        /// A regular file with these bytes, mode and numeric owner.
        case file(bytes: [UInt8], mode: UInt32, uid: UInt32, gid: UInt32)
        /// A symlink with this text.
        case symlink(String)
        /// Nothing is there any more (moved aside, removed).
        case absent
        /// The file on disk, with another mode and owner.
        case ownership(mode: UInt32, uid: UInt32, gid: UInt32)
    }

    public private(set) var entries: [String: Entry] = [:]
    /// Directory → the names the overlay puts in it (implied parents included).
    private(set) var children: [String: [String: FileKind]] = [:]

    public init() {}

    public var isEmpty: Bool { entries.isEmpty }

    public mutating func set(_ path: String, _ entry: Entry) {
        let key = TargetRoot.normalize(path)
        guard key != "/" else { return }
        entries[key] = entry
        var parts = TargetRoot.components(key)
        var kind: FileKind
        switch entry {
        case .file: kind = .regular
        case .symlink: kind = .symlink
        case .absent, .ownership: return
        }
        while let name = parts.popLast() {
            let dir = "/" + parts.joined(separator: "/")
            children[dir, default: [:]][name] = kind
            kind = .directory
        }
    }

    /// The entry at a path with no symlink in it, if any.
    func entry(_ key: String) -> Entry? { entries[key] }

    /// Whether some overlay file lies below `key`, which is then a directory.
    func impliesDirectory(_ key: String) -> Bool { children[key]?.isEmpty == false }
}

extension TargetRoot {
    /// Resolves a target path through the overlay's links and the disk's,
    /// component by component, inside the root: the path with no symlink left
    /// in it (but the last component when `followLast` is false), or nil when
    /// a component on the way is gone or the links loop.
    func resolveLayered(_ path: String, _ overlay: TargetOverlay, base: TargetRoot, followLast: Bool) -> String? {
        var pending = Self.components(path)
        var done: [String] = []
        var hops = 0
        while !pending.isEmpty {
            let c = pending.removeFirst()
            if c == "." { continue }
            if c == ".." { _ = done.popLast(); continue }
            let current = "/" + (done + [c]).joined(separator: "/")
            let isLast = pending.isEmpty
            var link: String? = nil
            switch overlay.entry(current) {
            case .symlink(let t)?: link = t
            case .absent?: if !isLast { return nil }
            case .file?, .ownership?: break
            case nil: link = base.lstat(current)?.linkTarget
            }
            if let link, !isLast || followLast {
                hops += 1
                guard hops <= Self.maxSymlinks else { return nil }
                if link.hasPrefix("/") { done = [] }
                pending = Self.components(link) + pending
                continue
            }
            done.append(c)
        }
        return "/" + done.joined(separator: "/")
    }

    static func status(of entry: TargetOverlay.Entry) -> FileStatus? {
        switch entry {
        case .file(let bytes, let mode, let uid, let gid):
            return FileStatus(kind: .regular, size: Int64(bytes.count), permissions: mode, userID: uid, groupID: gid)
        case .symlink(let t):
            return FileStatus(kind: .symlink, size: Int64(t.utf8.count), permissions: 0o777, userID: 0, groupID: 0)
        case .absent, .ownership:
            return nil
        }
    }

    static let directoryStatus = FileStatus(kind: .directory, size: 0, permissions: 0o755, userID: 0, groupID: 0)

    /// A directory listing with the overlay's additions and removals.
    func mergedListing(_ fromDisk: [DirectoryEntry]?, at dir: String, _ overlay: TargetOverlay) -> [DirectoryEntry]? {
        let added = overlay.children[dir] ?? [:]
        guard fromDisk != nil || !added.isEmpty else { return nil }
        var byName: [String: FileKind] = [:]
        for e in fromDisk ?? [] { byName[e.name] = e.kind }
        for (name, kind) in added { byName[name] = kind }
        for name in Array(byName.keys) {
            let key = (dir == "/" ? "" : dir) + "/" + name
            if case .absent? = overlay.entry(key) { byName[name] = nil }
        }
        return byName.map { DirectoryEntry(name: $0.key, kind: $0.value) }
            .sorted { $0.name.utf8.lexicographicallyPrecedes($1.name.utf8) }
    }
}
