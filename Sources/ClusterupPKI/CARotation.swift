import ClusterupCore
import Foundation

/// The three phases of a CA rotation, each a separate run with `verify` between them.
public enum RotationPhase: String, Sendable, Codable, CaseIterable, Comparable {
    /// A new CA is made; every trust point gets a bundle of old + new.
    case trust
    /// Every leaf of the old CA is re-issued by the new one; the bundles put the new CA first.
    case reissue
    /// The old CA leaves every bundle; its key is moved aside locally.
    case finish

    public static func < (lhs: Self, rhs: Self) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }

    public var previous: RotationPhase? {
        let index = Self.allCases.firstIndex(of: self)!
        return index == 0 ? nil : Self.allCases[index - 1]
    }
}

/// Where a rotation stands, kept beside the PKI (`rotate-ca.json` in pki.directory): the CAs it
/// replaces, and per host the last phase rolled out there.
public struct RotationState: Sendable, Codable, Equatable {
    public var authorities: [CertificateAuthority]
    public var rotateKeys: Bool
    /// The phase last started; hosts not at it yet are what a re-run of that phase still does.
    public var phase: RotationPhase
    /// The last phase whose local steps (new CA, bundles, re-issue) are done: a resumed run never
    /// makes a second new CA.
    public var prepared: RotationPhase?
    public var hosts: [String: RotationPhase]
    /// The service-account key pair rotates too (`--rotate-sa`); absent in files of older runs.
    public var serviceAccount: Bool?

    public init(authorities: [CertificateAuthority], serviceAccount: Bool = false, rotateKeys: Bool = false, phase: RotationPhase,
                prepared: RotationPhase? = nil, hosts: [String: RotationPhase] = [:]) {
        self.serviceAccount = serviceAccount ? true : nil
        self.authorities = authorities
        self.rotateKeys = rotateKeys
        self.phase = phase
        self.prepared = prepared
        self.hosts = hosts
    }

    public static let fileName = "rotate-ca.json"

    /// Hosts (of `hosts`) where `phase` is not rolled out yet.
    public func incomplete(_ phase: RotationPhase, of hosts: [String]) -> [String] {
        hosts.filter { self.hosts[$0].map { $0 < phase } ?? true }
    }

    public var rotatesServiceAccount: Bool { serviceAccount == true }

    /// `ca, etcd/ca, service-account key`: what is rotated, in words.
    public var subjects: String {
        (authorities.map(\.rawValue) + (rotatesServiceAccount ? ["service-account key"] : [])).joined(separator: ", ")
    }

    public var isOver: Bool { phase == .finish && hosts.values.allSatisfy { $0 == .finish } }
}

/// What a CA's trust file holds during each phase: the signing CA first (PKIGenerator signs with
/// the first certificate of `ca.crt`), the other one after it while both are trusted.
public enum TrustBundle: String, Sendable, Codable, Equatable {
    case oldThenNew = "old+new"
    case newThenOld = "new+old"
    case newOnly = "new"

    public static func during(_ phase: RotationPhase) -> TrustBundle {
        switch phase {
        case .trust: .oldThenNew
        case .reissue: .newThenOld
        case .finish: .newOnly
        }
    }
}

/// One phase of a rotation, planned: what changes locally and which files change on which host.
public struct RotationPhasePlan: Sendable, Equatable {
    public struct HostFiles: Sendable, Equatable {
        public var host: String
        /// Paths under the local PKI directory (the node paths follow from `PKIPlan.files(forNode:)`
        /// and, for kubeconfigs, /etc/kubernetes).
        public var files: [String]
    }

    public var phase: RotationPhase
    public var authorities: [CertificateAuthority]
    public var serviceAccount: Bool
    public var bundle: TrustBundle
    /// What this machine does first, in words.
    public var local: [String]
    /// Hosts still to do, in inventory order; empty when the phase is complete everywhere.
    public var hosts: [HostFiles]
    /// The state to write once the phase has started.
    public var state: RotationState

    public var changesNothing: Bool { local.isEmpty && hosts.isEmpty }
}

