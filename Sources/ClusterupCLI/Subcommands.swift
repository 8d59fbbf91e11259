import ArgumentParser

/// Every subcommand, in the order `--help` lists them.
let allSubcommands: [ParsableCommand.Type] = [
    Clusterup.Init.self,
    Clusterup.InventoryCommand.self,
    Clusterup.Check.self,
    Clusterup.Exec.self,
    Clusterup.Certs.self,
    Clusterup.DeployCommand.self,
    Clusterup.Status.self,
    Clusterup.ResetCommand.self,
    Clusterup.Etcd.self,
    Clusterup.Upgrade.self,
    Clusterup.Lab.self,
    Clusterup.Verify.self,
    Clusterup.FanOutDemo.self,
]
