import ClusterupCore

/// etcdctl on a node, talking over TLS with the health-check client certificate (the one client
/// certificate every etcd host has). Deploy, status, verify and the etcd operations build their
/// etcdctl command lines here.
public enum Etcdctl {
    /// `arguments` is passed as written (callers quote what they interpolate); `etcdctl` is quoted here.
    public static func command(_ etcdctl: String, _ arguments: String,
                               endpoints: String = NodeLayout.localEtcdEndpoint) -> String {
        let pki = NodeLayout.etcdPKIDirectory
        return "ETCDCTL_API=3 \(shellQuote(etcdctl)) --endpoints=\(endpoints) --cacert=\(pki)/ca.crt"
            + " --cert=\(pki)/healthcheck-client.crt --key=\(pki)/healthcheck-client.key --command-timeout=5s \(arguments)"
    }
}
