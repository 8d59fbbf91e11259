import ClusterupCore
import Foundation
import Testing
@testable import ClusterupCLI

/// `verify failover --plot` refuses a path it cannot write before anything is broken, and leaves
/// no file behind when it only checked.
@Suite struct PlotFileTests {
    func scratch() throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("plotfile-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }

    @Test func aWritablePathPassesAndIsNotLeftBehind() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("failover.svg").path
        try PlotFile.checkWritable(path)
        #expect(!FileManager.default.fileExists(atPath: path))
    }

    @Test func anExistingFileIsCheckedWithoutTouchingIt() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("old.svg").path
        try Data("<svg/>".utf8).write(to: URL(fileURLWithPath: path))
        try PlotFile.checkWritable(path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "<svg/>")
    }

    @Test func aMissingDirectoryIsBadInputNamingTheOption() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("no/such/dir/failover.svg").path
        let error = try #require(throws: ClusterupError.self) { try PlotFile.checkWritable(path) }
        #expect(error.exitCode == 2)
        #expect(error.location == "--plot")
        #expect(error.message.contains(path) && error.message.contains("No such file or directory"), "\(error.message)")
    }

    @Test func aDirectoryIsBadInput() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let error = try #require(throws: ClusterupError.self) { try PlotFile.checkWritable(directory.path) }
        #expect(error.exitCode == 2)
        #expect(error.message.contains("it is a directory"))
    }

    @Test func writingReplacesTheFileWhole() throws {
        let directory = try scratch()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("failover.svg").path
        try Data("an older, longer picture".utf8).write(to: URL(fileURLWithPath: path))
        try PlotFile.write("<svg/>", to: path)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "<svg/>")
    }
}
