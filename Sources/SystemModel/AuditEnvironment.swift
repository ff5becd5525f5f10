import Parsers

/// What the audit knows beyond the target's own files: the block devices that
/// were probed next to it, the health of the filesystems it was read from, and
/// the network cards of the machine the tool runs on when that is the
/// target's own hardware. A directory target has none of these; rules that
/// need them say they could not check.
///
/// Codable so that rule scenarios can carry it as a sidecar file
/// (`rules/<id>/tests/<scenario>.environment.json`).
public struct AuditEnvironment: Sendable, Codable, Equatable {
    /// Every filesystem and partition the probe saw; nil when nothing was
    /// probed (a directory target), so fstab devices cannot be checked.
    public var blockDevices: [BlockDeviceFact]?
    /// The target's own filesystems (root and what was mounted under it), as
    /// their superblocks describe them; empty when not read.
    public var filesystems: [FilesystemHealth]
    /// The NICs of this machine, when it is the target's hardware (a rescue
    /// boot of the same machine, or `--hardware`); nil otherwise.
    public var hardware: [HardwareNIC]?

    public init(blockDevices: [BlockDeviceFact]? = nil, filesystems: [FilesystemHealth] = [], hardware: [HardwareNIC]? = nil) {
        self.blockDevices = blockDevices
        self.filesystems = filesystems
        self.hardware = hardware
    }
}

/// One filesystem or partition the probe found, with every name fstab could use for it.
public struct BlockDeviceFact: Sendable, Codable, Equatable {
    /// The kernel node (`/dev/sda2`) or `image.img partition 2`.
    public var name: String
    /// blkid's TYPE, when it holds a signature.
    public var fsType: String?
    public var uuid: String?
    public var label: String?
    public var partUUID: String?
    public var partLabel: String?
    /// The partition number on its disk, when it is one.
    public var partition: Int?
    /// The disk or image the partition is on.
    public var disk: String?
    /// Whether this is the root filesystem the audit mounted (or a partition of its disk).
    public var holdsRoot: Bool?

    public init(name: String, fsType: String? = nil, uuid: String? = nil, label: String? = nil,
                partUUID: String? = nil, partLabel: String? = nil, partition: Int? = nil,
                disk: String? = nil, holdsRoot: Bool? = nil) {
        self.name = name
        self.fsType = fsType
        self.uuid = uuid
        self.label = label
        self.partUUID = partUUID
        self.partLabel = partLabel
        self.partition = partition
        self.disk = disk
        self.holdsRoot = holdsRoot
    }
}

/// What a filesystem's superblock says about its health.
public struct FilesystemHealth: Sendable, Codable, Equatable {
    /// The target path it is mounted on (`/`, `/var`).
    public var mountPoint: String
    /// The device or image partition it was read from.
    public var device: String
    public var fsType: String
    /// Free-form facts read from the superblock, in the order they matter.
    public var problems: [String]
    /// The command that checks it, run while it is unmounted.
    public var checkCommand: String?
    /// ext2/3/4: the superblock's state, error and mount-count fields.
    public var ext: ExtSuperblock?
    /// XFS: the state of the log, found as log recovery finds it.
    public var xfsLog: XFSLogState?
    /// Every command of the check, in order (attaching an image partition
    /// to a loop device first, replaying an XFS log); `checkCommand` is the last.
    public var checkCommands: [String]?
    /// Why the superblock could not be read, when it could not.
    public var unreadable: String?

    /// Whether the filesystem's journal (ext3/4 `needs_recovery`) or log
    /// (XFS, dirty) holds changes the audit did not see: the audit reads
    /// without replaying it, so it describes the disk as it was before the
    /// last writes; the next mount or e2fsck replays them, and that is
    /// what boots.
    public var hasUnreplayedJournal: Bool { (ext?.needsRecovery == true && !journalReplayed) || xfsLog?.state == .dirty }
    /// The ext3/4 journal that needed recovery was replayed in memory
    /// (read-only) before the audit read the filesystem: it read what the
    /// next mount will see.
    public var journalReplayed: Bool = false

