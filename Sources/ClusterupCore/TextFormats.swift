// JSON output and the duration grammar live in the Foundation-free TextFormats, which
// clusterup-vrrpd shares; every module that imports ClusterupCore gets them with it.
@_exported import TextFormats
