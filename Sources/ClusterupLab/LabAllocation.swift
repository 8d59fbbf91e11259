import ClusterupCore
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Taking an address block for a new lab: the lock, the records and the host's addresses it reads;
/// the choice itself is `BlockAllocation`'s.
extension LabController {
    /// Allocates, waiting up to `seconds` while all blocks are taken; then fails naming their owners.
    func allocate(waitingUpTo seconds: Double) throws -> StateStore {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            switch try allocate() {
            case .allocated(let store):
                return store
            case .full(let used):
                guard Date() < deadline else { throw AddressPlan.exhausted(used: used) }
                usleep(500_000)
            }
        }
    }

    private enum Allocation {
        case allocated(StateStore)
        /// Every block is taken: by whom.
        case full([Int: String])
    }

    /// Picks a free address block and records the new lab, under a lock so two `lab up` runs cannot
    /// take the same block.
    private func allocate() throws -> Allocation {
        try FileManager.default.createDirectory(atPath: paths.root, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        let lockFD = open("\(paths.root)/.lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o600)
        guard lockFD >= 0 else { throw ClusterupError.local("cannot open \(paths.root)/.lock") }
        defer { close(lockFD) }
        flock(lockFD, LOCK_EX)
        defer { flock(lockFD, LOCK_UN) }

        switch try BlockAllocation.decide(for: paths.name, otherLabs: otherLabs(), hostAddresses: hostAddresses()) {
        case .full(let used):
            return .full(used)
        case .allocated(let plan):
            try FileManager.default.createDirectory(atPath: paths.directory, withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            let store = StateStore(LabState(name: paths.name, plan: plan, createdAt: Date()), paths: paths)
            try store.update { _ in }
            return .allocated(store)
        }
    }

    /// Every other lab recorded under the same root.
    func otherLabs() -> [LabState] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: paths.root)) ?? []
        return names.filter { $0 != paths.name.value }.compactMap { name in
            guard let labName = try? LabName(name) else { return nil }
            return try? StateStore.load(LabPaths(name: labName, root: paths.root))
        }
    }

    /// IPv4 addresses on host links.
    private func hostAddresses() -> [BlockAllocation.HostAddress] {
        guard let output = try? commands.check("ip", ["-o", "-4", "addr", "show"], what: "listing addresses") else {
            return []
        }
        return BlockAllocation.hostAddresses(ipOutput: output)
    }
}
