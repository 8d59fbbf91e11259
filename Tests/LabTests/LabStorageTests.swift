import ClusterupCore
import Foundation
import Testing
@testable import ClusterupLab
import TestSupport

@Suite struct LabStorageTests {
    func scratchDirectory() throws -> String {
        let path = NSTemporaryDirectory() + "lab-storage-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    @Test func everyUpdateIsOnDiskAtOnce() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let paths = LabPaths(name: try LabName("disk"), root: root)
        try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true)
        let store = StateStore(LabState(name: paths.name, plan: try AddressPlan(block: 1), createdAt: Date()), paths: paths)
        try store.update { $0.mounts.append("/somewhere") }
        let loaded = try #require(try StateStore.load(paths))
        #expect(loaded.mounts == ["/somewhere"])
        #expect(loaded.block == 1)
    }

    @Test func stateFileIsPrivate() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let paths = LabPaths(name: try LabName("disk"), root: root)
        try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true)
        try StateStore.write(LabState(name: paths.name, plan: try AddressPlan(block: 0), createdAt: Date()),
                             to: paths.stateFile)
        let mode = try FileManager.default.attributesOfItem(atPath: paths.stateFile)[.posixPermissions] as? Int
        #expect(mode == 0o600)
    }

    @Test func missingStateMeansNoLab() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(try StateStore.load(LabPaths(name: try LabName("none"), root: root)) == nil)
    }

    @Test func corruptStateIsReportedWithItsPath() throws {
        let root = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: root) }
        let paths = LabPaths(name: try LabName("bad"), root: root)
        try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true)
        try "{not json".write(toFile: paths.stateFile, atomically: true, encoding: .utf8)
        do {
            _ = try StateStore.load(paths)
            Issue.record("loaded corrupt state")
        } catch let error as ClusterupError {
            #expect(error.location == paths.stateFile)
        }
    }

    @Test func removeTreeDeletesNestedFilesButNotWhatLinksPointAt() throws {
        let root = try scratchDirectory()
        let outside = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: outside) }
        try "keep".write(toFile: "\(outside)/target", atomically: true, encoding: .utf8)
        try FileManager.default.createDirectory(atPath: "\(root)/a/b", withIntermediateDirectories: true)
        try "x".write(toFile: "\(root)/a/b/file", atomically: true, encoding: .utf8)
        try FileManager.default.createSymbolicLink(atPath: "\(root)/a/link", withDestinationPath: outside)
        #expect(HostSystem().removeTree(root).isEmpty)
        #expect(!FileManager.default.fileExists(atPath: root))
        #expect(FileManager.default.fileExists(atPath: "\(outside)/target"))
    }

    @Test(.requiresRoot("mounts a tmpfs"))
    func removeTreeLeavesAnotherFilesystemAlone() throws {
        let root = try scratchDirectory()
        let mountPoint = "\(root)/mounted"
        try FileManager.default.createDirectory(atPath: mountPoint, withIntermediateDirectories: true)
        let commands = HostCommands()
        try commands.check("mount", ["-t", "tmpfs", "lab-storage-test", mountPoint], what: "test mount")
        defer {
            _ = try? commands.run("umount", [mountPoint])
            try? FileManager.default.removeItem(atPath: root)
        }
        try "keep".write(toFile: "\(mountPoint)/inside", atomically: true, encoding: .utf8)
        #expect(HostSystem().removeTree(root) == [mountPoint])
        #expect(FileManager.default.fileExists(atPath: "\(mountPoint)/inside"))
    }

    @Test func procFilesAreReadPastOnePage() throws {
        // /proc/self/mountinfo reports size 0; reading must continue to EOF.
        let text = try #require(HostSystem().readFile("/proc/self/mountinfo"))
        #expect(text.hasSuffix("\n"))
        #expect(HostSystem().mounts().contains { $0.mountPoint == "/" })
    }
}
