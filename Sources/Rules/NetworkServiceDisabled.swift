import Parsers
import Plan
import SystemModel

/// `network-service-disabled`: the stack that holds the configuration does
/// not run at boot: its unit is not enabled, or its software is gone.
public struct NetworkServiceDisabled: Rule {
    public static let id = "network-service-disabled"
    public init() {}

    public func check(_ system: SystemSnapshot) -> [Finding] {
        var findings: [Finding] = []
        let active = system.activeClaims.filter { !$0.isLoopback }

        // The configuration of `stack` is dead; is another stack up instead?
        func grade(_ stack: NetworkStack, claims: [InterfaceClaim]) -> (Severity, String) {
            let others = active.filter { $0.stack != stack && !(stack == .netplan && $0.stack == .networkd) }
            if others.isEmpty {
                return (.critical, "No other network stack configures an interface at boot, so the machine comes up without its network.")
            }
            let names = Set(others.map(\.displayName)).sorted().joined(separator: ", ")
            return (.medium, "\(Set(others.map(\.stack.rawValue)).sorted().joined(separator: ", ")) still configure\(others.count == 1 ? "s" : "") \(names), so this configuration is dead weight that misleads whoever reads it.")
        }

        if let s = system.status(of: .ifupdown), s.configured, let config = system.ifupdown {
            // An interface another stack brings up is not lost: its ifupdown stanza is only a stale file.
            var claims = system.claims.filter { $0.stack == .ifupdown && $0.autostart && !$0.isLoopback && !system.bootModel.isStale($0) }
            // networking.service (or its init script) itself, not udev's hotplug path.
            let networkingStarts = system.initSystem.kind == .systemd
                ? system.units.startsAtBoot("networking.service") != nil && s.execFailure == nil : s.startsAtBoot
            let viaUdev = claims.filter { $0.name.map(system.ifupdownHotplugStarts) ?? false }
            if s.installed != false { claims.removeAll { c in viaUdev.contains(c) } }
            if s.installed == false, !claims.isEmpty {
                findings.append(missingSoftware(system, stack: .ifupdown, package: "ifupdown", claims: claims, files: config.files,
                                                grade: grade(.ifupdown, claims: claims)))
            } else if !networkingStarts, !claims.isEmpty {
                let unit = system.initSystem.kind == .systemd ? "networking.service" : nil
                var reason = s.reason
                if !viaUdev.isEmpty {
                    reason += "; only the allow-hotplug interfaces \(viaUdev.map(\.displayName).joined(separator: ", ")) come up, through udev"
                }
                findings.append(notStarted(system, stack: .ifupdown, unit: unit, sysvScript: "networking", reason: reason,
                                           claims: claims, grade: grade(.ifupdown, claims: claims)))
            }
        }

        let netplanClaims = system.netplan.claims.filter { $0.autostart && !$0.isLoopback && !system.bootModel.isStale($0) }
        if !netplanClaims.isEmpty {
            if !(system.netplan.netplanInstalled || system.units.netplanGenerator != nil) {
                findings.append(missingSoftware(system, stack: .netplan, package: "netplan.io", claims: netplanClaims, files: system.netplan.files,
                                                grade: grade(.netplan, claims: netplanClaims)))
            } else {
                let nmRendered = netplanClaims.filter { ($0.renderer ?? system.netplan.effectiveRenderer) == "NetworkManager" }
                if !nmRendered.isEmpty, system.units.startsAtBoot("NetworkManager.service") == nil {
                    findings.append(notStarted(system, stack: .netplan, unit: "NetworkManager.service", sysvScript: nil, reason: netplanNMReason(system),
                                               claims: nmRendered, grade: grade(.netplan, claims: nmRendered)))
                }
            }
        }

        if let s = system.status(of: .networkd), !s.startsAtBoot {
            let claims = system.networkd.claims.filter { $0.autostart && !$0.isLoopback && !$0.isVendorDefault && !system.bootModel.isStale($0) }
            if !claims.isEmpty {
                findings.append(notStarted(system, stack: .networkd, unit: "systemd-networkd.service", sysvScript: nil, reason: s.reason,
                                           claims: claims, grade: grade(.networkd, claims: claims)))
            }
        }

        if let s = system.status(of: .networkManager), !s.startsAtBoot {
            let claims = system.networkManager.claims.filter { $0.autostart && !$0.isLoopback && !system.bootModel.isStale($0) }
            if !claims.isEmpty {
                findings.append(notStarted(system, stack: .networkManager, unit: "NetworkManager.service", sysvScript: nil, reason: s.reason,
                                           claims: claims, grade: grade(.networkManager, claims: claims)))
            }
        }

        if let s = system.status(of: .ifcfg), s.configured, !s.startsAtBoot, system.ifcfg.networkingEnabled {
            let claims = system.ifcfg.claims.filter { $0.autostart && !$0.isLoopback && !system.bootModel.isStale($0) }
            // RHEL 8 and later run ifcfg files through NetworkManager; older ones through network.service.
            let unit = system.units.unitFile("NetworkManager.service") != nil ? "NetworkManager.service" : "network.service"
            if !claims.isEmpty {
                findings.append(notStarted(system, stack: .ifcfg, unit: unit, sysvScript: unit == "network.service" ? "network" : nil,
                                           reason: s.reason, claims: claims, grade: grade(.ifcfg, claims: claims)))
            }
        }
        return findings
    }

