import CCompress

/// The three compressions systemd uses for large journal data objects, with
/// the framing systemd gives each (src/basic/compress.c). Every call is
/// bounded by `limit`: a hostile file cannot make us allocate more.
public enum JournalCompression: Sendable {
    case xz, lz4, zstd

    /// Decompresses `src`; nil when it is malformed or larger than `limit`.
    public func decompress(_ src: [UInt8], limit: Int) -> [UInt8]? {
        guard !src.isEmpty, limit > 0 else { return nil }
        switch self {
        case .lz4: return Self.lz4(src, limit: limit)
        case .zstd: return Self.zstd(src, limit: limit)
        case .xz: return Self.xz(src, limit: limit)
        }
    }

    /// systemd prefixes the LZ4 block with its uncompressed size, little-endian 64-bit.
    static func lz4(_ src: [UInt8], limit: Int) -> [UInt8]? {
        guard src.count > 8 else { return nil }
        var size: UInt64 = 0
        for i in 0..<8 { size |= UInt64(src[i]) << (8 * UInt64(i)) }
        guard size > 0, size <= UInt64(limit), src.count - 8 <= Int(Int32.max) else { return nil }
        var out = [UInt8](repeating: 0, count: Int(size))
        let n = src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                s.baseAddress!.advanced(by: 8).withMemoryRebound(to: CChar.self, capacity: s.count - 8) { sp in
                    d.baseAddress!.withMemoryRebound(to: CChar.self, capacity: d.count) { dp in
                        LZ4_decompress_safe(sp, dp, Int32(s.count - 8), Int32(d.count))
                    }
                }
            }
        }
        guard n >= 0, UInt64(n) == size else { return nil }
        return out
    }

    /// A zstd frame; the content size may be absent, so decompress as a stream.
    static func zstd(_ src: [UInt8], limit: Int) -> [UInt8]? {
        guard let ctx = ZSTD_createDCtx() else { return nil }
        defer { ZSTD_freeDCtx(ctx) }
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: min(limit, 64 * 1024))
        return src.withUnsafeBytes { s -> [UInt8]? in
            var input = ZSTD_inBuffer(src: s.baseAddress, size: s.count, pos: 0)
            while true {
                let (rc, produced) = chunk.withUnsafeMutableBytes { d -> (Int, Int) in
                    var output = ZSTD_outBuffer(dst: d.baseAddress, size: d.count, pos: 0)
                    let rc = ZSTD_decompressStream(ctx, &output, &input)
                    return (ZSTD_isError(rc) != 0 ? -1 : Int(rc), output.pos)
                }
                guard rc >= 0 else { return nil }
                out.append(contentsOf: chunk[0..<produced])
                if out.count > limit { return nil }
                if rc == 0 { return out }  // the frame is complete
                if input.pos == input.size && produced < chunk.count { return nil }  // truncated
            }
        }
    }

    /// An .xz stream, as lzma_easy_buffer_encode writes it.
    static func xz(_ src: [UInt8], limit: Int) -> [UInt8]? {
        var out = [UInt8](repeating: 0, count: limit)
        var memlimit: UInt64 = 64 << 20
        var inPos = 0, outPos = 0
        let rc = src.withUnsafeBufferPointer { s in
            out.withUnsafeMutableBufferPointer { d in
                lzma_stream_buffer_decode(&memlimit, 0, nil, s.baseAddress, &inPos, s.count, d.baseAddress, &outPos, d.count)
            }
        }
        guard rc == LZMA_OK else { return nil }
        out.removeLast(out.count - outPos)
        return out
    }
}
