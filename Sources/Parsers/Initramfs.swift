import CCompress

/// One member of an initramfs that the caller asked for.
public struct InitramfsMember: Sendable, Hashable {
    public enum Kind: String, Sendable, Hashable { case regular, symlink, directory, other }
    /// The path inside the archive, without a leading `./` or `/` (`usr/lib/udev/rules.d/80-net-setup-link.rules`).
    public var path: String
    public var kind: Kind
    /// The file's bytes (regular files), or the link text (symlinks).
    public var data: [UInt8]
}

/// One piece of the concatenated initramfs: an uncompressed cpio archive or a compressed stream of them.
public struct InitramfsSegment: Sendable, Hashable {
    /// Byte offset in the file.
    public var offset: Int
    /// `cpio`, `gzip`, `zstd`, `xz`, `lz4`.
    public var format: String
    /// How many cpio entries it held (trailers not counted).
    public var entries: Int
}

/// What reading an initramfs gave: the wanted members (a later member of the
/// same path replaces an earlier one, as the kernel unpacks them), the
/// segments, the kernel modules it carries, and why reading stopped early.
public struct InitramfsContents: Sendable {
    public var members: [String: InitramfsMember] = [:]
    public var segments: [InitramfsSegment] = []
    /// Base names of the kernel modules in it (`virtio_net`), `-` written `_` as modprobe does.
    public var modules: Set<String> = []
    /// The modules among them that are network drivers (under `kernel/drivers/net/`).
    public var networkModules: Set<String> = []
    /// Top-level symlinks (`lib` -> `usr/lib`), which the kernel resolves when it unpacks.
    public var topLevelLinks: [String: String] = [:]
    /// Why the archive could not be read to its end; nil when it was.
    public var error: String?

    /// It carries network drivers, so cards appear (and are named) while it runs.
    public var hasNetworkDrivers: Bool { !networkModules.isEmpty }

    /// The member at `path`, with the archive's top-level symlinks applied (`lib/x` finds `usr/lib/x`).
    public func member(_ path: String) -> InitramfsMember? {
        let p = Initramfs.clean(path)
        if let m = members[p] { return m }
        let parts = p.split(separator: "/", maxSplits: 1).map(String.init)
        if parts.count == 2, let target = topLevelLinks[parts[0]] {
            return members[Initramfs.clean(target + "/" + parts[1])]
        }
        return nil
    }

    /// Every wanted member under a directory, by file name (top-level symlinks applied).
    public func members(in directory: String) -> [InitramfsMember] {
        var dirs = [Initramfs.clean(directory)]
        let parts = dirs[0].split(separator: "/", maxSplits: 1).map(String.init)
        if parts.count == 2, let target = topLevelLinks[parts[0]] { dirs.append(Initramfs.clean(target + "/" + parts[1])) }
        var seen: [String: InitramfsMember] = [:]
        for (path, m) in members {
            guard let slash = path.lastIndex(of: "/") else { continue }
            let dir = String(path[..<slash])
            if dirs.contains(dir) { seen[String(path[path.index(after: slash)...])] = m }
        }
        return seen.keys.sorted { $0.utf8.lexicographicallyPrecedes($1.utf8) }.compactMap { seen[$0] }
    }
}

/// Reads a Linux initramfs: concatenated newc cpio archives, often an
/// uncompressed early-microcode archive first and then a gzip, zstd, xz or
/// lz4 (legacy format) compressed one, with zero padding between them. Only
/// the members `want` selects are kept; everything is bounded, and a corrupt
/// or hostile file ends the read with `error` set, never a crash.
public enum Initramfs {
    public struct Limits: Sendable {
        /// Total bytes decompressed across all segments.
        public var maxDecompressed: Int = 512 << 20
        public var maxEntries: Int = 500_000
        /// A wanted member larger than this is recorded without its data.
        public var maxMemberSize: Int = 1 << 20
        public var maxSegments: Int = 64
        public init() {}
    }

