import ClusterupCLI

await Clusterup.runMain()
