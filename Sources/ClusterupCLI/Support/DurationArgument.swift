import ArgumentParser
import ClusterupCore

/// A duration flag in the inventory's syntax ("100ms", "3s").
struct DurationArgument: ExpressibleByArgument, Sendable {
    var duration: Duration

    init?(argument: String) {
        guard let duration = Duration(inventoryText: argument) else { return nil }
        self.duration = duration
    }

    init(_ duration: Duration) { self.duration = duration }

    var defaultValueDescription: String { duration.inventoryText }
}