/// The pure rotation planner: refusals, the files each phase changes per host, and resuming.
public enum CARotationPlanner {
    /// `--ca all` and the single names.
    public static func authorities(_ text: String) throws(ClusterupError) -> [CertificateAuthority] {
        switch text {
        case "all": return CertificateAuthority.allCases
        case "kubernetes": return [.kubernetes]
        case "etcd": return [.etcd]
        case "front-proxy": return [.frontProxy]
        default:
            throw .badInput("unknown CA '\(text)'", at: "--ca", hint: "use kubernetes, etcd, front-proxy or all")
        }
    }

    /// Plans `phase` of rotating `authorities` on `hosts` (inventory order) given the saved state
    /// (nil: no rotation under way). Throws, changing nothing, when the phase may not run now.
    public static func plan(
        phase: RotationPhase, authorities requested: [CertificateAuthority], serviceAccount: Bool = false, rotateKeys: Bool,
        state saved: RotationState?, pki: PKIPlan, hosts inventoryHosts: [String]
    ) throws(ClusterupError) -> RotationPhasePlan {
        let authorities = CertificateAuthority.allCases.filter(requested.contains)
        guard !authorities.isEmpty || serviceAccount else {
            throw .badInput("nothing to rotate", at: "--ca", hint: "use --ca kubernetes, etcd, front-proxy or all, and/or --rotate-sa")
        }
        if authorities.contains(.kubernetes), pki.externalCA != nil {
            throw .badInput("the Kubernetes CA is external (pki.external_ca): clusterup does not replace it", at: "--ca",
                            hint: "rotate it where it is managed, or rotate etcd and front-proxy only")
        }
        let hosts = participants(authorities: authorities, serviceAccount: serviceAccount, pki: pki, hosts: inventoryHosts)
        let wanted = RotationState(authorities: authorities, serviceAccount: serviceAccount, rotateKeys: rotateKeys, phase: .trust)
        let names = wanted.subjects
        func same(_ old: RotationState) -> Bool { old.authorities == authorities && old.rotatesServiceAccount == serviceAccount }
        func nothing(_ state: RotationState) -> RotationPhasePlan {
            RotationPhasePlan(phase: phase, authorities: authorities, serviceAccount: serviceAccount, bundle: .during(phase),
                              local: [], hosts: [], state: state)
        }

        var state: RotationState
        if let old = saved, !old.isOver {
            guard same(old) else {
                throw .badInput("a rotation of \(old.subjects) is under way (phase \(old.phase.rawValue)); \(names) cannot start now",
                                at: "--ca", hint: "finish it first (certs rotate-ca status shows where it stands), or name the same CAs")
            }
            state = old
            if phase > old.phase {
                guard phase.previous == old.phase else {
                    throw .badInput("--phase \(phase.rawValue) comes after \(phase.previous!.rawValue); the rotation is at \(old.phase.rawValue)",
                                    at: "--phase", hint: "run --phase \(phase.previous!.rawValue) first")
                }
                let behind = old.incomplete(old.phase, of: hosts)
                guard behind.isEmpty else {
                    throw .badInput("phase \(old.phase.rawValue) is not complete on \(behind.joined(separator: ", "))", at: "--phase",
                                    hint: "re-run --phase \(old.phase.rawValue) (it resumes on those hosts), then verify, then --phase \(phase.rawValue)")
                }
                state.phase = phase
            } else if phase < old.phase {
                // An earlier phase again: done everywhere already (the next one could not have started otherwise).
                return nothing(old)
            }
        } else if phase == .trust {
            state = wanted
        } else if let over = saved, same(over) {
            // The rotation is over: every phase again is a no-op.
            return nothing(over)
        } else {
            throw .badInput("no CA rotation of \(names) is under way, so --phase \(phase.rawValue) has nothing to continue", at: "--phase",
                            hint: "start with --phase trust")
        }

        let todo = state.incomplete(phase, of: hosts)
        let local = state.prepared.map { $0 < phase } ?? true ? localSteps(phase, authorities, serviceAccount: serviceAccount) : []
        let hostFiles = todo.map { host in
            RotationPhasePlan.HostFiles(host: host, files: files(phase, authorities, serviceAccount: serviceAccount,
                                                                 rotateKeys: state.rotateKeys, pki: pki, host: host))
        }
        return RotationPhasePlan(phase: phase, authorities: authorities, serviceAccount: serviceAccount, bundle: .during(phase),
                                 local: local, hosts: hostFiles, state: state)
    }
    /// The hosts holding a file of the rotation (lb-only hosts none; with --rotate-sa alone, the
    /// control-plane hosts). Every phase changes at least the trust phase's files there.
    public static func participants(
        authorities: [CertificateAuthority], serviceAccount: Bool, pki: PKIPlan, hosts: [String]
    ) -> [String] {
        hosts.filter { !files(.trust, authorities, serviceAccount: serviceAccount, rotateKeys: false, pki: pki, host: $0).isEmpty }
    }

