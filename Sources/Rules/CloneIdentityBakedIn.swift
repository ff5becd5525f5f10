import Parsers
import Plan
import SystemModel

/// `clone-identity-baked-in`: a disk image carries what every clone made
/// from it would share: the machine-id, the SSH host keys, LVM's device list.
public struct CloneIdentityBakedIn: Rule {
    public static let id = "clone-identity-baked-in"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        // Images are what gets cloned; a machine's own disk is not reported.
        guard system.kind == .image else { return [] }
        let c = system.facts.clone
        let keys = system.sshd.hostKeys.filter { $0.state == .usable }
        var parts: [String] = []
        var evidence: [Evidence] = []
        var commands: [ShellCommand] = []
        if let m = c.machineID {
            parts.append("the same /etc/machine-id, from which systemd-networkd derives its DHCP client identifier (and NetworkManager its DHCPv6 DUID), so clones on one network ask for, and get, the same lease")
            evidence.append(Evidence(m, note: "set on the image: every clone boots with this ID"))
            commands.append(": > \(path: "/etc/machine-id")   # empty: systemd writes a new ID at the first boot")
        }
        if !keys.isEmpty {
            let regenerated = system.sshd.keygenAtBoot != nil
            parts.append("the same SSH host keys, so clients cannot tell the clones apart" + (regenerated ? "" : " (nothing on this image creates new ones at boot: remove them only with a way to create them, such as cloud-init or ssh-keygen -A in the unit)"))
            evidence += keys.prefix(4).map { Evidence.fact($0.path, "host key present on the image") }
            if regenerated { commands.append("rm -f \(path: "/etc/ssh")/ssh_host_*   # the keygen at boot creates new ones") }
        }
        if !c.lvmDevices.isEmpty {
            parts.append("LVM's /etc/lvm/devices/system.devices, which lists the original disk's IDs: on a clone's new disk LVM does not scan the physical volume, so a root or /usr on LVM is not found and the boot stops")
            evidence += c.lvmDevices.prefix(4).map { Evidence($0, note: "a device ID of the disk the image was made on") }
            commands.append("rm -f \(path: "/etc/lvm/devices/system.devices")   # or, on each clone: vgimportdevices -a")
        }
        guard !parts.isEmpty else { return [] }
        return [finding(message: "Every clone of this image would share " + parts.joined(separator: "; ") + ".",
                        atBoot: "This image boots as it is; its clones collide: the same DHCP lease and host keys, and with LVM's device list a clone on a new disk does not find its volume group.",
                        evidence: evidence,
                        actions: [ProposedAction(.manual(description: "Before cloning, clear what each clone must make for itself (systemd creates a machine-id when the file is empty).", commands: commands),
                                                 "Prepare the image for cloning (manual)")])]
    }
}
