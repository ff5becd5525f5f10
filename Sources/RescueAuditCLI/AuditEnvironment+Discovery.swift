import Discovery
import SystemModel

extension AuditEnvironment {
    /// What discovery knows about the devices and filesystems around an
    /// opened target, in the model's terms. A directory target has nothing.
    static func from(_ target: AuditTarget) -> AuditEnvironment {
        var env = AuditEnvironment()
        let rootVolume = target.filesystems.first { $0.mountPoint == "/" }?.volume
        if let devices = target.fstabDevices {
            var facts: [BlockDeviceFact] = []
            for d in devices {
                if let fs = d.filesystem {
                    facts.append(BlockDeviceFact(name: d.path, fsType: fs.type, uuid: fs.uuid, label: fs.label,
                                                 holdsRoot: rootVolume.map { $0.source == d.path && $0.offset == 0 }))
                }
                for p in d.partitions {
                    let name = p.device ?? "\(d.path) partition \(p.number)"
                    // A partition the kernel also lists as its own device is listed once, with its partition facts.
                    facts.removeAll { $0.name == name && $0.partition == nil }
                    facts.append(BlockDeviceFact(
                        name: name, fsType: p.filesystem?.type, uuid: p.filesystem?.uuid, label: p.filesystem?.label,
                        partUUID: p.partUUID, partLabel: p.partLabel, partition: p.number, disk: d.path,
                        holdsRoot: rootVolume.map { $0.disk == d.path }))
                }
            }
            env.blockDevices = facts.filter { f in
                // The kernel lists partitions as devices too; keep the entry with partition facts.
                f.partition != nil || !facts.contains { $0.partition != nil && $0.name == f.name }
            }
        }
        env.filesystems = target.filesystems.map { fs in
            let commands = fs.checkCommands
            var health = FilesystemHealth(mountPoint: fs.mountPoint, device: fs.volume.name, fsType: fs.volume.filesystem.type,
                                          problems: [], checkCommand: commands.last, ext: fs.ext, xfsLog: fs.xfsLog,
                                          checkCommands: commands, unreadable: fs.unreadable)
            if case .replayed = fs.journal { health.journalReplayed = true }
            return health
        }
        return env
    }
}
