/// Decoders for the health fields of filesystem superblocks: bytes read from
/// a device or image in, typed state out. Discovery does the reading.

/// The health-related fields of an ext2/3/4 superblock (the 1024 bytes at
/// offset 1024 of the filesystem), as `dumpe2fs -h` shows them.
public struct ExtSuperblock: Sendable, Codable, Equatable {
    /// `s_state`: bit 0 = cleanly unmounted (EXT2_VALID_FS), bit 1 = errors detected (EXT2_ERROR_FS).
    public var state: UInt16
    public var mountCount: Int
    /// `s_max_mnt_count`; -1 or 0 means the count is not checked.
    public var maxMountCount: Int
    /// `s_lastcheck`, seconds since the epoch.
    public var lastCheck: Int64
    /// `s_checkinterval` in seconds; 0 means never by time.
    public var checkInterval: Int64
    public var errorCount: Int
    public var firstError: ErrorRecord?
    public var lastError: ErrorRecord?
    /// `needs_recovery`: the journal holds transactions the kernel replays on a read-write mount.
    public var needsRecovery: Bool
    public var hasJournal: Bool
    public var uuid: String
    public var label: String

    /// An error the kernel recorded in the superblock (ext4's `s_*_error_*` fields).
    public struct ErrorRecord: Sendable, Codable, Equatable {
        /// Seconds since the epoch.
        public var time: Int64
        /// The kernel function that reported it (`ext4_lookup`).
        public var function: String
        public var line: Int
        public var inode: Int
        public var block: UInt64

        public init(time: Int64, function: String, line: Int, inode: Int, block: UInt64) {
            self.time = time
            self.function = function
            self.line = line
            self.inode = inode
            self.block = block
        }
    }

    public init(state: UInt16, mountCount: Int, maxMountCount: Int, lastCheck: Int64, checkInterval: Int64, errorCount: Int,
                firstError: ErrorRecord?, lastError: ErrorRecord?, needsRecovery: Bool, hasJournal: Bool, uuid: String, label: String) {
        self.state = state
        self.mountCount = mountCount
        self.maxMountCount = maxMountCount
        self.lastCheck = lastCheck
        self.checkInterval = checkInterval
        self.errorCount = errorCount
        self.firstError = firstError
        self.lastError = lastError
        self.needsRecovery = needsRecovery
        self.hasJournal = hasJournal
        self.uuid = uuid
        self.label = label
    }

    static let magic: UInt16 = 0xEF53
    static let validFS: UInt16 = 1
    static let errorFS: UInt16 = 2

    /// Whether `s_state` says the filesystem was cleanly unmounted and has no errors.
    public var isClean: Bool { state & Self.validFS != 0 && state & Self.errorFS == 0 }
    public var hasErrorsFlag: Bool { state & Self.errorFS != 0 }
    /// e2fsck's own test: `s_max_mnt_count > 0 && s_mnt_count >= s_max_mnt_count`.
    public var mountCountExceeded: Bool { maxMountCount > 0 && mountCount >= maxMountCount }

    /// `dumpe2fs`'s words for `s_state`.
    public var stateWords: String {
        var words = state & Self.validFS != 0 ? "clean" : "not clean"
        if state & Self.errorFS != 0 { words += " with errors" }
        return words
    }

    /// The block size the superblock's bytes give (1024 << s_log_block_size);
    /// nil when it is none that ext uses.
    public static func blockSize(_ sb: [UInt8]) -> Int? {
        guard sb.count >= 0x1C else { return nil }
        let log = LittleEndianBytes(sb).u32(0x18)
        return log <= 6 ? 1024 << Int(log) : nil
    }

