/// The replay an ext3/4 filesystem's jbd2 journal holds: for every
/// filesystem block that a committed transaction wrote, the journal block
/// that the next mount (or e2fsck) copies over it, as the kernel's
/// `jbd2_journal_recover` decides (fs/jbd2/recovery.c): transactions are
/// read from `s_start` with sequence numbers counting up from
/// `s_sequence`, the first block that is not the next one's ends the log, a
/// transaction without its commit block is not replayed, and a block
/// revoked by the same or a later transaction is not copied.
///
/// Pure: the caller reads the blocks. Every number from the disk is checked
/// before it is used, and the walk reads each journal block at most once.
public struct ExtJournalReplay: Sendable, Equatable {
    /// One filesystem block and where its replayed contents are.
    public struct Block: Sendable, Equatable {
        /// The filesystem block the replay writes.
        public var target: UInt64
        /// The filesystem block (inside the journal) holding its new contents.
        public var source: UInt64
        /// The jbd2 escape flag: the first four bytes are the journal magic,
        /// which the journal stored as zeros.
        public var escaped: Bool
    }

    public var blocks: [Block]
    /// Transactions that would be replayed.
    public var transactions: Int

    /// Why a journal could not be walked: said to the user as it is.
    public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
        public var description: String
        init(_ d: String) { description = d }
    }

    static let magic: UInt32 = 0xC03B_3998
    // Block types.
    static let descriptor: UInt32 = 1, commit: UInt32 = 2, superblockV1: UInt32 = 3, superblockV2: UInt32 = 4, revoke: UInt32 = 5
    // Incompatible features.
    static let featureRevoke: UInt32 = 0x1, feature64Bit: UInt32 = 0x2, featureAsyncCommit: UInt32 = 0x4
    static let featureCsumV2: UInt32 = 0x8, featureCsumV3: UInt32 = 0x10, featureFastCommit: UInt32 = 0x20
    // Tag flags.
    static let tagEscape: UInt32 = 1, tagSameUUID: UInt32 = 2, tagLast: UInt32 = 8

    /// Walks the journal whose logical block `n` is filesystem block
    /// `physical(n)` (nil when the journal has no such block), reading a
    /// filesystem block with `read` (nil when it cannot be read).
    /// `blockSize` is the filesystem's.
    public static func walk(blockSize: Int, physical: (UInt64) -> UInt64?, read: (UInt64) -> [UInt8]?) throws(Refusal) -> ExtJournalReplay {
        func block(_ logical: UInt64) -> [UInt8]? {
            guard let p = physical(logical), let b = read(p), b.count >= blockSize else { return nil }
            return b
        }
        guard blockSize >= 1024, let sbBytes = block(0) else { throw Refusal("its journal superblock could not be read") }
        let sb = BigEndianBytes(sbBytes)
        guard sb.u32(0) == magic, [superblockV1, superblockV2].contains(sb.u32(4)) else {
            throw Refusal("its journal has no jbd2 superblock")
        }
        guard Int(sb.u32(0x0C)) == blockSize else { throw Refusal("its journal's block size (\(sb.u32(0x0C))) is not the filesystem's") }
        let maxLength = UInt64(sb.u32(0x10)), first = UInt64(sb.u32(0x14))
        var sequence = sb.u32(0x18)
        let start = UInt64(sb.u32(0x1C))
        let incompat = sb.u32(4) == superblockV2 ? sb.u32(0x28) : 0
        guard start != 0 else { return ExtJournalReplay(blocks: [], transactions: 0) }
        guard first >= 1, first < maxLength, start >= first, start < maxLength else {
            throw Refusal("its journal superblock places the log outside the journal (first \(first), start \(start), length \(maxLength))")
        }
        let known = featureRevoke | feature64Bit | featureAsyncCommit | featureCsumV2 | featureCsumV3 | featureFastCommit
        guard incompat & ~known == 0 else { throw Refusal("its journal uses features this audit does not know (0x\(String(incompat, radix: 16)))") }
        if incompat & featureFastCommit != 0, sb.u32(0x54) != 0 {
            // Fast-commit blocks follow the main log; replaying them means ext4's own replay of inode changes.
            throw Refusal("its journal has fast commits, which this audit does not replay")
        }
        let is64 = incompat & feature64Bit != 0
        let csum3 = incompat & featureCsumV3 != 0
        let csum2 = incompat & featureCsumV2 != 0
        // journal_tag_bytes() in include/linux/jbd2.h.
        let tagBytes = csum3 ? 16 : 8 + (csum2 ? 2 : 0) + (is64 ? 4 : 0)
        let tail = csum2 || csum3 ? 4 : 0

        func next(_ b: UInt64) -> UInt64 { b + 1 >= maxLength ? first : b + 1 }

        struct Transaction { var sequence: UInt32; var tags: [(UInt64, UInt64, Bool)] }
        var committed: [Transaction] = []
        var revoked: [UInt64: UInt32] = [:]
        var current = Transaction(sequence: sequence, tags: [])
        var pendingRevokes: [UInt64] = []
        var at = start
        // The log is at most the whole journal: one pass reads each block once.
        var budget = maxLength
        walk: while budget > 0 {
            guard let bytes = block(at) else { break }
            let h = BigEndianBytes(bytes)
            guard h.u32(0) == magic, h.u32(8) == sequence else { break }
            budget -= 1
            switch h.u32(4) {
            case descriptor:
                var offset = 12
                let end = blockSize - tail
                var dataBlock = at
                while offset + tagBytes <= end {
                    let low = UInt64(h.u32(offset))
                    let flags: UInt32 = csum3 ? h.u32(offset + 4) : UInt32(h.u16(offset + 6))
                    var target = low
                    if is64 { target |= UInt64(h.u32(offset + (csum3 ? 8 : 8))) << 32 }
                    dataBlock = next(dataBlock)
                    guard budget > 0, let source = physical(dataBlock) else { break walk }
                    budget -= 1
                    current.tags.append((target, source, flags & tagEscape != 0))
                    offset += tagBytes
                    if flags & tagSameUUID == 0 { offset += 16 }
                    if flags & tagLast != 0 { break }
                }
                at = next(dataBlock)
            case commit:
                committed.append(current)
                for b in pendingRevokes { revoked[b] = max(revoked[b] ?? 0, sequence) }
                pendingRevokes = []
                sequence &+= 1
                current = Transaction(sequence: sequence, tags: [])
                at = next(at)
            case revoke:
                let count = min(Int(h.u32(12)), blockSize - tail)
                let recordBytes = is64 ? 8 : 4
                var offset = 16
                while offset + recordBytes <= count {
                    pendingRevokes.append(is64 ? h.u64(offset) : UInt64(h.u32(offset)))
                    offset += recordBytes
                }
                at = next(at)
            default:
                break walk
            }
        }
        // A later (or the same) transaction's revoke cancels the copy (jbd2_journal_test_revoke).
        var latest: [UInt64: (UInt64, Bool)] = [:]
        var order: [UInt64] = []
        for t in committed {
            for (target, source, escaped) in t.tags {
                if let r = revoked[target], r &- t.sequence < 0x8000_0000 { continue }
                if latest[target] == nil { order.append(target) }
                latest[target] = (source, escaped)
            }
        }
        return ExtJournalReplay(
            blocks: order.compactMap { t in latest[t].map { Block(target: t, source: $0.0, escaped: $0.1) } },
            transactions: committed.count)
    }
}

