import Discovery
import Foundation
import Testing

/// Card names from sysfs: a fake /sys built as the kernel lays it out
/// (class symlinks into /devices, subsystem and driver links, attribute
/// files, PCI config space, hotplug slots), and this machine's real /sys
/// checked against udevadm's own net_id builtin (Debian 12's udev, unpacked
/// by scripts/fetch-oracles.sh).
@Suite struct NetworkCardsTests {
    final class FakeSys {
        let root: URL
        init() throws { root = try makeTempDir("fake-sys").appendingPathComponent("sys") }
        deinit { try? FileManager.default.removeItem(at: root.deletingLastPathComponent()) }

        func file(_ path: String, _ text: String) throws { try write(text + "\n", to: root.appendingPathComponent(path)) }
        func bytes(_ path: String, _ data: [UInt8]) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(data).write(to: url)
        }
        func link(_ path: String, _ target: String) throws {
            let url = root.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try FileManager.default.createSymbolicLink(atPath: url.path, withDestinationPath: target)
        }
        /// A PCI function under `parent` (a devices-relative path).
        func pci(_ path: String, multifunction: Bool = false, bridge: Bool = false, acpiIndex: Int? = nil) throws {
            let depth = path.split(separator: "/").count + 1
            try link("devices/\(path)/subsystem", String(repeating: "../", count: depth) + "bus/pci")
            var config = [UInt8](repeating: 0, count: 64)
            if multifunction { config[0x0E] = 0x80 }
            try bytes("devices/\(path)/config", config)
            try file("devices/\(path)/modalias", bridge ? "pci:v00008086d00001234sv00000000sd00000000bc06sc04i00" : "pci:v00008086d000015B8sv00008086sd00000000bc02sc00i00")
            if let acpiIndex { try file("devices/\(path)/acpi_index", "\(acpiIndex)") }
        }
        /// A net device directory at devices/`path`/net/`name` (or under a virtio child).
        func net(_ name: String, under path: String, virtio: Bool = false, mac: String, driver: String, devType: String? = nil, permanent: Bool = true) throws {
            var dev = path
            if virtio {
                dev += "/virtio0"
                let depth = dev.split(separator: "/").count + 1
                try link("devices/\(dev)/subsystem", String(repeating: "../", count: depth) + "bus/virtio")
            }
            let depth = dev.split(separator: "/").count + 1
            try link("devices/\(dev)/driver", String(repeating: "../", count: depth) + "bus/pci/drivers/\(driver)")
            let n = "devices/\(dev)/net/\(name)"
            try file(n + "/address", mac)
            try file(n + "/addr_assign_type", permanent ? "0" : "3")
            try file(n + "/type", "1")
            try file(n + "/dev_port", "0")
            try file(n + "/uevent", "INTERFACE=\(name)\nIFINDEX=2" + (devType.map { "\nDEVTYPE=\($0)" } ?? ""))
            try link(n + "/device", "../../../" + (virtio ? "virtio0" : String(path.split(separator: "/").last ?? "")))
            try link("class/net/\(name)", "../../devices/\(dev)/net/\(name)")
        }
    }

    @Test func namesLikeUdevNetID() throws {
        let sys = try FakeSys()
        // virtio in hotplug slot 3 (QEMU): ens3, enp0s3.
        try sys.pci("pci0000:00/0000:00:03.0")
        try sys.net("eth0", under: "pci0000:00/0000:00:03.0", virtio: true, mac: "52:54:00:12:34:56", driver: "virtio_net")
        try sys.file("bus/pci/slots/3/address", "0000:00:03")
        // Onboard, function 6 of a multifunction device: eno1, enp0s31f6.
        try sys.pci("pci0000:00/0000:00:1f.6", multifunction: true, acpiIndex: 1)
        try sys.net("eth1", under: "pci0000:00/0000:00:1f.6", mac: "3c:ec:ef:00:00:01", driver: "e1000e")
        // Behind a bridge whose slot is the bridge's: no slot name; path enp1s0f1.
        try sys.pci("pci0000:00/0000:00:02.0", bridge: true)
        try sys.pci("pci0000:00/0000:00:02.0/0000:01:00.1", multifunction: true)
        try sys.net("eth2", under: "pci0000:00/0000:00:02.0/0000:01:00.1", mac: "3c:ec:ef:00:00:02", driver: "ixgbe")
        try sys.file("bus/pci/slots/2/address", "0000:00:02")
        // A slot that names the card itself, on PCI domain 1, Wi-Fi, random MAC: wlP1s5, no MAC name.
        try sys.pci("pci0001:00/0001:00:05.0")
        try sys.net("wlan0", under: "pci0001:00/0001:00:05.0", mac: "aa:bb:cc:dd:ee:ff", driver: "iwlwifi", devType: "wlan", permanent: false)
        try sys.file("bus/pci/slots/5/address", "0001:00:05")
        // Virtual devices are left out.
        try sys.file("devices/virtual/net/lo/address", "00:00:00:00:00:00")
        try sys.link("class/net/lo", "../../devices/virtual/net/lo")

        let cards = NetworkCards.scan(sysfs: sys.root.path)
        #expect(cards.map(\.name) == ["eth0", "eth1", "eth2", "wlan0"])
        let byName = Dictionary(uniqueKeysWithValues: cards.map { ($0.name, $0) })
        let e0 = try #require(byName["eth0"])
        #expect(e0.nameSlot == "ens3" && e0.namePath == "enp0s3" && e0.nameOnboard == nil && e0.nameMAC == "enx525400123456")
        #expect(e0.pciAddress == "0000:00:03.0" && e0.driver == "virtio_net")
        #expect(e0.devicePath == "/devices/pci0000:00/0000:00:03.0/virtio0/net/eth0")
        let e1 = try #require(byName["eth1"])
        #expect(e1.nameOnboard == "eno1" && e1.namePath == "enp0s31f6" && e1.nameSlot == nil)
        let e2 = try #require(byName["eth2"])
        #expect(e2.namePath == "enp1s0f1" && e2.nameSlot == nil, "a slot matched on a bridge gives no name")
        let w = try #require(byName["wlan0"])
        #expect(w.nameSlot == "wlP1s5" && w.namePath == "wlP1p0s5" && w.nameMAC == nil)
    }

    @Test func missingOrOddSysfsGivesNothingNotACrash() throws {
        #expect(NetworkCards.scan(sysfs: "/nonexistent").isEmpty)
        let sys = try FakeSys()
        try sys.link("class/net/eth9", "../../devices/nowhere/net/eth9")
        try sys.link("class/net/loop", "../../class/net/loop")
        try sys.file("class/net/plainfile", "x")
        #expect(NetworkCards.scan(sysfs: sys.root.path).isEmpty)
    }

    /// This machine's cards, named by udevadm test-builtin net_id and by us.
    @Test func realSysfsAgreesWithUdevadm() throws {
        let udevadm = Repo.root.appendingPathComponent(".oracles/root/bin/udevadm").path
        guard FileManager.default.isExecutableFile(atPath: udevadm) else {
            #expect(!mustRunPrivileged, "udevadm is not unpacked: run scripts/fetch-oracles.sh")
            return
        }
        let cards = NetworkCards.scan()
        for card in cards {
            let r = try run(udevadm, ["test-builtin", "net_id", "/sys/class/net/\(card.name)"],
                            environment: ["LD_LIBRARY_PATH": Repo.root.appendingPathComponent(".oracles/root/usr/lib/x86_64-linux-gnu/systemd").path,
                                          "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"])
            guard r.status == 0 else {
                #expect(!mustRunPrivileged, "udevadm test-builtin failed: \(r.stderr)")
                continue
            }
            var props: [String: String] = [:]
            for line in r.stdout.split(separator: "\n") {
                let kv = line.split(separator: "=", maxSplits: 1).map(String.init)
                if kv.count == 2 { props[kv[0]] = kv[1] }
            }
            #expect(card.nameOnboard == props["ID_NET_NAME_ONBOARD"], "\(card.name) onboard")
            #expect(card.nameSlot == props["ID_NET_NAME_SLOT"], "\(card.name) slot")
            #expect(card.namePath == props["ID_NET_NAME_PATH"], "\(card.name) path")
            #expect(card.nameMAC == props["ID_NET_NAME_MAC"], "\(card.name) MAC")
        }
        print("note: \(cards.count) card(s) checked against udevadm: \(cards.map { "\($0.name)=\($0.namePath ?? "-")" })")
    }
}
