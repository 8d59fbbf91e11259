import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI

/// The CA rotation planner: which files each phase changes on which host, the bundle contents,
/// the refusals, resuming and idempotency. No files, no hosts.
@Suite struct CARotationTests {
    /// node1, node2: etcd + control plane; node3: etcd only; lb1: no PKI files.
    func plan() throws -> PKIPlan {
        var request = makeRequest(nodes: 3)
        request.nodes[2].roles = [.etcd]
        return try PKIPlan(request: request)
    }

    let hosts = ["node1", "node2", "node3", "lb1"]

    func phase(_ phase: RotationPhase, _ cas: [CertificateAuthority] = [.etcd], rotateKeys: Bool = false,
               state: RotationState?) throws -> RotationPhasePlan {
        try CARotationPlanner.plan(phase: phase, authorities: cas, rotateKeys: rotateKeys, state: state, pki: try plan(), hosts: hosts)
    }

    func files(_ plan: RotationPhasePlan, _ host: String) -> [String] {
        plan.hosts.first { $0.host == host }?.files ?? []
    }

    @Test func caNamesForTheFlag() throws {
        #expect(try CARotationPlanner.authorities("all") == [.kubernetes, .etcd, .frontProxy])
        #expect(try CARotationPlanner.authorities("front-proxy") == [.frontProxy])
        #expect(throws: ClusterupError.self) { try CARotationPlanner.authorities("etcd-ca") }
    }

    @Test func trustGivesEveryHostWithPKIFilesTheBundle() throws {
        let trust = try phase(.trust, state: nil)
        #expect(trust.bundle == .oldThenNew)
        #expect(trust.hosts.map(\.host) == ["node1", "node2", "node3"])
        #expect(trust.hosts.allSatisfy { $0.files == ["etcd/ca.crt"] })
        #expect(trust.local.contains("make a new etcd/ca (key in rotate-ca/new/)"))
        #expect(trust.state == RotationState(authorities: [.etcd], phase: .trust))

        // The Kubernetes CA is also in the kubeconfigs of control-plane hosts.
        let kubernetes = try phase(.trust, [.kubernetes], state: nil)
        #expect(files(kubernetes, "node1") == ["ca.crt", "admin.conf", "controller-manager.conf", "scheduler.conf"])
        #expect(files(kubernetes, "node3") == ["ca.crt"])
    }

