import Parsers
import Plan
import SystemModel

/// `kernel-missing`: the default boot entry names a kernel or initrd that is
/// not there, or the kernel's modules are missing.
public struct KernelMissing: Rule {
    public static let id = "kernel-missing"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        let boot = system.boot
        guard let entry = boot.defaultEntry, let files = boot.files else { return [] }
        var missing: [String] = []
        var evidence: [Evidence] = []
        if let k = files.kernel, !k.exists {
            missing.append("the kernel \(k.targetPath ?? k.written.value)")
            evidence.append(Evidence(k.written.source, note: "\(k.targetPath ?? k.written.value) does not exist"))
        }
        for i in files.initrds where !i.exists {
            missing.append("the initrd \(i.targetPath ?? i.written.value)")
            evidence.append(Evidence(i.written.source, note: "\(i.targetPath ?? i.written.value) does not exist"))
        }
        let kernelPresent = files.kernel?.exists ?? false
        if kernelPresent, files.modulesExist == false, let release = files.release {
            missing.append("its modules \(files.modulesPath)")
            evidence.append(.fact(files.modulesPath, "no modules directory for kernel \(release)"))
        }
        guard !missing.isEmpty else { return [] }
        evidence.insert(Evidence(entry.source, note: "the default entry: \(boot.defaultReason)"), at: 0)
        for line in boot.defaultEvidence where line != entry.source { evidence.append(Evidence(line, note: "decides the default entry")) }

        let others = Self.completeKernels(system)
        let message = "The default boot entry \"\(entry.title)\" (\(boot.configPath ?? "")) needs \(missing.joined(separator: ", ")), which \(missing.count == 1 ? "does" : "do") not exist."
            + (others.isEmpty ? " No other complete kernel was found in /boot." : " Other kernels with their initrd and modules: \(others.joined(separator: ", ")).")
        let atBoot: String
        if files.kernel.map({ !$0.exists }) ?? false {
            atBoot = "The boot loader cannot load the kernel and stops with \"file not found\": the machine never starts."
        } else if files.initrds.contains(where: { !$0.exists }) {
            atBoot = "The boot loader stops with \"file not found\" for the initrd, or the kernel panics because it cannot mount the root: the machine never starts."
        } else {
            atBoot = "The kernel boots but cannot load any module (disk, filesystem and network drivers that are not built in): the network card stays without a driver, or the root cannot be mounted."
        }
        let action = ProposedAction(.manual(description: Self.fixDescription(files, others: others),
                                            commands: Self.fixCommands(system, files: files)),
                                    "Restore the default kernel's files, or boot another complete kernel")
        var f = finding(message: message, atBoot: atBoot, evidence: evidence, actions: [action])
        f.names = [files.kernel?.targetPath, files.release.map { "/lib/modules/\($0)" }].compactMap { $0 } + files.initrds.compactMap(\.targetPath)
        return [f]
    }

    /// Kernel releases in /boot whose image, initrd and modules all exist.
    static func completeKernels(_ system: SystemSnapshot) -> [String] {
        let names = system.facts.kernels.bootNames
        return names.compactMap { n -> String? in
            guard let release = KernelImage.release(fileName: n), n.hasPrefix("vmlinuz-") else { return nil }
            let initrd = ["initrd.img-\(release)", "initramfs-\(release).img"].contains { names.contains($0) }
            let modules = system.facts.kernels.moduleReleases.contains(release)
            return initrd && modules ? release : nil
        }.sorted { DebianVersion.compare($0, $1) > 0 }
    }

    static func fixDescription(_ files: BootFiles, others: [String]) -> String {
        var s = "Inside the target (with /proc, /sys, /dev and /run bound): "
        if files.kernel?.exists == true, files.modulesExist != false {
            s += "build the missing initrd again, then regenerate the boot menu."
        } else {
            s += "install the kernel package again so its image and modules come back, then regenerate the boot menu."
        }
        if let newest = others.first { s += " Or boot \(newest), which is complete, and fix this one from there." }
        return s
    }

    /// The commands for the target's distribution family, guessed from its package manager.
    static func fixCommands(_ system: SystemSnapshot, files: BootFiles) -> [String] {
        let r = shellWord(files.release ?? "VERSION")
        let rebuildInitrd = files.kernel?.exists == true && files.modulesExist != false
        var c = ["for d in proc sys dev run; do mount --bind /$d \"$ROOT/$d\"; done"]
        if system.packages.isKnown || system.facts.kernels.hasUpdateInitramfs {
            c.append(rebuildInitrd ? "chroot \"$ROOT\" update-initramfs -c -k \(r)"
                     : "chroot \"$ROOT\" apt-get install --reinstall linux-image-\(r)   # needs the network")
            c.append("chroot \"$ROOT\" update-grub")
        } else if system.facts.kernels.hasDracut {
            c.append(rebuildInitrd ? "chroot \"$ROOT\" dracut -f --kver \(r)"
                     : "chroot \"$ROOT\" dnf reinstall kernel-core-\(r)   # needs the network")
            c.append(system.boot.loader == .grub ? "chroot \"$ROOT\" grub2-mkconfig -o \(shellWord(system.boot.configPath ?? "/boot/grub2/grub.cfg"))"
                     : "chroot \"$ROOT\" kernel-install add \(r) /lib/modules/\(r)/vmlinuz")
        } else if system.facts.kernels.hasMkinitcpio {
            c.append(rebuildInitrd ? "chroot \"$ROOT\" mkinitcpio -P" : "chroot \"$ROOT\" pacman -S linux   # needs the network")
            c.append("chroot \"$ROOT\" grub-mkconfig -o /boot/grub/grub.cfg")
        } else {
            c.append("# rebuild the initrd or reinstall the kernel with the target's own tools")
        }
        c.append("for d in run dev sys proc; do umount \"$ROOT/$d\"; done")
        return c
    }
}
