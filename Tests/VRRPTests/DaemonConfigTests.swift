import TextFormats
import Testing
import VRRP
@testable import VRRPConfig
@testable import VRRPDaemon

/// Parsing a daemon configuration in tests: the config, or the error it gives.
protocol DaemonConfigParsing {}

extension DaemonConfigParsing {
    func parse(_ text: String) throws(ConfigError) -> DaemonConfig {
        try DaemonConfig.parse(text, file: "vrrpd.yaml")
    }

    func error(_ text: String) -> ConfigError? {
        do {
            _ = try parse(text)
            return nil
        } catch {
            return error
        }
    }
}

@Suite struct DaemonConfigTests: DaemonConfigParsing {
    static let minimal = """
        instances:
          - name: api
            interface: eth0
            vrid: 51
            vips: [198.51.100.62/26]
        """

    @Test func minimalInstanceGetsRFCDefaults() throws {
        let config = try parse(Self.minimal)
        let i = try #require(config.instances.first)
        #expect(i.version == .v3)
        #expect(i.priority == 100)
        #expect(i.advertInterval == .seconds(1))
        #expect(i.preempt)
        #expect(i.checksum == .pseudoHeader)
        #expect(i.vips == [VirtualAddress(address: .v4(IPv4Address(198, 51, 100, 62)), prefixLength: 26)])
        #expect(config.statusSocket == DaemonConfig.defaultStatusSocket)
    }

    @Test func fullInstanceDecodesEveryField() throws {
        let config = try parse("""
            status_socket: /run/test.sock
            prometheus: 127.0.0.1:9650
            instances:
              - name: api
                interface: eth0
                vrid: 51
                version: 3
                priority: 254
                advert_interval: 100ms
                vips: [198.51.100.62/26, 198.51.100.63]
                preempt: false
                preempt_delay: 2s
                unicast_src: 198.51.100.11
                unicast_peers: [198.51.100.12, 198.51.100.13]
                checksum: message-only
                garp: {repeat: 3, interval: 10ms, delay: 0s, refresh: 60s}
                track:
                  interfaces: [eth0]
                  scripts:
                    - name: haproxy
                      command: "pidof haproxy"
                      interval: 2s
                      fall: 3
                      weight: -20
                  http:
                    - url: http://127.0.0.1:8080/healthz
                      expect: 204
                  tcp:
                    - address: 127.0.0.1:8443
                      timeout: 200ms
                notify: ["/usr/local/bin/vip-changed"]
            """)
        #expect(config.statusSocket == "/run/test.sock")
        #expect(config.prometheus == SocketAddress4(address: IPv4Address(127, 0, 0, 1), port: 9650))
        #expect(config.realtimePriority == 10)
        let i = try #require(config.instances.first)
        #expect(i.priority == 254)
        #expect(i.advertInterval == .milliseconds(100))
        #expect(i.vips.map(\.prefixLength) == [26, 32])
        #expect(!i.preempt && i.preemptDelay == .seconds(2))
        #expect(i.unicastSource == .v4(IPv4Address(198, 51, 100, 11)))
        #expect(i.unicastPeers.count == 2)
        #expect(i.checksum == .messageOnly)
        #expect(i.garp == GARPConfig(repeatCount: 3, interval: .milliseconds(10), delay: .zero, refresh: .seconds(60)))
        #expect(i.track.interfaces == ["eth0"])
        #expect(i.track.scripts.first?.timing == CheckTiming(interval: .seconds(2), timeout: .seconds(2), rise: 1, fall: 3, weight: -20))
        #expect(i.track.http.first?.expectStatus == 204)
        #expect(i.track.http.first?.target.port == 8080)
        #expect(i.track.http.first?.path == "/healthz")
        #expect(i.track.tcp.first?.timing.timeout == .milliseconds(200))
        #expect(i.notify == ["/usr/local/bin/vip-changed"])
    }

    @Test func realtimePriorityDefaultsTo10AndZeroTurnsItOff() throws {
        #expect(try parse(Self.minimal).realtimePriority == 10)
        #expect(try parse("realtime_priority: 0\n" + Self.minimal).realtimePriority == 0)
        #expect(error("realtime_priority: 100\n" + Self.minimal)?.path == "realtime_priority")
    }

    @Test func unknownKeyIsNamedWithItsPathAndLine() {
        let e = error(Self.minimal + "\n    priorty: 10\n")
        #expect(e?.path == "instances[0].priorty")
        #expect(e?.location?.line == 6)
        #expect(e?.description.hasPrefix("vrrpd.yaml:6:5: instances[0].priorty: unknown key") == true)
    }

    @Test func missingRequiredFieldIsNamed() {
        let e = error("instances:\n  - name: api\n    interface: eth0\n    vips: [198.51.100.62]\n")
        #expect(e?.path == "instances[0].vrid")
    }

