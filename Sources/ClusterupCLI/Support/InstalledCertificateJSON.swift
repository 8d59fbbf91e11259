import ClusterupCore
import ClusterupDeploy
import Foundation

extension InstalledCertificate {
    /// One certificate read from a node, as `status` and `certs check-expiration` print it in JSON.
    func json(now: Date) -> JSONValue {
        .object([
            ("path", .string(path)), ("subject", .optional(subject)),
            ("not_after", .optional(notAfter.map { ISO8601DateFormatter().string(from: $0) })),
            ("days_left", .optional(daysLeft(now: now))), ("status", .string(status.rawValue)),
        ])
    }
}
