/// The plain-text listing `rescue-audit devices` prints: each device, its
/// partitions and signatures, the commands that open containers, then the
/// root candidates and notes.
public func renderDevicesText(_ report: DeviceReport) -> String {
    var out = ""
    for d in report.devices {
        var head = "\(d.path)  \(d.kind.rawValue)  \(humanSize(d.size))"
        if let pt = d.partitionTable { head += "  \(pt) partition table" + (d.partitionTableUUID.map { " \($0)" } ?? "") }
        if let fs = d.filesystem { head += "  " + describe(fs) }
        out += head + "\n"
        if let error = d.error { out += "    ! \(error)\n" }
        if let hint = d.filesystem?.unlockHint { out += "    → \(hint)\n" }
        for p in d.partitions {
            var line = "  \(p.number)  \(p.device ?? "")\(p.device == nil ? "" : "  ")start \(humanSize(p.start))  size \(humanSize(p.size))"
            if let t = p.type { line += "  type \(partitionTypeName(t))" }
            if let u = p.partUUID { line += "  PARTUUID=\(u)" }
            if let l = p.partLabel, !l.isEmpty { line += "  PARTLABEL=\(l)" }
            line += "  " + (p.filesystem.map(describe) ?? "(no filesystem found)")
            out += line + "\n"
            if let hint = p.filesystem?.unlockHint { out += "      → \(hint)\n" }
        }
    }
    if report.devices.isEmpty { out += "No block devices found.\n" }
    out += "\n"
    if report.rootCandidates.isEmpty {
        out += "No root filesystem found.\n"
    } else {
        out += "Root filesystem candidates:\n"
        let volumes = DeviceProber.volumes(report.devices)
        for c in report.rootCandidates {
            var line = "  \(c.volume.name)  \(c.volume.filesystem.type)"
            if let sub = c.subvolume { line += " subvol=\(sub)" }
            let os = [c.osName, c.osVersion].compactMap { $0 }.joined(separator: " ")
            if !os.isEmpty { line += "  \(os)" }
            line += "  (score \(c.score): \(c.evidence.joined(separator: ", ")))"
            let selector = c.volume.selector(among: volumes)
            if selector != c.volume.name { line += "  --root \(selector)" }
            out += line + "\n"
        }
        if report.rootCandidates.count > 1 { out += "Choose one with --root DEVICE.\n" }
    }
    for note in report.notes { out += "Note: \(note)\n" }
    return out
}

func describe(_ fs: FilesystemInfo) -> String {
    var s = fs.type
    if let u = fs.uuid { s += " UUID=\(u)" }
    if let l = fs.label, !l.isEmpty { s += " LABEL=\(l)" }
    return s
}

/// Bytes in binary units, one decimal: `512.0 MiB`.
func humanSize(_ bytes: Int64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"]
    var value = Double(bytes)
    var unit = 0
    while value >= 1024, unit < units.count - 1 { value /= 1024; unit += 1 }
    if unit == 0 { return "\(bytes) B" }
    let tenths = Int((value * 10).rounded())
    return "\(tenths / 10).\(tenths % 10) \(units[unit])"
}

/// The common GPT type GUIDs and MBR types by name; others as they are.
func partitionTypeName(_ type: String) -> String {
    let names: [String: String] = [
        "c12a7328-f81f-11d2-ba4b-00a0c93ec93b": "EFI System",
        "21686148-6449-6e6f-744e-656564454649": "BIOS boot",
        "0fc63daf-8483-4772-8e79-3d69d8477de4": "Linux filesystem",
        "4f68bce3-e8cd-4db1-96e7-fbcaf984b709": "Linux root (x86-64)",
        "0657fd6d-a4ab-43c4-84e5-0933c84b4f4f": "Linux swap",
        "e6d6d379-f507-44c2-a23c-238f2a3df928": "Linux LVM",
        "a19d880f-05fc-4d3b-a006-743f0f84911e": "Linux RAID",
        "ca7d7ccb-63ed-4c53-861c-1742536059cc": "Linux LUKS",
        "bc13c2ff-59e6-4262-a352-b275fd6f7172": "Linux extended boot",
        "933ac7e1-2eb4-4f13-b844-0e14e2aef915": "Linux home",
        "4d21b016-b534-45c2-a9fb-5c16e091fd2d": "Linux variable data",
        "0x83": "Linux", "0x82": "Linux swap", "0x8e": "Linux LVM", "0xfd": "Linux RAID", "0xef": "EFI System",
        "0x5": "Extended", "0xf": "Extended", "0x7": "NTFS/exFAT", "0xc": "FAT32",
    ]
    return names[type.lowercased()] ?? type
}