    public static func read(_ bytes: [UInt8], limits: Limits = Limits(), want: @escaping (String) -> Bool) -> InitramfsContents {
        var parser = CpioStream(limits: limits, want: want)
        var out = InitramfsContents()
        var pos = 0
        var decompressed = 0
        bytes.withUnsafeBufferPointer { all in
            while pos < all.count {
                if all[pos] == 0 { pos += 1; continue }
                guard out.segments.count < limits.maxSegments else {
                    out.error = "more than \(limits.maxSegments) archive segments"
                    return
                }
                let rest = UnsafeBufferPointer(rebasing: all[pos...])
                let format = compression(rest)
                if format == "cpio" {
                    let before = parser.entries
                    parser.restart()
                    let used = parser.feed(rest, stopAtForeignData: true)
                    if let e = parser.error { out.error = "cpio archive at offset \(pos): \(e)"; return }
                    if !parser.atBoundary { out.error = "cpio archive at offset \(pos) is truncated"; return }
                    out.segments.append(InitramfsSegment(offset: pos, format: "cpio", entries: parser.entries - before))
                    pos += used
                    continue
                }
                guard let format else {
                    out.error = "unrecognised data at offset \(pos) (neither cpio nor a known compression)"
                    return
                }
                let before = parser.entries
                parser.restart()
                var sinkError: String?
                let result = decompress(format, rest) { chunk in
                    decompressed += chunk.count
                    if decompressed > limits.maxDecompressed {
                        sinkError = "more than \(limits.maxDecompressed >> 20) MiB when decompressed"
                        return false
                    }
                    _ = parser.feed(chunk, stopAtForeignData: false)
                    if let e = parser.error { sinkError = e; return false }
                    return true
                }
                if let e = sinkError ?? parser.error { out.error = "\(format) archive at offset \(pos): \(e)"; return }
                switch result {
                case .failure(let e):
                    out.error = "\(format) archive at offset \(pos): \(e.message)"
                    return
                case .success(let used):
                    if !parser.atBoundary { out.error = "\(format) archive at offset \(pos) ends inside a cpio entry"; return }
                    out.segments.append(InitramfsSegment(offset: pos, format: format, entries: parser.entries - before))
                    pos += max(used, 1)
                }
            }
        }
        out.members = parser.members
        out.modules = parser.modules
        out.networkModules = parser.networkModules
        out.topLevelLinks = parser.topLevelLinks
        if out.error == nil, out.segments.isEmpty { out.error = "no cpio archive in it" }
        return out
    }

    /// `./usr/lib/x` and `/usr/lib/x` as `usr/lib/x`.
    static func clean(_ path: String) -> String {
        var parts: [Substring] = []
        for p in path.split(separator: "/") where p != "." && !p.isEmpty {
            if p == ".." { _ = parts.popLast() } else { parts.append(p) }
        }
        return parts.joined(separator: "/")
    }

