import ArgumentParser

extension Clusterup {
    /// `clusterup certs rotate-ca`: replace a CA on a running cluster in three separate runs.
    struct CertsRotateCACommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "rotate-ca",
            abstract: "Replace the Kubernetes, etcd or front-proxy CA without downtime, in three phases.",
            discussion: """
            Run each phase on its own, with `clusterup verify` between them:
              --phase trust    a new CA is made; every trust point (the CA files on the nodes, kubeconfigs) \
            gets a bundle of old + new, rolled out host by host;
              --phase reissue  every leaf of the old CA is re-issued by the new one (same keys unless \
            --rotate-keys), rolled out host by host, served serials checked;
              --phase finish   the old CA leaves every bundle; its key stays in pki.directory/rotate-ca/old/.
            --rotate-sa rotates the service-account key pair the same way (sa.pub holds old + new public \
            keys, then the new key signs, then the old public key goes), alone or with --ca.

            Files are installed exactly where they changed; etcd restarts one member at a time (leader \
            last, leadership moved first) and kube-apiserver drained on every HAProxy, under probes through \
            the VIP (failed probes and the longest gap are reported). Before a phase every verify check must \
            pass; after it verify runs again. pki.directory/rotate-ca.json records where the rotation \
            stands (`certs rotate-ca status`); a phase refuses to start while the previous one is \
            incomplete on any host, a failed phase is resumed by running it again, and a phase run twice \
            changes nothing. A phase runs under deploy's lock: refused (exit 1, nothing changed) while a \
            deploy, an upgrade or another certificate operation holds it, and they are refused meanwhile.

            Examples:
              clusterup certs rotate-ca lab.yml --ca etcd --phase trust --dry-run
              clusterup certs rotate-ca lab.yml --ca all --phase trust
              clusterup certs rotate-ca status lab.yml
            """,
            subcommands: [CertsRotateCARunCommand.self, CertsRotateCAStatusCommand.self],
            defaultSubcommand: CertsRotateCARunCommand.self)
    }
}
