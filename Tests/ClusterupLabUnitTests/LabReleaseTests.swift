import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab

/// Releases, the choice of a node's lower layer and the image cache's pure parts (no root).
@Suite struct LabReleaseTests {
    @Test func releasesParseByCodenameOrNumber() throws {
        #expect(try DebianRelease.parse("trixie") == .trixie)
        #expect(try DebianRelease.parse("13") == .trixie)
        #expect(try DebianRelease.parse("Bookworm") == .bookworm)
        let error = try #require(throws: ClusterupError.self) { try DebianRelease.parse("sid") }
        #expect(error.exitCode == 2)
        #expect("\(error)".contains("--release") && "\(error)".contains("trixie (13)"), "\(error)")
    }

    @Test func hostReleaseComesFromOSRelease() {
        let bookworm = """
        PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
        NAME="Debian GNU/Linux"
        VERSION_ID="12"
        VERSION_CODENAME=bookworm
        ID=debian
        """
        #expect(DebianRelease.fromOSRelease(bookworm) == .bookworm)
        #expect(DebianRelease.fromOSRelease("ID=debian\nVERSION_CODENAME=\"trixie\"\n") == .trixie)
        // Ubuntu names its own codenames; a derivative is not Debian's release.
        #expect(DebianRelease.fromOSRelease("ID=ubuntu\nVERSION_CODENAME=noble\nID_LIKE=debian\n") == nil)
        #expect(DebianRelease.fromOSRelease("ID=debian\nVERSION_CODENAME=forky\n") == nil)
    }

    @Test func theHostsOwnReleaseBootsItsRootAnyOtherAnImage() {
        #expect(NodeBase.choose(requested: nil, host: .bookworm) == .hostRoot)
        #expect(NodeBase.choose(requested: .bookworm, host: .bookworm) == .hostRoot)
        #expect(NodeBase.choose(requested: .trixie, host: .bookworm) == .image(.trixie))
        #expect(NodeBase.choose(requested: .bookworm, host: .trixie) == .image(.bookworm))
        // A host that is neither boots its own root unless a release is asked for.
        #expect(NodeBase.choose(requested: nil, host: nil) == .hostRoot)
        #expect(NodeBase.choose(requested: .bookworm, host: nil) == .image(.bookworm))
    }

    @Test func onlyTrixieNodesAskNspawnForCgroup2() throws {
        let plan = try AddressPlan(block: 1)
        let paths = LabPaths(name: try LabName("rel"), root: "/srv/labs")
        var node = paths.node(1, plan: plan)
        #expect(LabController.nspawnEnvironment(node).isEmpty)
        node.release = .bookworm
        #expect(LabController.nspawnEnvironment(node).isEmpty)
        node.release = .trixie
        #expect(LabController.nspawnEnvironment(node) == ["SYSTEMD_NSPAWN_UNIFIED_HIERARCHY": "1"])
    }

    @Test func nodesRecordTheirReleaseAndLowerLayerAndOldStatesStillLoad() throws {
        let plan = try AddressPlan(block: 1)
        let paths = LabPaths(name: try LabName("rel"), root: "/srv/labs")
        var state = LabState(name: try LabName("rel"), plan: plan, createdAt: Date(timeIntervalSince1970: 0))
        let image = LabController.ResolvedBase(release: .trixie, image: "/var/cache/clusterup-lab/images/trixie-node")
        state.nodes = [paths.node(1, plan: plan), image.apply(to: paths.node(2, plan: plan))]
        let decoded = try LabState.decode(try state.encoded())
        #expect(decoded.nodes[0].release == nil && decoded.nodes[0].lower == "/")
        #expect(decoded.nodes[1].release == .trixie && decoded.nodes[1].lower == "/var/cache/clusterup-lab/images/trixie-node")
        // A state written before releases existed has neither key.
        let old = String(decoding: try state.encoded(), as: UTF8.self)
            .replacingOccurrences(of: "\"release\" : \"trixie\",", with: "")
            .replacingOccurrences(of: "\"lowerDirectory\" : \"/var/cache/clusterup-lab/images/trixie-node\",", with: "")
        #expect(!old.contains("trixie"))
        let loaded = try LabState.decode(Data(old.utf8))
        #expect(loaded.nodes.allSatisfy { $0.release == nil && $0.lower == "/" })
    }

