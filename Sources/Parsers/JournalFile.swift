/// A reader for systemd journal files (https://systemd.io/JOURNAL_FILE_FORMAT/),
/// through a `read(offset, count)` function so that it never opens a file
/// itself. Supports the regular and compact layouts, keyed hashes (which a
/// reader can ignore) and XZ, LZ4 and ZSTD compressed data objects.
///
/// Every offset read from the file is checked against the file's size and
/// the object's declared size; a torn or hostile file gives nil, never a trap.
/// All reads go through a block cache with a byte budget: once `budget`
/// bytes were read, further reads fail and `budgetExhausted` is set.
public final class JournalFile {
    public struct Header: Sendable, Equatable {
        public var compatibleFlags: UInt32
        public var incompatibleFlags: UInt32
        /// 0 offline, 1 online (being written, or the writer died), 2 archived.
        public var state: UInt8
        public var tailEntryBootID: String
        public var headerSize: UInt64
        public var arenaSize: UInt64
        public var nEntries: UInt64
        public var entryArrayOffset: UInt64
        public var headEntryRealtime: UInt64
        public var tailEntryRealtime: UInt64

        public var isCompact: Bool { incompatibleFlags & Flags.compact != 0 }
    }

    enum Flags {
        static let xz: UInt32 = 1 << 0
        static let lz4: UInt32 = 1 << 1
        static let keyedHash: UInt32 = 1 << 2
        static let zstd: UInt32 = 1 << 3
        static let compact: UInt32 = 1 << 4
        static let known: UInt32 = xz | lz4 | keyedHash | zstd | compact
    }

    enum ObjectType: UInt8 { case data = 1, field, entry, dataHashTable, fieldHashTable, entryArray, tag }

    /// One entry: when, which boot, and the fields that were asked for.
    public struct Entry: Sendable, Equatable {
        public var seqnum: UInt64
        /// Microseconds since the epoch (CLOCK_REALTIME).
        public var realtime: UInt64
        /// 32 lowercase hex digits, as `_BOOT_ID=` shows it.
        public var bootID: String
        public var fields: [String: String]
    }

    public enum OpenError: Error, Sendable, Equatable, CustomStringConvertible {
        case notAJournal
        case unsupportedFeatures(UInt32)
        case truncated

        public var description: String {
            switch self {
            case .notAJournal: "it is not a journal file (no LPKSHHRH signature)"
            case .unsupportedFeatures(let f): "it uses journal features this reader does not know (incompatible flags 0x\(String(f, radix: 16)))"
            case .truncated: "its header is truncated"
            }
        }
    }

    public let header: Header
    public let size: Int64
    private let source: (Int64, Int) -> [UInt8]?
    private let budget: Int64
    private(set) public var bytesRead: Int64 = 0
    private(set) public var budgetExhausted = false
    private var blocks: [Int64: [UInt8]] = [:]
    /// Data objects by offset: nil when not a field at all; the value is nil when it was not kept.
    private var dataCache: [UInt64: (String, String?)?] = [:]
    static let blockSize = 64 * 1024
    /// Decompressed data objects larger than this are skipped (log messages are far smaller).
    static let maxPayload = 1 << 20

    public init(size: Int64, budget: Int64 = 32 << 20, read: @escaping (Int64, Int) -> [UInt8]?) throws(OpenError) {
        self.size = size
        self.source = read
        self.budget = budget
        guard size >= 208, let h = read(0, 272), h.count >= 208 else { throw .truncated }
        guard Array(h[0..<8]) == Array("LPKSHHRH".utf8) else { throw .notAJournal }
        let r = LittleEndianBytes(h)
        let incompatible = r.u32(12)
        guard incompatible & ~Flags.known == 0 else { throw .unsupportedFeatures(incompatible) }
        header = Header(
            compatibleFlags: r.u32(8), incompatibleFlags: incompatible, state: h[16],
            tailEntryBootID: Self.hex(Array(h[56..<72])), headerSize: r.u64(88), arenaSize: r.u64(96),
            nEntries: r.u64(152), entryArrayOffset: r.u64(176), headEntryRealtime: r.u64(184), tailEntryRealtime: r.u64(192))
        bytesRead = Int64(h.count)
    }

    // MARK: - Reading

    /// `count` bytes at `offset` through the block cache; nil past the end or the budget.
    func bytes(_ offset: Int64, _ count: Int) -> [UInt8]? {
        guard offset >= 0, count >= 0, count <= Int(clamping: size), offset <= size - Int64(count) else { return nil }
        if count == 0 { return [] }
        var out: [UInt8] = []
        out.reserveCapacity(count)
        var pos = offset
        let end = offset + Int64(count)
        while pos < end {
            let blockStart = pos - pos % Int64(Self.blockSize)
            guard let block = block(at: blockStart) else { return nil }
            let from = Int(pos - blockStart)
            let to = min(block.count, Int(end - blockStart))
            guard to > from else { return nil }
            out.append(contentsOf: block[from..<to])
            pos = blockStart + Int64(to)
        }
        return out
    }

    private func block(at start: Int64) -> [UInt8]? {
        if let b = blocks[start] { return b }
        let want = Int(min(Int64(Self.blockSize), size - start))
        guard bytesRead + Int64(want) <= budget else {
            budgetExhausted = true
            return nil
        }
        guard let b = source(start, want), b.count == want else { return nil }
        bytesRead += Int64(want)
        blocks[start] = b
        return b
    }