    @Test func reissueChangesTheLeavesOfTheOldCAAndTheCAKeysOnControlPlaneHosts() throws {
        let state = RotationState(authorities: [.etcd], phase: .trust, prepared: .trust,
                                  hosts: ["node1": .trust, "node2": .trust, "node3": .trust])
        let reissue = try phase(.reissue, state: state)
        #expect(reissue.bundle == .newThenOld)
        #expect(files(reissue, "node1") == ["etcd/ca.crt", "etcd/ca.key", "nodes/node1/etcd/server.crt", "nodes/node1/etcd/peer.crt",
                                            "nodes/node1/etcd/healthcheck-client.crt", "nodes/node1/apiserver-etcd-client.crt"])
        #expect(files(reissue, "node3") == ["etcd/ca.crt", "nodes/node3/etcd/server.crt", "nodes/node3/etcd/peer.crt",
                                            "nodes/node3/etcd/healthcheck-client.crt"])
        #expect(!files(reissue, "node1").contains("nodes/node1/apiserver.crt"))  // signed by the Kubernetes CA
        #expect(reissue.state.phase == .reissue)

        let withKeys = try phase(.reissue, state: RotationState(authorities: [.etcd], rotateKeys: true, phase: .trust,
                                                                prepared: .trust, hosts: state.hosts))
        #expect(files(withKeys, "node3").contains("nodes/node3/etcd/peer.key"))
        #expect(!files(reissue, "node3").contains("nodes/node3/etcd/peer.key"))
    }

    @Test func finishLeavesOnlyTheNewCA() throws {
        let state = RotationState(authorities: [.kubernetes], phase: .reissue, prepared: .reissue,
                                  hosts: ["node1": .reissue, "node2": .reissue, "node3": .reissue])
        let finish = try phase(.finish, [.kubernetes], state: state)
        #expect(finish.bundle == .newOnly)
        #expect(files(finish, "node2") == ["ca.crt", "admin.conf", "controller-manager.conf", "scheduler.conf"])
        #expect(finish.local == ["ca.crt: the new CA only (the old key stays in rotate-ca/old/)"])
    }

    @Test func phasesRunInOrder() throws {
        #expect(throws: ClusterupError.self) { try phase(.reissue, state: nil) }
        #expect(throws: ClusterupError.self) { try phase(.finish, state: nil) }
        let trusted = RotationState(authorities: [.etcd], phase: .trust, prepared: .trust,
                                    hosts: ["node1": .trust, "node2": .trust, "node3": .trust])
        let skipped = #expect(throws: ClusterupError.self) { try phase(.finish, state: trusted) }
        #expect(skipped?.hint == "run --phase reissue first")
    }

    @Test func aPhaseRefusesToStartWhileThePreviousIsIncompleteOnAnyHost() throws {
        let partial = RotationState(authorities: [.etcd], phase: .trust, prepared: .trust, hosts: ["node1": .trust])
        let refused = #expect(throws: ClusterupError.self) { try phase(.reissue, state: partial) }
        #expect(refused?.message == "phase trust is not complete on node2, node3")
        #expect(refused?.kind == .badInput)
    }

    @Test func anotherRotationCannotStartMidway() throws {
        let underWay = RotationState(authorities: [.etcd], phase: .trust, prepared: .trust, hosts: ["node1": .trust])
        let refused = #expect(throws: ClusterupError.self) { try phase(.trust, [.kubernetes], state: underWay) }
        #expect(refused?.message.contains("a rotation of etcd/ca is under way") == true)
    }

    @Test func anExternalKubernetesCAIsNotRotated() throws {
        var request = makeRequest(nodes: 1)
        request.settings.externalCA = .init(certificatePath: "/ext/ca.crt", keyPath: "/ext/ca.key")
        let external = try PKIPlan(request: request)
        #expect(throws: ClusterupError.self) {
            try CARotationPlanner.plan(phase: .trust, authorities: [.kubernetes], rotateKeys: false, state: nil, pki: external, hosts: ["node1"])
        }
        let etcd = try CARotationPlanner.plan(phase: .trust, authorities: [.etcd], rotateKeys: false, state: nil, pki: external, hosts: ["node1"])
        #expect(etcd.hosts.map(\.host) == ["node1"])
    }

    @Test func aResumedPhaseDoesOnlyTheHostsLeftAndNeverMakesASecondCA() throws {
        // Trust stopped after node1: the new CA exists (prepared), node2 and node3 remain.
        let stopped = RotationState(authorities: [.etcd], phase: .trust, prepared: .trust, hosts: ["node1": .trust])
        let resumed = try phase(.trust, state: stopped)
        #expect(resumed.local.isEmpty)
        #expect(resumed.hosts.map(\.host) == ["node2", "node3"])
        // Stopped before any local step was recorded: the local steps run (once).
        let fresh = try phase(.trust, state: RotationState(authorities: [.etcd], phase: .trust))
        #expect(!fresh.local.isEmpty)
    }

    @Test func everyPhaseTwiceChangesNothing() throws {
        let all: [String: RotationPhase] = ["node1": .trust, "node2": .trust, "node3": .trust]
        let trustDone = RotationState(authorities: [.etcd], phase: .trust, prepared: .trust, hosts: all)
        #expect(try phase(.trust, state: trustDone).changesNothing)
        let reissueDone = RotationState(authorities: [.etcd], phase: .reissue, prepared: .reissue, hosts: all.mapValues { _ in .reissue })
        #expect(try phase(.reissue, state: reissueDone).changesNothing)
        #expect(try phase(.trust, state: reissueDone).changesNothing)
        let over = RotationState(authorities: [.etcd], phase: .finish, prepared: .finish, hosts: all.mapValues { _ in .finish })
        #expect(over.isOver)
        #expect(try phase(.finish, state: over).changesNothing)
        #expect(try phase(.reissue, state: over).changesNothing)
        // Once over, trust starts the next rotation.
        #expect(try phase(.trust, state: over).hosts.count == 3)
    }

    @Test func theStateFileRoundTripsBesideThePKI() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let directory = PKIDirectory(root: dir.pki)
        #expect(try RotationState.load(from: directory) == nil)
        let state = RotationState(authorities: [.etcd, .frontProxy], rotateKeys: true, phase: .reissue, prepared: .reissue,
                                  hosts: ["node1": .reissue, "node2": .trust])
        try state.save(to: directory)
        #expect(try RotationState.load(from: directory) == state)
        var info = stat()
        stat(dir.pki + "/" + RotationState.fileName, &info)
        #expect(info.st_mode & 0o777 == 0o600)
        FileManager.default.createFile(atPath: dir.pki + "/" + RotationState.fileName, contents: Data("{".utf8))
        #expect(throws: ClusterupError.self) { try RotationState.load(from: directory) }
    }
}

