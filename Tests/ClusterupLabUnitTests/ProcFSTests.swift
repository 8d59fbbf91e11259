import Foundation
import Testing
@testable import ClusterupLab

@Suite struct ProcFSTests {
    @Test func mountinfoGivesMountPointTypeAndSource() {
        let text = """
        22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
        98 22 0:50 / /var/lib/clusterup/labs/lab/layers rw,relatime - tmpfs clusterup-lab-lab rw,mode=700
        99 22 0:51 / /var/lib/clusterup/labs/lab/nodes/node1 rw,relatime shared:5 master:2 - overlay overlay rw,lowerdir=/
        """
        let mounts = ProcFS.parseMountinfo(text)
        #expect(mounts.count == 3)
        #expect(mounts[1] == ProcFS.Mount(mountPoint: "/var/lib/clusterup/labs/lab/layers",
                                          fileSystemType: "tmpfs", source: "clusterup-lab-lab"))
        #expect(mounts[2].fileSystemType == "overlay")
    }

    @Test func mountinfoUnescapesOctal() {
        let mounts = ProcFS.parseMountinfo("30 22 0:5 / /mnt/with\\040space rw - tmpfs none rw\n")
        #expect(mounts.first?.mountPoint == "/mnt/with space")
    }

    @Test func statFindsFieldsAfterACommandWithParentheses() {
        let text = "4242 (a) b) S 17 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 200"
        let stat = ProcFS.parseStat(text)
        #expect(stat?.pid == 4242)
        #expect(stat?.command == "a) b")
        #expect(stat?.state == "S")
        #expect(stat?.parent == 17)
        #expect(stat?.startTime == 987654)
    }

    @Test func truncatedStatIsRejected() {
        #expect(ProcFS.parseStat("12 (x) S 1 2") == nil)
    }

    @Test func cmdlineSplitsOnNUL() {
        let data = Data("systemd-nspawn\0-D\0/x\0".utf8)
        #expect(ProcFS.parseCmdline(data) == ["systemd-nspawn", "-D", "/x"])
    }

    @Test func nspawnDirectoryInEitherSpelling() {
        #expect(ProcFS.nspawnDirectory(["/usr/bin/systemd-nspawn", "--quiet", "--directory=/a/b", "--boot"]) == "/a/b")
        #expect(ProcFS.nspawnDirectory(["systemd-nspawn", "-D", "/c", "--boot"]) == "/c")
        #expect(ProcFS.nspawnDirectory(["/bin/bash", "-D", "/c"]) == nil)
    }
}
