import Glibc

/// Checks addresses as the network tools do: with inet_pton, so what they
/// accept we accept, and nothing else.
public enum IPText {
    /// Splits `address/length`; `valid` is false for a bad address or an
    /// out-of-range length. The family is taken from the presence of `:`.
    public static func split(_ s: String) -> (address: String, prefix: Int?, valid: Bool) {
        let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let addr = parts[0]
        let v6 = addr.contains(":")
        guard isIP(addr, v6: v6) else { return (addr, nil, false) }
        guard parts.count == 2 else { return (addr, nil, true) }
        guard let len = Int(parts[1]), len >= 0, len <= (v6 ? 128 : 32) else { return (addr, nil, false) }
        return (addr, len, true)
    }

    public static func isIP(_ s: String, v6: Bool) -> Bool {
        var buf = [UInt8](repeating: 0, count: 16)
        return s.withCString { inet_pton(v6 ? AF_INET6 : AF_INET, $0, &buf) } == 1
    }

    public static func isIP(_ s: String) -> Bool { isIP(s, v6: s.contains(":")) }
}

extension IPText {
    /// The prefix length of a dotted IPv4 netmask (`255.255.255.0` → 24); nil
    /// when it is not a contiguous mask. A bare number is taken as a length.
    public static func prefixLength(netmask: String) -> Int? {
        if let n = Int(netmask), n >= 0, n <= 128 { return n }
        let parts = netmask.split(separator: ".").compactMap { UInt8($0) }
        guard parts.count == 4 else { return nil }
        let bits = parts.reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        let ones = bits.leadingZeroBitCount == 0 ? (~bits).leadingZeroBitCount : 0
        guard bits == 0 || (ones > 0 && bits << UInt32(ones) == 0) else { return bits == 0 ? 0 : nil }
        return ones
    }
}

/// An IPv4 or IPv6 address as bytes, parsed with inet_pton: compares
/// `2001:db8::1` and `2001:0db8:0:0::1` as the same address.
public struct IPAddress: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let text: String

    public var isV6: Bool { bytes.count == 16 }

    /// Parses an address without prefix; nil when inet_pton refuses it.
    /// A `%zone` suffix is accepted on IPv6 addresses only, and only when it
    /// is an interface name (at most 15 of `[A-Za-z0-9_.-]`, as the kernel's
    /// dev_valid_name and inet_pton's scope ids allow): `10.9.9.1%$(…)` is
    /// not an address, so it never reaches a command or a script as one.
    public init?(_ s: String) {
        let parts = s.split(separator: "%", maxSplits: 1, omittingEmptySubsequences: false)
        let plain = parts.first.map(String.init) ?? s
        let v6 = plain.contains(":")
        if parts.count == 2 {
            let zone = parts[1]
            guard v6, !zone.isEmpty, zone.utf8.count <= 15, zone != ".", zone != "..",
                  zone.unicodeScalars.allSatisfy({ $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0)) })
            else { return nil }
        }
        var buf = [UInt8](repeating: 0, count: 16)
        guard plain.withCString({ inet_pton(v6 ? AF_INET6 : AF_INET, $0, &buf) }) == 1 else { return nil }
        bytes = v6 ? buf : Array(buf.prefix(4))
        text = s
    }

    public var description: String { text }

    public static func == (a: IPAddress, b: IPAddress) -> Bool { a.bytes == b.bytes }
    public func hash(into h: inout Hasher) { h.combine(bytes) }

    /// Whether both addresses share their first `prefix` bits (and family).
    public func sharesPrefix(with other: IPAddress, length prefix: Int) -> Bool {
        guard bytes.count == other.bytes.count else { return false }
        var left = min(max(prefix, 0), bytes.count * 8)
        for i in bytes.indices where left > 0 {
            let bits = min(8, left)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if bytes[i] & mask != other.bytes[i] & mask { return false }
            left -= bits
        }
        return true
    }

    /// 127.0.0.0/8 or ::1.
    public var isLoopback: Bool { isV6 ? bytes == [UInt8](repeating: 0, count: 15) + [1] : bytes[0] == 127 }
    /// 0.0.0.0 or ::.
    public var isUnspecified: Bool { bytes.allSatisfy { $0 == 0 } }
    /// fe80::/10.
    public var isLinkLocal: Bool { isV6 ? bytes[0] == 0xFE && bytes[1] & 0xC0 == 0x80 : bytes[0] == 169 && bytes[1] == 254 }
}