    /// What this machine does at the start of a phase (never again on a resumed run).
    static func localSteps(_ phase: RotationPhase, _ authorities: [CertificateAuthority], serviceAccount: Bool) -> [String] {
        let sa: [String]
        switch phase {
        case .trust: sa = ["make a new service-account key pair (rotate-ca/new/sa.key)", "sa.pub: old + new public keys"]
        case .reissue: sa = ["move the old sa.key to rotate-ca/old/, sign with the new one", "sa.pub: new + old public keys"]
        case .finish: sa = ["sa.pub: the new public key only (the old key stays in rotate-ca/old/)"]
        }
        return authorities.flatMap { ca -> [String] in
            switch phase {
            case .trust:
                ["make a new \(ca.rawValue) (key in rotate-ca/new/)", "\(ca.certificatePath): bundle of old + new"]
            case .reissue:
                ["move the old \(ca.rawValue) to rotate-ca/old/, the new one to \(ca.certificatePath) (new + old) and \(ca.keyPath)",
                 "re-issue every leaf signed by the old \(ca.rawValue)"]
            case .finish:
                ["\(ca.certificatePath): the new CA only (the old key stays in rotate-ca/old/)"]
            }
        } + (serviceAccount ? sa : [])
    }

    /// Local paths that change on `host` in `phase`.
    static func files(_ phase: RotationPhase, _ authorities: [CertificateAuthority], serviceAccount: Bool = false,
                      rotateKeys: Bool, pki: PKIPlan, host: String) -> [String] {
        let held = Set(pki.files(forNode: host).map(\.local))
        var result: [String] = authorities.map(\.certificatePath).filter(held.contains)
        if phase == .reissue {
            // CA keys go to control-plane hosts (the controller-manager signs with them).
            result += authorities.map(\.keyPath).filter(held.contains)
            for leaf in pki.leaves where leaf.node == host && authorities.contains(leaf.signingAuthority!) {
                result.append(leaf.certificatePath)
                if rotateKeys { result.append(leaf.keyPath) }
            }
        }
        // Kubeconfigs embed the Kubernetes CA (all phases) and a client certificate it signs (reissue).
        if authorities.contains(.kubernetes), pki.leaves.contains(where: { $0.node == host && $0.kind == "apiserver" }) {
            result += pki.kubeconfigs.map(\.path)
        }
        // The apiserver verifies tokens with every key in sa.pub; the signers use sa.key.
        if serviceAccount {
            result += [pki.serviceAccount.publicKeyPath].filter(held.contains)
            if phase == .reissue { result += [pki.serviceAccount.privateKeyPath].filter(held.contains) }
        }
        return result
    }
}

extension RotationState {
    /// Reads `rotate-ca.json` from the PKI directory; nil when there is none.
    public static func load(from directory: PKIDirectory) throws(ClusterupError) -> RotationState? {
        guard case .contents(let data) = try directory.read(fileName) else { return nil }
        do {
            let decoder = JSONDecoder()
            return try decoder.decode(RotationState.self, from: data)
        } catch {
            throw .badInput("the rotation state cannot be read: \(error)", at: directory.absolute(fileName),
                            hint: "it is written by certs rotate-ca; restore it from a backup of the PKI directory")
        }
    }

    public func save(to directory: PKIDirectory) throws(ClusterupError) {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        let data = (try? encoder.encode(self)) ?? Data()
        _ = try directory.write([FileWrite(path: Self.fileName, contents: data, mode: 0o600).flushed])
    }
}
