import Foundation

/// The commented inventory `clusterup init` writes. It must load as-is (a test checks it), so it
/// names no key file that might not exist: keys come from ssh-agent and ~/.ssh/config.
/// Sections added by later issues belong here too, so the starter keeps working for every command.
public enum StarterInventory {
    public static func text(cluster: String = "demo") -> String {
        """
        # clusterup inventory. Validate with: clusterup inventory check
        # Every key is documented below; unknown keys are errors. Durations: 100ms, 1s, 5m, 8760h, 365d.
        # Relative paths are relative to this file; ~ is your home directory.

        cluster: \(cluster)          # [a-z0-9-], at most 40 characters

        # SSH defaults for every host; each host may override any of them under its own 'ssh:'.
        ssh:
          user: root                 # default: ~/.ssh/config User, else your local user name
          # port: 22                 # default: ~/.ssh/config Port, else 22
          # identity_files: [~/.ssh/id_ed25519]   # default: ~/.ssh/config IdentityFile, OpenSSH's defaults
          agent: true                # use ssh-agent ($SSH_AUTH_SOCK) when it is running
          # known_hosts: known_hosts # default: ~/.ssh/known_hosts (+ UserKnownHostsFile from ~/.ssh/config)
          # passphrase_env: CLUSTERUP_KEY_PASSPHRASE   # variable holding the key passphrase (else a TTY prompt)
          # password_env: SSH_PASSWORD                 # password auth is tried only when this is set
          sudo: false                # false | true (passwordless) | {password_env: SUDO_PASSWORD}
          # bastion: admin@jump.example.internal:22     # or {host, port, user, identity_files}
          connect_timeout: 10s
          command_timeout: 300s
          use_ssh_config: true       # read Host, HostName, User, Port, IdentityFile, ProxyJump from ~/.ssh/config

        # Roles: etcd, control-plane, lb (a host may have several). Use 1 or 3 (or 5) etcd members.
        hosts:
          - name: node1
            address: 198.51.100.11       # what SSH connects to: IPv4, IPv6 or a DNS name
            # private_address: 10.0.0.11 # cluster traffic (etcd peers, apiserver); default: address
            roles: [etcd, control-plane, lb]
          - name: node2
            address: 198.51.100.12
            roles: [etcd, control-plane, lb]
          - name: node3
            address: 198.51.100.13
            roles: [etcd, control-plane, lb]
            # ssh: {user: admin, port: 2222, sudo: true}   # per-host override

        # The virtual IP clients use for the Kubernetes API: a free address on the lb hosts' subnet.
        vip:
          address: 198.51.100.62
          prefix: 24                 # prefix length when added to the interface (default 32, 128 for IPv6)
          port: 8443                 # HAProxy on the VIP; the apiservers themselves listen on 6443
          # dns_name: k8s.example.internal   # added to the apiserver certificate

        # VRRP moves the VIP to a healthy lb host.
        vrrp:
          backend: clusterup-vrrpd   # or keepalived
          interface: eth0            # the lb hosts' interface on the VIP's subnet (see `ip -br addr`)
          vrid: 51                   # 1..255, unique on this network segment
          version: 3                 # 3 (RFC 5798) or 2 (RFC 3768, whole-second intervals)
          advert_interval: 100ms
          # priorities: {node1: 254, node2: 253, node3: 252}   # default: 254, 253, ... in host order
          preempt: true
          preempt_delay: 0s
          unicast: false             # true: advertise to the other lb hosts' private addresses
          unicast_ttl_check: true    # unicast: hear only peers on this link (TTL 255); false if they are routed
          checksum: pseudo-header    # v3: pseudo-header (RFC 5798) | message-only (RFC 9568)
          # auth_password: secret    # v2 only, at most 8 characters (keepalived auth_pass)
          garp: {repeat: 5, delay: 0ms, refresh: 0s}
          realtime_priority: 10      # SCHED_RR of the VRRP daemon, 1..99 (keepalived: vrrp_rt_priority); 0 = normal
          max_interval_factor: 10    # v3, clusterup-vrrpd: adopt a master's interval up to 10x ours (0 = any, as RFC 5798)
          track:
            http: https://127.0.0.1:6443/readyz
            interval: 1s
            timeout: 1s
            rise: 2
            fall: 2
            weight: 0                # 0: a failing check gives up the VIP; otherwise shifts the priority

        # The cluster PKI made by `clusterup certs gen`.
        pki:
          directory: pki/\(cluster)
          algorithm: ecdsa-p256      # ecdsa-p256 | rsa-2048 | rsa-3072 | rsa-4096
          ca_validity: 3650d
          leaf_validity: 365d
          renew_before: 30d          # certs gen re-issues leaves expiring within this
          cluster_domain: cluster.local
          service_cidr: 10.96.0.0/12
          extra_sans: []             # more names/IPs for the apiserver certificate
          # external_ca: {cert: ca.crt, key: ca.key, passphrase_env: CA_PASSPHRASE}

        # etcd on the etcd hosts: TLS for clients and peers, certificates from the PKI above.
        etcd:
          data_dir: /var/lib/clusterup/etcd
          backup_dir: /var/lib/clusterup/etcd-backups   # deploy snapshots here before changing a running cluster
          extra_args: []             # more etcd flags, e.g. [--quota-backend-bytes=8589934592]

        control_plane:
          version: v1.31.0           # reported by status; checked against `--version` for present artifacts
          apiserver_extra_args: []
          controller_manager_extra_args: []
          scheduler_extra_args: []

        # Where each program comes from. Defaults: etcd, etcdctl, haproxy, keepalived from the nodes'
        # package manager; clusterup-vrrpd uploaded from this machine. Kubernetes binaries must be named:
        #   {url: https://…/kube-apiserver, sha256: <64 hex>}   downloaded once here, checked, uploaded
        #   {file: bin/kube-apiserver}                          air-gapped: a file on this machine
        #   {present: true, version: v1.31.0}                   already installed on the node
        #   {package: NAME}                                     the node's package manager
        # Each may add `path:` (where it lives on the node; default /usr/local/bin/NAME).
        artifacts:
          kube-apiserver: {present: true, version: v1.31.0}
          kube-controller-manager: {present: true, version: v1.31.0}
          kube-scheduler: {present: true, version: v1.31.0}
          # etcd: {package: etcd-server}

        # templates: my-templates       # a directory of <name>.mustache files replacing built-in ones

        """
    }

    /// Writes the starter to `path` only if no file is there (O_EXCL, so a race cannot overwrite one).
    public static func create(at path: String, cluster: String) throws(ClusterupError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else {
            let code = errno
            if code == EEXIST {
                throw .badInput(
                    "\(path) already exists; refusing to overwrite it",
                    hint: "pick another name (clusterup init other.yml) or move the existing file away first")
            }
            throw .badInput("cannot create \(path): \(String(cString: strerror(code)))",
                            hint: "check that the directory exists and is writable")
        }
        defer { close(fd) }
        let bytes = Array(text(cluster: cluster).utf8)
        var written = 0
        while written < bytes.count {
            let count = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard count > 0 else {
                let reason = String(cString: strerror(errno))
                unlink(path)
                throw .local("cannot write \(path): \(reason); nothing was left behind", at: path)
            }
            written += count
        }
    }
}
