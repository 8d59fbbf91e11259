/// Where clusterup puts things on a node. Deploy writes there; status, verify and the Day-2
/// operations read there, so each path is spelled once.
public enum NodeLayout {
    /// The node's part of the PKI (kubeadm's layout).
    public static let pkiDirectory = "/etc/kubernetes/pki"
    /// etcd's CA, peer, server and client certificates.
    public static let etcdPKIDirectory = pkiDirectory + "/etcd"
    /// The local etcd member's client URL; every etcdctl call on a node goes through it.
    public static let localEtcdEndpoint = "https://127.0.0.1:2379"
}
