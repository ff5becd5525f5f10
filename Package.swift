// swift-tools-version:6.0
import PackageDescription

// Layers, lowest first. Each target depends only on the ones above it in this
// file: syscalls, libblkid and the compression libraries → confined target
// access → pure parsers → discovery → the system model → rules and the plan →
// renderers → the CLI. Each target declares exactly the modules its sources
// import (scripts/check-imports.sh, run by PackageGraphTests).
let package = Package(
    name: "rescue-audit",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "rescue-audit", targets: ["rescue-audit"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // MARK: - The C and syscall layer

        /** libblkid, the prober that blkid, mount and udev use. */
        .systemLibrary(
            name: "CBlkid",
            path: "CBlkid",
            pkgConfig: "blkid",
            providers: [.apt(["libblkid-dev"])]
        ),

        /** zlib, zstd, liblzma and lz4: the decompressors an initramfs may use.
         Pure computation on bytes, used by the initramfs reader in Parsers. */
        .systemLibrary(
            name: "CCompress",
            path: "CCompress",
            providers: [.apt(["zlib1g-dev", "libzstd-dev", "liblzma-dev", "liblz4-dev"])]
        ),

        /** libyaml, the YAML parser netplan itself uses: netplan files are read
         from its event stream, so they are read as netplan reads them. */
        .systemLibrary(
            name: "CYAML",
            path: "CYAML",
            providers: [.apt(["libyaml-dev"])]
        ),

        /** nettle's SHA-256 (the audited hash of every file the plan touches).
         Linked statically (`libnettle.a`, 40 KB) by TargetAccess. */
        .systemLibrary(
            name: "CNettle",
            path: "CNettle",
            providers: [.apt(["nettle-dev"])]
        ),

        /** SQLite, to read fail2ban's ban database from bytes already read
         through the confined reader (deserialized read-only in memory). */
        .systemLibrary(
            name: "CSQLite",
            path: "CSQLite",
            providers: [.apt(["libsqlite3-dev"])]
        ),

        /** C shims for the calls Swift cannot make itself: variadic ones
         (syscall, ioctl) and kernel structs (open_how, loop_config). */
        .target(
            name: "CSyscalls",
            path: "Sources/CSyscalls"
        ),

        /** The only code that calls openat2, mount, unshare, ioctl or libblkid.
         Thin wrappers, each named after the C call it wraps. */
        .target(
            name: "RescueSys",
            dependencies: ["CBlkid", "CSyscalls"]
        ),

        // MARK: - Target access

        /** Reads files of the audited system confined to its root: paths are
         resolved inside the target, only regular files are read, with a cap. */
        .target(
            name: "TargetAccess",
            dependencies: ["RescueSys", "CNettle"],
            linkerSettings: [.linkedLibrary(":libnettle.a")]
        ),

        // MARK: - Parsers

        /** Pure parsers: bytes and a target path in, a model plus diagnostics
         out. They do no I/O, so discovery uses them too (fstab). Journal
         payloads are decompressed with the same libraries systemd uses. */
        .target(
            name: "Parsers",
            dependencies: [
                "CCompress", "CYAML", "CSQLite",
            ],
            // libyaml and SQLite are linked statically, as nettle is: a rescue
            // system or a minimal container has neither shared library.
            linkerSettings: [.linkedLibrary(":libyaml.a"), .linkedLibrary(":libsqlite3.a"), .linkedLibrary("m")]
        ),

        // MARK: - Discovery

        /** Finds block devices and disk images, probes them with libblkid,
         reads their superblocks' health, scores root candidates and mounts
         them read-only in a private namespace. */
        .target(
            name: "Discovery",
            dependencies: ["RescueSys", "TargetAccess", "Parsers"]
        ),

        // MARK: - The model

        /** The SystemSnapshot: everything the rules need, read through
         TargetAccess and parsed by Parsers, each fact with its provenance. */
        .target(
            name: "SystemModel",
            dependencies: ["Parsers", "RescueSys", "TargetAccess"]
        ),

        // MARK: - Rules and the plan

        /** Typed repair actions and the plan that orders and checks them. */
        .target(
            name: "Plan",
            dependencies: ["Parsers", "TargetAccess"]
        ),

        /** One type per rule, registered by id; the catalogue built into the binary. */
        .target(
            name: "Rules",
            dependencies: ["Parsers", "TargetAccess", "SystemModel", "Plan"]
        ),

        // MARK: - Renderers

        /** Text, JSON, Markdown and the repair script. Renderers never decide. */
        .target(
            name: "Report",
            dependencies: ["Parsers", "TargetAccess", "SystemModel", "Plan", "Rules"],
            // The repair script's shell helpers, embedded by scripts/generate-shell.sh
            // as RepairScript+Shell.swift (checked fresh by the tests).
            exclude: ["shell"]
        ),

        // MARK: - The command line

        /** The command tree; the executable only calls into it. */
        .target(
            name: "RescueAuditCLI",
            dependencies: [
                "RescueSys", "TargetAccess", "Parsers", "Discovery", "SystemModel", "Rules", "Report",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        .executableTarget(
            name: "rescue-audit",
            dependencies: ["RescueAuditCLI"]
        ),


        // MARK: - Tests

        .testTarget(
            name: "RescueAuditTests",
            dependencies: [
                "CCompress", "RescueSys", "TargetAccess", "Discovery", "Parsers", "SystemModel",
                "Plan", "Rules", "Report", "RescueAuditCLI",
            ],
            // Fixture roots are read from the source tree via #filePath, not bundled.
            exclude: ["Fixtures"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
