import Testing
@testable import ClusterupCore

@Suite struct HostFactsTests {
    static let sample = """
    hostname=node1
    os=Debian GNU/Linux 12 (bookworm)
    os_id=debian
    os_version=12
    kernel=6.1.0-18-amd64
    arch=x86_64
    systemd=252
    clock_ns=1700000000123456789
    disk_free_kb=10485760
    swap_kb=0
    mem_kb=4194304
    tcp_listen=22/sshd,2379/etcd,8443/,
    """

    @Test func parsesEveryFact() throws {
        let facts = try HostFacts.parse(Self.sample, host: "node1")
        #expect(facts.hostname == "node1")
        #expect(facts.osID == "debian")
        #expect(facts.systemdVersion == 252)
        #expect(facts.clockNanoseconds == 1_700_000_000_123_456_789)
        #expect(facts.diskFreeBytes == 10 << 30)
        #expect(facts.memoryTotalBytes == 4 << 30)
        #expect(facts.listeningTCPPorts == [22: "sshd", 2379: "etcd", 8443: ""])
    }

    @Test func noSystemdLineMeansNoSystemd() throws {
        let output = Self.sample.split(separator: "\n").filter { !$0.hasPrefix("systemd=") }.joined(separator: "\n")
        #expect(try HostFacts.parse(output, host: "n").systemdVersion == nil)
    }

    @Test func missingKernelNamesTheHostAndKey() {
        let output = Self.sample.split(separator: "\n").filter { !$0.hasPrefix("kernel=") }.joined(separator: "\n")
        #expect {
            try HostFacts.parse(output, host: "node7")
        } throws: { error in
            let e = error as? ClusterupError
            return e?.location == "node7" && e?.message.contains("'kernel'") == true
        }
    }
}

@Suite struct PreflightTests {
    func facts(ports: [Int: String] = [:], systemd: Int? = 252, disk: Int64 = 50 << 30, swap: Int64 = 0) -> HostFacts {
        HostFacts(hostname: "n", os: "Debian", osID: "debian", osVersion: "12", kernel: "6.1", arch: "x86_64",
                  systemdVersion: systemd, clockNanoseconds: 0, diskFreeBytes: disk, swapTotalBytes: swap,
                  memoryTotalBytes: 1 << 30, listeningTCPPorts: ports)
    }

    func severity(_ findings: [Preflight.Finding], _ check: String) -> Preflight.Finding.Severity? {
        findings.first { $0.check == check }?.severity
    }

    @Test func portsFollowRoles() {
        let ports = Preflight.ports(etcd: true, controlPlane: false, lb: true, lbPort: 8443).map(\.port)
        #expect(ports == [2379, 2380, 8443])
    }

    @Test func portHeldByAStrangerIsAnError() {
        let preflight = Preflight(ports: Preflight.ports(etcd: true, controlPlane: false, lb: false, lbPort: 8443))
        let findings = preflight.evaluate(facts(ports: [2379: "nginx"]), clockSkewSeconds: 0)
        #expect(severity(findings, "port 2379") == .error)
        #expect(findings.first { $0.check == "port 2379" }?.detail.contains("nginx") == true)
        #expect(severity(findings, "port 2380") == .ok)
    }

    @Test func portHeldByOurOwnServiceIsFine() {
        let preflight = Preflight(ports: Preflight.ports(etcd: true, controlPlane: false, lb: false, lbPort: 8443))
        #expect(severity(preflight.evaluate(facts(ports: [2379: "etcd"]), clockSkewSeconds: 0), "port 2379") == .ok)
    }

    @Test func clockSkewGradesByThreshold() {
        let preflight = Preflight(ports: [])
        #expect(severity(preflight.evaluate(facts(), clockSkewSeconds: 0.2), "clock") == .ok)
        #expect(severity(preflight.evaluate(facts(), clockSkewSeconds: -5), "clock") == .warning)
        #expect(severity(preflight.evaluate(facts(), clockSkewSeconds: 120), "clock") == .error)
    }

    @Test func noSystemdSmallDiskAndSwapAreReported() {
        let findings = Preflight(ports: []).evaluate(facts(systemd: nil, disk: 1 << 30, swap: 1 << 30), clockSkewSeconds: 0)
        #expect(severity(findings, "systemd") == .error)
        #expect(severity(findings, "disk") == .error)
        #expect(severity(findings, "swap") == .warning)
    }
}
