import ClusterupCore
import Foundation
@testable import ClusterupPKI
import TestSupport

/// A cluster of `count` nodes, all etcd + control-plane, addresses 198.51.100.(10+i).
func makeRequest(nodes count: Int = 3, directory: String = "/nonexistent/pki",
                 algorithm: KeyAlgorithm = .ecdsaP256, extraSANs: [String] = []) -> PKIRequest {
    PKIRequest(
        clusterName: "demo",
        nodes: (1...count).map { index in
            .init(name: "node\(index)", addresses: ["198.51.100.\(10 + index)"], roles: [.etcd, .controlPlane])
        },
        vipAddress: "198.51.100.62", vipPort: 8443, loadBalancerDNSName: "k8s.example.internal",
        settings: .init(directory: directory, algorithm: algorithm, extraSANs: extraSANs))
}

/// A fresh directory under /tmp, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        var template = Array("/tmp/clusterup-pki-test-XXXXXX".utf8CString)
        path = String(cString: mkdtemp(&template)!)
    }

    var pki: String { path + "/pki" }

    func remove() {
        // Tests may make directories unwritable; give the owner access back before removing.
        _ = run("/bin/chmod", ["-R", "u+rwx", path])
        try? FileManager.default.removeItem(atPath: path)
    }
}

struct CommandResult {
    var status: Int32
    var output: String
}

/// Runs a program to completion, stdout and stderr together.
@discardableResult
func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) -> CommandResult {
    do {
        let result = try ProcessRunner.run(executable, arguments, environment: environment, mergingStderr: true)
        return CommandResult(status: result.status, output: result.output)
    } catch {
        return CommandResult(status: -1, output: "\(error)")
    }
}

func openssl(_ arguments: String...) -> CommandResult { run("/usr/bin/openssl", arguments) }

let fixedNow = Date(timeIntervalSince1970: 1_795_000_000)  // 2026-11-18

struct FileStamp: Equatable {
    var contents: Data
    var modified: timespec_equatable
    var mode: mode_t
}

struct timespec_equatable: Equatable {
    var seconds: Int
    var nanoseconds: Int
}

/// Contents, mtime and mode of every file under `root`, by relative path.
func snapshot(_ root: String) -> [String: FileStamp] {
    var result: [String: FileStamp] = [:]
    let enumerator = FileManager.default.enumerator(atPath: root)
    while let relative = enumerator?.nextObject() as? String {
        var info = stat()
        guard stat(root + "/" + relative, &info) == 0, info.st_mode & S_IFMT == S_IFREG else { continue }
        result[relative] = FileStamp(
            contents: FileManager.default.contents(atPath: root + "/" + relative) ?? Data(),
            modified: timespec_equatable(seconds: info.st_mtim.tv_sec, nanoseconds: info.st_mtim.tv_nsec),
            mode: info.st_mode & 0o777)
    }
    return result
}
