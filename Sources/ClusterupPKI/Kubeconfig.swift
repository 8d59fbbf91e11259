import Foundation

extension KubeconfigSpec {
    /// The kubeconfig YAML with the CA, client certificate and key embedded (base64 of the PEM),
    /// as kubeadm writes them. Deterministic, so an unchanged file is detected by comparing bytes.
    public func render(authorityPEM: Data, certificatePEM: Data, keyPEM: Data) -> Data {
        let context = "\(userName)@\(clusterName)"
        let text = """
        apiVersion: v1
        kind: Config
        clusters:
        - cluster:
            certificate-authority-data: \(authorityPEM.base64EncodedString())
            server: \(serverURL)
          name: \(clusterName)
        contexts:
        - context:
            cluster: \(clusterName)
            user: \(userName)
          name: \(context)
        current-context: \(context)
        preferences: {}
        users:
        - name: \(userName)
          user:
            client-certificate-data: \(certificatePEM.base64EncodedString())
            client-key-data: \(keyPEM.base64EncodedString())

        """
        return Data(text.utf8)
    }
}
