import Parsers

import Glibc
import RescueSys

/// Finds block devices and image files and probes them with libblkid.
public enum DeviceProber {
    /// Every block device the kernel lists in /sys/class/block (whole disks,
    /// partitions, loop, nvme, virtio, md, dm), skipping empty ones (unbound
    /// loop devices, drives without media). Devices that cannot be read are
    /// listed with their error, not dropped.
    public static func probeAll(sysfs: String = "/sys/class/block") -> [ProbedDevice] {
        guard let dir = try? sysOpen(sysfs, [.readOnly, .directory, .closeOnExec]),
              let entries = try? sysListDirectory(dir) else { return [] }
        var out: [ProbedDevice] = []
        for entry in entries {
            let name = entry.name
            let base = "\(sysfs)/\(name)"
            guard let sectors = readSysfs("\(base)/size").flatMap({ Int64($0) }), sectors > 0 else { continue }
            let kind: DeviceKind
            var path = "/dev/\(name)"
            if readSysfs("\(base)/partition") != nil {
                kind = .partition
            } else if name.hasPrefix("loop") {
                kind = .loop
            } else if name.hasPrefix("dm-") {
                kind = .mapper
                if let dmName = readSysfs("\(base)/dm/name"), !dmName.isEmpty { path = "/dev/mapper/\(dmName)" }
            } else if name.hasPrefix("md") {
                kind = .md
            } else {
                kind = .disk
            }
            out.append(probeDevice(path, kind: kind, sysName: kind == .partition ? nil : name, sysfs: sysfs, knownSize: sectors * 512))
        }
        return out
    }

    /// The named block devices and image files. A path that does not exist,
    /// or is neither a block device nor a regular file, is an error.
    public static func probe(paths: [String], sysfs: String = "/sys/class/block") throws(DiscoveryError) -> [ProbedDevice] {
        var out: [ProbedDevice] = []
        for path in paths {
            let st: FileStatus
            do {
                st = try sysStatus(path)
            } catch {
                throw .notFound(path: path, reason: error.reason)
            }
            switch st.kind {
            case .regular:
                out.append(probeDevice(path, kind: .image, sysName: nil, sysfs: sysfs))
            case .blockDevice:
                let sysName = sysfsName(st)
                let kind: DeviceKind = sysName.map { readSysfs("\(sysfs)/\($0)/partition") != nil } == true ? .partition
                    : path.hasPrefix("/dev/loop") ? .loop : path.hasPrefix("/dev/mapper/") || path.hasPrefix("/dev/dm-") ? .mapper
                    : path.hasPrefix("/dev/md") ? .md : .disk
                out.append(probeDevice(path, kind: kind, sysName: kind == .partition ? nil : sysName, sysfs: sysfs))
            case let other:
                throw .unsupportedTarget(path: path, kind: other.words)
            }
        }
        return out
    }

    /// Probes one device or image: its own signature, its partition table, and
    /// the signature inside every partition at the partition's offset.
    static func probeDevice(_ path: String, kind: DeviceKind, sysName: String?, sysfs: String, knownSize: Int64 = 0) -> ProbedDevice {
        let whole: BlkidResult
        do {
            whole = try blkidProbe(path, partitions: kind != .partition)
        } catch {
            return ProbedDevice(path: path, kind: kind, size: knownSize, partitionTable: nil, partitionTableUUID: nil,
                                partitions: [], filesystem: nil, error: error.description)
        }
        let nodes = sysName.map { partitionNodes(disk: $0, sysfs: sysfs) } ?? [:]
        var partitions: [ProbedPartition] = []
        for entry in whole.partitions {
            let (p, problem) = asLinuxSeesIt(entry, diskSize: whole.size)
            // A partition's contents are probed at its offset inside the disk
            // or image, so image files need no loop device just to be listed.
            let inner = p.size > 0 ? try? blkidProbe(path, offset: p.start, size: p.size, partitions: false) : nil
            let device = nodes[p.number]
            partitions.append(ProbedPartition(
                number: p.number, start: p.start, size: p.size, type: p.type,
                partUUID: p.partUUID, partLabel: p.partLabel, device: device,
                filesystem: inner.flatMap { filesystemInfo($0.values, device: device ?? path, partition: p, image: device == nil ? path : nil) },
                problem: problem))
        }
        let pttype = whole.values["PTTYPE"]
        // A partitioned disk's own TYPE is at best a protective MBR; ignore it.
        let fs = partitions.isEmpty ? filesystemInfo(whole.values, device: path, partition: nil, image: nil) : nil
        return ProbedDevice(path: path, kind: kind, size: whole.size, partitionTable: pttype,
                            partitionTableUUID: whole.values["PTUUID"], partitions: partitions,
                            filesystem: fs, error: whole.ambiguous ? "libblkid found conflicting signatures; probe it with `wipefs --no-act \(path)`" : nil)
    }

    /// A partition table entry as the kernel uses it (block/partitions/core.c):
    /// an entry that ends before it starts (GPT) or starts past the end of
    /// the disk is ignored, size 0; one that runs past the end is truncated
    /// to the end and still used ("partition N beyond EOD, truncated").
    static func asLinuxSeesIt(_ p: BlkidPartition, diskSize: Int64) -> (BlkidPartition, String?) {
        func sized(_ size: Int64) -> BlkidPartition {
            BlkidPartition(number: p.number, start: p.start, size: size, type: p.type, partUUID: p.partUUID, partLabel: p.partLabel)
        }
        if p.size <= 0 || p.start < 0 {
            return (sized(0), "its table entry ends before it starts; Linux ignores it")
        }
        guard diskSize > 0 else { return (p, nil) }
        if p.start >= diskSize {
            return (sized(0), "it starts past the end of the disk; Linux ignores it")
        }
        let (end, overflow) = p.start.addingReportingOverflow(p.size)
        if overflow || end > diskSize {
            return (sized(diskSize - p.start), "it runs past the end of the disk; Linux truncates it to the \(diskSize - p.start) bytes that exist")
        }
        return (p, nil)
    }

