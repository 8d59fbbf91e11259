import ArgumentParser

/// Every subcommand, in the order `--help` lists them.
let allSubcommands: [ParsableCommand.Type] = [
    Clusterup.Init.self,
    Clusterup.InventoryCommand.self,
    Certs.self,
    Clusterup.Exec.self,
    Clusterup.Check.self,
    Clusterup.DeployCommand.self,
]
