/// A budget for work that target content drives: files reached through
/// include directives, and the bytes they hold. Includes are followed
/// depth-first with the chain of files being read (a file that includes
/// itself, directly or not, is a cycle: every real tool with an include
/// depth limit refuses it), and the whole expansion of one configuration
/// shares one budget, so fan-out (a file including another many times,
/// nested) costs at most `maxFiles` reads however the tree is shaped.
public struct ExpansionBudget: Sendable {
    /// Included files one configuration may pull in.
    public static let defaultFiles = 512
    /// Bytes those files may hold together.
    public static let defaultBytes = 64 << 20

    public let maxFiles: Int
    public let maxBytes: Int
    public private(set) var files = 0
    public private(set) var bytes = 0
    /// Set once a `take` was refused.
    public private(set) var exhausted = false
    /// The files being read, outermost first.
    public private(set) var chain: [String] = []

    public init(maxFiles: Int = defaultFiles, maxBytes: Int = defaultBytes) {
        self.maxFiles = maxFiles
        self.maxBytes = maxBytes
    }

    /// Whether `path` is already being read further up the chain.
    public func isCycle(_ path: String) -> Bool { chain.contains(path) }

    /// Counts one more file of `count` bytes; false (and `exhausted`) when it would go over.
    public mutating func take(bytes count: Int) -> Bool {
        guard !exhausted, files < maxFiles, count <= maxBytes - bytes else {
            exhausted = true
            return false
        }
        files += 1
        bytes += count
        return true
    }

    public mutating func enter(_ path: String) { chain.append(path) }
    public mutating func leave() { _ = chain.popLast() }

    /// What a diagnostic says when the budget ran out.
    public var exhaustedMessage: String {
        "the includes add up to more than \(maxFiles) files or \(maxBytes >> 20) MiB; the audit stops following them here and cannot tell what the rest of the configuration says"
    }

    /// What a diagnostic says about a cycle through `path`.
    public func cycleMessage(_ path: String) -> String {
        let from = chain.firstIndex(of: path) ?? 0
        return "\(path) includes itself (\((chain[from...] + [path]).joined(separator: " -> ")))"
    }
}