    /// The signature blkid found, with the command that opens containers.
    static func filesystemInfo(_ values: [String: String], device: String, partition: BlkidPartition?, image: String?) -> FilesystemInfo? {
        guard let type = values["TYPE"] else { return nil }
        // Inside an image, the container must first get a read-only loop device.
        let attach = image.flatMap { img in partition.map { p in
            "losetup --read-only --find --show --offset \(p.start) --sizelimit \(p.size) \(shellWord(img))"
        } }
        let dev = attach == nil ? shellWord(device) : "/dev/loopN"
        let hint: String?
        switch type {
        case "LVM2_member":
            hint = "vgchange -ay"
        case "crypto_LUKS", "BitLocker":
            let name = "rescue-" + String((values["UUID"] ?? "luks").prefix(8))
            hint = "cryptsetup open --readonly \(dev) \(name)"
        case "linux_raid_member", "isw_raid_member", "ddf_raid_member":
            hint = "mdadm --assemble --readonly --scan"
        case "swap":
            hint = nil
        default:
            hint = nil
        }
        return FilesystemInfo(
            type: type, uuid: values["UUID"], label: values["LABEL"], version: values["VERSION"],
            usage: values["USAGE"],
            unlockHint: hint.map { h in attach.map { "\($0)  # prints /dev/loopN, then: \(h)" } ?? h })
    }

    /// Maps partition numbers to the kernel's nodes (`2` → `/dev/sda2`).
    static func partitionNodes(disk: String, sysfs: String) -> [Int: String] {
        guard let dir = try? sysOpen("\(sysfs)/\(disk)", [.readOnly, .directory, .closeOnExec]),
              let entries = try? sysListDirectory(dir) else { return [:] }
        var out: [Int: String] = [:]
        for e in entries where e.name.hasPrefix(disk) {
            if let n = readSysfs("\(sysfs)/\(disk)/\(e.name)/partition").flatMap({ Int($0) }) {
                out[n] = "/dev/\(e.name)"
            }
        }
        return out
    }

    /// The /sys/class/block name of a device node.
    static func sysfsName(_ node: FileStatus) -> String? {
        guard let target = sysReadlink("/sys/dev/block/\(node.deviceMajorMinor)") else { return nil }
        return target.split(separator: "/").last.map(String.init)
    }

    /// Every filesystem the probe found, once: whole devices, and partitions
    /// by their kernel node when there is one, else by offset in the disk or image.
    public static func volumes(_ devices: [ProbedDevice]) -> [Volume] {
        var out: [Volume] = []
        var seen = Set<String>()
        for d in devices {
            if let fs = d.filesystem, !seen.contains(d.path) {
                seen.insert(d.path)
                out.append(Volume(source: d.path, offset: 0, size: 0, partition: nil, disk: nil,
                                  partUUID: nil, partLabel: nil, filesystem: fs))
            }
            for p in d.partitions {
                guard let fs = p.filesystem else { continue }
                if let node = p.device {
                    guard !seen.contains(node) else {
                        // Listed already as its own device: keep the partition facts.
                        if let i = out.firstIndex(where: { $0.source == node }) {
                            out[i] = Volume(source: node, offset: 0, size: 0, partition: p.number, disk: d.path,
                                            partUUID: p.partUUID, partLabel: p.partLabel, filesystem: out[i].filesystem)
                        }
                        continue
                    }
                    seen.insert(node)
                    out.append(Volume(source: node, offset: 0, size: 0, partition: p.number, disk: d.path,
                                      partUUID: p.partUUID, partLabel: p.partLabel, filesystem: fs))
                } else {
                    out.append(Volume(source: d.path, offset: p.start, size: p.size, partition: p.number, disk: d.path,
                                      partUUID: p.partUUID, partLabel: p.partLabel, filesystem: fs))
                }
            }
        }
        // A partition listed first as its own device gets its partition facts later.
        for (i, v) in out.enumerated() where v.partition == nil {
            for d in devices {
                if let p = d.partitions.first(where: { $0.device == v.source }) {
                    out[i] = Volume(source: v.source, offset: 0, size: 0, partition: p.number, disk: d.path,
                                    partUUID: p.partUUID, partLabel: p.partLabel, filesystem: v.filesystem)
                }
            }
        }
        return out
    }
}

/// The trimmed first line of a sysfs attribute, or nil.
func readSysfs(_ path: String) -> String? {
    guard let fd = try? sysOpen(path, [.readOnly, .closeOnExec]), let bytes = try? fd.readAll(limit: 4096) else { return nil }
    return String(decoding: bytes, as: UTF8.self).trimmingCharacters(in: " \n\t")
}

extension String {
    func replacingOccurrences(of target: String, with replacement: String) -> String {
        guard !target.isEmpty else { return self }
        var out = ""
        var rest = Substring(self)
        while let r = rest.range(of: target) {
            out += rest[..<r.lowerBound]
            out += replacement
            rest = rest[r.upperBound...]
        }
        return out + rest
    }
}

extension Substring {
    func range(of needle: String) -> Range<Substring.Index>? {
        let n = Array(needle)
        guard !n.isEmpty else { return nil }
        var i = startIndex
        while i < endIndex {
            var j = i
            var k = 0
            while k < n.count, j < endIndex, self[j] == n[k] { j = index(after: j); k += 1 }
            if k == n.count { return i..<j }
            i = index(after: i)
        }
        return nil
    }
}
