import Parsers
import Plan
import SystemModel
import TargetAccess

/// `fstab-device-missing`: an fstab line the boot waits for names a device
/// that no probed device provides.
public struct FstabDeviceMissing: Rule {
    public static let id = "fstab-device-missing"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        guard let entries = system.fstab.entries else { return [] }
        let waitedFor = entries.filter { $0.needsLocalBlockDevice && !$0.bootMayGoOnWithout && !$0.has(option: "x-systemd.automount") }
        guard let devices = system.environment.blockDevices else {
            guard !waitedFor.isEmpty else { return [] }
            return [finding(.info,
                message: "The \(waitedFor.count) device\(waitedFor.count == 1 ? "" : "s") /etc/fstab mounts at boot could not be checked: the target is a directory, so no devices were probed. Audit the disk or the image itself to check them.",
                atBoot: "If one of them is missing, systemd waits for it and then stops the boot in emergency mode, without network.",
                evidence: waitedFor.map { Evidence($0.source, note: "not checked: \($0.spec)") })]
        }
        let probedOnly = system.kind == .image
        return waitedFor.compactMap { entry -> Finding? in
            guard case .missing = Self.resolve(entry.device, in: devices, image: probedOnly) else { return nil }
            return report(entry, all: entries, devices: devices, image: probedOnly)
        }
    }

    enum Resolution { case found, missing, cannotTell }

    /// Whether a device named like `device` is among the probed ones. Inside
    /// an image, `/dev/sda3` can only mean partition 3 of the image's disk.
    static func resolve(_ device: FstabDevice, in devices: [BlockDeviceFact], image: Bool) -> Resolution {
        switch device {
        case .uuid(let v): return devices.contains { $0.uuid?.lowercased() == v.lowercased() } ? .found : .missing
        case .partUUID(let v): return devices.contains { $0.partUUID?.lowercased() == v.lowercased() } ? .found : .missing
        case .label(let v): return devices.contains { $0.label == v } ? .found : .missing
        case .partLabel(let v): return devices.contains { $0.partLabel == v } ? .found : .missing
        case .other: return .found
        case .path(let p):
            if devices.contains(where: { $0.name == p }) { return .found }
            guard let n = partitionNumber(p) else {
                // /dev/mapper, /dev/md, /dev/disk/by-id, LVM names: not activated or not knowable here.
                return .cannotTell
            }
            if image { return devices.contains { $0.partition == n && $0.holdsRoot == true } ? .found : .missing }
            return .missing
        }
    }

    /// The partition number of a kernel name: sda3, vdb2, xvda1, hda1, nvme0n1p3, mmcblk0p2.
    static func partitionNumber(_ path: String) -> Int? {
        let name = path.split(separator: "/").last.map(String.init) ?? ""
        guard path == "/dev/" + name else { return nil }
        let digits = name.reversed().prefix { $0.isNumber }
        guard !digits.isEmpty, digits.count < name.count else { return nil }
        let stem = name.dropLast(digits.count)
        let ok = stem.hasSuffix("p") ? (stem.hasPrefix("nvme") || stem.hasPrefix("mmcblk"))
            : ["sd", "vd", "hd", "xvd"].contains { stem.hasPrefix($0) } && stem.allSatisfy(\.isLetter)
        return ok ? Int(String(digits.reversed())) : nil
    }

    private func report(_ entry: FstabEntry, all: [FstabEntry], devices: [BlockDeviceFact], image: Bool) -> Finding {
        let mountPoint = entry.isSwap ? "swap" : TargetRoot.normalize(entry.mountPoint)
        let candidates = Self.replacements(for: entry, all: all, devices: devices, image: image)
        let ranked = Self.ranked(devices, for: entry, unclaimed: Set(candidates.map(\.name)))
        var evidence = [Evidence(entry.source, note: "\(entry.spec) is not on any \(image ? "partition of the image" : "probed device")")]
        for (i, d) in ranked.prefix(8).enumerated() {
            evidence.append(Evidence(path: FstabConfig.path, line: nil, text: "probed: " + Self.describe(d),
                                     note: i == 0 ? "closest match" : nil))
        }
        if ranked.isEmpty { evidence.append(.fact(FstabConfig.path, "probed: no device with a filesystem")) }

        var actions: [ProposedAction] = []
        if candidates.count == 1, let c = candidates.first, let spec = Self.spec(entry.spec, for: c),
           let line = Self.replacingField(0, in: entry.source.text, with: spec) {
            actions.append(ProposedAction(.editLines(path: FstabConfig.path, edits: [.replace(line: entry.line, with: [line])]),
                                          "Point the /etc/fstab line for \(mountPoint) at \(spec), the only unclaimed \(c.fsType ?? "") device\(c.label.map { " (label \($0))" } ?? "")"))
        } else if let line = Self.addingNofail(to: entry.source.text) {
            actions.append(ProposedAction(.editLines(path: FstabConfig.path, edits: [.replace(line: entry.line, with: [line])]),
                                          "Add nofail to the /etc/fstab line for \(mountPoint), so the boot goes on without it"))
            actions.append(ProposedAction(.manual(description: "Find the device that should be mounted at \(mountPoint) and correct its identifier in /etc/fstab, then remove nofail again.",
                                                  commands: ["blkid", "${EDITOR:-vi} \"$ROOT/etc/fstab\"   # line \(entry.line)"]),
                                          "Correct the device of \(mountPoint) in /etc/fstab"))
        }
        let probedWords = image ? "the partitions of the audited image" : "the block devices of this machine"
        var message = "/etc/fstab line \(entry.line) mounts \(entry.spec) on \(mountPoint), but none of \(probedWords) has that \(Self.kindWords(entry.device))."
        if image { message += " If the machine has more disks than this image, check them too." }
        let severity: Severity
        let atBoot: String
        if entry.isSwap {
            severity = .medium
            atBoot = "systemd waits 90 seconds for the swap device and then boots without swap."
        } else if mountPoint == "/" {
            severity = .medium
            atBoot = "The kernel finds the root through its root= parameter, so this line alone does not stop the boot, but tools that read /etc/fstab to find the root get it wrong."
        } else {
            severity = .critical
            atBoot = "systemd waits 90 seconds for the device, then fails local-fs.target and stops the boot in emergency mode: the network never comes up."
        }
        var f = finding(severity, message: message, atBoot: atBoot, evidence: evidence, actions: actions)
        if mountPoint != "swap" { f.names = [mountPoint] }
        return f
    }

    static func kindWords(_ d: FstabDevice) -> String {
        switch d {
        case .uuid: "filesystem UUID"
        case .label: "filesystem label"
        case .partUUID: "partition UUID"
        case .partLabel: "partition label"
        case .path: "device name"
        case .other: "name"
        }
    }

    /// How a probed device reads in evidence; inside an image, its partition number.
    static func describe(_ d: BlockDeviceFact) -> String {
        var parts = [d.name.contains(" partition ") ? "partition \(d.partition ?? 0) of the image" : d.name]
        if let t = d.fsType { parts.append("TYPE=\(t)") }
        if let u = d.uuid { parts.append("UUID=\(u)") }
        if let l = d.label { parts.append("LABEL=\(l)") }
        if let p = d.partUUID { parts.append("PARTUUID=\(p)") }
        if let p = d.partLabel { parts.append("PARTLABEL=\(p)") }
        return parts.joined(separator: " ")
    }

    /// The probed devices, closest first: the same filesystem type, then those
    /// no other fstab line uses, then the smallest edit distance between
    /// identifiers of the same kind, then the same label.
    static func ranked(_ devices: [BlockDeviceFact], for entry: FstabEntry, unclaimed: Set<String> = []) -> [BlockDeviceFact] {
        let want = entry.device.value.lowercased()
        func key(_ d: BlockDeviceFact) -> String? {
            switch entry.device {
            case .uuid: d.uuid
            case .label: d.label
            case .partUUID: d.partUUID
            case .partLabel: d.partLabel
            case .path: d.name
            case .other: nil
            }
        }
        let scored = devices.filter { $0.fsType != nil || $0.partUUID != nil }.map { d -> (BlockDeviceFact, Int, Int, Int, Int) in
            let sameType = d.fsType == entry.fsType ? 0 : 1
            let free = unclaimed.contains(d.name) ? 0 : 1
            let distance = key(d).map { editDistance($0.lowercased(), want) } ?? Int.max
            let sameLabel = d.label != nil && d.label == entry.device.value ? 0 : 1
            return (d, sameType, free, distance, sameLabel)
        }
        return scored.sorted { a, b in (a.1, a.2, a.3, a.4, a.0.name) < (b.1, b.2, b.3, b.4, b.0.name) }.map(\.0)
    }

    /// Levenshtein distance, bounded in cost by short identifiers.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let x = Array(a.utf8.prefix(128)), y = Array(b.utf8.prefix(128))
        if x.isEmpty { return y.count }
        var row = Array(0...y.count)
        for i in 1...x.count {
            var previous = row[0]
            row[0] = i
            for j in stride(from: 1, through: y.count, by: 1) {
                let old = row[j]
                row[j] = min(row[j] + 1, row[j - 1] + 1, previous + (x[i - 1] == y[j - 1] ? 0 : 1))
                previous = old
            }
        }
        return row[y.count]
    }

    /// Devices that could be the one meant: the same filesystem type as the
    /// line, not named by any other fstab line, not the image's root, and, when
    /// the line names a label, with that label in another case.
    static func replacements(for entry: FstabEntry, all: [FstabEntry], devices: [BlockDeviceFact], image: Bool) -> [BlockDeviceFact] {
        guard entry.fsType != "auto" else { return [] }
        let claimed = all.filter { $0 != entry }
        return devices.filter { d in
            guard d.fsType == entry.fsType else { return false }
            if claimed.contains(where: { other in
                if case .found = resolve(other.device, in: [d], image: image) {
                    if case .other = other.device { return false }
                    return true
                }
                return false
            }) { return false }
            switch entry.device {
            case .label(let l): return d.label?.lowercased() == l.lowercased()
            case .partLabel(let l): return d.partLabel?.lowercased() == l.lowercased()
            default: return true
            }
        }
    }

    /// The same kind of identifier for the candidate, in the form the line
    /// uses (`/dev/disk/by-uuid/…` stays a path); `/dev/sdb1` becomes `UUID=…`.
    static func spec(_ written: String, for d: BlockDeviceFact) -> String? {
        func form(_ tag: String, _ dir: String, _ value: String?) -> String? {
            guard let value, !value.contains(" "), !value.contains("\t") else { return nil }
            return written.hasPrefix(dir) ? dir + value : tag + value
        }
        switch FstabDevice(spec: written) {
        case .uuid: return form("UUID=", "/dev/disk/by-uuid/", d.uuid)
        case .label: return form("LABEL=", "/dev/disk/by-label/", d.label)
        case .partUUID: return form("PARTUUID=", "/dev/disk/by-partuuid/", d.partUUID)
        case .partLabel: return form("PARTLABEL=", "/dev/disk/by-partlabel/", d.partLabel)
        case .path, .other: return form("UUID=", "/dev/disk/by-uuid/", d.uuid)
        }
    }

    /// Splits a line into blank runs and fields, so one field can change and
    /// the line keeps its layout.
    static func fields(_ line: String) -> [(text: Substring, isField: Bool)] {
        var out: [(Substring, Bool)] = []
        var i = line.startIndex
        while i < line.endIndex {
            let blank = line[i] == " " || line[i] == "\t"
            var j = i
            while j < line.endIndex, (line[j] == " " || line[j] == "\t") == blank { j = line.index(after: j) }
            out.append((line[i..<j], !blank))
            i = j
        }
        return out
    }

    static func replacingField(_ n: Int, in line: String, with value: String) -> String? {
        var parts = fields(line)
        guard let index = parts.indices.filter({ parts[$0].isField }).dropFirst(n).first else { return nil }
        parts[index].text = Substring(value)
        return parts.map(\.text).joined()
    }

    /// The line with `nofail` added to its options (the fourth field, created when absent).
    static func addingNofail(to line: String) -> String? {
        let parts = fields(line)
        let fieldIndices = parts.indices.filter { parts[$0].isField }
        guard fieldIndices.count >= 2 else { return nil }
        if fieldIndices.count >= 4 {
            let options = parts[fieldIndices[3]].text
            return replacingField(3, in: line, with: options + ",nofail")
        }
        var out = line
        if fieldIndices.count == 2 { out += " auto" }
        return out + " defaults,nofail"
    }
}
