import ClusterupCore
import Foundation
import Testing
@testable import ClusterupDeploy

@Suite struct DeployRecordTests {
    let packaged = ClusterupBuild(version: "0.1.0", commit: "79902a9c1d2e", date: "2026-12-05T08:40:00Z")

    @Test func aRecordReadsBackAsWritten() throws {
        let record = DeployRecord(build: packaged, deployedAt: "2026-12-05T09:00:00Z", deployedBy: "ops@admin")
        #expect(DeployRecord.parse(record.fileText) == record)
        #expect(record.fileText.contains("\nversion=0.1.0\ncommit=79902a9c1d2e\nbuilt=2026-12-05T08:40:00Z\n"))
        #expect(record.summary == "clusterup 0.1.0 (commit 79902a9c1d2e) on 2026-12-05T09:00:00Z by ops@admin")
    }

    @Test func aSourceBuildRecordsItsVersionAndNoCommit() throws {
        let record = DeployRecord(build: ClusterupBuild(version: "0.2.0", commit: nil, date: nil), deployedAt: "t", deployedBy: "u@h")
        #expect(!record.fileText.contains("commit="))
        let read = try #require(DeployRecord.parse(record.fileText))
        #expect(read.build.commit == nil && read.build.version == "0.2.0")
        #expect(read.summary.contains("(commit unknown)"))
    }

    @Test func aValueCannotAddALine() throws {
        // A hostname or USER with a newline must not forge a field.
        let record = DeployRecord(build: packaged, deployedAt: "t", deployedBy: "eve\nversion=9.9.9@h")
        #expect(record.fileText.split(separator: "\n").filter { $0.hasPrefix("version=") } == ["version=0.1.0"])
        #expect(DeployRecord.parse(record.fileText)?.build.version == "0.1.0")
    }

    @Test func noFileOrAFileWithoutVersionIsNoRecord() {
        #expect(DeployRecord.parse("") == nil)
        #expect(DeployRecord.parse("# comment\ndeployed_at=x\n") == nil)
    }

    @Test func statusReadsTheRecordFromItsProbeSection() throws {
        let inventory = try operationsInventory()
        let host = try #require(inventory.host(named: "node3"))
        let script = StatusProbe.script(for: host, inventory: inventory, settings: inventory.deploy)
        #expect(script.contains("echo '@@deployed'; cat /etc/clusterup/last-deploy"))
        let record = DeployRecord(build: packaged, deployedAt: "2026-12-05T09:00:00Z", deployedBy: "ops@admin")
        let status = try StatusProbe.parse("@@units\n@@deployed\n" + record.fileText, host: host, inventory: inventory, now: Date())
        #expect(status.lastDeploy == record)
        let never = try StatusProbe.parse("@@units\n@@deployed\n", host: host, inventory: inventory, now: Date())
        #expect(never.lastDeploy == nil)
    }

    @Test func versionTextSaysWhatASourceBuildDoesNotKnow() {
        #expect(packaged.description == "0.1.0 (commit 79902a9c1d2e, built 2026-12-05T08:40:00Z)")
        #expect(ClusterupBuild(version: "0.1.0", commit: nil, date: nil).description
                == "0.1.0 (commit unknown, built from source with swift build)")
    }
}
