import ClusterupCore
import Testing
@testable import ClusterupSSH

private let local = SSHLocalContext(home: "/home/op", user: "op", hostName: "desk", uid: 1000, fileExists: { _ in false })

private func parse(_ text: String, files: [String: String] = [:]) throws -> SSHConfig {
    let fileSystem = SSHConfig.FileSystem(
        read: { files[$0] },
        glob: { pattern in files.keys.filter { wildcardMatch(pattern, $0) } })
    return try SSHConfig.parse(text, path: "/home/op/.ssh/config", local: local, fileSystem: fileSystem)
}

@Suite struct SSHConfigHostMatchingTests {
    @Test func firstObtainedValueWins() throws {
        let config = try parse("""
            Host web1
              User alice
            Host *
              User bob
              Port 2200
            """)
        #expect(config.options(for: "web1").user == "alice")
        #expect(config.options(for: "web1").port == 2200)
        #expect(config.options(for: "db1").user == "bob")
    }

    @Test func starAndQuestionMarkWildcards() throws {
        let config = try parse("""
            Host node? *.lab.example
              User lab
            """)
        #expect(config.options(for: "node1").user == "lab")
        #expect(config.options(for: "node12").user == nil)
        #expect(config.options(for: "a.lab.example").user == "lab")
    }

    @Test func negatedPatternExcludesEvenWhenAnotherMatches() throws {
        let config = try parse("""
            Host *.example !bastion.example
              ProxyJump bastion.example
            """)
        #expect(config.options(for: "node.example").proxyJump == "bastion.example")
        #expect(config.options(for: "bastion.example").proxyJump == nil)
    }

    @Test func hostMatchingIgnoresCase() throws {
        let config = try parse("Host Node1\n  User x\n")
        #expect(config.options(for: "NODE1").user == "x")
    }

    @Test func matchAllAppliesToEveryHost() throws {
        let config = try parse("Match all\n  User everyone\n")
        #expect(config.options(for: "anything").user == "everyone")
    }

    @Test func unsupportedMatchBlockIsSkippedWithAWarning() throws {
        let config = try parse("""
            Match exec "true"
              User wrong
            Host *
              User right
            """)
        #expect(config.options(for: "h").user == "right")
        #expect(config.warnings.count == 1)
        #expect(config.warnings[0].hasPrefix("/home/op/.ssh/config:1:"))
    }

    @Test func keywordsAreCaseInsensitiveAndAcceptEqualsSign() throws {
        let config = try parse("""
            HOSTNAME=10.0.0.1
            port = 2022
            user "quoted name"
            """)
        let options = config.options(for: "x")
        #expect(options.hostName == "10.0.0.1")
        #expect(options.port == 2022)
        #expect(options.user == "quoted name")
    }

    @Test func commentsAndBlankLinesAreIgnored() throws {
        let config = try parse("# top\n\n   # indented\nUser u # trailing\n")
        #expect(config.options(for: "x").user == "u")
        #expect(config.directives.count == 1)
    }

    @Test func invalidPortNamesFileAndLine() throws {
        let error = try #require(throws: ClusterupError.self) { try parse("Host a\n  Port ssh\n") }
        #expect(error.location == "/home/op/.ssh/config:2")
        #expect(error.kind == .badInput)
    }

    @Test func identityFilesAccumulateAcrossBlocks() throws {
        let config = try parse("""
            Host web
              IdentityFile ~/.ssh/web
            Host *
              IdentityFile ~/.ssh/default
            """)
        #expect(config.options(for: "web").identityFiles == ["~/.ssh/web", "~/.ssh/default"])
    }

    @Test func userKnownHostsFileTakesSeveralFilesFirstLineWins() throws {
        let config = try parse("""
            Host a
              UserKnownHostsFile ~/.ssh/kh1 /etc/kh2
            Host *
              UserKnownHostsFile ~/.ssh/other
            """)
        #expect(config.options(for: "a").userKnownHostsFiles == ["~/.ssh/kh1", "/etc/kh2"])
    }
}

