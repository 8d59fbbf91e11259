import ClusterupCore
import Foundation
import Testing
@testable import ClusterupPKI

/// `PKIPlan.decide` with facts made by hand: no files, no OpenSSL.
@Suite struct DecisionTests {
    let plan = try! PKIPlan(request: makeRequest(nodes: 2))
    let day: TimeInterval = 86_400

    /// Facts of a directory exactly as `plan` would have written it `age` ago.
    func healthy(issuedAgo age: TimeInterval = 0) -> ObservedPKI {
        var pairs: [String: ObservedPair] = [:]
        for spec in plan.certificates {
            let issued = fixedNow.addingTimeInterval(-age)
            let facts = ObservedCertificate(
                subject: spec.subject, subjectAlternativeNames: spec.subjectAlternativeNames,
                notBefore: issued, notAfter: issued.addingTimeInterval(spec.validity),
                isAuthority: spec.isAuthority, keyUsage: spec.keyUsage,
                extendedKeyUsage: Set(spec.extendedKeyUsage), keyAlgorithm: .ecdsaP256, signedByAuthority: true)
            pairs[spec.name] = ObservedPair(
                certificate: .present(facts), key: .present(ObservedKey(algorithm: .ecdsaP256, matchesCertificate: true)),
                certificatePath: spec.certificatePath, keyPath: spec.keyPath)
        }
        let key = ObservedKey(algorithm: .ecdsaP256, matchesCertificate: nil)
        return ObservedPKI(pairs: pairs, serviceAccountKey: .present(key),
                           serviceAccountPublicKey: .present(ObservedKey(algorithm: .ecdsaP256, matchesCertificate: true)))
    }

    func reasons(_ decisions: PKIDecisions, _ name: String) -> [IssueReason] {
        decisions.leaves.first { $0.name == name }?.reasons ?? [.missing]
    }

    func modify(_ observed: inout ObservedPKI, _ name: String, _ change: (inout ObservedCertificate) -> Void) {
        guard case .present(var facts) = observed.pairs[name]!.certificate else { return }
        change(&facts)
        observed.pairs[name]!.certificate = .present(facts)
    }

    @Test func anEmptyDirectoryCreatesEverything() throws {
        let empty = ObservedPKI(pairs: [:], serviceAccountKey: .missing, serviceAccountPublicKey: .missing)
        let decisions = try plan.decide(observed: empty, now: fixedNow)
        #expect(decisions.authorities.values.allSatisfy { $0 == .create })
        #expect(decisions.serviceAccount == .create)
        #expect(decisions.leaves.allSatisfy { $0.reasons == [.missing] && !$0.reuseKey })
    }

    @Test func aDirectoryMatchingThePlanChangesNothing() throws {
        let decisions = try plan.decide(observed: healthy(issuedAgo: 100 * day), now: fixedNow)
        #expect(decisions.changesNothing)
        #expect(decisions.warnings.isEmpty)
    }

    @Test func aLeafWithinTheRenewalThresholdIsReissuedWithItsKey() throws {
        let decisions = try plan.decide(observed: healthy(issuedAgo: 340 * day), now: fixedNow)
        let decision = try #require(decisions.leaves.first { $0.name == "apiserver@node1" })
        #expect(decision.reasons == [.dueForRenewal(fixedNow.addingTimeInterval(25 * day))])
        #expect(decision.reuseKey)
        #expect(decisions.authorities.values.allSatisfy { $0 == .keep })
    }

    @Test func anExpiredLeafIsReissued() throws {
        let decisions = try plan.decide(observed: healthy(issuedAgo: 400 * day), now: fixedNow)
        #expect(reasons(decisions, "etcd-peer@node2") == [.expired(fixedNow.addingTimeInterval(-35 * day))])
    }

    @Test func aLeafThatCannotOutliveItsCAIsNotReissuedEveryRun() throws {
        var observed = healthy(issuedAgo: 100 * day)
        let caExpiry = fixedNow.addingTimeInterval(10 * day)
        modify(&observed, "ca") { $0.notAfter = caExpiry }
        modify(&observed, "apiserver@node1") { $0.notAfter = caExpiry }
        let decisions = try plan.decide(observed: observed, now: fixedNow)
        #expect(reasons(decisions, "apiserver@node1").isEmpty)
        #expect(decisions.warnings.count == 1 && decisions.warnings[0].contains("CA ca expires"))
    }

    @Test func changedSANsReissueOnlyThatCertificateAndSayWhatChanged() throws {
        var observed = healthy()
        modify(&observed, "apiserver@node2") { facts in
            facts.subjectAlternativeNames.removeAll { $0 == .dnsName("k8s.example.internal") }
            facts.subjectAlternativeNames.append(.dnsName("old.example"))
        }
        let decisions = try plan.decide(observed: observed, now: fixedNow)
        #expect(decisions.leaves.filter(\.issue).map(\.name) == ["apiserver@node2"])
        #expect(reasons(decisions, "apiserver@node2") == [.sansChanged(added: [.dnsName("k8s.example.internal")], removed: [.dnsName("old.example")])])
    }