    /// The format the bytes start with: `cpio`, a compression, or nil.
    static func compression(_ b: UnsafeBufferPointer<UInt8>) -> String? {
        func starts(_ magic: [UInt8]) -> Bool { b.count >= magic.count && zip(b, magic).allSatisfy { $0 == $1 } }
        if starts(Array("07070".utf8)) { return "cpio" }
        if starts([0x1f, 0x8b]) || starts([0x1f, 0x9e]) { return "gzip" }
        if starts([0x28, 0xb5, 0x2f, 0xfd]) { return "zstd" }
        if starts([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) { return "xz" }
        if starts([0x02, 0x21, 0x4c, 0x18]) { return "lz4" }
        if starts(Array("BZh".utf8)) { return "bzip2" }
        if starts([0x5d, 0x00, 0x00]) { return "lzma" }
        if starts([0x89, 0x4c, 0x5a, 0x4f]) { return "lzo" }
        return nil
    }

    struct DecompressError: Error { var message: String }

    /// Decompresses one stream from the start of `input`, handing each chunk
    /// to `sink` (which returns false to stop); returns the input bytes used.
    static func decompress(_ format: String, _ input: UnsafeBufferPointer<UInt8>,
                           sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        switch format {
        case "gzip": gunzip(input, sink)
        case "zstd": unzstd(input, sink)
        case "xz": unxz(input, sink)
        case "lz4": unlz4Legacy(input, sink)
        default: .failure(DecompressError(message: "\(format) compression is not supported by this reader"))
        }
    }

    static let chunkSize = 256 << 10

    static func gunzip(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        guard let base = input.baseAddress else { return .failure(DecompressError(message: "empty")) }
        var s = z_stream()
        guard ra_gzip_init(&s) == Z_OK else { return .failure(DecompressError(message: "zlib could not start")) }
        defer { inflateEnd(&s) }
        var out = [UInt8](repeating: 0, count: chunkSize)
        var fed = 0
        while true {
            if s.avail_in == 0 && fed < input.count {
                let n = min(input.count - fed, Int(UInt32.max >> 1))
                s.next_in = UnsafeMutablePointer(mutating: base + fed)
                s.avail_in = UInt32(n)
                fed += n
            }
            let (ret, produced) = out.withUnsafeMutableBufferPointer { o -> (Int32, Int) in
                s.next_out = o.baseAddress
                s.avail_out = UInt32(o.count)
                let r = inflate(&s, Z_NO_FLUSH)
                return (r, o.count - Int(s.avail_out))
            }
            if produced > 0, !(out.withUnsafeBufferPointer { sink(UnsafeBufferPointer(rebasing: $0[0..<produced])) }) {
                return .failure(DecompressError(message: "stopped"))
            }
            if ret == Z_STREAM_END { return .success(fed - Int(s.avail_in)) }
            if ret == Z_BUF_ERROR && s.avail_in == 0 && fed >= input.count { return .failure(DecompressError(message: "the gzip stream is truncated")) }
            if ret != Z_OK && ret != Z_BUF_ERROR { return .failure(DecompressError(message: "corrupt gzip data (zlib error \(ret))")) }
        }
    }

    static func unzstd(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        guard let base = input.baseAddress, let ctx = ZSTD_createDCtx() else { return .failure(DecompressError(message: "zstd could not start")) }
        defer { ZSTD_freeDCtx(ctx) }
        // The kernel accepts windows up to 128 MiB; refuse larger ones rather than allocate them.
        _ = ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, 27)
        var inBuf = ZSTD_inBuffer(src: UnsafeRawPointer(base), size: input.count, pos: 0)
        var out = [UInt8](repeating: 0, count: chunkSize)
        var frameDone = false
        while true {
            if frameDone {
                // Consecutive zstd frames belong to the same segment.
                let rest = UnsafeBufferPointer(rebasing: input[inBuf.pos...])
                guard compression(rest) == "zstd" else { return .success(inBuf.pos) }
                frameDone = false
            }
            let (ret, produced) = out.withUnsafeMutableBufferPointer { o -> (Int, Int) in
                var outBuf = ZSTD_outBuffer(dst: UnsafeMutableRawPointer(o.baseAddress), size: o.count, pos: 0)
                let r = ZSTD_decompressStream(ctx, &outBuf, &inBuf)
                return (r, outBuf.pos)
            }
            if ZSTD_isError(ret) != 0 {
                return .failure(DecompressError(message: "corrupt zstd data (\(String(cString: ZSTD_getErrorName(ret))))"))
            }
            if produced > 0, !(out.withUnsafeBufferPointer { sink(UnsafeBufferPointer(rebasing: $0[0..<produced])) }) {
                return .failure(DecompressError(message: "stopped"))
            }
            if ret == 0 { frameDone = true; continue }
            if inBuf.pos >= inBuf.size && produced < chunkSize { return .failure(DecompressError(message: "the zstd stream is truncated")) }
        }
    }

    static func unxz(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        guard let base = input.baseAddress else { return .failure(DecompressError(message: "empty")) }
        var s = lzma_stream()
        guard ra_xz_init(&s, 256 << 20) == LZMA_OK else { return .failure(DecompressError(message: "liblzma could not start")) }
        defer { lzma_end(&s) }
        s.next_in = base
        s.avail_in = input.count
        var out = [UInt8](repeating: 0, count: chunkSize)
        while true {
            let (ret, produced) = out.withUnsafeMutableBufferPointer { o -> (lzma_ret, Int) in
                s.next_out = o.baseAddress
                s.avail_out = o.count
                let r = lzma_code(&s, s.avail_in == 0 ? LZMA_FINISH : LZMA_RUN)
                return (r, o.count - s.avail_out)
            }
            if produced > 0, !(out.withUnsafeBufferPointer { sink(UnsafeBufferPointer(rebasing: $0[0..<produced])) }) {
                return .failure(DecompressError(message: "stopped"))
            }
            if ret == LZMA_STREAM_END { return .success(input.count - s.avail_in) }
            if ret != LZMA_OK {
                return .failure(DecompressError(message: ret == LZMA_BUF_ERROR ? "the xz stream is truncated" : "corrupt xz data (liblzma error \(ret.rawValue))"))
            }
        }
    }