    /// Decodes the 1024-byte superblock (the bytes at offset 1024 of the
    /// filesystem). Nil when the magic number is not ext's.
    public static func decode(_ sb: [UInt8]) -> ExtSuperblock? {
        guard sb.count >= 1024 else { return nil }
        let r = LittleEndianBytes(sb)
        guard r.u16(0x38) == magic else { return nil }
        func timestamp(_ lo: Int, hi: Int) -> Int64 { Int64(r.u32(lo)) | (Int64(sb[hi]) << 32) }
        func record(time: Int64, ino: Int, line: Int, block: Int, function: Int) -> ErrorRecord? {
            guard time != 0 else { return nil }
            return ErrorRecord(time: time, function: r.cString(function, max: 32), line: Int(r.u32(line)),
                               inode: Int(r.u32(ino)), block: r.u64(block))
        }
        let compat = r.u32(0x5C), incompat = r.u32(0x60)
        return ExtSuperblock(
            state: r.u16(0x3A), mountCount: Int(r.u16(0x34)), maxMountCount: Int(Int16(bitPattern: r.u16(0x36))),
            lastCheck: timestamp(0x40, hi: 0x277), checkInterval: Int64(r.u32(0x44)),
            errorCount: Int(r.u32(0x194)),
            firstError: record(time: timestamp(0x198, hi: 0x278), ino: 0x19C, line: 0x1C8, block: 0x1A0, function: 0x1A8),
            lastError: record(time: timestamp(0x1CC, hi: 0x279), ino: 0x1D0, line: 0x1D4, block: 0x1D8, function: 0x1E0),
            needsRecovery: incompat & 0x4 != 0, hasJournal: compat & 0x4 != 0,
            uuid: formatUUID(Array(sb[0x68..<0x78])), label: r.cString(0x78, max: 16))
    }
}

/// What an XFS superblock says about where its log is.
public struct XFSSuperblock: Sendable, Equatable {
    public var blockSize: Int
    /// The log's first filesystem block; 0 for an external log.
    public var logStart: UInt64
    public var logBlocks: Int
    public var agBlocks: UInt64
    public var agBlockLog: Int
    public var blockLog: Int
    public var uuid: String

    public var hasInternalLog: Bool { logStart != 0 }

    /// Byte offset of the internal log from the start of the filesystem
    /// (XFS_FSB_TO_DADDR: allocation group and block within it); nil when
    /// the superblock's numbers do not fit in a 64-bit offset (a hostile or
    /// corrupt superblock such as `sb_logstart = 0xFFFF…`).
    public var logOffset: Int64? {
        let ag = logStart >> UInt64(agBlockLog)
        let block = logStart & ((UInt64(1) << UInt64(agBlockLog)) - 1)
        let (agStart, o1) = ag.multipliedReportingOverflow(by: agBlocks)
        let (fsBlock, o2) = agStart.addingReportingOverflow(block)
        let (bytes, o3) = fsBlock.multipliedReportingOverflow(by: UInt64(blockSize))
        guard !o1, !o2, !o3, bytes <= UInt64(Int64.max) else { return nil }
        return Int64(bytes)
    }

    public var logLength: Int64 { Int64(logBlocks) * Int64(blockSize) }

    /// Decodes the primary superblock (the first 512 bytes of the filesystem; big-endian).
    public static func decode(_ sb: [UInt8]) -> XFSSuperblock? {
        guard sb.count >= 256 else { return nil }
        let r = BigEndianBytes(sb)
        guard r.u32(0) == 0x5846_5342 else { return nil }  // "XFSB"
        let blockSize = Int(r.u32(4)), blockLog = Int(sb[120]), agBlockLog = Int(sb[124])
        guard blockSize >= 512, blockSize == 1 << blockLog, agBlockLog > 0, agBlockLog < 64 else { return nil }
        return XFSSuperblock(blockSize: blockSize, logStart: r.u64(48), logBlocks: Int(r.u32(96)), agBlocks: UInt64(r.u32(84)),
                             agBlockLog: agBlockLog, blockLog: blockLog, uuid: formatUUID(Array(sb[32..<48])))
    }
}

/// The state of an XFS log, found the way the kernel's log recovery does
/// (xlog_find_head, then the last record header before the head): the log is
/// clean when the last record is a lone unmount record that ends at the head.
public struct XFSLogState: Sendable, Codable, Equatable {
    public enum State: String, Sendable, Codable { case clean, dirty, zeroed }
    public var state: State
    /// Head and last record, in 512-byte blocks from the start of the log.
    public var headBlock: Int64
    public var lastRecordBlock: Int64?
    public var cycle: UInt32

    static let headerMagic: UInt32 = 0xFEED_BABE
    static let unmountTransFlag: UInt8 = 0x20

