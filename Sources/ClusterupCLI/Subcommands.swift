import ArgumentParser

/// Every subcommand, in the order `--help` lists them.
let allSubcommands: [ParsableCommand.Type] = [
    Clusterup.Init.self,
    Clusterup.InventoryCommand.self,
    Clusterup.Certs.self,
    Clusterup.FanOutDemo.self,
]