    /// lz4's legacy frame, which the kernel and `lz4 -l` use: a magic number,
    /// then blocks of at most 8 MiB, each with its compressed size in front.
    static func unlz4Legacy(_ input: UnsafeBufferPointer<UInt8>, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        let magic: UInt32 = 0x184C2102
        let blockMax = 8 << 20
        let bound = Int(LZ4_compressBound(Int32(blockMax)))
        func le32(_ at: Int) -> UInt32 {
            UInt32(input[at]) | UInt32(input[at + 1]) << 8 | UInt32(input[at + 2]) << 16 | UInt32(input[at + 3]) << 24
        }
        var pos = 4
        var blocks = 0
        var out = [UInt8](repeating: 0, count: blockMax)
        while pos + 4 <= input.count {
            let size = le32(pos)
            if size == magic { pos += 4; continue }
            let n = Int(size)
            if n == 0 || n > bound || pos + 4 + n > input.count {
                // No end marker: what follows is the next segment (or padding).
                if blocks > 0 { return .success(pos) }
                return .failure(DecompressError(message: "the lz4 stream is truncated or corrupt"))
            }
            let produced = out.withUnsafeMutableBufferPointer { o -> Int32 in
                input.baseAddress!.advanced(by: pos + 4).withMemoryRebound(to: CChar.self, capacity: n) { src in
                    o.baseAddress!.withMemoryRebound(to: CChar.self, capacity: blockMax) { dst in
                        LZ4_decompress_safe(src, dst, Int32(n), Int32(blockMax))
                    }
                }
            }
            guard produced >= 0 else { return .failure(DecompressError(message: "corrupt lz4 block at offset \(pos)")) }
            if produced > 0, !(out.withUnsafeBufferPointer { sink(UnsafeBufferPointer(rebasing: $0[0..<Int(produced)])) }) {
                return .failure(DecompressError(message: "stopped"))
            }
            blocks += 1
            pos += 4 + n
        }
        return blocks > 0 ? .success(pos) : .failure(DecompressError(message: "the lz4 stream has no blocks"))
    }
}

/// A push parser for newc cpio archives (magic 070701, or 070702 with
/// checksums), fed in chunks of any size.
struct CpioStream {
    let limits: Initramfs.Limits
    let want: (String) -> Bool
    var members: [String: InitramfsMember] = [:]
    var modules: Set<String> = []
    var networkModules: Set<String> = []
    var topLevelLinks: [String: String] = [:]
    var entries = 0
    var error: String?

    private enum State {
        /// Between archives: zero padding, then a header or the end.
        case between
        case header
        case data(path: String, mode: UInt32, remaining: Int, keep: Bool, wanted: Bool, pad: Int)
        case padding(Int)
    }
    private var state: State = .between
    private var pending: [UInt8] = []
    private var kept: [UInt8] = []

    init(limits: Initramfs.Limits, want: @escaping (String) -> Bool) {
        self.limits = limits
        self.want = want
    }

    /// Ready for a new segment (the previous one ended between archives).
    mutating func restart() {
        state = .between
        pending = []
    }

    /// True when the input so far ended between entries or archives.
    var atBoundary: Bool {
        switch state {
        case .between: pending.allSatisfy { $0 == 0 }
        case .padding: true
        default: false
        }
    }

    private static let headerSize = 110