/// The local files of each phase, on a real PKI directory, checked with the openssl command.
@Suite struct CARotationFilesTests {
    func certificates(in path: String) -> Int {
        ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "").components(separatedBy: "BEGIN CERTIFICATE").count - 1
    }

    @Test func trustReissueFinishOnTheEtcdCA() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 2, directory: dir.pki))
        _ = try generator.run(now: fixedNow)
        let before = snapshot(dir.pki)
        let pki = dir.pki

        let trusted = try generator.prepareRotation(.trust, authorities: [.etcd], rotateKeys: false, now: fixedNow)
        #expect(Set(trusted) == ["rotate-ca/new/etcd/ca.key", "rotate-ca/new/etcd/ca.crt", "etcd/ca.crt"])
        #expect(certificates(in: pki + "/etcd/ca.crt") == 2)
        #expect(snapshot(pki)["etcd/ca.crt"]!.contents.starts(with: before["etcd/ca.crt"]!.contents))
        // Leaves of the old CA still verify against the bundle, and nothing else changed.
        #expect(openssl("verify", "-CAfile", pki + "/etcd/ca.crt", pki + "/nodes/node1/etcd/peer.crt").status == 0)
        #expect(snapshot(pki)["nodes/node1/etcd/peer.crt"] == before["nodes/node1/etcd/peer.crt"])

        let reissued = try generator.prepareRotation(.reissue, authorities: [.etcd], rotateKeys: false, now: fixedNow)
        #expect(reissued.contains("rotate-ca/old/etcd/ca.key") && reissued.contains("etcd/ca.key"))
        #expect(reissued.contains("nodes/node2/etcd/server.crt") && reissued.contains("nodes/node1/apiserver-etcd-client.crt"))
        #expect(!reissued.contains("nodes/node1/apiserver.crt") && !reissued.contains("nodes/node1/etcd/peer.key"))
        let newCA = pki + "/rotate-ca/new/etcd/ca.crt"
        for leaf in ["nodes/node1/etcd/peer.crt", "nodes/node2/etcd/server.crt", "nodes/node2/apiserver-etcd-client.crt"] {
            let result = openssl("verify", "-CAfile", newCA, pki + "/" + leaf)
            #expect(result.status == 0, "\(leaf): \(result.output)")
        }
        #expect(snapshot(pki)["rotate-ca/old/etcd/ca.key"]?.contents == before["etcd/ca.key"]?.contents)
        // Reissue again: nothing to swap, nothing to re-issue.
        #expect(try generator.prepareRotation(.reissue, authorities: [.etcd], rotateKeys: false, now: fixedNow).isEmpty)

        let finished = try generator.prepareRotation(.finish, authorities: [.etcd], rotateKeys: false, now: fixedNow)
        #expect(finished == ["etcd/ca.crt"])
        #expect(certificates(in: pki + "/etcd/ca.crt") == 1)
        #expect(snapshot(pki)["etcd/ca.crt"]?.contents == snapshot(pki)["rotate-ca/new/etcd/ca.crt"]?.contents)
        // certs gen afterwards finds nothing to do, and the old CA signs nothing that is left.
        #expect(try generator.run(now: fixedNow).written.isEmpty)
        let plan = try PKIPlan(request: makeRequest(nodes: 2, directory: pki))
        for leaf in plan.leaves where leaf.signingAuthority == .etcd {
            #expect(openssl("verify", "-CAfile", pki + "/rotate-ca/old/etcd/ca.crt", pki + "/" + leaf.certificatePath).status != 0, "\(leaf.name)")
        }
    }

    @Test func theKubernetesCABundleReachesTheKubeconfigs() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki))
        _ = try generator.run(now: fixedNow)
        let written = try generator.prepareRotation(.trust, authorities: [.kubernetes], rotateKeys: true, now: fixedNow)
        #expect(written.contains("admin.conf") && written.contains("scheduler.conf"))
        let admin = try String(contentsOfFile: dir.pki + "/admin.conf", encoding: .utf8)
        let bundle = try Data(contentsOf: URL(fileURLWithPath: dir.pki + "/ca.crt"))
        #expect(admin.contains("certificate-authority-data: \(bundle.base64EncodedString())"))
        let reissued = try generator.prepareRotation(.reissue, authorities: [.kubernetes], rotateKeys: true, now: fixedNow)
        #expect(reissued.contains("nodes/node1/apiserver.key"))  // --rotate-keys
        #expect(!reissued.contains("nodes/node1/etcd/server.crt"))
    }
}