    enum CodingKeys: String, CodingKey {
        case mountPoint, device, fsType, problems, checkCommand, ext, xfsLog, checkCommands, unreadable, journalReplayed
    }

    // Scenario environment files predate `journalReplayed`: absent, it is false.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(mountPoint: try c.decode(String.self, forKey: .mountPoint), device: try c.decode(String.self, forKey: .device),
                  fsType: try c.decode(String.self, forKey: .fsType), problems: try c.decode([String].self, forKey: .problems),
                  checkCommand: try c.decodeIfPresent(String.self, forKey: .checkCommand),
                  ext: try c.decodeIfPresent(ExtSuperblock.self, forKey: .ext), xfsLog: try c.decodeIfPresent(XFSLogState.self, forKey: .xfsLog),
                  checkCommands: try c.decodeIfPresent([String].self, forKey: .checkCommands),
                  unreadable: try c.decodeIfPresent(String.self, forKey: .unreadable))
        journalReplayed = try c.decodeIfPresent(Bool.self, forKey: .journalReplayed) ?? false
    }

    public init(mountPoint: String, device: String, fsType: String, problems: [String] = [], checkCommand: String? = nil,
                ext: ExtSuperblock? = nil, xfsLog: XFSLogState? = nil, checkCommands: [String]? = nil, unreadable: String? = nil) {
        self.mountPoint = mountPoint
        self.device = device
        self.fsType = fsType
        self.problems = problems
        self.checkCommand = checkCommand
        self.ext = ext
        self.xfsLog = xfsLog
        self.checkCommands = checkCommands
        self.unreadable = unreadable
    }
}

/// A network card of the machine the tool runs on (`/sys/class/net`), with
/// the names udev's net_id builtin derives for it, computed from sysfs the
/// way systemd 252 (Debian 12) does.
public struct HardwareNIC: Sendable, Codable, Equatable {
    /// The name it has on the rescue system (which may use another policy).
    public var currentName: String
    public var mac: String?
    /// The sysfs device path (`/devices/pci0000:00/0000:00:03.0/...`).
    public var devicePath: String?
    public var driver: String?
    /// ARPHRD type from sysfs `type` (1 is Ethernet).
    public var type: Int?
    /// `wlan`, `wwan`... from the uevent DEVTYPE.
    public var devType: String?
    /// `addr_assign_type` is 0: the MAC is the card's own, not random or set.
    public var macIsPermanent: Bool?
    /// The PCI function it sits on (`0000:00:03.0`), virtio skipped.
    public var pciAddress: String?
    /// ID_NET_NAME_ONBOARD, ID_NET_NAME_SLOT, ID_NET_NAME_PATH, ID_NET_NAME_MAC.
    public var nameOnboard: String?
    public var nameSlot: String?
    public var namePath: String?
    public var nameMAC: String?

    public init(currentName: String, mac: String? = nil, devicePath: String? = nil, driver: String? = nil,
                type: Int? = nil, devType: String? = nil, macIsPermanent: Bool? = nil, pciAddress: String? = nil,
                nameOnboard: String? = nil, nameSlot: String? = nil, namePath: String? = nil, nameMAC: String? = nil) {
        self.currentName = currentName
        self.mac = mac
        self.devicePath = devicePath
        self.driver = driver
        self.type = type
        self.devType = devType
        self.macIsPermanent = macIsPermanent
        self.pciAddress = pciAddress
        self.nameOnboard = nameOnboard
        self.nameSlot = nameSlot
        self.namePath = namePath
        self.nameMAC = nameMAC
    }

    /// The predictable name for a NamePolicy word (`onboard`, `slot`, `path`, `mac`).
    public func predictableName(_ policy: String) -> String? {
        switch policy {
        case "onboard": nameOnboard
        case "slot": nameSlot
        case "path": namePath
        case "mac": nameMAC
        default: nil
        }
    }
}