    /// Feeds bytes; returns how many were used. With `stopAtForeignData`, it
    /// stops (without error) at the first byte between archives that is
    /// neither padding nor a cpio header: an uncompressed archive is followed
    /// by a compressed one.
    mutating func feed(_ chunk: UnsafeBufferPointer<UInt8>, stopAtForeignData: Bool) -> Int {
        var i = 0
        while i < chunk.count && error == nil {
            switch state {
            case .between:
                if pending.isEmpty {
                    if chunk[i] == 0 { i += 1; continue }
                    if chunk[i] != UInt8(ascii: "0") {
                        if stopAtForeignData { return i }
                        error = "unexpected data between archives"
                        return i
                    }
                }
                state = .header
            case .header:
                let need = Self.headerSize - pending.count
                if need > 0 {
                    let take = min(need, chunk.count - i)
                    pending.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[i..<(i + take)]))
                    i += take
                    if pending.count < Self.headerSize { return i }
                }
                guard let h = parseHeader(pending) else { return i }
                let nameEnd = Self.headerSize + h.nameSize
                let headerTotal = (nameEnd + 3) & ~3
                if pending.count < headerTotal {
                    let take = min(headerTotal - pending.count, chunk.count - i)
                    pending.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[i..<(i + take)]))
                    i += take
                    if pending.count < headerTotal { return i }
                }
                let nameBytes = pending[Self.headerSize..<(nameEnd - 1)]
                let name = String(decoding: nameBytes, as: UTF8.self)
                pending = []
                if name == "TRAILER!!!" {
                    state = .between
                    continue
                }
                entries += 1
                if entries > limits.maxEntries { error = "more than \(limits.maxEntries) entries"; return i }
                let path = Initramfs.clean(name)
                let kind = h.mode & 0o170000
                let isLink = kind == 0o120000
                let wanted = want(path)
                let keep = (wanted || isLink && !path.contains("/")) && h.fileSize <= limits.maxMemberSize
                if kind == 0o100000 { noteModule(path) }
                if wanted && kind == 0o040000 {
                    members[path] = InitramfsMember(path: path, kind: .directory, data: [])
                }
                kept = []
                state = .data(path: path, mode: h.mode, remaining: h.fileSize, keep: keep, wanted: wanted, pad: (4 - h.fileSize % 4) % 4)
                if h.fileSize == 0 {
                    finishEntry(path: path, mode: h.mode, keep: keep, wanted: wanted)
                    state = .padding(0)
                }
            case .data(let path, let mode, let remaining, let keep, let wanted, let pad):
                let take = min(remaining, chunk.count - i)
                if keep { kept.append(contentsOf: UnsafeBufferPointer(rebasing: chunk[i..<(i + take)])) }
                i += take
                if take == remaining {
                    finishEntry(path: path, mode: mode, keep: keep, wanted: wanted)
                    state = .padding(pad)
                } else {
                    state = .data(path: path, mode: mode, remaining: remaining - take, keep: keep, wanted: wanted, pad: pad)
                }
            case .padding(let n):
                let take = min(n, chunk.count - i)
                i += take
                state = take == n ? .header : .padding(n - take)
            }
        }
        return i
    }

    private mutating func finishEntry(path: String, mode: UInt32, keep: Bool, wanted: Bool) {
        guard keep else { return }
        switch mode & 0o170000 {
        case 0o100000:
            members[path] = InitramfsMember(path: path, kind: .regular, data: kept)
        case 0o120000:
            let target = String(decoding: kept, as: UTF8.self)
            if !path.contains("/") { topLevelLinks[path] = target }
            if wanted { members[path] = InitramfsMember(path: path, kind: .symlink, data: kept) }
        default:
            if wanted { members[path] = InitramfsMember(path: path, kind: .other, data: []) }
        }
        kept = []
    }

    private mutating func noteModule(_ path: String) {
        guard path.contains("/modules/"), let name = path.split(separator: "/").last else { return }
        for suffix in [".ko", ".ko.xz", ".ko.zst", ".ko.gz"] where name.hasSuffix(suffix) {
            let module = String(name.dropLast(suffix.count).map { $0 == "-" ? "_" : $0 })
            modules.insert(module)
            if path.contains("/kernel/drivers/net/") { networkModules.insert(module) }
        }
    }

    private struct Header {
        var mode: UInt32
        var fileSize: Int
        var nameSize: Int
    }

    private mutating func parseHeader(_ b: [UInt8]) -> Header? {
        guard b.count >= Self.headerSize, b[0...4].elementsEqual("07070".utf8), b[5] == UInt8(ascii: "1") || b[5] == UInt8(ascii: "2") else {
            error = "bad cpio header magic (only the newc format is read)"
            return nil
        }
        func field(_ n: Int) -> UInt32? {
            var v: UInt32 = 0
            for c in b[(6 + n * 8)..<(6 + n * 8 + 8)] {
                guard let d = hexDigit(c) else { return nil }
                v = v << 4 | UInt32(d)
            }
            return v
        }
        guard let mode = field(1), let size = field(6), let nameSize = field(11) else {
            error = "a cpio header field is not hexadecimal"
            return nil
        }
        guard nameSize >= 1, nameSize <= 4096 else { error = "a cpio name length of \(nameSize) is out of range"; return nil }
        return Header(mode: mode, fileSize: Int(size), nameSize: Int(nameSize))
    }

    private func hexDigit(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
