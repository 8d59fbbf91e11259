import Glibc
import VRRPDaemon

exit(VRRPDaemonCommand.main(CommandLine.arguments))
