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
    /// How many bytes its compressed segments gave (what counts against a budget).
    public var decompressedBytes = 0

    public init() {}

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

    /// Random access to the initramfs: up to `count` bytes at `offset`
    /// (fewer at the end of the file), nil when reading failed. The parser
    /// does no I/O itself; the caller reads the file (through the confined
    /// reader) a chunk at a time, so the file is never held whole.
    public typealias ByteSource = (_ offset: Int, _ count: Int) -> [UInt8]?

    /// Reads an initramfs held in memory (tests, small files).
    public static func read(_ bytes: [UInt8], limits: Limits = Limits(), want: @escaping (String) -> Bool) -> InitramfsContents {
        read(size: bytes.count, limits: limits, source: { offset, count in
            guard offset >= 0, offset <= bytes.count else { return nil }
            return Array(bytes[offset..<min(bytes.count, offset + max(0, count))])
        }, want: want)
    }

    /// Reads an initramfs of `size` bytes from `source`, streaming every
    /// segment through its decompressor and the cpio reader. Only the members
    /// `want` selects are kept (and the module names, from the paths).
    public static func read(size: Int, limits: Limits = Limits(), source: @escaping ByteSource, want: @escaping (String) -> Bool) -> InitramfsContents {
        var parser = CpioStream(limits: limits, want: want)
        var out = InitramfsContents()
        var pos = 0
        var decompressed = 0
        scan: while pos < size {
            guard let head = Segment(start: pos, size: size - pos, source: source).bytes(0, 64 << 10), !head.isEmpty else {
                out.error = "the file could not be read at offset \(pos)"
                break scan
            }
            if head[0] == 0 {
                pos += head.firstIndex { $0 != 0 } ?? head.count
                continue
            }
            guard out.segments.count < limits.maxSegments else {
                out.error = "more than \(limits.maxSegments) archive segments"
                break scan
            }
            let format = head.withUnsafeBufferPointer { compression($0) }
            if format == "cpio" {
                let before = parser.entries
                parser.restart()
                let start = pos
                while pos < size {
                    guard let chunk = source(pos, chunkSize), !chunk.isEmpty else {
                        out.error = "the file could not be read at offset \(pos)"
                        break scan
                    }
                    let used = chunk.withUnsafeBufferPointer { parser.feed($0, stopAtForeignData: true) }
                    pos += used
                    if let e = parser.error { out.error = "cpio archive at offset \(start): \(e)"; break scan }
                    if used < chunk.count { break }
                }
                if !parser.atBoundary { out.error = "cpio archive at offset \(start) is truncated"; break scan }
                out.segments.append(InitramfsSegment(offset: start, format: "cpio", entries: parser.entries - before))
                continue
            }
            guard let format else {
                out.error = "unrecognised data at offset \(pos) (neither cpio nor a known compression)"
                break scan
            }
            let before = parser.entries
            parser.restart()
            var sinkError: String?
            let segment = Segment(start: pos, size: size - pos, source: source)
            let result = decompress(format, segment) { chunk in
                decompressed += chunk.count
                if decompressed > limits.maxDecompressed {
                    sinkError = "more than \(limits.maxDecompressed >> 20) MiB when decompressed"
                    return false
                }
                _ = parser.feed(chunk, stopAtForeignData: false)
                if let e = parser.error { sinkError = e; return false }
                return true
            }
            if let e = sinkError ?? parser.error { out.error = "\(format) archive at offset \(pos): \(e)"; break scan }
            switch result {
            case .failure(let e):
                out.error = "\(format) archive at offset \(pos): \(e.message)"
                break scan
            case .success(let used):
                if !parser.atBoundary { out.error = "\(format) archive at offset \(pos) ends inside a cpio entry"; break scan }
                out.segments.append(InitramfsSegment(offset: pos, format: format, entries: parser.entries - before))
                pos += max(used, 1)
            }
        }
        out.members = parser.members
        out.modules = parser.modules
        out.networkModules = parser.networkModules
        out.topLevelLinks = parser.topLevelLinks
        out.decompressedBytes = decompressed
        if out.error == nil, out.segments.isEmpty { out.error = "no cpio archive in it" }
        return out
    }

    /// The rest of the file from one segment's start, read a chunk at a time.
    struct Segment {
        var start: Int
        var size: Int
        var source: ByteSource

        /// `count` bytes at `offset` within the segment (fewer only at its
        /// end), however few each read of the source gives; nil on a read error.
        func bytes(_ offset: Int, _ count: Int) -> [UInt8]? {
            guard offset < size else { return [] }
            let want = min(count, size - offset)
            var out: [UInt8] = []
            while out.count < want {
                guard let b = source(start + offset + out.count, want - out.count) else { return nil }
                if b.isEmpty { break }
                out += b.prefix(want - out.count)
            }
            return out
        }
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
    static func decompress(_ format: String, _ input: Segment,
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

    /// A fixed input buffer refilled from the segment: the decompressors keep
    /// pointers into it between calls, so it is not a Swift array.
    final class InputWindow {
        let buffer = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: Initramfs.chunkSize)
        /// Segment offset of buffer[0], and how many bytes it holds.
        var offset = 0
        var count = 0
        var failed = false
        deinit { buffer.deallocate() }

        /// Loads the chunk at segment offset `at`; false at the end or on an error.
        func load(_ input: Segment, at: Int) -> Bool {
            guard let b = input.bytes(at, buffer.count) else { failed = true; return false }
            guard !b.isEmpty else { return false }
            _ = buffer.initialize(from: b)
            offset = at
            count = b.count
            return true
        }
    }

    static func gunzip(_ input: Segment, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        if let isal = ra_isal_gzip_new() {
            defer { ra_isal_gzip_free(isal) }
            return gunzipISAL(isal, input, sink)
        }
        return gunzipZlib(input, sink)
    }

    /// gzip through ISA-L (when libisal.so.2 is on the running system).
    static func gunzipISAL(_ isal: UnsafeMutableRawPointer, _ input: Segment, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        let window = InputWindow()
        let out = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        defer { out.deallocate() }
        guard let outBase = out.baseAddress else { return .failure(DecompressError(message: "no memory")) }
        var next = 0
        var atEnd = false
        var inPtr: UnsafePointer<UInt8>? = nil
        var inLeft: UInt32 = 0
        while true {
            if inLeft == 0 && !atEnd {
                if window.load(input, at: next) {
                    inPtr = UnsafePointer(window.buffer.baseAddress)
                    inLeft = UInt32(window.count)
                    next += window.count
                } else {
                    if window.failed { return .failure(DecompressError(message: "the file could not be read")) }
                    atEnd = true
                }
            }
            var outPtr: UnsafeMutablePointer<UInt8>? = outBase
            var outLeft = UInt32(out.count)
            var finished: Int32 = 0
            let ret = ra_isal_gzip_step(isal, &inPtr, &inLeft, &outPtr, &outLeft, &finished)
            let produced = out.count - Int(outLeft)
            if produced > 0, !sink(UnsafeBufferPointer(rebasing: out[0..<produced])) {
                return .failure(DecompressError(message: "stopped"))
            }
            if ret < 0 { return .failure(DecompressError(message: "corrupt gzip data (ISA-L error \(ret))")) }
            if finished != 0 { return .success(next - Int(inLeft)) }
            if atEnd && inLeft == 0 && produced == 0 { return .failure(DecompressError(message: "the gzip stream is truncated")) }
        }
    }

    /// gzip through zlib.
    static func gunzipZlib(_ input: Segment, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        var s = z_stream()
        guard ra_gzip_init(&s) == Z_OK else { return .failure(DecompressError(message: "zlib could not start")) }
        defer { inflateEnd(&s) }
        let window = InputWindow()
        let out = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        defer { out.deallocate() }
        var next = 0
        var atEnd = false
        while true {
            if s.avail_in == 0 && !atEnd {
                if window.load(input, at: next) {
                    s.next_in = window.buffer.baseAddress
                    s.avail_in = UInt32(window.count)
                    next += window.count
                } else {
                    if window.failed { return .failure(DecompressError(message: "the file could not be read")) }
                    atEnd = true
                }
            }
            s.next_out = out.baseAddress
            s.avail_out = UInt32(out.count)
            let ret = inflate(&s, Z_NO_FLUSH)
            let produced = out.count - Int(s.avail_out)
            if produced > 0, !sink(UnsafeBufferPointer(rebasing: out[0..<produced])) {
                return .failure(DecompressError(message: "stopped"))
            }
            if ret == Z_STREAM_END { return .success(next - Int(s.avail_in)) }
            if ret == Z_BUF_ERROR && s.avail_in == 0 && atEnd { return .failure(DecompressError(message: "the gzip stream is truncated")) }
            if ret != Z_OK && ret != Z_BUF_ERROR { return .failure(DecompressError(message: "corrupt gzip data (zlib error \(ret))")) }
        }
    }

    static func unzstd(_ input: Segment, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        guard let ctx = ZSTD_createDCtx() else { return .failure(DecompressError(message: "zstd could not start")) }
        defer { ZSTD_freeDCtx(ctx) }
        // The kernel accepts windows up to 128 MiB; refuse larger ones rather than allocate them.
        _ = ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, 27)
        let window = InputWindow()
        let out = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        defer { out.deallocate() }
        var inBuf = ZSTD_inBuffer(src: UnsafeRawPointer(window.buffer.baseAddress), size: 0, pos: 0)
        var next = 0
        var atEnd = false
        var frameDone = false
        while true {
            if inBuf.pos >= inBuf.size && !atEnd {
                if window.load(input, at: next) {
                    inBuf = ZSTD_inBuffer(src: UnsafeRawPointer(window.buffer.baseAddress), size: window.count, pos: 0)
                    next += window.count
                } else {
                    if window.failed { return .failure(DecompressError(message: "the file could not be read")) }
                    atEnd = true
                }
            }
            let used = next - (inBuf.size - inBuf.pos)
            if frameDone {
                // Consecutive zstd frames belong to the same segment.
                guard let peek = input.bytes(used, 4), peek.withUnsafeBufferPointer({ compression($0) }) == "zstd" else { return .success(used) }
                frameDone = false
            }
            var outBuf = ZSTD_outBuffer(dst: UnsafeMutableRawPointer(out.baseAddress), size: out.count, pos: 0)
            let ret = ZSTD_decompressStream(ctx, &outBuf, &inBuf)
            if ZSTD_isError(ret) != 0 {
                return .failure(DecompressError(message: "corrupt zstd data (\(String(cString: ZSTD_getErrorName(ret))))"))
            }
            let produced = outBuf.pos
            if produced > 0, !sink(UnsafeBufferPointer(rebasing: out[0..<produced])) {
                return .failure(DecompressError(message: "stopped"))
            }
            if ret == 0 { frameDone = true; continue }
            if atEnd && inBuf.pos >= inBuf.size && produced < out.count { return .failure(DecompressError(message: "the zstd stream is truncated")) }
        }
    }

    static func unxz(_ input: Segment, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        var s = lzma_stream()
        guard ra_xz_init(&s, 256 << 20) == LZMA_OK else { return .failure(DecompressError(message: "liblzma could not start")) }
        defer { lzma_end(&s) }
        let window = InputWindow()
        let out = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: chunkSize)
        defer { out.deallocate() }
        var next = 0
        var atEnd = false
        while true {
            if s.avail_in == 0 && !atEnd {
                if window.load(input, at: next) {
                    s.next_in = UnsafePointer(window.buffer.baseAddress)
                    s.avail_in = window.count
                    next += window.count
                } else {
                    if window.failed { return .failure(DecompressError(message: "the file could not be read")) }
                    atEnd = true
                }
            }
            s.next_out = out.baseAddress
            s.avail_out = out.count
            let ret = lzma_code(&s, atEnd ? LZMA_FINISH : LZMA_RUN)
            let produced = out.count - s.avail_out
            if produced > 0, !sink(UnsafeBufferPointer(rebasing: out[0..<produced])) {
                return .failure(DecompressError(message: "stopped"))
            }
            if ret == LZMA_STREAM_END { return .success(next - s.avail_in) }
            if ret != LZMA_OK {
                return .failure(DecompressError(message: ret == LZMA_BUF_ERROR ? "the xz stream is truncated" : "corrupt xz data (liblzma error \(ret.rawValue))"))
            }
        }
    }

    /// lz4's legacy frame, which the kernel and `lz4 -l` use: a magic number,
    /// then blocks of at most 8 MiB, each with its compressed size in front.
    static func unlz4Legacy(_ input: Segment, _ sink: (UnsafeBufferPointer<UInt8>) -> Bool) -> Result<Int, DecompressError> {
        let magic: UInt32 = 0x184C2102
        let blockMax = 8 << 20
        let bound = Int(LZ4_compressBound(Int32(blockMax)))
        var pos = 4
        var blocks = 0
        let out = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: blockMax)
        defer { out.deallocate() }
        while pos + 4 <= input.size {
            guard let head = input.bytes(pos, 4), head.count == 4 else { return .failure(DecompressError(message: "the file could not be read")) }
            let size = UInt32(head[0]) | UInt32(head[1]) << 8 | UInt32(head[2]) << 16 | UInt32(head[3]) << 24
            if size == magic { pos += 4; continue }
            let n = Int(size)
            if n == 0 || n > bound || pos + 4 + n > input.size {
                // No end marker: what follows is the next segment (or padding).
                if blocks > 0 { return .success(pos) }
                return .failure(DecompressError(message: "the lz4 stream is truncated or corrupt"))
            }
            guard let block = input.bytes(pos + 4, n), block.count == n else { return .failure(DecompressError(message: "the file could not be read")) }
            let produced = block.withUnsafeBufferPointer { src -> Int32 in
                guard let s = src.baseAddress, let d = out.baseAddress else { return -1 }
                return s.withMemoryRebound(to: CChar.self, capacity: n) { sp in
                    d.withMemoryRebound(to: CChar.self, capacity: blockMax) { dp in
                        LZ4_decompress_safe(sp, dp, Int32(n), Int32(blockMax))
                    }
                }
            }
            guard produced >= 0 else { return .failure(DecompressError(message: "corrupt lz4 block at offset \(pos)")) }
            if produced > 0, !sink(UnsafeBufferPointer(rebasing: out[0..<Int(produced)])) {
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