/// `--rotate-sa`: the service-account pair through the same three phases.
@Suite struct ServiceAccountRotationTests {
    func plan() throws -> PKIPlan {
        var request = makeRequest(nodes: 2)
        request.nodes[1].roles = [.etcd]
        return try PKIPlan(request: request)
    }

    @Test func saFilesGoToControlPlaneHostsOnly() throws {
        let pki = try plan()
        let trust = try CARotationPlanner.plan(phase: .trust, authorities: [], serviceAccount: true, rotateKeys: false,
                                               state: nil, pki: pki, hosts: ["node1", "node2"])
        #expect(trust.hosts.map(\.host) == ["node1"])
        #expect(trust.hosts[0].files == ["sa.pub"])
        #expect(trust.state.rotatesServiceAccount && trust.state.subjects == "service-account key")
        let state = RotationState(authorities: [], serviceAccount: true, phase: .trust, prepared: .trust, hosts: ["node1": .trust])
        let reissue = try CARotationPlanner.plan(phase: .reissue, authorities: [], serviceAccount: true, rotateKeys: false,
                                                 state: state, pki: pki, hosts: ["node1", "node2"])
        #expect(reissue.hosts.map(\.files) == [["sa.pub", "sa.key"]])
        // A CA rotation is another rotation: refused while this one runs.
        #expect(throws: ClusterupError.self) {
            try CARotationPlanner.plan(phase: .reissue, authorities: [.etcd], rotateKeys: false, state: state, pki: pki, hosts: ["node1"])
        }
        #expect(throws: ClusterupError.self) {
            try CARotationPlanner.plan(phase: .trust, authorities: [], rotateKeys: false, state: nil, pki: pki, hosts: ["node1"])
        }
    }

    @Test func thePublicKeysFollowThePhasesAndSaKeyIsMovedAside() throws {
        let dir = TemporaryDirectory()
        defer { dir.remove() }
        let generator = try PKIGenerator(request: makeRequest(nodes: 1, directory: dir.pki))
        _ = try generator.run(now: fixedNow)
        let before = snapshot(dir.pki)
        func keys(_ path: String) -> Int {
            ((try? String(contentsOfFile: dir.pki + "/" + path, encoding: .utf8)) ?? "").components(separatedBy: "BEGIN PUBLIC KEY").count - 1
        }
        let trusted = try generator.prepareRotation(.trust, authorities: [], serviceAccount: true, rotateKeys: false, now: fixedNow)
        #expect(Set(trusted) == ["rotate-ca/new/sa.key", "rotate-ca/new/sa.pub", "sa.pub"])
        #expect(keys("sa.pub") == 2)
        #expect(snapshot(dir.pki)["sa.key"] == before["sa.key"])
        #expect(try generator.run(now: fixedNow).written.isEmpty)  // certs gen accepts the bundle

        let reissued = try generator.prepareRotation(.reissue, authorities: [], serviceAccount: true, rotateKeys: false, now: fixedNow)
        #expect(Set(reissued) == ["rotate-ca/old/sa.key", "rotate-ca/old/sa.pub", "sa.key", "sa.pub"])
        #expect(snapshot(dir.pki)["rotate-ca/old/sa.key"]?.contents == before["sa.key"]?.contents)
        #expect(snapshot(dir.pki)["sa.key"]?.contents == snapshot(dir.pki)["rotate-ca/new/sa.key"]?.contents)
        #expect(try generator.run(now: fixedNow).written.isEmpty)
        #expect(try generator.prepareRotation(.reissue, authorities: [], serviceAccount: true, rotateKeys: false, now: fixedNow).isEmpty)

        let finished = try generator.prepareRotation(.finish, authorities: [], serviceAccount: true, rotateKeys: false, now: fixedNow)
        #expect(finished == ["sa.pub"])
        #expect(keys("sa.pub") == 1)
        #expect(snapshot(dir.pki)["sa.pub"]?.contents == snapshot(dir.pki)["rotate-ca/new/sa.pub"]?.contents)
        #expect(try generator.run(now: fixedNow).written.isEmpty)
        // sa.pub is sa.key's public half.
        let derived = openssl("pkey", "-in", dir.pki + "/sa.key", "-pubout").output
        #expect(derived == (try String(contentsOfFile: dir.pki + "/sa.pub", encoding: .utf8)))
    }
}
