import ClusterupCore
import Foundation
import TestSupport

/// A three-node inventory (every node etcd, control-plane and lb) parsed from YAML, as a user writes it.
func operationsInventory(extra: String = "") throws -> Inventory {
    try InventoryLoader(environment: [:], homeDirectory: "/nonexistent", currentDirectory: "/tmp").parse(yaml: """
        cluster: demo
        hosts:
        \(DemoInventory.hostsYAML())
        vip: {address: \(DemoInventory.vip), prefix: 26, port: 8443}
        vrrp: {interface: eth0, vrid: 52}
        artifacts:
          kube-apiserver: {url: "https://downloads.example/kube-apiserver", sha256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}
          kube-controller-manager: {url: "https://downloads.example/kube-controller-manager", sha256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}
          kube-scheduler: {url: "https://downloads.example/kube-scheduler", sha256: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa}
        \(extra)
        """, path: "/tmp/demo.yml")
}

/// A self-signed P-256 certificate valid from 2026-11-22 06:05:40 UTC for 365 days.
let selfSignedPEM = """
    -----BEGIN CERTIFICATE-----
    MIIBizCCATGgAwIBAgIUDZ9mM0lJhQFFoHSGxVjNGWk2LqwwCgYIKoZIzj0EAwIw
    GzEZMBcGA1UEAwwQZXRjZC1zdGF0dXMtdGVzdDAeFw0yNjExMjIwNjA1NDBaFw0y
    NzExMjIwNjA1NDBaMBsxGTAXBgNVBAMMEGV0Y2Qtc3RhdHVzLXRlc3QwWTATBgcq
    hkjOPQIBBggqhkjOPQMBBwNCAAQ5Qyi/bZR0xFKwsiPhXC+41iOjATqQ+xk/HFSY
    WvOyerKAIzHErM+i5nTWV8DKiro5dKeB5ebxoN/UtCEmAkvHo1MwUTAdBgNVHQ4E
    FgQUd9oFdsOS6ern6zrhgaqGN12n49gwHwYDVR0jBBgwFoAUd9oFdsOS6ern6zrh
    gaqGN12n49gwDwYDVR0TAQH/BAUwAwEB/zAKBggqhkjOPQQDAgNIADBFAiEAtUo7
    dRRJlVfIPdEJLXkmSJuV5fi06kMGoiEtMSYyo3ECIHkm0xcELitvxDvenr3Eu96M
    zgOevpMchFegU6QCZQGs
    -----END CERTIFICATE-----
    """