    /// Reads the log through `read(offset, count)`, offsets relative to the
    /// start of the log, which is `length` bytes long. Nil when the log cannot
    /// be made sense of (torn, foreign, unreadable).
    public static func find(length: Int64, read: (Int64, Int) -> [UInt8]?) -> XFSLogState? {
        let blocks = length / 512
        guard blocks > 2 else { return nil }
        var cycles: [Int64: UInt32] = [:]
        func cycle(_ block: Int64) -> UInt32? {
            if let c = cycles[block] { return c }
            guard let b = read(block * 512, 8), b.count == 8 else { return nil }
            let r = BigEndianBytes(b)
            let c = r.u32(0) == headerMagic ? r.u32(4) : r.u32(0)
            cycles[block] = c
            return c
        }
        guard let first = cycle(0), let last = cycle(blocks - 1) else { return nil }
        if first == 0 { return XFSLogState(state: .zeroed, headBlock: 0, lastRecordBlock: nil, cycle: 0) }

        // The head is the first block still carrying the previous cycle (or 0,
        // never written). When the whole log carries one cycle, it wrapped
        // exactly and the head is at block 0.
        var head: Int64
        if first == last {
            head = blocks
        } else {
            var lo: Int64 = 0, hi = blocks - 1  // cycle(lo) == first, cycle(hi) == last
            while hi - lo > 1 {
                let mid = lo + (hi - lo) / 2
                guard let c = cycle(mid) else { return nil }
                if c == first { lo = mid } else { hi = mid }
            }
            head = hi
        }
        // Log writes can land out of order: in the window of in-flight writes
        // before the head (8 log buffers of up to 256 KiB), a block of an
        // older cycle means the head is really there.
        let window = min(head, 4096)
        if window > 0, let bytes = read((head - window) * 512, Int(window) * 512), bytes.count == Int(window) * 512 {
            for i in 0..<Int(window) {
                let r = BigEndianBytes(Array(bytes[(i * 512)..<(i * 512 + 8)]))
                let c = r.u32(0) == headerMagic ? r.u32(4) : r.u32(0)
                if c != first {
                    head = head - window + Int64(i)
                    break
                }
            }
        }
        head %= blocks
        let headCycle = first

        // The last record header before the head (searching back, wrapping once).
        var recordBlock: Int64?
        var header: [UInt8] = []
        var b = head - 1
        // A record is at most 256 KiB plus its header blocks; look a little further.
        for _ in 0..<min(blocks, 8192) {
            if b < 0 { b = blocks - 1 }
            guard let bytes = read(b * 512, 512), bytes.count == 512 else { return nil }
            let r = BigEndianBytes(bytes)
            if r.u32(0) == headerMagic {
                recordBlock = b
                header = bytes
                break
            }
            b -= 1
        }
        guard let recordBlock else { return XFSLogState(state: .dirty, headBlock: head, lastRecordBlock: nil, cycle: headCycle) }
        let r = BigEndianBytes(header)
        let version = r.u32(8), len = Int64(r.u32(12)), ops = r.u32(40), size = Int64(r.u32(320))
        // v2 logs with records over 32 KiB spread the cycle data over several header blocks.
        let headerBlocks: Int64 = version & 2 != 0 && size > 32768 ? (size + 32767) / 32768 : 1
        let after = (recordBlock + headerBlocks + (len + 511) / 512) % blocks
        var clean = false
        if after == head % blocks && ops == 1,
           let op = read(((recordBlock + headerBlocks) % blocks) * 512, 12), op.count == 12 {
            clean = op[9] & unmountTransFlag != 0
        }
        return XFSLogState(state: clean ? .clean : .dirty, headBlock: head, lastRecordBlock: recordBlock, cycle: headCycle)
    }
}

/// A 16-byte UUID as blkid prints it.
func formatUUID(_ b: [UInt8]) -> String {
    let hex = b.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
    return hex[0..<4].joined() + "-" + hex[4..<6].joined() + "-" + hex[6..<8].joined() + "-" + hex[8..<10].joined() + "-" + hex[10..<16].joined()
}

struct LittleEndianBytes {
    let b: [UInt8]
    init(_ b: [UInt8]) { self.b = b }
    func u16(_ o: Int) -> UInt16 { UInt16(b[o]) | UInt16(b[o + 1]) << 8 }
    func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) | UInt32(u16(o + 2)) << 16 }
    func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) | UInt64(u32(o + 4)) << 32 }
    func cString(_ o: Int, max: Int) -> String {
        let bytes = b[o..<min(o + max, b.count)].prefix { $0 != 0 }
        return Text.decode(bytes)
    }
}

struct BigEndianBytes {
    let b: [UInt8]
    init(_ b: [UInt8]) { self.b = b }
    func u16(_ o: Int) -> UInt16 { UInt16(b[o]) << 8 | UInt16(b[o + 1]) }
    func u32(_ o: Int) -> UInt32 { UInt32(u16(o)) << 16 | UInt32(u16(o + 2)) }
    func u64(_ o: Int) -> UInt64 { UInt64(u32(o)) << 32 | UInt64(u32(o + 4)) }
}
