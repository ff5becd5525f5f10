/// A value from the target as one word of a command shown to the user:
/// as it is when it is plainly safe, else single-quoted.
public func shellWord(_ s: String) -> String {
    let safe = !s.isEmpty && s.unicodeScalars.allSatisfy { c in
        (c.value >= 0x30 && c.value <= 0x39) || (c.value >= 0x41 && c.value <= 0x5A) || (c.value >= 0x61 && c.value <= 0x7A)
            || "/._-+=:@,%".unicodeScalars.contains(c)
    }
    if safe { return s }
    return "'" + s.split(separator: "'", omittingEmptySubsequences: false).joined(separator: #"'\''"#) + "'"
}

/// A target path as one word of a command shown to the user, under the
/// mounted root: `"$ROOT"/etc/network/interfaces`. The path is data: a name
/// with `$(...)`, quotes or blanks stays a name when the command is pasted.
public func rootPath(_ path: String) -> String { "\"$ROOT\"" + shellWord(path) }