    @Test func aLeafNotSignedByTheCurrentCAIsReissued() throws {
        var observed = healthy()
        modify(&observed, "front-proxy-client@node1") { $0.signedByAuthority = false }
        #expect(reasons(try plan.decide(observed: observed, now: fixedNow), "front-proxy-client@node1") == [.notSignedByAuthority(.frontProxy)])
    }

    @Test func aKeyThatDoesNotMatchItsCertificateGetsACertificateForThatKey() throws {
        var observed = healthy()
        observed.pairs["admin.conf"]!.key = .present(ObservedKey(algorithm: .ecdsaP256, matchesCertificate: false))
        let decision = try #require(try plan.decide(observed: observed, now: fixedNow).leaves.first { $0.name == "admin.conf" })
        #expect(decision.reasons == [.keyMismatch])
        #expect(decision.reuseKey)
    }

    @Test func aChangedAlgorithmReissuesWithANewKey() throws {
        var request = makeRequest(nodes: 2)
        request.settings.algorithm = .rsa3072
        let decisions = try PKIPlan(request: request).decide(observed: healthy(), now: fixedNow)
        let decision = try #require(decisions.leaves.first { $0.name == "etcd-server@node1" })
        #expect(decision.reasons.contains(.keyAlgorithmChanged(from: .ecdsaP256, to: .rsa3072)))
        #expect(!decision.reuseKey)
        // A CA is never replaced for it.
        #expect(decisions.authorities.values.allSatisfy { $0 == .keep })
    }

    @Test func aNewCAReissuesEverythingItSigns() throws {
        var observed = healthy()
        observed.pairs["etcd/ca"] = nil
        let decisions = try plan.decide(observed: observed, now: fixedNow)
        #expect(decisions.authorities[.etcd] == .create)
        let reissued = Set(decisions.leaves.filter(\.issue).map(\.name))
        #expect(reissued == Set(plan.leaves.filter { $0.signer == .authority(.etcd) }.map(\.name)))
        #expect(reasons(decisions, "etcd-peer@node1") == [.authorityIssued(.etcd)])
    }

    @Test func aCACertificateWithoutItsKeyIsAnErrorNotAReplacement() {
        var observed = healthy()
        observed.pairs["ca"]!.key = .missing
        #expect { try plan.decide(observed: observed, now: fixedNow) } throws: { error in
            let error = error as! ClusterupError
            return error.kind == .badInput && error.location == "ca.key" && error.message.contains("never replaces a CA")
        }
    }

    @Test func aCAKeyThatDoesNotMatchItsCertificateIsAnError() {
        var observed = healthy()
        observed.pairs["front-proxy-ca"]!.key = .present(ObservedKey(algorithm: .ecdsaP256, matchesCertificate: false))
        #expect { try plan.decide(observed: observed, now: fixedNow) } throws: {
            ($0 as? ClusterupError)?.message == "CA key does not match the CA certificate"
        }
    }

    @Test func anExpiredCAIsAnError() {
        var observed = healthy()
        modify(&observed, "etcd/ca") { $0.notAfter = fixedNow.addingTimeInterval(-1) }
        #expect { try plan.decide(observed: observed, now: fixedNow) } throws: {
            ($0 as? ClusterupError)?.message.hasPrefix("CA certificate expired") == true
        }
    }

    @Test func renewReissuesTheNamedKindOnEveryNodeKeepingKeys() throws {
        let decisions = try plan.decide(observed: healthy(), now: fixedNow, renew: ["apiserver", "etcd-peer@node2"])
        #expect(Set(decisions.leaves.filter(\.issue).map(\.name)) == ["apiserver@node1", "apiserver@node2", "etcd-peer@node2"])
        #expect(decisions.leaves.filter(\.issue).allSatisfy { $0.reasons == [.renewRequested] && $0.reuseKey })
    }

    @Test func renewWithRotateKeysMakesNewKeysOnlyForTheRenewedLeaves() throws {
        let decisions = try plan.decide(observed: healthy(), now: fixedNow, renew: ["all"], rotateKeys: true)
        #expect(decisions.leaves.allSatisfy { $0.issue && !$0.reuseKey })
        #expect(decisions.authorities.values.allSatisfy { $0 == .keep })
    }

    @Test func aMissingPublicServiceAccountKeyIsDerivedButAMissingPrivateOneIsAnError() throws {
        var observed = healthy()
        observed.serviceAccountPublicKey = .missing
        #expect(try plan.decide(observed: observed, now: fixedNow).serviceAccount == .writePublicKey)
        observed = healthy()
        observed.serviceAccountKey = .missing
        #expect { try plan.decide(observed: observed, now: fixedNow) } throws: {
            ($0 as? ClusterupError)?.location == "sa.key"
        }
    }

    @Test func anExternalCANotYetCopiedIsInstalledAndItsLeavesKept() throws {
        var request = makeRequest(nodes: 2)
        request.settings.externalCA = .init(certificatePath: "/ext/ca.crt", keyPath: "/ext/ca.key")
        let decisions = try PKIPlan(request: request).decide(observed: healthy(), now: fixedNow)
        #expect(decisions.authorities[.kubernetes] == .installExternal)
        #expect(decisions.leaves.filter(\.issue).isEmpty)
    }
}
