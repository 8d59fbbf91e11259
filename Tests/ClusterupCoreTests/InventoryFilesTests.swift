import Foundation
import Testing
@testable import ClusterupCore

/// The repository's inventories/ directory.
private let examplesDirectory = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("inventories").path

@Suite struct StarterAndExampleInventoryTests {
    @Test func starterInventoryLoadsAsWritten() throws {
        let inventory = try parseInventory(StarterInventory.text(cluster: "prod-eu1"))
        #expect(inventory.cluster == "prod-eu1")
        #expect(Set(inventory.hosts.flatMap(\.roles)) == Set(Role.allCases))
        #expect(inventory.vip?.address == "198.51.100.62")
        #expect(inventory.vrrp?.interface == "eth0")
        #expect(inventory.pki.directory == "/srv/cluster/pki/prod-eu1")
        #expect(inventory.hosts.allSatisfy { $0.address.hasPrefix("198.51.100.") })
    }

    @Test func starterDocumentsEveryKeyTheLoaderAccepts() {
        let text = StarterInventory.text()
        let keys = InventoryReader.topLevelKeys + InventoryReader.sshKeys + InventoryReader.hostKeys
            + InventoryReader.vrrpKeys + InventoryReader.pkiKeys
        let missing = keys.filter { !text.contains("\($0):") }
        #expect(missing.isEmpty, "not in the starter: \(missing)")
    }

    @Test func initWritesALoadableFileAndRefusesToOverwriteIt() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let path = scratch.path + "/inventory.yml"
        try StarterInventory.create(at: path, cluster: "lab")
        let inventory = try InventoryLoader(environment: [:], currentDirectory: scratch.path).load(path: path)
        #expect(inventory.cluster == "lab")
        try "edited".write(toFile: path, atomically: true, encoding: .utf8)
        let error = try #require(throws: ClusterupError.self) { try StarterInventory.create(at: path, cluster: "lab") }
        #expect(error.exitCode == 2)
        #expect(error.message.contains("refusing to overwrite"))
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "edited")
    }

    @Test(arguments: ["single-node.yml", "ha-3-nodes.yml", "bastion-sudo.yml"])
    func exampleInventoryLoads(file: String) throws {
        let loader = InventoryLoader(environment: [:], homeDirectory: "/home/op", currentDirectory: examplesDirectory)
        let inventory = try loader.load(path: file)
        #expect(!inventory.hosts.isEmpty)
        #expect(inventory.path == "\(examplesDirectory)/\(file)")
    }

    @Test func bastionExampleUsesSudoWithPasswordExceptOnLBHosts() throws {
        let loader = InventoryLoader(environment: [:], homeDirectory: "/home/op", currentDirectory: examplesDirectory)
        let inventory = try loader.load(path: "bastion-sudo.yml")
        #expect(inventory.host(named: "cp1")?.ssh.sudo == .password(env: "SUDO_PASSWORD"))
        #expect(inventory.host(named: "lb1")?.ssh.sudo == .passwordless)
        #expect(inventory.hosts.allSatisfy { $0.ssh.bastion == Bastion(host: "198.51.100.2", port: 22, user: "ops") })
    }
}

@Suite struct InventoryLocationTests {
    @Test func explicitPathWinsOverEnvironment() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try scratch.write("mine.yml", minimalInventory())
        let loader = InventoryLoader(environment: ["CLUSTERUP_INVENTORY": "other.yml"], currentDirectory: scratch.path)
        #expect(try loader.locate("mine.yml") == "mine.yml")
    }

    @Test func environmentWinsOverTheDefaultFile() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try scratch.write("env.yml", minimalInventory())
        try scratch.write("inventory.yml", minimalInventory())
        let loader = InventoryLoader(environment: ["CLUSTERUP_INVENTORY": "env.yml"], currentDirectory: scratch.path)
        #expect(try loader.locate(nil) == "env.yml")
    }

    @Test func defaultIsInventoryYmlInTheCurrentDirectory() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        try scratch.write("inventory.yml", minimalInventory())
        let inventory = try InventoryLoader(environment: [:], currentDirectory: scratch.path).loadLocated(nil)
        #expect(inventory.path.hasSuffix("/inventory.yml"))
    }

    @Test func missingDefaultSaysWhichPathAndSuggestsInit() throws {
        let scratch = try ScratchDirectory()
        defer { scratch.remove() }
        let loader = InventoryLoader(environment: [:], currentDirectory: scratch.path)
        let error = try #require(throws: ClusterupError.self) { try loader.locate(nil) }
        #expect(error.message.contains("\(URL(fileURLWithPath: scratch.path).standardized.path)/inventory.yml"))
        #expect(error.message.contains("$CLUSTERUP_INVENTORY is not set"))
        #expect(error.hint?.contains("clusterup init") == true)
        #expect(error.exitCode == 2)
    }

    @Test func missingFileFromEnvironmentSaysSo() throws {
        let loader = InventoryLoader(environment: ["CLUSTERUP_INVENTORY": "/nonexistent/inv.yml"], currentDirectory: "/")
        let error = try #require(throws: ClusterupError.self) { try loader.locate(nil) }
        #expect(error.message == "no inventory at /nonexistent/inv.yml (from $CLUSTERUP_INVENTORY)")
    }
}

@Suite struct HostSelectionTests {
    let inventory: Inventory

    init() throws {
        inventory = try parseInventory(minimalInventory(hosts: """
              - {name: node1, address: 198.51.100.11, roles: [etcd, control-plane]}
              - {name: node2, address: 198.51.100.12, roles: [etcd]}
              - {name: lb1, address: 198.51.100.21, roles: [lb]}
            """, extra: "vrrp: {interface: eth0}"))
    }

    @Test func noFilterSelectsAllHostsInOrder() throws {
        #expect(try inventory.select().map(\.name) == ["node1", "node2", "lb1"])
    }

    @Test func rolesSelectHostsWithAnyOfThem() throws {
        #expect(try inventory.select(roles: [.controlPlane, .lb]).map(\.name) == ["node1", "lb1"])
    }

    @Test func namesAndRolesIntersect() throws {
        #expect(try inventory.select(names: ["node1", "node2"], roles: [.controlPlane]).map(\.name) == ["node1"])
    }

    @Test func unknownHostIsNamedWithASuggestion() throws {
        let error = try #require(throws: ClusterupError.self) { try inventory.select(names: ["nod2"]) }
        #expect(error.message.hasPrefix("no host named 'nod2'"))
        #expect(error.hint?.hasPrefix("did you mean 'node2'?") == true)
    }

    @Test func emptySelectionIsAnError() throws {
        let error = try #require(throws: ClusterupError.self) { try inventory.select(names: ["lb1"], roles: [.etcd]) }
        #expect(error.message == "no host matches --hosts lb1 and --roles etcd")
    }

    @Test func commandLineListsSplitAtCommasAndMayRepeat() throws {
        #expect(try inventory.select(hostArguments: ["lb1, node2", "node1"], roleArguments: []).map(\.name) == ["node1", "node2", "lb1"])
        #expect(try inventory.select(hostArguments: [], roleArguments: ["lb,control-plane"]).map(\.name) == ["node1", "lb1"])
        #expect(try inventory.select(hostArguments: [","], roleArguments: []).count == 3)
    }

    @Test func unknownRoleOnTheCommandLineSuggests() throws {
        let error = try #require(throws: ClusterupError.self) { try Role.parse("controlplane") }
        #expect(error.hint?.hasPrefix("did you mean 'control-plane'?") == true)
    }
}