    /// An object's header: type, flags and size, checked against the file.
    private func object(at offset: UInt64, type: ObjectType) -> (flags: UInt8, size: Int)? {
        guard offset % 8 == 0, offset >= header.headerSize, offset < UInt64(size),
              let h = bytes(Int64(offset), 16) else { return nil }
        let size = LittleEndianBytes(h).u64(8)
        // `size` is the file's word: compared by subtraction, so a value near 2^64 cannot overflow.
        guard h[0] == type.rawValue, size >= 16, size <= UInt64(self.size) - offset else { return nil }
        return (h[1], Int(size))
    }

    // MARK: - Entries

    /// The offsets of every entry, oldest first, from the chain of entry
    /// arrays. A broken chain ends the list where it breaks.
    public func entryOffsets() -> [UInt64] {
        var out: [UInt64] = []
        var next = header.entryArrayOffset
        let width = header.isCompact ? 4 : 8
        var seen = 0
        while next != 0, out.count < Int(min(header.nEntries, 1 << 26)) {
            guard let (_, objectSize) = object(at: next, type: .entryArray), objectSize >= 24,
                  let body = bytes(Int64(next) + 16, objectSize - 16) else { break }
            let r = LittleEndianBytes(body)
            let following = r.u64(0)
            let n = (objectSize - 24) / width
            for i in 0..<n {
                let o = width == 4 ? UInt64(r.u32(8 + i * 4)) : r.u64(8 + i * 8)
                if o == 0 { break }
                out.append(o)
                if UInt64(out.count) >= header.nEntries { break }
            }
            // The chain only goes forward; anything else is corruption.
            guard following > next else { break }
            next = following
            seen += 1
            if seen > 64 { break }
        }
        return out
    }

    /// The entry at `offset` with the values of `fields` (all fields when nil).
    public func entry(at offset: UInt64, fields wanted: Set<String>? = nil) -> Entry? {
        guard let (_, objectSize) = object(at: offset, type: .entry), objectSize >= 64,
              let body = bytes(Int64(offset), objectSize) else { return nil }
        let r = LittleEndianBytes(body)
        let width = header.isCompact ? 4 : 16
        let n = (objectSize - 64) / width
        var fields: [String: String] = [:]
        for i in 0..<n {
            let dataOffset = header.isCompact ? UInt64(r.u32(64 + i * 4)) : r.u64(64 + i * 16)
            guard let (name, value) = data(at: dataOffset, wanted: wanted) else { continue }
            // A field can repeat; the first value is the one journalctl shows first.
            if fields[name] == nil { fields[name] = value }
        }
        return Entry(seqnum: r.u64(16), realtime: r.u64(24), bootID: Self.hex(Array(body[40..<56])), fields: fields)
    }

    /// The boot ID and time of the entry at `offset`, without its fields.
    public func entryStamp(at offset: UInt64) -> (realtime: UInt64, bootID: String)? {
        guard let _ = object(at: offset, type: .entry), let b = bytes(Int64(offset), 56) else { return nil }
        return (LittleEndianBytes(b).u64(24), Self.hex(Array(b[40..<56])))
    }

    /// A data object's `FIELD=value`, decompressed when it is compressed.
    func data(at offset: UInt64, wanted: Set<String>?) -> (String, String)? {
        if let cached = dataCache[offset] {
            guard let c = cached, wanted?.contains(c.0) ?? true else { return nil }
            if let value = c.1 { return (c.0, value) }
        }
        let payloadStart = header.isCompact ? 72 : 64
        guard let (flags, objectSize) = object(at: offset, type: .data), objectSize > payloadStart else { return nil }
        let compression: JournalCompression? = flags & 1 != 0 ? .xz : flags & 2 != 0 ? .lz4 : flags & 4 != 0 ? .zstd : nil
        let length = objectSize - payloadStart
        if compression == nil, length > 256, let wanted {
            // Look at the field name first: large values of other fields are not read.
            guard let head = bytes(Int64(offset) + Int64(payloadStart), min(length, 64)),
                  let eq = head.firstIndex(of: UInt8(ascii: "=")) else { return nil }
            let name = Text.decode(head[..<eq])
            guard wanted.contains(name) else {
                dataCache[offset] = .some((name, nil))
                return nil
            }
        }
        guard length <= Self.maxPayload * 2, let raw = bytes(Int64(offset) + Int64(payloadStart), length) else { return nil }
        var payload = raw
        if let compression {
            guard let plain = compression.decompress(raw, limit: Self.maxPayload) else { return nil }
            payload = plain
        }
        guard let eq = payload.firstIndex(of: UInt8(ascii: "=")) else {
            dataCache[offset] = .some(nil)
            return nil
        }
        let name = Text.decode(payload[..<eq])
        // Values of fields nobody asked for are not kept.
        guard wanted?.contains(name) ?? true else {
            dataCache[offset] = .some((name, nil))
            return nil
        }
        let value = Text.decode(payload[(eq + 1)...])
        dataCache[offset] = .some((name, value))
        return (name, value)
    }

    static func hex(_ b: [UInt8]) -> String {
        b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}
