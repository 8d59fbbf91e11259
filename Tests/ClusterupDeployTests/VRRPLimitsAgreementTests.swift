import ClusterupCore
import Testing
import VRRPConfig
@testable import ClusterupDeploy

/// One rule each: for every boundary value, `inventory check` accepts it exactly when the daemon
/// accepts the configuration deploy renders from it. (Before, an inventory could pass the check
/// and fail only when deploy rendered the daemon's file, or be refused although the daemon takes it.)
@Suite struct VRRPLimitsAgreementTests {
    func inventory(_ vrrpExtra: String, interface: String = "host0") throws -> Inventory {
        let yaml = """
        cluster: demo
        hosts:
          - {name: node1, address: 198.51.100.11, roles: [etcd, control-plane, lb]}
          - {name: node2, address: 198.51.100.12, roles: [etcd, control-plane, lb]}
        vip: {address: 198.51.100.62, prefix: 26, port: 8443}
        vrrp:
          interface: "\(interface)"
        \(vrrpExtra)
        """
        return try InventoryLoader(environment: [:], homeDirectory: "/root", currentDirectory: "/srv")
            .parse(yaml: yaml, path: "/srv/inv.yml", displayName: "inv.yml")
    }

    /// The daemon's verdict on the same value, written into its own configuration by hand.
    func daemonAccepts(_ instanceExtra: String, interface: String = "host0") -> Bool {
        let text = """
        instances:
          - name: api
            interface: "\(interface)"
            vrid: 51
            vips: [198.51.100.62/26]
        \(instanceExtra)
        """
        return (try? DaemonConfig.parse(text, file: "vrrpd.yaml")) != nil
    }

    func inventoryAccepts(_ vrrpExtra: String, interface: String = "host0") -> Bool {
        guard let inv = try? inventory(vrrpExtra, interface: interface) else { return false }
        // What passes the check must render into a file the daemon takes.
        let rendered = try? VRRPConfigRenderer.render(for: inv.host(named: "node1")!, inventory: inv, vrrp: inv.vrrp!,
                                                      vip: inv.vip!, templates: TemplateSet())
        return rendered != nil
    }

    @Test(arguments: [-1, 0, 1, 5, 100, 101])
    func garpRepeat(_ value: Int) {
        #expect(inventoryAccepts("  garp: {repeat: \(value)}") == daemonAccepts("    garp: {repeat: \(value)}"), "repeat \(value)")
    }

    @Test(arguments: [-255, -254, -253, 0, 253, 254, 255])
    func checkWeight(_ value: Int) {
        #expect(inventoryAccepts("  track: {tcp: \"127.0.0.1:8443\", weight: \(value)}")
                == daemonAccepts("    track: {tcp: [{address: \"127.0.0.1:8443\", weight: \(value)}]}"), "weight \(value)")
    }

    @Test(arguments: [0, 1, 100, 101])
    func checkRiseAndFall(_ value: Int) {
        #expect(inventoryAccepts("  track: {tcp: \"127.0.0.1:8443\", rise: \(value), fall: \(value)}")
                == daemonAccepts("    track: {tcp: [{address: \"127.0.0.1:8443\", rise: \(value), fall: \(value)}]}"), "rise/fall \(value)")
    }

    @Test(arguments: ["5ms", "10ms", "1s"])
    func checkInterval(_ value: String) {
        #expect(inventoryAccepts("  track: {tcp: \"127.0.0.1:8443\", interval: \(value), timeout: \(value)}")
                == daemonAccepts("    track: {tcp: [{address: \"127.0.0.1:8443\", interval: \(value), timeout: \(value)}]}"), "\(value)")
    }

    @Test(arguments: ["eth0", "eth0:1", "a/b", "fifteen-chars-x", "sixteen-chars-xx", ".", "br-lan.100"])
    func interfaceName(_ name: String) {
        #expect(inventoryAccepts("", interface: name) == daemonAccepts("", interface: name), "'\(name)'")
    }

    @Test(arguments: ["https://127.0.0.1:6443/readyz", "http://localhost:8404/healthz", "https://api.example:6443/readyz",
                      "https://127.0.0.1:0/", "https://[::1]:6443/"])
    func healthCheckURL(_ url: String) {
        #expect(inventoryAccepts("  track: {http: \"\(url)\"}") == daemonAccepts("    track: {http: [{url: \"\(url)\"}]}"), "\(url)")
    }

    @Test func keepalivedsCurlMayResolveANameTheDaemonWouldNot() {
        #expect(inventoryAccepts("  backend: keepalived\n  track: {http: \"https://api.example:6443/readyz\"}"))
    }
}