    private func netplanNMReason(_ system: SystemSnapshot) -> String {
        if let m = system.units.isMasked("NetworkManager.service") { return "NetworkManager.service is masked (\(m.linkPath) -> /dev/null)" }
        return "netplan's renderer is NetworkManager, but NetworkManager.service is not enabled"
    }

    private func claimEvidence(_ claims: [InterfaceClaim], stack: NetworkStack) -> [Evidence] {
        claims.prefix(4).map { Evidence($0.source, note: "\(stack.rawValue) configures \($0.displayName) for boot") }
    }

    /// The stack's unit (or init script) is not started at boot.
    private func notStarted(_ system: SystemSnapshot, stack: NetworkStack, unit: String?, sysvScript: String?, reason: String,
                            claims: [InterfaceClaim], grade: (Severity, String)) -> Finding {
        var evidence = claimEvidence(claims, stack: stack)
        var actions: [ProposedAction] = []
        let what: String
        if let unit {
            if let mask = system.units.isMasked(unit) {
                evidence.append(.fact(mask.linkPath, "\(unit) is masked: \(mask.linkPath) -> \(mask.linkTarget)"))
                actions.append(ProposedAction(.manual(description: "\(unit) is masked; unmask it before enabling it.",
                                                      commands: ["rm \(path: mask.linkPath)"]), "Unmask \(unit)"))
            } else {
                evidence.append(.fact(system.units.unitFile(unit)?.path ?? "/etc/systemd/system", reason))
            }
            let links = system.units.enableLinks(for: unit)
            if let f = system.status(of: stack)?.execFailure, f.unit == system.units.canonicalName(unit) {
                // Enabled, but its program is gone: enabling changes nothing, the package's files must come back.
                evidence.append(Evidence(f.source, note: "\(f.program) \(f.exists ? "is not an executable file" : "does not exist"): systemd fails \(unit) with 203/EXEC"))
                actions.append(ProposedAction(.manual(
                    description: "\(f.program), the program \(unit) runs, is missing from the target: reinstall the package that ships it (its files are gone although the unit is enabled).",
                    commands: ["chroot \"$ROOT\" dpkg -S \(path: f.program)", "chroot \"$ROOT\" apt-get install --reinstall PACKAGE"]),
                    "Reinstall the package that ships \(f.program)"))
                return finding(grade.0, message: "\(unit) is enabled but cannot run at boot: \(f.words). \(grade.1)",
                               atBoot: "\(unit) fails at once, so the interfaces it configures (\(claims.compactMap(\.name).joined(separator: ", "))) stay down.",
                               evidence: evidence, actions: actions)
            }
            if links.isEmpty {
                actions.append(ProposedAction(.manual(description: "\(unit) has no [Install] section or no unit file in the target; start it some other way or reinstall its package.",
                                                      commands: ["chroot \"$ROOT\" systemctl enable \(value: unit)"]), "Enable \(unit)"))
            } else {
                evidence.append(.fact(links[0].target, "`systemctl enable \(unit)` would create: " + links.map(\.linkPath).joined(separator: ", ")))
                actions.append(ProposedAction(.enableUnit(unit: unit, links: links.map { SymlinkSpec(path: $0.linkPath, target: $0.target) }),
                                              "Enable \(unit) (the symlinks `systemctl enable` creates)"))
            }
            what = "\(unit) is not started at boot"
        } else {
            let script = sysvScript ?? "networking"
            evidence.append(.fact("/etc/init.d/\(script)", reason))
            actions.append(ProposedAction(.chroot(command: ["update-rc.d", script, "defaults"],
                                                  why: "create the rc links that start /etc/init.d/\(script) at boot", undoable: false),
                                          "Enable the \(script) init script with update-rc.d"))
            what = "the \(script) init script is not started at boot"
        }
        let names = claims.map(\.displayName).joined(separator: ", ")
        return finding(grade.0,
                       message: "\(stack.rawValue) holds the configuration of \(names), but \(what) (\(reason)). \(grade.1)",
                       atBoot: "Nothing applies the \(stack.rawValue) configuration at boot, so \(names) stay\(claims.count == 1 ? "s" : "") down.",
                       evidence: evidence, actions: actions)
    }