    @Test func vridOutOfRangeIsRejected() {
        let e = error(Self.minimal.replacingVRID("0"))
        #expect(e?.path == "instances[0].vrid")
        #expect(e?.message.contains("1...255") == true)
    }

    @Test func v2IntervalMustBeWholeSeconds() {
        let e = error(Self.minimal + "\n    version: 2\n    advert_interval: 100ms\n")
        #expect(e?.path == "instances[0].advert_interval")
    }

    @Test func v3IntervalMustBeCentiseconds() {
        #expect(error(Self.minimal + "\n    advert_interval: 15ms\n")?.path == "instances[0].advert_interval")
        #expect(error(Self.minimal + "\n    advert_interval: 10ms\n") == nil)
    }

    @Test func checksumModeIsOnlyForVersion3() {
        let e = error(Self.minimal + "\n    version: 2\n    checksum: message-only\n")
        #expect(e?.path == "instances[0].checksum")
    }

    @Test func authPasswordIsOnlyForVersion2AndAtMost8Bytes() {
        #expect(error(Self.minimal + "\n    auth_password: secret\n")?.path == "instances[0].auth_password")
        #expect(error(Self.minimal + "\n    version: 2\n    auth_password: toolongpw\n")?.path == "instances[0].auth_password")
        #expect(error(Self.minimal + "\n    version: 2\n    auth_password: secret\n") == nil)
    }

    @Test func maxIntervalFactorDefaultsToTenAndReachesTheRouter() throws {
        let config = try parse(Self.minimal)
        #expect(config.instances[0].maxIntervalFactor == 10)
        let set = try parse(Self.minimal + "\n    max_interval_factor: 0\n")
        #expect(set.instances[0].maxIntervalFactor == 0)
        let router = Instance.routerConfiguration(try parse(Self.minimal + "\n    max_interval_factor: 3\n").instances[0],
                                                  primary: ipv4("198.51.100.1"))
        #expect(router.acceptedIntervalFactor == 3)
        #expect(error(Self.minimal + "\n    max_interval_factor: 1001\n")?.path == "instances[0].max_interval_factor")
        #expect(error(Self.minimal + "\n    version: 2\n    max_interval_factor: 5\n")?.message.contains("version 3") == true)
    }

    @Test func durationWithoutUnitIsRejected() {
        #expect(error(Self.minimal + "\n    preempt_delay: 5\n")?.message.contains("duration") == true)
    }

    @Test func duplicateVRIDOnOneInterfaceIsRejected() {
        let text = Self.minimal + """

              - name: other
                interface: eth0
                vrid: 51
                vips: [198.51.100.70]
            """
        #expect(error(text)?.path == "instances[1].vrid")
    }

    @Test func sameVIPInTwoInstancesIsRejected() {
        let text = Self.minimal + """

              - name: other
                interface: eth0
                vrid: 52
                vips: [198.51.100.62]
            """
        #expect(error(text)?.path == "instances[1].vips")
    }

    @Test func httpCheckNeedsAnAddressNotAName() {
        let text = Self.minimal + "\n    track:\n      http:\n        - url: http://api.example/readyz\n"
        #expect(error(text)?.path == "instances[0].track.http[0].url")
    }

    /// Parsing is pure: an https check parses whatever this machine's libraries are; the daemon
    /// asks for libssl on the node through `httpsChecks` when it loads the file.
    @Test func httpsChecksAreListedForTheNodesLibsslCheck() throws {
        let text = Self.minimal + "\n    track:\n      http:\n        - url: http://127.0.0.1:8404/healthz\n        - url: https://127.0.0.1:6443/readyz\n"
        let config = try parse(text)
        #expect(config.httpsChecks.map(\.path) == ["instances[0].track.http[1].url"])
        #expect(config.httpsChecks.map(\.url) == ["https://127.0.0.1:6443/readyz"])
        #expect(try parse(Self.minimal).httpsChecks.isEmpty)
    }

    @Test func yamlSyntaxErrorCarriesFileAndPosition() {
        let e = error("instances:\n\t- name: x\n")
        #expect(e?.description.hasPrefix("vrrpd.yaml:2:1:") == true)
    }

    @Test func durationsParseWithTheirUnits() {
        #expect(Duration(inventoryText: "100ms") == .milliseconds(100))
        #expect(Duration(inventoryText: "3s") == .seconds(3))
        #expect(Duration(inventoryText: "2m") == .seconds(120))
        #expect(Duration(inventoryText: "1.5s") == nil)
        #expect(Duration(inventoryText: "s") == nil)
    }
}

extension String {
    func replacingOccurrences(_ target: String, _ replacement: String) -> String {
        var result = ""
        var rest = self[...]
        while let r = rest.firstRange(of: target) {
            result += rest[..<r.lowerBound] + replacement
            rest = rest[r.upperBound...]
        }
        return result + rest
    }

    func replacingVRID(_ value: String) -> String { replacingOccurrences("vrid: 51", "vrid: \(value)") }
}
