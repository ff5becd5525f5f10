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