    @Test func nodeImagesHoldWhatDeployAndTheStandinsCall() {
        let arguments = ImageCache.debootstrapArguments(.trixie, target: "/cache/.trixie-node.abc")
        #expect(arguments.first == "--variant=minbase")
        #expect(arguments.suffix(3) == ["trixie", "/cache/.trixie-node.abc", ImageCache.mirror])
        #expect(arguments.contains("--keyring=/usr/share/keyrings/debian-archive-trixie-stable.gpg"))
        let included = Set(arguments.first { $0.hasPrefix("--include=") }!.dropFirst("--include=".count).split(separator: ",").map(String.init))
        // What deploy installs (ArtifactsPhase) and calls (curl, nft, ip, openssl), sshd and the stand-ins' python3.
        for package in ["etcd-server", "etcd-client", "haproxy", "keepalived", "nftables", "iproute2", "openssl", "curl",
                        "openssh-server", "python3", "systemd", "libpam-systemd", "sudo", "socat"] {
            #expect(included.contains(package), "\(package)")
        }
    }

    @Test func imagesAreNamedByReleaseAndPurpose() {
        #expect(ImageCache.nodeImageName(.trixie) == "trixie-node")
        #expect(ImageCache.describe("trixie-node") == (.trixie, "lab node"))
        #expect(ImageCache.describe("bookworm-pkgtest") == (.bookworm, "package test"))
        #expect(ImageCache.describe("scratch") == (nil, "unknown"))
    }

