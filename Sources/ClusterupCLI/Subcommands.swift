import ArgumentParser

/// Every subcommand, in the order `--help` lists them.
let allSubcommands: [ParsableCommand.Type] = [
    Clusterup.InitCommand.self,
    Clusterup.InventoryCommand.self,
    Clusterup.CheckCommand.self,
    Clusterup.ExecCommand.self,
    Clusterup.CertsCommand.self,
    Clusterup.DeployCommand.self,
    Clusterup.StatusCommand.self,
    Clusterup.ResetCommand.self,
    Clusterup.EtcdCommand.self,
    Clusterup.UpgradeCommand.self,
    Clusterup.LabCommand.self,
    Clusterup.VerifyCommand.self,
    Clusterup.FanOutDemoCommand.self,
]
