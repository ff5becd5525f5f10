import Foundation
import Testing
@testable import Discovery

@Suite("Discovery rendering")
struct DiscoveryRenderTests {
    static let report = DeviceReport(
        devices: [
            ProbedDevice(path: "/srv/disk.img", kind: .image, size: 2 << 30, partitionTable: "gpt", partitionTableUUID: "aaaa",
                         partitions: [
                            ProbedPartition(number: 1, start: 1 << 20, size: 100 << 20, type: "c12a7328-f81f-11d2-ba4b-00a0c93ec93b",
                                            partUUID: "p1", partLabel: "esp", device: nil,
                                            filesystem: FilesystemInfo(type: "vfat", uuid: "AB-CD", label: nil, version: nil, usage: "filesystem", unlockHint: nil)),
                            ProbedPartition(number: 2, start: 101 << 20, size: 1 << 30, type: "e6d6d379-f507-44c2-a23c-238f2a3df928",
                                            partUUID: "p2", partLabel: nil, device: nil,
                                            filesystem: FilesystemInfo(type: "LVM2_member", uuid: "x", label: nil, version: nil, usage: "raid",
                                                                       unlockHint: "vgchange -ay")),
                         ],
                         filesystem: nil, error: nil),
        ],
        rootCandidates: [], notes: ["/srv/disk.img partition 2 is an LVM physical volume; activate its volume groups with `vgchange -ay` and run again."])

    @Test func textNamesContainersAndTheirCommands() {
        let text = renderDevicesText(Self.report)
        #expect(text.contains("/srv/disk.img  image  2.0 GiB  gpt partition table aaaa"))
        #expect(text.contains("type EFI System"))
        #expect(text.contains("LVM2_member UUID=x"))
        #expect(text.contains("→ vgchange -ay"))
        #expect(text.contains("No root filesystem found."))
    }

    @Test func jsonRoundTrips() throws {
        let data = try JSONEncoder().encode(Self.report)
        let back = try JSONDecoder().decode(DeviceReport.self, from: data)
        #expect(back.devices == Self.report.devices)
        #expect(String(decoding: data, as: UTF8.self).contains(#""partitionTable":"gpt""#))
    }
}