    @Test func anImageIsInUseWhileAnOverlayHasItAsLowerLayer() {
        let image = "/var/cache/clusterup-lab/images/trixie-node"
        let mountinfo = """
        22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
        310 22 0:80 / /var/lib/clusterup/labs/rela/nodes/node1 rw,relatime shared:2 - overlay overlay rw,lowerdir=\(image),upperdir=/var/lib/clusterup/labs/rela/layers/node1/upper,workdir=/var/lib/clusterup/labs/rela/layers/node1/work
        311 22 0:81 / /var/lib/clusterup/labs/relb/nodes/node1 rw,relatime - overlay overlay rw,lowerdir=/,upperdir=/x/upper,workdir=/x/work
        312 22 0:82 / /var/lib/clusterup/pkgtest/trixie-1/root rw - overlay overlay rw,lowerdir=/a:\(image),upperdir=/u,workdir=/w
        313 22 0:83 / /mnt/other rw - overlay overlay rw,lowerdir=\(image)-old,upperdir=/u,workdir=/w
        """
        #expect(ImageCache.overlaysUsing(image, mountinfo: mountinfo)
                == ["/var/lib/clusterup/labs/rela/nodes/node1", "/var/lib/clusterup/pkgtest/trixie-1/root"])
        #expect(ImageCache.overlaysUsing("/var/cache/clusterup-lab/images/bookworm-node", mountinfo: mountinfo).isEmpty)
    }

    @Test func listingAndRemovingWorkOnAScratchCache() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rel-images-\(getpid())").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        for name in ["trixie-node", "bookworm-pkgtest"] {
            try FileManager.default.createDirectory(atPath: "\(directory)/\(name)/etc", withIntermediateDirectories: true)
            try String(repeating: "x", count: 10_000).write(toFile: "\(directory)/\(name)/etc/data", atomically: true, encoding: .utf8)
        }
        try "".write(toFile: "\(directory)/trixie-node/.complete", atomically: true, encoding: .utf8)
        try "".write(toFile: "\(directory)/.trixie-node.lock", atomically: true, encoding: .utf8)
        let cache = ImageCache(directory: directory)
        let images = cache.list()
        #expect(images.map(\.name) == ["bookworm-pkgtest", "trixie-node"])
        #expect(images.map(\.complete) == [false, true])
        #expect(images[1].builtAt != nil && images[0].builtAt == nil)
        #expect(images.allSatisfy { ($0.sizeBytes ?? 0) >= 10_000 }, "\(images)")
        #expect(cache.isBuilt("trixie-node") && !cache.isBuilt("bookworm-pkgtest"))

        let planned = try cache.remove("trixie-node", dryRun: true)
        #expect(planned.name == "trixie-node" && FileManager.default.fileExists(atPath: planned.path))
        _ = try cache.remove("trixie-node")
        #expect(!FileManager.default.fileExists(atPath: "\(directory)/trixie-node"))
        #expect(cache.list().map(\.name) == ["bookworm-pkgtest"])
        let missing = try #require(throws: ClusterupError.self) { try cache.remove("trixie-node") }
        #expect(missing.exitCode == 2 && "\(missing)".contains("bookworm-pkgtest"), "\(missing)")
    }

    @Test func nspawnJoinsTheNodesOwnGroupsThenKeepsItsPid() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rel-cg-\(getpid())").path
        try FileManager.default.createDirectory(atPath: "\(directory)/with space", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = ["\(directory)/cgroup.procs", "\(directory)/with space/cgroup.procs"]
        let script = NodeCgroups.joinThenExec(files)
        #expect(script.hasSuffix("exec \"$@\""))
        // The pid written is the pid of what it execs (here a shell printing its own pid).
        let result = try HostCommands().run("/bin/sh", ["-c", script, "sh", "/bin/sh", "-c", "echo $$"])
        #expect(result.status == 0, "\(result.stderr)")
        let pid = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        for file in files {
            #expect(try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines) == pid)
        }
        // A group that cannot be joined stops it before nspawn runs.
        let refused = try HostCommands().run("/bin/sh", ["-c", NodeCgroups.joinThenExec(["\(directory)/missing/cgroup.procs"]), "sh", "/bin/echo", "ran"])
        #expect(refused.status != 0 && !refused.stdout.contains("ran"))
    }

    @Test func cgroup2IsFoundWhereverThisHostMountedIt() {
        let mount = { (point: String, type: String, source: String) in ProcFS.Mount(mountPoint: point, fileSystemType: type, source: source) }
        #expect(NodeCgroups.unifiedMount([mount("/sys/fs/cgroup/systemd", "cgroup", "cgroup")]) == nil)
        #expect(NodeCgroups.unifiedMount([mount("/sys/fs/cgroup/unified", "cgroup2", "cgroup2")]) == "/sys/fs/cgroup/unified")
        #expect(NodeCgroups.unifiedMount([mount("/sys/fs/cgroup/unified", "cgroup2", "cgroup2"),
                                          mount(NodeCgroups.ownMount, "cgroup2", NodeCgroups.mountSource)]) == NodeCgroups.ownMount)
        #expect(NodeCgroups.directory(root: "/sys/fs/cgroup/unified", machine: "rel-n1") == "/sys/fs/cgroup/unified/clusterup-lab/rel-n1")
    }

    @Test func anImageBuiltWithAnotherPackageListIsNotCurrent() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("rel-current-\(getpid())").path
        try FileManager.default.createDirectory(atPath: "\(directory)/trixie-node", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let cache = ImageCache(directory: directory)
        #expect(!cache.isCurrentNodeImage(.trixie))
        try ImageCache.marker(.trixie).write(toFile: "\(directory)/trixie-node/.complete", atomically: true, encoding: .utf8)
        #expect(cache.isCurrentNodeImage(.trixie) && !cache.isCurrentNodeImage(.bookworm))
        // Built before socat was on the list: complete, but not current.
        try ImageCache.marker(.trixie).replacingOccurrences(of: " socat", with: "")
            .write(toFile: "\(directory)/trixie-node/.complete", atomically: true, encoding: .utf8)
        #expect(cache.isBuilt("trixie-node") && !cache.isCurrentNodeImage(.trixie))
    }
}
