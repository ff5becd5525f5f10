import Parsers
import Plan
import Rules
import SystemModel

/// What the renderers need besides the findings: who audited what, and when.
public struct ReportContext: Sendable {
    public var toolVersion: String
    public var libblkidVersion: String
    /// What the user named: a directory, device or image (a host path, said as given).
    public var target: String
    public var kind: TargetKind
    public var device: String?
    public var uuid: String?
    public var auditedAt: String
    /// Things the audit could not check or had to skip, one sentence each.
    public var notes: [String]
    /// An image's root partition number (for the losetup hint), nil otherwise.
    public var partition: Int? = nil
    /// The arguments that name this target again for `rescue-audit plan`;
    /// nil: the target as given.
    public var rerunArguments: [String]? = nil

    public init(toolVersion: String, libblkidVersion: String, target: String, kind: TargetKind,
                device: String? = nil, uuid: String? = nil, auditedAt: String, notes: [String] = []) {
        self.toolVersion = toolVersion
        self.libblkidVersion = libblkidVersion
        self.target = target
        self.kind = kind
        self.device = device
        self.uuid = uuid
        self.auditedAt = auditedAt
        self.notes = notes
    }
}

extension Evidence {
    var locationText: String { line.map { "\(path):\($0)" } ?? path }
}

extension PlannedAction {
    /// The kind of step, as the JSON and the reports name it.
    public var kind: String {
        switch operation {
        case .writeFile(_, let before, _, _, _, _): before == nil ? "create-file" : "edit-file"
        case .moveAside: "move-aside"
        case .createSymlink: "create-symlink"
        case .removeSymlink: "remove-symlink"
        case .setOwnership: "set-ownership"
        case .enableUnit: "enable-unit"
        case .chroot: "chroot"
        case .manual: "manual"
        }
    }

    public var path: String? {
        switch operation {
        case .writeFile(let p, _, _, _, _, _), .moveAside(let p, _): p
        case .createSymlink(let s), .removeSymlink(let s): s.path
        case .setOwnership(let p, _, _): p
        case .enableUnit, .chroot, .manual: nil
        }
    }
}
