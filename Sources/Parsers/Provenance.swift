/// Where a fact came from: a target path and a 1-based line (0 for the file as a whole).
public struct SourceLocation: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    public var path: String
    public var line: Int

    public init(path: String, line: Int) {
        self.path = path
        self.line = line
    }

    public var description: String { line > 0 ? "\(path):\(line)" : path }

    public static func < (a: SourceLocation, b: SourceLocation) -> Bool {
        (a.path, a.line) < (b.path, b.line)
    }
}

/// One line of a target file as evidence: where it is and what it says.
/// `text` is the line decoded as UTF-8 with every invalid byte written as
/// `\xNN`, so non-UTF-8 bytes survive into the report instead of being lost.
public struct SourceLine: Hashable, Sendable, Codable {
    public var location: SourceLocation
    public var text: String

    public init(_ location: SourceLocation, _ text: String) {
        self.location = location
        self.text = text
    }

    public init(path: String, line: Int, text: String) {
        self.init(SourceLocation(path: path, line: line), text)
    }
}

/// A problem a parser found in its input. The parser goes on after it.
public struct Diagnostic: Hashable, Sendable {
    public var location: SourceLocation
    /// The offending line's text ("" when the problem is the whole file).
    public var text: String
    /// One sentence: what is wrong with the line.
    public var message: String

    public init(_ location: SourceLocation, text: String, message: String) {
        self.location = location
        self.text = text
        self.message = message
    }
}

/// A value with the location it was read from.
public struct Located<Value: Sendable>: Sendable {
    public var value: Value
    public var source: SourceLine

    public init(_ value: Value, _ source: SourceLine) {
        self.value = value
        self.source = source
    }

    public var location: SourceLocation { source.location }
}

extension Located: Equatable where Value: Equatable {}
extension Located: Hashable where Value: Hashable {}
