import CNettle

/// SHA-256 of bytes, as lowercase hex (nettle's implementation). The same
/// digest `sha256sum` prints, which the repair script compares against.
public func sha256Hex<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var ctx = sha256_ctx()
    nettle_sha256_init(&ctx)
    let update: (UnsafeBufferPointer<UInt8>) -> Void = { buffer in
        if let base = buffer.baseAddress, buffer.count > 0 { nettle_sha256_update(&ctx, buffer.count, base) }
    }
    if bytes.withContiguousStorageIfAvailable(update) == nil { Array(bytes).withUnsafeBufferPointer(update) }
    var digest = [UInt8](repeating: 0, count: Int(SHA256_DIGEST_SIZE))
    digest.withUnsafeMutableBufferPointer { nettle_sha256_digest(&ctx, $0.count, $0.baseAddress) }
    let hex = Array("0123456789abcdef".utf8)
    var out: [UInt8] = []
    out.reserveCapacity(64)
    for b in digest {
        out.append(hex[Int(b >> 4)])
        out.append(hex[Int(b & 15)])
    }
    return String(decoding: out, as: UTF8.self)
}
