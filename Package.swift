// swift-tools-version:6.0
import PackageDescription

// clusterup-vrrpd's modules do not import _StringProcessing (Regex), which every module gets by
// default: the static daemon then links neither it nor _RegexParser (about 1 MB of binary).
// Exclusivity is checked at compile time only: the run-time checks (swift_beginAccess on every
// access to a class property) were 13% of the instructions per advert (callgrind), and the
// daemon runs all its state on one thread.
let vrrpdSize: [SwiftSetting] = [.unsafeFlags(["-Xfrontend", "-disable-implicit-string-processing-module-import", "-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "clusterup",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "clusterup", targets: ["clusterup"]),
        .executable(name: "clusterup-vrrpd", targets: ["clusterup-vrrpd"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
    ],
    targets: [
        // System libraries, found through pkg-config.
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        // Linux socket/netlink helpers for the VRRP daemon (our own C, glibc only).
        .target(name: "CVRRPSys"),

        // Pure cores.
        .target(name: "ClusterupCore", dependencies: [
            "VRRPConfig", "TextFormats",
            .product(name: "Yams", package: "Yams"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // Timeline pictures of probed operations: values in, SVG text out. No Foundation.
        .target(name: "Timeline"),
        // JSON output and the duration grammar, one rule each for the command line and the daemon. No Foundation.
        .target(name: "TextFormats", swiftSettings: vrrpdSize),
        // VRRP protocol: codec and state machine. No Foundation, so the daemon links small.
        .target(name: "VRRP", dependencies: ["TextFormats"], swiftSettings: vrrpdSize),
        // The VRRP configuration's limits, one rule each, shared by the daemon and the inventory.
        .target(name: "VRRPConfig", dependencies: ["VRRP", "TextFormats"], swiftSettings: vrrpdSize),

        // Adapters.
        .target(name: "ClusterupSSH", dependencies: ["CLibSSH2", "COpenSSL", "ClusterupCore"]),
        .target(name: "ClusterupPKI", dependencies: ["COpenSSL", "ClusterupCore"]),
        .target(name: "ClusterupLab", dependencies: ["ClusterupCore"]),
        .target(name: "VRRPDaemon", dependencies: ["VRRP", "VRRPConfig", "TextFormats", "CVRRPSys"], swiftSettings: vrrpdSize),
        // What clusterup knows about a node's components (paths, ports, etcdctl over TLS, HAProxy's
        // statistics, the VRRP daemon's status), shared by deploy, status, verify and Day-2 operations.
        .target(name: "ClusterupNodes", dependencies: ["ClusterupCore", "VRRPConfig"]),

        // Deploy: desired state per host, compared with what the hosts have, applied in phases.
        .target(name: "ClusterupDeploy", dependencies: [
            "ClusterupCore", "ClusterupSSH", "ClusterupPKI", "ClusterupNodes", "VRRPConfig",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),

        // verify / verify failover: non-disruptive checks and measured failover.
        .target(name: "ClusterupVerify", dependencies: ["COpenSSL", "ClusterupCore", "ClusterupSSH", "ClusterupNodes", "Timeline"]),

        // Day-2 rollout mechanism: availability through the VIP per step, HAProxy drain, VIP
        // handover, etcd member order, host-by-host rolling. Upgrades and other Day-2 operations use it.
        .target(name: "ClusterupRollout", dependencies: ["ClusterupCore", "ClusterupSSH", "ClusterupNodes", "ClusterupDeploy", "ClusterupVerify", "Timeline"]),

        // Commands.
        .target(name: "ClusterupCLI", dependencies: [
            "ClusterupCore", "ClusterupSSH", "ClusterupPKI", "ClusterupLab", "ClusterupNodes", "ClusterupDeploy", "ClusterupVerify", "ClusterupRollout", "VRRP",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        .executableTarget(name: "clusterup", dependencies: ["ClusterupCLI"]),
        .executableTarget(name: "clusterup-vrrpd", dependencies: ["VRRPDaemon"], swiftSettings: vrrpdSize),

        // What several test targets share: the demo inventory, the one process runner, the
        // requires-root trait, where the built programs are. Not a test target: others import it.
        .target(name: "TestSupport", dependencies: ["ClusterupCore", "CTestSupport"], path: "Tests/TestSupport"),
        // glibc's posix_spawn extensions for TestSupport's process runner (close inherited descriptors, chdir).
        .target(name: "CTestSupport", path: "Tests/CTestSupport"),

        .testTarget(name: "ClusterupCoreTests", dependencies: ["ClusterupCore", "TestSupport"]),
        .testTarget(name: "ClusterupSSHTests", dependencies: ["ClusterupSSH", "TestSupport"]),
        .testTarget(name: "ClusterupPKITests", dependencies: ["ClusterupPKI", "TestSupport"]),
        .testTarget(name: "ClusterupNodesTests", dependencies: ["ClusterupNodes"]),
        .testTarget(name: "ClusterupDeployTests", dependencies: ["ClusterupDeploy", "ClusterupNodes", "ClusterupSSH", "VRRPConfig", "TestSupport"]),
        .testTarget(name: "ClusterupVerifyTests", dependencies: [
            "ClusterupVerify", "ClusterupNodes", "Timeline",
            // The served-certificate tests: certificates from ClusterupPKI, an in-process OpenSSL server.
            "ClusterupPKI", "COpenSSL", "ClusterupCore", "TestSupport",
        ]),
        // Fixtures: answers HAProxy 2.6 gave over its runtime API (read through #filePath).
        .testTarget(name: "ClusterupRolloutTests", dependencies: ["ClusterupRollout", "ClusterupNodes", "ClusterupVerify", "ClusterupDeploy", "ClusterupSSH", "Timeline", "TestSupport"], exclude: ["Fixtures"]),
        // Golden pictures live in Fixtures (read through #filePath; TIMELINE_GOLDEN=update rewrites them).
        .testTarget(name: "TimelineTests", dependencies: ["Timeline", "TestSupport"], exclude: ["Fixtures"]),
        .testTarget(name: "VRRPTests", dependencies: [
            "VRRP", "VRRPConfig", "VRRPDaemon", "TextFormats", "TestSupport",
            // Renders templates/keepalived.conf.mustache for the template tests.
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        // clusterup-vrrpd's binary in network namespaces (lab/netns.sh), alone and beside keepalived: root.
        .testTarget(name: "VRRPLabTests", dependencies: [
            "VRRP", "TestSupport",
            .product(name: "Mustache", package: "swift-mustache"),
        ]),
        // Pure tests of the lab's decisions (address plan, state, files) and of the commands (parsing, reports).
        // Not "ClusterupLabTests": the unit test command skips every test whose name matches 'LabTests\.'.
        .testTarget(name: "ClusterupLabUnitTests", dependencies: ["ClusterupLab", "ClusterupCore"]),
        .testTarget(name: "ClusterupCLITests", dependencies: [
            "ClusterupCLI", "ClusterupCore", "ClusterupDeploy", "ClusterupRollout", "ClusterupLab",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        // Real nodes (systemd-nspawn labs) and the built clusterup program: root.
        .testTarget(name: "LabTests", dependencies: ["ClusterupLab", "ClusterupSSH", "ClusterupNodes", "ClusterupDeploy", "ClusterupVerify", "ClusterupRollout", "VRRP", "TestSupport"]),
    ]
)
