import ClusterupCore

/// Which address block a new lab takes: pure, from the labs recorded under the same root and the
/// IPv4 addresses on this machine's links (`LabController.allocate` reads both under a lock).
enum BlockAllocation: Equatable {
    /// The lowest free block.
    case allocated(AddressPlan)
    /// Every block is taken: by whom (block → "lab NAME" or "address A on LINK").
    case full([Int: String])

    /// An IPv4 address on one of this machine's links.
    struct HostAddress: Equatable, Sendable {
        var link: String
        var address: String
    }

    /// A block is taken by another lab's record, or by an address of 198.51.100.0/24 on a host
    /// link that no lab accounts for. Refused when another lab gave a node a machine name this
    /// lab could give (nspawn's veth names must differ across labs).
    static func decide(for name: LabName, otherLabs: [LabState], hostAddresses: [HostAddress]) throws -> BlockAllocation {
        var used: [Int: String] = [:]
        let ours = Set((1...AddressPlan.maxNodes).map { name.machineName(node: $0) })
        for other in otherLabs {
            used[other.block] = "lab \(other.name)"
            if let machine = other.nodes.map(\.machine).first(where: ours.contains) {
                throw ClusterupError.badInput(
                    "lab \(name) would reuse machine name \(machine) of lab \(other.name)", at: "--name",
                    hint: "choose a name of at most 8 characters, or another name")
            }
        }
        for host in hostAddresses {
            if let block = AddressPlan.block(containing: host.address), used[block] == nil {
                used[block] = "address \(host.address) on \(host.link)"
            }
        }
        guard used.count < AddressPlan.blockCount else { return .full(used) }
        return .allocated(try AddressPlan.firstFreeBlock(used: used))
    }

    /// The addresses of `ip -o -4 addr show` ("2: eth0    inet 10.0.0.5/24 brd ... scope global eth0").
    static func hostAddresses(ipOutput: String) -> [HostAddress] {
        ipOutput.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count >= 4, let inet = fields.firstIndex(of: "inet"), inet + 1 < fields.count else { return nil }
            let address = fields[inet + 1].split(separator: "/").first.map(String.init) ?? ""
            return HostAddress(link: String(fields[1]), address: address)
        }
    }
}
