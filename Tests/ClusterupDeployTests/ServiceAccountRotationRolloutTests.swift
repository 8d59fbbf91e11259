import ClusterupCore
import ClusterupNodes
import ClusterupPKI
import Foundation
import Testing
@testable import ClusterupDeploy
import TestSupport

/// `certs rotate-ca --rotate-sa` as the nodes see it, phase by phase: which files reach which
/// host and what restarts, the flags that read them, and the keys in those files. The overlap
/// rule: at every phase the apiserver's `--service-account-key-file` holds the public half of the
/// key that signs (`--service-account-signing-key-file`, the controller-manager's
/// `--service-account-private-key-file`) and of every key that signed before, until finish.
@Suite struct ServiceAccountRotationRolloutTests {
    let hosts = DemoInventory.hosts([DemoInventory.allRoles, DemoInventory.allRoles, [.etcd]])

    func generator(_ directory: String) throws -> PKIGenerator {
        try PKIGenerator(request: PKIRequest(
            clusterName: "demo",
            nodes: hosts.map { PKIRequest.Node(name: $0.name, addresses: [$0.address], roles: $0.roles.contains(.controlPlane) ? [.etcd, .controlPlane] : [.etcd]) },
            vipAddress: "198.51.100.62", settings: PKISettings(directory: directory)))
    }

    /// The public keys in a PEM file, each as one line of base64.
    func publicKeys(_ path: String) throws -> [String] {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        return text.components(separatedBy: "-----BEGIN PUBLIC KEY-----").dropFirst().map {
            $0.components(separatedBy: "-----END PUBLIC KEY-----")[0].filter { !$0.isWhitespace }
        }
    }

    /// The public half of a private key file (openssl).
    func publicHalf(_ keyPath: String) throws -> String {
        let pem = try runShell("openssl pkey -in '\(keyPath)' -pubout")
        return try publicKeys(writeScratch(pem)).first!
    }

    func writeScratch(_ text: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("sa-\(UUID().uuidString).pem").path
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// The `--flag=value` of a rendered unit.
    func flag(_ name: String, in unit: String) -> String? {
        unit.split(separator: "\n").lazy.map { $0.trimmingCharacters(in: .whitespaces) }
            .first { $0.hasPrefix("--\(name)=") }
            .map { String($0.dropFirst("--\(name)=".count)).replacingOccurrences(of: " \\", with: "") }
    }

    func render(_ unit: String) throws -> String {
        try TemplateSet().render(unit, [
            "cluster": "demo", "name": "node1", "address": "198.51.100.11", "pki": NodeLayout.pkiDirectory,
            "kubernetesDir": DeployInputs.kubernetesDirectory, "clusterDomain": "cluster.local", "serviceCIDR": "10.96.0.0/12",
            "binary": "/usr/local/bin/\(unit.replacingOccurrences(of: ".service", with: ""))", "extraArgs": [String](),
            "etcdServers": "https://198.51.100.11:2379",
        ])
    }

    @Test func theFlagsReadTheFilesTheRotationInstalls() throws {
        let apiserver = try render("kube-apiserver.service")
        let controllerManager = try render("kube-controller-manager.service")
        // Paths, not contents: the flags are the same at every phase, the files behind them change.
        #expect(flag("service-account-key-file", in: apiserver) == "/etc/kubernetes/pki/sa.pub")
        #expect(flag("service-account-signing-key-file", in: apiserver) == "/etc/kubernetes/pki/sa.key")
        #expect(flag("service-account-private-key-file", in: controllerManager) == "/etc/kubernetes/pki/sa.key")
        #expect(flag("service-account-issuer", in: apiserver) == "https://kubernetes.default.svc.cluster.local")
    }

    @Test func eachPhaseInstallsItsSAFilesOnControlPlaneHostsAndKeepsTheSigningKeyTrusted() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sa-rollout-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let pki = try generator(directory)
        _ = try pki.run(now: Date())
        let oldPublic = try publicHalf(directory + "/sa.key")
        #expect(try publicKeys(directory + "/sa.pub") == [oldPublic])

        var state: RotationState?
        var newPublic: String?
        // Phase → (remote files per control-plane host, keys in sa.pub, the signing key's public half).
        for phase in RotationPhase.allCases {
            let plan = try CARotationPlanner.plan(phase: phase, authorities: [], serviceAccount: true, rotateKeys: false,
                                                  state: state, pki: pki.plan, hosts: hosts.map(\.name))
            _ = try pki.prepareRotation(phase, authorities: [], serviceAccount: true, rotateKeys: false, now: Date())
            var next = plan.state
            next.prepared = phase
            for host in plan.hosts { next.hosts[host.host] = phase }
            state = next
            if phase == .trust { newPublic = try publicHalf(directory + "/rotate-ca/new/sa.key") }
            let new = try #require(newPublic)
            #expect(new != oldPublic)

            let placements = PKIFilePlacement.placements(of: Set(plan.hosts.flatMap(\.files)), plan: pki.plan, hosts: hosts)
            #expect(placements.map(\.host) == ["node1", "node2"], "\(phase): the SA pair lives on control-plane hosts only")
            let installed = placements[0].files.map(\.remote).sorted()
            // Both readers restart: the apiserver reads the key file at start, the controller-manager its signing key.
            for placement in placements {
                #expect(placement.restarts.contains("kube-apiserver.service"), "\(phase) \(placement.host)")
                #expect(placement.restarts.contains("kube-controller-manager.service"), "\(phase) \(placement.host)")
            }
            let keys = try publicKeys(directory + "/sa.pub")
            let signing = try publicHalf(directory + "/sa.key")
            #expect(keys.contains(signing), "\(phase): the key that signs is not among the keys that verify")
            switch phase {
            case .trust:
                #expect(installed == ["/etc/kubernetes/pki/sa.pub"], "trust changes only the verifying keys")
                #expect(Set(keys) == [oldPublic, new] && keys.count == 2)
                #expect(signing == oldPublic, "the old key still signs")
            case .reissue:
                #expect(installed == ["/etc/kubernetes/pki/sa.key", "/etc/kubernetes/pki/sa.pub"])
                #expect(Set(keys) == [oldPublic, new] && keys.count == 2, "tokens of the old key still verify")
                #expect(signing == new, "the new key signs")
                #expect(try publicHalf(directory + "/rotate-ca/old/sa.key") == oldPublic, "the old key moved aside")
            case .finish:
                #expect(installed == ["/etc/kubernetes/pki/sa.pub"])
                #expect(keys == [new], "the old public key is gone")
                #expect(signing == new)
            }
            // Installed bytes are the PKI directory's: what the node's sa.pub holds is what was checked above.
            let local = placements[0].files.first { $0.remote.hasSuffix("sa.pub") }?.local
            #expect(local == "sa.pub", "\(phase)")
        }
    }
}