    /// The configuration is there, but the software that reads it is not.
    private func missingSoftware(_ system: SystemSnapshot, stack: NetworkStack, package: String, claims: [InterfaceClaim],
                                 files: [String], grade: (Severity, String)) -> Finding {
        var evidence = claimEvidence(claims, stack: stack)
        if let p = system.packages.package(package) {
            evidence.append(Evidence(p.source, note: "\(package) is \(p.state) (\(p.want)): its files are gone, only its configuration remains"))
        } else {
            evidence.append(.fact(system.packages.source ?? "/var/lib/dpkg/status", "\(package) is not installed"))
        }
        if stack == .netplan {
            evidence.append(.fact(NetplanLoader.generatorPaths[0], "netplan's systemd generator is missing, so nothing reads /etc/netplan at boot"))
        }
        let names = claims.map(\.displayName).joined(separator: ", ")
        var actions: [ProposedAction] = []
        var noOfflineRepair: String? = grade.0 == .critical
            ? "\(package) must be reinstalled, which needs a network the machine does not have, and no other stack is there to take its configuration over" : nil
        var reinstall = "Reinstall \(package) from the rescue system (it needs network there), or move the configuration to the stack that is installed."
        // Offline, when nothing else brings the network up: the same configuration
        // for a stack the target has; reinstalling netplan.io is the alternative.
        if stack == .netplan, grade.0 == .critical {
            switch NetplanFallback.actions(system) {
            case .success(let a):
                actions = a
                noOfflineRepair = nil
                reinstall = "Alternative to the steps above: reinstall \(package) from the rescue system (it needs network there), then run undo.sh to put the YAML back and remove the translation."
            case .failure(let refusal):
                noOfflineRepair = refusal.reason
                reinstall = "No offline repair: \(refusal.reason). Reinstall \(package) from the rescue system (it needs network there), or move the configuration to the stack that is installed."
            }
        }
        actions.append(ProposedAction(.manual(
            description: reinstall,
            commands: ["mount --bind /dev \"$ROOT/dev\"; mount --bind /proc \"$ROOT/proc\"; mount --bind /sys \"$ROOT/sys\"",
                       "chroot \"$ROOT\" apt-get install \(value: package)",
                       "umount \"$ROOT/sys\" \"$ROOT/proc\" \"$ROOT/dev\""]),
                                      "Reinstall \(package)"))
        var f = finding(grade.0,
                        message: "\(files.first ?? stack.rawValue) configures \(names), but \(package) is not installed: nothing reads this configuration. \(grade.1)",
                        atBoot: "Nothing applies the \(stack.rawValue) configuration at boot, so \(names) stay\(claims.count == 1 ? "s" : "") down.",
                        evidence: evidence, actions: actions)
        f.noOfflineRepair = noOfflineRepair
        return f
    }
}
