import VRRPConfig
import CVRRPSys
import Glibc

/// `clusterup-vrrpd` command line: run, `--check-config FILE`, `status [--socket PATH]`.
/// Exit codes: 0 fine, 1 runtime failure, 2 bad input (usage or configuration).
public enum VRRPDaemonCommand {
    public static let defaultConfigPath = "/etc/clusterup/vrrpd.yaml"
    public static let version = "0.1.0"

    static let usage = """
        usage: clusterup-vrrpd [--config FILE]          run the daemon (default \(defaultConfigPath))
               clusterup-vrrpd --check-config FILE      validate a configuration and exit
               clusterup-vrrpd --check-restart-in-place FILE
                                                        the same, and say this build can resume
                                                        from a restart in place (SIGUSR2)
               clusterup-vrrpd status [--socket PATH | --config FILE]
                                                        print the running daemon's state as JSON
               clusterup-vrrpd --version
        signals: SIGTERM/SIGINT resign mastership (priority 0), remove the VIPs and exit;
                 SIGHUP reloads the configuration; SIGUSR2 restarts in place: the binary now at
                 this one's path (once its --check-config accepts the file) replaces the process,
                 and a Master stays Master with its VIPs where they are.
        """

    public static func main(_ arguments: [String]) -> Int32 {
        var args = Array(arguments.dropFirst())
        if args.first == "status" {
            args.removeFirst()
            return status(args)
        }
        var configPath = defaultConfigPath
        while let arg = args.first {
            args.removeFirst()
            switch arg {
            case "--config", "-f":
                guard let v = args.first else { return usageError("\(arg) needs a file") }
                configPath = v
                args.removeFirst()
            case "--check-config":
                guard let v = args.first else { return usageError("--check-config needs a file") }
                return checkConfig(v)
            case "--check-restart-in-place":
                // What a running daemon asks of the binary before it restarts into it: the file
                // is valid, and this build can resume from a restart in place (one that does not
                // know the option refuses it, and the daemon goes on as it was).
                guard let v = args.first else { return usageError("--check-restart-in-place needs a file") }
                return checkConfig(v)
            case "--version":
                print("clusterup-vrrpd \(version)")
                return 0
            case "--help", "-h":
                print(usage)
                return 0
            default:
                return usageError("unknown argument '\(arg)'")
            }
        }
        return run(configPath, arguments: arguments)
    }

    static func usageError(_ message: String) -> Int32 {
        printError("clusterup-vrrpd: \(message)\n\(usage)")
        return 2
    }

    /// The configuration, or nil after printing why (exit 2).
    static func load(_ path: String) -> DaemonConfig? {
        let text: String
        do {
            text = try readFile(path)
        } catch {
            printError("clusterup-vrrpd: \(error)")
            return nil
        }
        do {
            let config = try DaemonConfig.parse(text, file: path)
            try config.requireTLSRuntime(file: path)
            return config
        } catch {
            printError("clusterup-vrrpd: \(error)")
            return nil
        }
    }

    static func checkConfig(_ path: String) -> Int32 {
        guard let config = load(path) else { return 2 }
        for i in config.instances {
            for name in [i.interface] + i.track.interfaces where cvrrp_ifindex(name) < 0 {
                printError("clusterup-vrrpd: warning: instance \(i.name): interface \(name) does not exist on this host")
            }
        }
        let names = config.instances.map { "\($0.name) (VRID \($0.vrid) on \($0.interface))" }
        print("\(path): OK, \(config.instances.count) instance(s): \(names.joined(separator: ", "))")
        return 0
    }

    static func run(_ path: String, arguments: [String]) -> Int32 {
        // Root, or any user holding the two capabilities (the systemd unit grants them ambiently).
        guard geteuid() == 0 || cvrrp_has_network_capabilities() == 1 else {
            printError("clusterup-vrrpd: needs root or CAP_NET_RAW and CAP_NET_ADMIN (raw sockets and address changes)")
            return 1
        }
        guard let config = load(path) else { return 2 }
        do {
            // Set by the image this one replaced (a restart in place), and not passed on further.
            let handoff = getenv(RestartHandoff.environmentName).map { String(cString: $0) }
            unsetenv(RestartHandoff.environmentName)
            let daemon = try Daemon(configPath: path, config: config, arguments: arguments, handoff: handoff)
            return daemon.run()
        } catch {
            printError("clusterup-vrrpd: \(error)")
            return 1
        }
    }

    static func status(_ arguments: [String]) -> Int32 {
        var args = arguments
        var socket: String?
        while let arg = args.first {
            args.removeFirst()
            switch arg {
            case "--socket", "--config":
                guard let v = args.first else { return usageError("\(arg) needs a value") }
                args.removeFirst()
                if arg == "--socket" {
                    socket = v
                } else {
                    guard let c = load(v) else { return 2 }
                    socket = c.statusSocket
                }
            default:
                return usageError("unknown status argument '\(arg)'")
            }
        }
        do {
            let text = try readStatus(socket: socket ?? DaemonConfig.defaultStatusSocket)
            print(text, terminator: "")
            return 0
        } catch {
            printError("clusterup-vrrpd: \(error)")
            return 1
        }
    }

    static func printError(_ s: String) {
        var bytes = Array((s + "\n").utf8)
        _ = bytes.withUnsafeMutableBytes { write(2, $0.baseAddress, $0.count) }
    }
}
