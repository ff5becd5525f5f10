/// A filesystem or other signature libblkid found, with how to get at it
/// when it is a container (LVM, LUKS, RAID) rather than a filesystem.
public struct FilesystemInfo: Codable, Sendable, Equatable {
    /// blkid's TYPE: `ext4`, `xfs`, `btrfs`, `swap`, `LVM2_member`, `crypto_LUKS`, …
    public let type: String
    public let uuid: String?
    public let label: String?
    public let version: String?
    /// blkid's USAGE: `filesystem`, `raid`, `crypto`, `other`.
    public let usage: String?
    /// For containers: the command that makes their contents visible.
    public let unlockHint: String?

    /// Whether this is a Linux filesystem that can hold a root.
    public var isLinuxRootCapable: Bool { FilesystemInfo.linuxTypes.contains(type) }

    static let linuxTypes: Set<String> = ["ext2", "ext3", "ext4", "xfs", "btrfs", "f2fs", "jfs", "reiserfs", "nilfs2"]
}

/// One partition table entry, and what is inside it.
public struct ProbedPartition: Codable, Sendable, Equatable {
    public let number: Int
    /// Byte offset from the start of the disk or image.
    public let start: Int64
    /// Length in bytes.
    public let size: Int64
    /// GPT type GUID or MBR type (`0x83`).
    public let type: String?
    public let partUUID: String?
    public let partLabel: String?
    /// The kernel's node for it (`/dev/sda2`), when the disk is a block device
    /// whose partitions the kernel knows; nil inside image files.
    public let device: String?
    public let filesystem: FilesystemInfo?
    /// What is wrong with the table entry, as Linux would treat it (nil: nothing).
    public var problem: String? = nil
}

/// What a device or image is.
public enum DeviceKind: String, Codable, Sendable {
    case disk, partition, loop, mapper, md, image
}

/// A block device or image file, as probed.
public struct ProbedDevice: Codable, Sendable, Equatable {
    /// `/dev/sda`, `/dev/mapper/vg-root`, or the image file's path.
    public let path: String
    public let kind: DeviceKind
    public let size: Int64
    /// `gpt`, `dos`, … when the device holds a partition table.
    public let partitionTable: String?
    public let partitionTableUUID: String?
    public let partitions: [ProbedPartition]
    /// The signature on the whole device (none when it is partitioned).
    public let filesystem: FilesystemInfo?
    /// Why probing failed, when it did; the device is still listed.
    public let error: String?
}

/// Where a filesystem lives: a whole device, or a window of a disk or image.
public struct Volume: Codable, Sendable, Equatable {
    /// The device or image file to read.
    public let source: String
    /// Byte offset of the filesystem inside `source`.
    public let offset: Int64
    /// Length in bytes; 0 means to the end.
    public let size: Int64
    /// The partition number, when it is one.
    public let partition: Int?
    /// The disk or image the partition belongs to (for fstab's `/dev/sdXN`).
    public let disk: String?
    public let partUUID: String?
    public let partLabel: String?
    public let filesystem: FilesystemInfo

    /// How a person names it: `/dev/sda2`, or `disk.img partition 2`.
    public var name: String {
        if let partition, offset != 0 || source == disk { return "\(source) partition \(partition)" }
        return source
    }

    /// What to pass as `--root` to pick exactly this one among `all` (every
    /// volume that was probed with it): its device, else the first of its
    /// UUID, PARTUUID and partition number that names no other volume.
    /// Clones and overlapping partitions share UUIDs, so a UUID is offered
    /// only when it is unique.
    public func selector(among all: [Volume]) -> String {
        if offset == 0 { return source }
        var choices: [String] = []
        if let uuid = filesystem.uuid { choices.append("UUID=\(uuid)") }
        if let partUUID { choices.append("PARTUUID=\(partUUID)") }
        if let partition { choices.append("\(partition)") }
        for choice in choices where all.filter({ TargetOpener.matches($0, choice) }).count <= 1 {
            return choice
        }
        return choices.last ?? source
    }
}

/// A filesystem that looks like the root of an installed Linux system.
public struct RootCandidate: Codable, Sendable, Equatable {
    public let volume: Volume
    /// btrfs: the subvolume that holds the root (nil: the default one).
    public let subvolume: String?
    /// Higher is more root-like: os-release 4, init 2, fstab 2, passwd 1.
    public let score: Int
    /// The target paths that were found, for the report.
    public let evidence: [String]
    public let osName: String?
    public let osVersion: String?
}

/// What was audited, for the report and JSON.
public struct TargetDescription: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case directory, device, image, discovered }
    public let kind: Kind
    /// The directory, device or image the user named (nil when discovered).
    public let source: String?
    /// The device or image holding the root filesystem.
    public let device: String?
    /// The root's partition inside an image or disk.
    public let partition: Int?
    public let uuid: String?
    public let fsType: String?
    public let subvolume: String?
    public let osName: String?
    public let osVersion: String?
    /// Separate filesystems mounted under the root, by target path.
    public let submounts: [Submount]
}

/// A separate filesystem of the target (`/usr`, `/var`, `/boot`), mounted under its root.
public struct Submount: Codable, Sendable, Equatable {
    /// The target path it is mounted on.
    public let mountPoint: String
    /// The fstab spec it came from (`UUID=…`).
    public let spec: String
    public let device: String
    public let fsType: String
}

/// The result of `devices`: everything probed and which of it looks like a root.
public struct DeviceReport: Codable, Sendable {
    public let devices: [ProbedDevice]
    public let rootCandidates: [RootCandidate]
    public let notes: [String]
}