@Suite struct SSHConfigIncludeTests {
    @Test func includeGlobIsRelativeToDotSSH() throws {
        let config = try parse("Include conf.d/*.conf\nHost *\n  User fallback\n", files: [
            "/home/op/.ssh/conf.d/10-web.conf": "Host web\n  User webadmin\n",
            "/home/op/.ssh/conf.d/20-db.conf": "Host db\n  User dbadmin\n",
            "/home/op/.ssh/conf.d/README": "Host *\n  User never\n",
        ])
        #expect(config.options(for: "web").user == "webadmin")
        #expect(config.options(for: "db").user == "dbadmin")
        #expect(config.options(for: "other").user == "fallback")
    }

    @Test func includeInsideHostBlockOnlyAppliesToThatHost() throws {
        let config = try parse("Host web\n  Include web.conf\n", files: [
            "/home/op/.ssh/web.conf": "User fromweb\n",
        ])
        #expect(config.options(for: "web").user == "fromweb")
        #expect(config.options(for: "db").user == nil)
    }

    @Test func includedDirectivesReportTheirOwnFile() throws {
        let error = try #require(throws: ClusterupError.self) {
            try parse("Include bad.conf\n", files: ["/home/op/.ssh/bad.conf": "\nPort 0\n"])
        }
        #expect(error.location == "/home/op/.ssh/bad.conf:2")
    }

    @Test func selfIncludeStopsAtDepthLimit() throws {
        #expect(throws: ClusterupError.self) {
            try parse("Include loop.conf\n", files: ["/home/op/.ssh/loop.conf": "Include loop.conf\n"])
        }
    }
}

@Suite struct ProxyJumpParsingTests {
    @Test func chainOfHopsWithUsersAndPorts() throws {
        let chain = try SSHJumpSpec.parseChain("bastion, ops@inner:2222,[2001:db8::1]:22", location: "x")
        #expect(chain == [
            SSHJumpSpec(host: "bastion"),
            SSHJumpSpec(host: "inner", port: 2222, user: "ops"),
            SSHJumpSpec(host: "2001:db8::1", port: 22),
        ])
    }

    @Test func sshURIForm() throws {
        #expect(try SSHJumpSpec.parseChain("ssh://admin@jump.example:2200", location: "x")
            == [SSHJumpSpec(host: "jump.example", port: 2200, user: "admin")])
    }

    @Test func noneMeansDirect() throws {
        #expect(try SSHJumpSpec.parseChain("none", location: "x").isEmpty)
    }

    @Test func badPortIsBadInputAtTheGivenLocation() throws {
        let error = try #require(throws: ClusterupError.self) { try SSHJumpSpec.parseChain("jump:99999", location: "inventory.yml:4:12") }
        #expect(error.location == "inventory.yml:4:12")
    }
}

@Suite struct SSHTargetResolutionTests {
    let config: SSHConfig

    init() throws {
        config = try parse("""
            Host node1
              HostName %h.lab.example
              User cfguser
              Port 2222
              IdentityFile %d/.ssh/id_%h_%u
              UserKnownHostsFile ~/.ssh/lab_known_hosts
            Host bastion
              HostName 198.51.100.1
              User jumper
            Host behind
              ProxyJump bastion
            Host direct
              ProxyJump none
            Host *
              ProxyJump should-not-apply
            """)
    }

    @Test func sshConfigFillsWhatTheInventoryLeavesOpen() throws {
        let target = try config.resolve(SSHTargetSpec(name: "n1", address: "node1", bastion: []), local: local)
        #expect(target.address == "node1.lab.example")
        #expect(target.user == "cfguser")
        #expect(target.port == 2222)
        #expect(target.identityFiles == ["/home/op/.ssh/id_node1.lab.example_op"])
        #expect(target.knownHostsFiles.first == "/home/op/.ssh/lab_known_hosts")
        #expect(target.knownHostsRecordFile == "/home/op/.ssh/lab_known_hosts")
    }

