import ArgumentParser
import ClusterupLab
import Foundation

extension Clusterup {
    /// `--name` shared by every lab command.
    struct LabNameOptions: ParsableArguments {
        @Option(name: .long, help: "The lab's name: a-z, 0-9 and '-', at most 12 characters.")
        var name: String = ClusterupLab.Lab.defaultName
    }
}

/// Progress lines go to stderr so stdout stays for results (and `lab up`'s last line, the inventory path).
let labProgress: ClusterupLab.Lab.Progress = { line in
    FileHandle.standardError.write(Data("\(line)\n".utf8))
}
