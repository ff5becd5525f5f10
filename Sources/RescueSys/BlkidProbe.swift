import CBlkid
import CSyscalls
import Glibc

/// One entry of a partition table, as libblkid reads it.
public struct BlkidPartition: Sendable, Equatable {
    public let number: Int
    /// Byte offset from the start of the probed device.
    public let start: Int64
    /// Length in bytes.
    public let size: Int64
    /// GPT type GUID, or the MBR type as `0x83`.
    public let type: String?
    public let partUUID: String?
    public let partLabel: String?

    public init(number: Int, start: Int64, size: Int64, type: String?, partUUID: String?, partLabel: String?) {
        self.number = number
        self.start = start
        self.size = size
        self.type = type
        self.partUUID = partUUID
        self.partLabel = partLabel
    }
}

/// What libblkid found in one window of a device or file.
public struct BlkidResult: Sendable, Equatable {
    /// Size of the probed window in bytes.
    public let size: Int64
    /// The NAME=value pairs of blkid_probe_lookup_value: TYPE, UUID, LABEL,
    /// USAGE, VERSION, PTTYPE, PTUUID, …
    public let values: [String: String]
    /// Partition table entries, when partition probing was asked for.
    public let partitions: [BlkidPartition]
    /// blkid_do_safeprobe found two signatures that disagree.
    public let ambiguous: Bool
}

/// Probes `path` from byte `offset` for `size` bytes (0: to the end) with
/// libblkid: superblocks (TYPE, UUID, LABEL, …) and, when `partitions` is
/// set, the partition table. The file is opened O_RDONLY; blkid only reads.
public func blkidProbe(_ path: String, offset: Int64 = 0, size: Int64 = 0, partitions: Bool) throws(SysError) -> BlkidResult {
    let fd = retryingEINTR { Glibc.open(path, O_RDONLY | RA_O_CLOEXEC | RA_O_NONBLOCK) }
    guard fd >= 0 else { throw SysError("open \(path)") }
    defer { _ = Glibc.close(fd) }
    guard let probe = blkid_new_probe() else { throw SysError("blkid_new_probe", errno: ENOMEM) }
    defer { blkid_free_probe(probe) }
    guard blkid_probe_set_device(probe, fd, blkid_loff_t(offset), blkid_loff_t(size)) == 0 else {
        throw SysError("blkid_probe_set_device \(path)", errno: errno == 0 ? EIO : errno)
    }
    _ = blkid_probe_enable_superblocks(probe, 1)
    _ = blkid_probe_set_superblocks_flags(probe, BLKID_SUBLKS_LABEL | BLKID_SUBLKS_UUID | BLKID_SUBLKS_TYPE
        | BLKID_SUBLKS_USAGE | BLKID_SUBLKS_VERSION | BLKID_SUBLKS_SECTYPE)
    _ = blkid_probe_enable_partitions(probe, partitions ? 1 : 0)
    if partitions {
        _ = blkid_probe_set_partitions_flags(probe, BLKID_PARTS_ENTRY_DETAILS)
    }
    let rc = blkid_do_safeprobe(probe)
    if rc == -1 { throw SysError("blkid_do_safeprobe \(path)", errno: errno == 0 ? EIO : errno) }

    var values: [String: String] = [:]
    let count = blkid_probe_numof_values(probe)
    if count > 0 {
        for i in 0..<count {
            var name: UnsafePointer<CChar>?
            var data: UnsafePointer<CChar>?
            var len = 0
            if blkid_probe_get_value(probe, i, &name, &data, &len) == 0, let name, let data {
                values[String(cString: name)] = String(cString: data)
            }
        }
    }

    var parts: [BlkidPartition] = []
    if partitions, rc == 0, let list = blkid_probe_get_partitions(probe) {
        let n = blkid_partlist_numof_partitions(list)
        if n > 0 {
            for i in 0..<n {
                guard let p = blkid_partlist_get_partition(list, i) else { continue }
                let typeString = blkid_partition_get_type_string(p).map { String(cString: $0) }
                let type = typeString ?? "0x" + String(blkid_partition_get_type(p), radix: 16)
                parts.append(BlkidPartition(
                    number: Int(blkid_partition_get_partno(p)),
                    start: Int64(blkid_partition_get_start(p)) * 512,
                    size: Int64(blkid_partition_get_size(p)) * 512,
                    type: type,
                    partUUID: blkid_partition_get_uuid(p).map { String(cString: $0) },
                    partLabel: blkid_partition_get_name(p).map { String(cString: $0) }
                ))
            }
        }
    }
    let probedSize = Int64(blkid_probe_get_size(probe))
    return BlkidResult(size: probedSize, values: values, partitions: parts, ambiguous: rc == -2)
}
