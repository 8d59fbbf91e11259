import VRRPDaemon