/// Where an ext3/4 filesystem's internal journal is: the journal inode's
/// block map, read as the kernel reads it (extent tree or the ext3
/// indirect blocks).
public struct ExtJournalInode: Sendable {
    public let blockSize: Int
    /// The journal's length in filesystem blocks.
    public let blocks: UInt64
    /// Extents (logical start, physical start, length) of an extent-mapped journal.
    let extents: [(UInt64, UInt64, UInt64)]
    /// The 15 `i_block` words of an indirect-mapped (ext3) journal.
    let indirect: [UInt32]?

    /// Reads the superblock (1024 bytes at offset 1024) and the journal
    /// inode through `read` (a filesystem block by number).
    public static func locate(superblock sbBytes: [UInt8], read: (UInt64) -> [UInt8]?) throws(ExtJournalReplay.Refusal) -> ExtJournalInode {
        guard sbBytes.count >= 1024 else { throw .init("no ext superblock") }
        let sb = LittleEndianBytes(sbBytes)
        let logBlockSize = sb.u32(0x18)
        guard logBlockSize <= 6 else { throw .init("its superblock's block size is not one ext uses") }
        let blockSize = 1024 << Int(logBlockSize)
        let journalInode = sb.u32(0xE0)
        guard journalInode != 0 else {
            throw .init("its journal is on an external device, which this audit does not read")
        }
        let inodesPerGroup = sb.u32(0x28), firstDataBlock = UInt64(sb.u32(0x14))
        let revLevel = sb.u32(0x4C)
        let inodeSize = revLevel == 0 ? 128 : Int(sb.u16(0x58))
        let incompat = sb.u32(0x60)
        let descSize = incompat & 0x80 != 0 ? Int(sb.u16(0xFE)) : 32
        guard inodesPerGroup > 0, inodeSize >= 128, inodeSize <= blockSize, descSize >= 32, descSize <= blockSize else {
            throw .init("its superblock's inode geometry is not one ext uses")
        }
        let group = UInt64(journalInode - 1) / UInt64(inodesPerGroup)
        let index = UInt64(journalInode - 1) % UInt64(inodesPerGroup)
        // The group descriptor table starts in the block after the superblock's.
        let descriptorsPerBlock = UInt64(blockSize / descSize)
        let gdBlock = firstDataBlock + 1 + group / descriptorsPerBlock
        let gdOffset = Int(group % descriptorsPerBlock) * descSize
        guard let gd = read(gdBlock), gd.count >= gdOffset + descSize else { throw .init("its group descriptors could not be read") }
        let d = LittleEndianBytes(gd)
        var table = UInt64(d.u32(gdOffset + 8))
        if descSize >= 64 { table |= UInt64(d.u32(gdOffset + 0x28)) << 32 }
        let byteInTable = index * UInt64(inodeSize)
        guard case (let inodeBlock, false) = table.addingReportingOverflow(byteInTable / UInt64(blockSize)),
              let ib = read(inodeBlock), ib.count >= blockSize else { throw .init("its journal inode could not be read") }
        let at = Int(byteInTable % UInt64(blockSize))
        guard at + 128 <= ib.count else { throw .init("its journal inode could not be read") }
        let inode = LittleEndianBytes(ib)
        let size = UInt64(inode.u32(at + 4)) | UInt64(inode.u32(at + 0x6C)) << 32
        let flags = inode.u32(at + 0x20)
        let iBlock = Array(ib[(at + 0x28)..<(at + 0x28 + 60)])
        let blocks = size / UInt64(blockSize)
        guard blocks > 0 else { throw .init("its journal inode is empty") }
        if flags & 0x80000 != 0 {
            var extents: [(UInt64, UInt64, UInt64)] = []
            var nodes = 0
            func walk(_ node: [UInt8], depth: Int) throws(ExtJournalReplay.Refusal) {
                nodes += 1
                let n = LittleEndianBytes(node)
                guard node.count >= 12, n.u16(0) == 0xF30A, nodes < 100_000 else { throw .init("its journal inode's extent tree is damaged") }
                let entries = Int(n.u16(2)), nodeDepth = Int(n.u16(6))
                guard nodeDepth == depth, 12 + entries * 12 <= node.count else { throw .init("its journal inode's extent tree is damaged") }
                for i in 0..<entries {
                    let e = 12 + i * 12
                    if depth == 0 {
                        var length = UInt64(n.u16(e + 4))
                        if length > 32768 { length -= 32768 }
                        let start = UInt64(n.u16(e + 6)) << 32 | UInt64(n.u32(e + 8))
                        extents.append((UInt64(n.u32(e)), start, length))
                    } else {
                        let child = UInt64(n.u16(e + 8)) << 32 | UInt64(n.u32(e + 4))
                        guard let bytes = read(child), bytes.count >= blockSize else { throw .init("its journal inode's extent tree could not be read") }
                        try walk(bytes, depth: depth - 1)
                    }
                }
            }
            let rootDepth = Int(LittleEndianBytes(iBlock).u16(6))
            guard rootDepth <= 5 else { throw .init("its journal inode's extent tree is damaged") }
            try walk(iBlock, depth: rootDepth)
            return ExtJournalInode(blockSize: blockSize, blocks: blocks, extents: extents, indirect: nil)
        }
        let r = LittleEndianBytes(iBlock)
        return ExtJournalInode(blockSize: blockSize, blocks: blocks, extents: [], indirect: (0..<15).map { r.u32($0 * 4) })
    }

