// swift-tools-version: 6.2
// boothd — device daemon of a teleconsultation booth and of the nurse's mobile case.
//
// Layout (dependencies point downward only):
//   BoothCore            pure Swift, no C: measurement model, codes, units, decoders, link protocols, profile schema
//   C* system libraries  pkg-config wrappers for GStreamer, GIO, libudev, libusb, libv4l2; cairo's headers
//   CBoothShim           the one C shim: macros, casts and variadics Swift cannot call
//   BoothMedia           GStreamer adapter (cameras, snapshots, live encode)
//   BoothService         config, sd_notify, simulator, device supervisor, sessions, outbox
//   BoothAPI             loopback WebSocket/HTTP API (Hummingbird)
//   BoothTesting         fakes and helpers shared by the test targets
//   boothd, boothctl     the daemon and the technician tool
import PackageDescription

let strictSwift: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .treatAllWarnings(as: .error),
]

let strictC: [CSetting] = [
    .unsafeFlags(["-Wall", "-Wextra", "-Werror", "-Wno-unused-parameter"])
]

let package = Package(
    name: "boothd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "boothd", targets: ["boothd"]),
        .executable(name: "boothctl", targets: ["boothctl"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket", from: "2.2.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
    ],
    targets: [
        // MARK: pure core
        .target(name: "BoothCore", swiftSettings: strictSwift),

        // MARK: C libraries and the shim
        .systemLibrary(
            name: "CGStreamer",
            pkgConfig: "gstreamer-1.0 gstreamer-app-1.0 gstreamer-video-1.0",
            providers: [.apt(["libgstreamer1.0-dev", "libgstreamer-plugins-base1.0-dev"])]
        ),
        .systemLibrary(
            name: "CV4L2",
            pkgConfig: "libv4l2",
            providers: [.apt(["libv4l-dev"])]
        ),
        .systemLibrary(
            name: "CGio",
            pkgConfig: "gio-2.0",
            providers: [.apt(["libglib2.0-dev"])]
        ),
        .systemLibrary(
            name: "CLibUSB",
            pkgConfig: "libusb-1.0",
            providers: [.apt(["libusb-1.0-0-dev"])]
        ),
        .systemLibrary(
            name: "CUdev",
            pkgConfig: "libudev",
            providers: [.apt(["libudev-dev"])]
        ),
        // cairo's headers only (libcairo2-dev): CBoothShim loads libcairo.so.2 when the first picture is drawn.
        // No pkgConfig here, since that would link it (docs/reliability.md, "Memory").
        .systemLibrary(
            name: "CCairo",
            providers: [.apt(["libcairo2-dev"])]
        ),
        // webrtcbin's own libraries (gstreamer-webrtc, -sdp, libnice) are not linked either: CBoothShim looks up
        // the few functions it needs once webrtcbin's plugin has loaded them.
        .target(
            name: "CBoothShim",
            dependencies: ["CGStreamer", "CV4L2"],
            cSettings: strictC
        ),

        // MARK: adapters
        .target(
            name: "BoothMedia",
            dependencies: [
                "BoothCore", "CGStreamer", "CBoothShim", "CCairo",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSwift
        ),

        .target(
            name: "BoothV4L2",
            dependencies: ["BoothCore", "CV4L2", "CBoothShim"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "BoothUdev",
            dependencies: ["BoothCore", "CUdev"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "BoothBlueZ",
            dependencies: ["BoothCore", "CGio"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "BoothUSB",
            dependencies: ["BoothCore", "CLibUSB"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "BoothRender",
            dependencies: ["BoothCore", "CCairo", "CBoothShim"],
            swiftSettings: strictSwift
        ),

        // MARK: service layer
        .target(
            name: "BoothYAML",
            dependencies: [.product(name: "Yams", package: "Yams")],
            swiftSettings: strictSwift
        ),
        .target(
            name: "BoothProfiles",
            dependencies: ["BoothCore", "BoothYAML"],
            swiftSettings: strictSwift
        ),
        .target(
            name: "BoothService",
            dependencies: [
                "BoothCore", "BoothMedia", "BoothYAML", "BoothRender",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSwift
        ),
        .target(
            name: "BoothAPI",
            dependencies: [
                "BoothCore", "BoothService",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSwift
        ),

        // MARK: executables
        .executableTarget(
            name: "boothd",
            dependencies: [
                "BoothCore", "BoothService", "BoothAPI", "BoothMedia", "BoothProfiles", "BoothBlueZ", "BoothUdev",
                "BoothV4L2", "BoothUSB",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSwift
        ),
        .executableTarget(
            name: "boothctl",
            dependencies: [
                "BoothCore", "BoothService", "BoothAPI", "BoothMedia", "BoothProfiles", "BoothBlueZ", "BoothUSB",
                "BoothRender", "BoothV4L2",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: strictSwift
        ),

        // MARK: benchmarks (scripts/bench)
        .executableTarget(
            name: "booth-video-bench",
            dependencies: ["BoothMedia"],
            path: "scripts/bench/video/Bench",
            swiftSettings: strictSwift
        ),

        // MARK: tests
        .target(
            name: "BoothTesting",
            dependencies: ["BoothCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothCoreTests",
            dependencies: ["BoothCore", "BoothTesting"],
            resources: [.copy("Vectors")],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothBlueZTests",
            dependencies: ["BoothBlueZ", "BoothCore", "CGio"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothV4L2Tests",
            dependencies: ["BoothV4L2", "BoothMedia", "BoothCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothMediaTests",
            dependencies: ["BoothMedia", "BoothCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothAudioTests",
            dependencies: ["BoothMedia", "BoothCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothProfilesTests",
            dependencies: ["BoothProfiles", "BoothCore", "BoothYAML", "BoothTesting"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothUSBTests",
            dependencies: ["BoothUSB", "BoothCore", "CLibUSB"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothUdevTests",
            dependencies: ["BoothUdev", "BoothCore"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothRenderTests",
            dependencies: ["BoothRender", "BoothCore", "CCairo"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothServiceTests",
            dependencies: ["BoothService", "BoothMedia", "BoothRender", "BoothTesting"],
            swiftSettings: strictSwift
        ),
        .testTarget(
            name: "BoothAPITests",
            dependencies: [
                "BoothAPI", "BoothService", "BoothCore", "BoothTesting",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HummingbirdWSTesting", package: "hummingbird-websocket"),
            ],
            swiftSettings: strictSwift
        ),
    ]
)