    @Test func explicitInventoryValuesWinOverSshConfig() throws {
        let target = try config.resolve(SSHTargetSpec(
            name: "n1", address: "node1", user: "root", port: 22, identityFiles: ["~/keys/lab"],
            knownHostsFile: "/inv/known_hosts", bastion: []), local: local)
        #expect(target.user == "root")
        #expect(target.port == 22)
        #expect(target.identityFiles == ["/home/op/keys/lab"])
        #expect(target.knownHostsFiles == ["/inv/known_hosts"])
    }

    @Test func defaultsApplyWhenNeitherSaysAnything() throws {
        let withDefaults = SSHLocalContext(home: "/home/op", user: "op", fileExists: { $0 == "/home/op/.ssh/id_ed25519" })
        let target = try SSHConfig.empty.resolve(SSHTargetSpec(name: "x", address: "198.51.100.7"), local: withDefaults)
        #expect(target.address == "198.51.100.7")
        #expect(target.user == "op")
        #expect(target.port == 22)
        #expect(target.identityFiles == ["/home/op/.ssh/id_ed25519"])
        #expect(target.knownHostsFiles == ["/home/op/.ssh/known_hosts", "/home/op/.ssh/known_hosts2", "/etc/ssh/ssh_known_hosts"])
        #expect(target.useAgent)
        #expect(target.jumps.isEmpty)
        #expect(target.connectTimeout == 10)
        #expect(target.commandTimeout == 300)
    }

    @Test func proxyJumpFromSshConfigResolvesTheJumpHostThroughTheConfigToo() throws {
        let target = try config.resolve(SSHTargetSpec(name: "b", address: "behind", user: "root"), local: local)
        let jump = try #require(target.jumps.first)
        #expect(target.jumps.count == 1)
        #expect(jump.address == "198.51.100.1")
        #expect(jump.user == "jumper")
        #expect(jump.jumps.isEmpty)
    }

    @Test func proxyJumpNoneInAnEarlierBlockWins() throws {
        let target = try config.resolve(SSHTargetSpec(name: "d", address: "direct"), local: local)
        #expect(target.jumps.isEmpty)
    }

    @Test func inventoryBastionWinsOverProxyJump() throws {
        let target = try config.resolve(SSHTargetSpec(
            name: "b", address: "behind", identityFiles: ["/k"], bastion: [SSHJumpSpec(host: "other", port: 2200, user: "me")]), local: local)
        #expect(target.jumps.map(\.endpoint) == ["me@other:2200"])
        #expect(target.jumps[0].identityFiles == ["/k"])
    }

    @Test func proxyCommandIsRefusedRatherThanSilentlyBypassed() throws {
        let config = try parse("Host old\n  ProxyCommand ssh -W %h:%p gw\nHost *\n  ProxyJump later\n")
        let error = try #require(throws: ClusterupError.self) {
            try config.resolve(SSHTargetSpec(name: "o", address: "old"), local: local)
        }
        #expect(error.location == "/home/op/.ssh/config:2")
        #expect(error.hint?.contains("ProxyJump") == true)
    }

    @Test func proxyJumpBeforeProxyCommandWins() throws {
        let config = try parse("Host *\n  ProxyJump gw\n  ProxyCommand ssh -W %h:%p other\n")
        let target = try config.resolve(SSHTargetSpec(name: "x", address: "x"), local: local)
        #expect(target.jumps.map(\.address) == ["gw"])
    }

    @Test func useSSHConfigFalseIgnoresTheConfig() throws {
        let target = try config.resolve(SSHTargetSpec(name: "n1", address: "node1", useSSHConfig: false), local: local)
        #expect(target.address == "node1")
        #expect(target.user == "op")
        #expect(target.port == 22)
    }
}