    /// The filesystem block of journal block `logical`; nil past the journal or in a hole.
    public func physical(_ logical: UInt64, read: (UInt64) -> [UInt8]?) -> UInt64? {
        guard logical < blocks else { return nil }
        guard let indirect else {
            for (start, physical, length) in extents where logical >= start && logical - start < length {
                let p = physical &+ (logical - start)
                return p == 0 ? nil : p
            }
            return nil
        }
        // ext2/3 block map: 12 direct, then single, double and triple indirect.
        let perBlock = UInt64(blockSize / 4)
        var l = logical
        if l < 12 { return indirect[Int(l)] == 0 ? nil : UInt64(indirect[Int(l)]) }
        l -= 12
        var level = 1, span = perBlock
        while l >= span {
            l -= span
            level += 1
            guard level <= 3 else { return nil }
            span = span.multipliedReportingOverflow(by: perBlock).partialValue
        }
        var block = UInt64(indirect[11 + level])
        var divisor = span / perBlock
        for _ in 0..<level {
            guard block != 0, let bytes = read(block), bytes.count >= blockSize else { return nil }
            let slot = Int((l / divisor) % perBlock)
            block = UInt64(LittleEndianBytes(bytes).u32(slot * 4))
            divisor = max(1, divisor / perBlock)
        }
        return block == 0 ? nil : block
    }
}
