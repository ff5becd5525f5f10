import Glibc
import RescueSys

/// A network card of this machine, read from sysfs, with the names udev's
/// net_id builtin gives it (computed here as systemd 252 does for PCI cards,
/// virtio skipped: onboard index, hotplug slot, PCI path, MAC).
public struct NetworkCard: Sendable, Equatable {
    public var name: String
    public var mac: String?
    public var macIsPermanent: Bool?
    /// ARPHRD type (1 is Ethernet).
    public var type: Int?
    public var devType: String?
    /// `/devices/pci0000:00/0000:00:03.0/virtio2/net/eth0`.
    public var devicePath: String
    public var driver: String?
    public var pciAddress: String?
    public var nameOnboard: String?
    public var nameSlot: String?
    public var namePath: String?
    public var nameMAC: String?
}

/// Reads /sys/class/net. `sysfs` is injectable so tests can give it a tree
/// built like the kernel's (symlinks and attribute files).
public enum NetworkCards {
    public static func scan(sysfs: String = "/sys") -> [NetworkCard] {
        let classDir = sysfs + "/class/net"
        guard let dir = try? sysOpen(classDir, [.readOnly, .directory, .closeOnExec]),
              let entries = try? sysListDirectory(dir) else { return [] }
        var out: [NetworkCard] = []
        for e in entries {
            guard let link = readLink(classDir + "/" + e.name) else { continue }
            let real = resolve(classDir, link)
            guard real.hasPrefix(sysfs + "/devices/"), !real.hasPrefix(sysfs + "/devices/virtual/") else { continue }
            // Only cards with a device behind them (not bridges, bonds, tunnels).
            guard readLink(real + "/device") != nil else { continue }
            out.append(card(e.name, real: real, sysfs: sysfs))
        }
        return out
    }

    static func card(_ name: String, real: String, sysfs: String) -> NetworkCard {
        var c = NetworkCard(name: name, devicePath: String(real.dropFirst(sysfs.count)))
        c.mac = readSysfs(real + "/address")
        c.macIsPermanent = readSysfs(real + "/addr_assign_type").flatMap { Int($0) }.map { $0 == 0 }
        c.type = readSysfs(real + "/type").flatMap { Int($0) }
        c.devType = readSysfs(real + "/uevent").flatMap { u in
            u.split(separator: "\n").first { $0.hasPrefix("DEVTYPE=") }.map { String($0.dropFirst(8)) }
        }
        c.driver = readLink(real + "/device/driver").map(lastComponent)
        let prefix = c.devType == "wlan" ? "wl" : c.devType == "wwan" ? "ww" : "en"

        if let mac = c.mac, c.macIsPermanent == true {
            let hex = mac.split(separator: ":")
            if hex.count == 6, hex.allSatisfy({ $0.count == 2 }) { c.nameMAC = prefix + "x" + hex.joined().lowercased() }
        }

        // The parent device, virtio buses skipped; a PCI parent makes a PCI card.
        var parent = dirname(dirname(real))
        while subsystem(parent) == "virtio" { parent = dirname(parent) }
        guard subsystem(parent) == "pci" else { return c }
        let pci = parent
        let sysname = lastComponent(pci)
        c.pciAddress = sysname
        guard let addr = parsePCI(sysname) else { return c }
        var function = addr.function
        if readSysfs(pci + "/ari_enabled") == "1" { function += addr.slot * 8 }

        let devPort = readSysfs(real + "/dev_port").flatMap { Int($0) } ?? 0
        let portName = readSysfs(real + "/phys_port_name").flatMap { $0.isEmpty ? nil : $0 }
        let suffix = portName.map { "n" + $0 } ?? (devPort > 0 ? "d\(devPort)" : "")
        let multifunction = isMultifunction(pci)
        let fpart = function > 0 || multifunction ? "f\(function)" : ""
        let domain = addr.domain > 0 ? "P\(addr.domain)" : ""

        // Onboard: the firmware's index (ACPI _DSM, else SMBIOS type 41), 1 to 16383.
        if let idx = (readSysfs(pci + "/acpi_index") ?? readSysfs(pci + "/index")).flatMap({ Int($0) }), idx > 0, idx <= 16383 {
            c.nameOnboard = prefix + "o\(idx)" + suffix
        }
        c.namePath = prefix + domain + "p\(addr.bus)s\(addr.slot)" + fpart + suffix
        if let slot = hotplugSlot(pci, sysfs: sysfs) {
            c.nameSlot = prefix + domain + "s\(slot)" + fpart + suffix
        }
        return c
    }

    /// The hotplug slot (/sys/bus/pci/slots/N/address) of the card or of the
    /// nearest PCI device above it; none when that device is a bridge.
    static func hotplugSlot(_ pci: String, sysfs: String) -> Int? {
        let slotsDir = sysfs + "/bus/pci/slots"
        guard let dir = try? sysOpen(slotsDir, [.readOnly, .directory, .closeOnExec]),
              let entries = try? sysListDirectory(dir) else { return nil }
        let slots: [(Int, String)] = entries.compactMap { e in
            guard let n = Int(e.name), n > 0, let a = readSysfs(slotsDir + "/" + e.name + "/address"), !a.isEmpty else { return nil }
            return (n, a)
        }
        var device = pci
        while subsystem(device) == "pci" {
            let sysname = lastComponent(device)
            if let (n, _) = slots.first(where: { sysname.hasPrefix($0.1) }) {
                return isBridge(device) ? nil : n
            }
            device = dirname(device)
        }
        return nil
    }

    static func isBridge(_ device: String) -> Bool {
        guard let m = readSysfs(device + "/modalias"), m.hasPrefix("pci:"), let s = m.lastIndex(of: "s") else { return false }
        let rest = m[m.index(after: s)...]
        return rest.hasPrefix("c04")
    }

    static func isMultifunction(_ pci: String) -> Bool {
        guard let fd = try? sysOpen(pci + "/config", [.readOnly, .closeOnExec]),
              let bytes = try? fd.read(count: 64, at: 0), bytes.count == 64 else { return false }
        return bytes[0x0E] & 0x80 != 0
    }

    static func parsePCI(_ s: String) -> (domain: Int, bus: Int, slot: Int, function: Int)? {
        let parts = s.split(separator: ":")
        guard parts.count == 3 else { return nil }
        let sf = parts[2].split(separator: ".")
        guard sf.count == 2, let d = Int(parts[0], radix: 16), let b = Int(parts[1], radix: 16),
              let sl = Int(sf[0], radix: 16), let f = Int(sf[1]) else { return nil }
        return (d, b, sl, f)
    }

    static func subsystem(_ device: String) -> String? {
        readLink(device + "/subsystem").map(lastComponent)
    }

    static func readLink(_ path: String) -> String? { sysReadlink(path) }

    /// A symlink's target made absolute against the directory it is in.
    static func resolve(_ dir: String, _ link: String) -> String {
        var parts = link.hasPrefix("/") ? [] : dir.split(separator: "/").map(String.init)
        for p in link.split(separator: "/") {
            if p == ".." { _ = parts.popLast() } else if p != "." { parts.append(String(p)) }
        }
        return "/" + parts.joined(separator: "/")
    }

    static func dirname(_ p: String) -> String {
        guard let i = p.lastIndex(of: "/"), i != p.startIndex else { return "/" }
        return String(p[..<i])
    }

    static func lastComponent(_ p: String) -> String { String(p.split(separator: "/").last ?? "") }
}
