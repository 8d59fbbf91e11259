import ArgumentParser
import ClusterupCore
import ClusterupLab
import ClusterupSSH
import ClusterupVerify
import Foundation
import Timeline

extension FailureMode: ExpressibleByArgument {}

extension Clusterup {
    /// `clusterup verify failover [INVENTORY]`: break the VRRP master and measure what clients see.
    struct VerifyFailoverCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "failover",
            abstract: "Fail the VRRP master on purpose and measure detection time and client downtime through the VIP.",
            discussion: """
            Refuses unless `clusterup verify` passes and two or more lb hosts run the VRRP daemon. A prober on this \
            machine starts a probe of the control-plane endpoint (VIP:vip.port, or --target) every --probe-interval, each \
            with --probe-timeout, probes overlapping, for the whole run: `--probe tcp` counts a completed TCP connect, \
            `--probe https` a TLS handshake verified against the cluster CA (the VIP must be a SAN) followed by \
            `GET /readyz` (--probe-path) answered with HTTP 200, i.e. through HAProxy to a ready apiserver. The probe must \
            succeed steadily before the first fault. Each round breaks the current master, waits for another node to hold the VIP (detection time, polled \
            over SSH), keeps the fault for --hold (network: --cut), restores the node and waits until the VIP is where the \
            configuration puts it (with preempt: the highest priority). Downtime is the longest run of failed probes, \
            from the last success before it to the first success after it, including any failback.

            Modes:
              graceful  stop the VRRP daemon (it resigns with priority 0)
              crash     SIGKILL the daemon, remove the VIP it leaves (no resignation);
                        with --stop-node (lab only): kill the node's init, boot it again
              network   drop all but SSH on the master with nft for --cut; a timer
                        on the node removes the rules even if this machine goes away
              service   stop HAProxy on the master (needs vrrp.track to move the VIP)

            Before the first fault, every node the run may break is checked for what the mode needs \
            (network: nft and netdev egress hooks; graceful, crash, service: the unit active with its \
            control group), and the probe must reach the VIP: a missing piece stops the run with \
            nothing broken (exit 2 when it is the operator's to install). A fault counts once it is \
            in effect within --inject-timeout (the daemon's processes gone and the VIP off the node, \
            the cut in place); a round whose fault was not injected, or whose restore failed or \
            exceeded --restore-timeout, is reported failed with its reason and enters no figure.

            --plot FILE.svg draws every probe of every round on one time line per round, aligned at \
            the fault, with the takeover, restore and failback marked (also with --output json, whose \
            "plot" names the file); the file is checked writable before any fault.

            Ctrl-C stops after the current step and restores the node. Outside a lab \
            (inventories under /var/lib/clusterup/labs/) it needs --yes. Exits 1 when a round \
            fails: it measured nothing, split brain, no new master, a node not restored, or \
            downtime over --max-downtime.

            Examples:
              clusterup verify failover /var/lib/clusterup/labs/demo/inventory.yml \\
                  --mode graceful --rounds 5
              clusterup verify failover prod.yml --mode network --cut 5s \\
                  --max-downtime 500ms --yes --output json
              clusterup verify failover prod.yml --probe https --rounds 3 --yes
              clusterup verify failover prod.yml --mode network --rounds 3 --plot failover.svg --yes
            """)

        enum Probe: String, ExpressibleByArgument, CaseIterable {
            case tcp
            case https
        }

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var output: OutputOptions

        @Option(help: "How to fail the master: graceful, crash, network or service.")
        var mode: FailureMode = .graceful

        @Option(help: "How many rounds; each fails the master of the moment.")
        var rounds: Int = 1

        @Option(help: "Probe kind: tcp (connect) or https (TLS verified against the cluster CA, GET --probe-path, HTTP 200).")
        var probe: Probe = .tcp

        @Option(help: ArgumentHelp("What the probes connect to (default: the control-plane endpoint, vip.address:vip.port).", valueName: "host:port"))
        var target: String?

        @Option(help: ArgumentHelp("Port probed on the VIP (default: vip.port); --target replaces it.", visibility: .hidden))
        var port: Int?

        @Option(help: "Path the https probe requests.")
        var probePath = "/readyz"

        @Option(help: ArgumentHelp("CA bundle the https probe verifies the server against (default: ca.crt in the inventory's pki.directory).", valueName: "file"))
        var probeCA: String?

        @Option(help: ArgumentHelp("Client certificate for the https probe, for an apiserver that refuses anonymous /readyz.", valueName: "file"))
        var probeCert: String?

        @Option(help: ArgumentHelp("Key of --probe-cert.", valueName: "file"))
        var probeKey: String?

        @Option(help: "Time between probe starts; probes overlap, so this is the resolution. Default 2ms for tcp, 5ms for https (a TLS handshake costs about 1-2 ms of CPU here).")
        var probeInterval: DurationArgument?

        @Option(help: "How long one probe may take (tcp: connect; https: connect, TLS, response status line). Default 30ms for tcp, 200ms for https.")
        var probeTimeout: DurationArgument?

        @Option(help: "How long the network mode cuts the master off (whole seconds).")
        var cut = DurationArgument(.seconds(3))

        @Option(help: "How long the other modes keep the fault before restoring.")
        var hold = DurationArgument(.seconds(1))

        @Option(help: "Longest wait from sending the fault to seeing it in effect (daemon's processes gone and VIP off, cut in place); past it the round measured nothing.")
        var injectTimeout = DurationArgument(.seconds(10))

        @Option(help: "Longest time the restore command may take; past it the round measured nothing.")
        var restoreTimeout = DurationArgument(.seconds(30))

        @Option(help: "Exit 1 when a round's downtime exceeds this (e.g. 500ms).")
        var maxDowntime: DurationArgument?

        @Option(help: ArgumentHelp("Also draw the rounds as a timeline picture into this SVG file.", valueName: "file.svg"))
        var plot: String?

        @Flag(help: "With --mode crash in a lab: stop the master's whole node (its init is killed) and boot it again to restore.")
        var stopNode = false

        @Flag(help: "Confirm that breaking the master is intended (needed outside a lab).")
        var yes = false

        static let labDirectory = "/var/lib/clusterup/labs/"

        func validate() throws {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            if let probeInterval { guard probeInterval.duration > .zero else { throw ValidationError("--probe-interval must be more than 0") } }
            if let probeTimeout { guard probeTimeout.duration > .zero else { throw ValidationError("--probe-timeout must be more than 0") } }
            guard probePath.hasPrefix("/"), !probePath.contains(where: { $0.isWhitespace }) else {
                throw ValidationError("--probe-path must start with / and contain no spaces, e.g. /readyz")
            }
            guard (probeCert == nil) == (probeKey == nil) else { throw ValidationError("--probe-cert and --probe-key go together") }
            if probe == .tcp && (probeCA != nil || probeCert != nil || probePath != "/readyz") {
                throw ValidationError("--probe-path, --probe-ca, --probe-cert and --probe-key apply to --probe https only")
            }
            if target != nil && port != nil { throw ValidationError("--port and --target exclude each other: use --target HOST:PORT") }
            guard cut.duration >= .seconds(1) else { throw ValidationError("--cut must be at least 1s") }
            guard injectTimeout.duration >= .seconds(1), restoreTimeout.duration >= .seconds(1) else {
                throw ValidationError("--inject-timeout and --restore-timeout must be at least 1s")
            }
        }

        func run() async throws {
            // Before anything is broken: a run whose picture cannot be kept would have to be repeated.
            if let plot { try PlotFile.checkWritable(plot) }
            let loaded = try inventory.load()
            let path = URL(fileURLWithPath: loaded.path).standardizedFileURL.path
            let power = try stopNode ? Self.labPower(inventoryPath: path, mode: mode, hosts: loaded.hosts(withRole: .lb).map { ($0.name, $0.address) }) : nil
            guard yes || path.hasPrefix(Self.labDirectory) else {
                throw ClusterupError.badInput(
                    "verify failover breaks the VRRP master of \(loaded.cluster) on purpose", at: loaded.path,
                    hint: "run it in a maintenance window and pass --yes (lab inventories under \(Self.labDirectory) need no --yes)")
            }
            let vip = try loaded.requireVIP(for: "verify failover")
            let connector = try ssh.connector(for: loaded)

            // Never break a cluster that is already unwell: the figures would mean nothing.
            let surveys = await ClusterSurvey.run(loaded.hosts, inventory: loaded, connector: connector, fanOut: FanOut())
            let failing = VerifyEvaluator(inventory: loaded, now: Date(), expiryDays: 0).evaluate(surveys).filter { !$0.ok }
            guard failing.isEmpty else {
                throw ClusterupError.remote(
                    "refusing to fail over an unhealthy cluster: " + failing.map { "\($0.host ?? "cluster") \($0.check): \($0.detail)" }.joined(separator: "; "),
                    hint: "run `clusterup verify` and fix what it reports first")
            }

            let probeTarget = try target.map { try ProbeTarget.parse($0) } ?? ProbeTarget(host: vip.address, port: port ?? vip.port)
            let probeKind: ProbeKind = switch probe {
            case .tcp: .tcp
            case .https: .https(HTTPSProbe(path: probePath, caFile: probeCA ?? loaded.pki.directory + "/ca.crt",
                                           clientCertificate: probeCert, clientKey: probeKey))
            }
            var options = FailoverOptions(
                mode: mode, rounds: rounds, cut: cut.duration, hold: hold.duration, probeTarget: probeTarget, probe: probeKind,
                probeInterval: probeInterval?.duration ?? (probe == .tcp ? .milliseconds(2) : .milliseconds(5)),
                probeTimeout: probeTimeout?.duration ?? (probe == .tcp ? .milliseconds(30) : .milliseconds(200)))
            options.stopNode = stopNode
            options.injectLimit = injectTimeout.duration
            options.restoreLimit = restoreTimeout.duration
            let settings = options
            let cancel = CancelFlag()
            let json = output.isJSON
            // Ctrl-C and SIGTERM raise the flag instead of killing us mid-fault.
            let interrupts = InterruptHandler(signals: [SIGINT, SIGTERM], message: "interrupted: restoring the node, then stopping") {
                cancel.raise()
            }
            defer { interrupts.remove() }
            let lbHosts = loaded.hosts(withRole: .lb)
            let (results, realtime, prober): ([FailoverRound], Bool, String) = try await DedicatedThread.run(name: "verify-failover") {
                let connections = try FailoverRunner.connectAll(lbHosts, connector: connector)
                let runner = try FailoverRunner(inventory: loaded, options: settings, connections: connections, cancel: cancel,
                                                power: power, connector: connector) { line in
                    if !json { FileHandle.standardError.write(Data((line + "\n").utf8)) }
                }
                defer { runner.closeAll() }
                return (try runner.run(), runner.prober.realtime, runner.prober.description)
            }
            let summary = FailoverSummary(results)
            let limit = maxDowntime?.duration
            let label = mode.rawValue + (stopNode ? " --stop-node" : "")
            // The picture is written before the report, and its failure reported after it: the
            // figures of a run that broke the master are never lost to a full disk.
            var plotError: ClusterupError?
            if let plot {
                let context = FailoverTimeline.Context(
                    cluster: loaded.cluster, mode: mode, probeKind: probe.rawValue, probe: prober,
                    interval: options.probeInterval, timeout: options.probeTimeout)
                do { try PlotFile.write(TimelineSVG.render(FailoverTimeline.picture(results, context: context)), to: plot) }
                catch { plotError = error }
            }
            let plotted = plotError == nil ? plot : nil
            if json {
                print(JSONValue.object([
                    ("ok", .bool(summary.passed(maxDowntime: limit) && !cancel.isRaised)),
                    ("mode", .string(mode.rawValue)), ("backend", .optional(loaded.vrrp?.backend.rawValue)),
                    ("advert_interval_ms", loaded.vrrp.map { .int($0.advertInterval.totalMilliseconds) } ?? .null),
                    ("probe", .object([("kind", .string(probe.rawValue)), ("target", .string(probeTarget.description)),
                                       ("path", probe == .https ? .string(probePath) : .null),
                                       ("interval_ms", .double(options.probeInterval.milliseconds)),
                                       ("timeout_ms", .double(options.probeTimeout.milliseconds)),
                                       ("realtime", .bool(realtime)),
                                       ("median_spacing_ms", summary.medianProbeSpacing.map { .double($0.milliseconds) } ?? .null)])),
                    ("interrupted", .bool(cancel.isRaised)),
                    ("plot", .optional(plotted)),
                ] + summary.json + [
                    ("rounds", .array(results.map { $0.json(maxDowntime: limit) })),
                ]).pretty)
            } else {
                print(TextTable.render(header: FailoverRound.header, rows: results.map { $0.row(maxDowntime: limit) }), terminator: "")
                print(summary.line(label: label) + (cancel.isRaised ? " (interrupted; the node was restored)" : ""))
                if let plotted { print("timeline: \(plotted)") }
            }
            if let plotError { throw plotError }
            if cancel.isRaised || !summary.passed(maxDowntime: limit) || results.count < rounds { throw ExitCode(1) }
        }

        /// The lab behind an inventory kept in a lab's directory (`<labs>/<name>/inventory.yml`, or a
        /// copy beside it, e.g. with another VRRP backend) as a power switch for its nodes. Refused
        /// unless every lb host is a node of that lab by name AND address: only a lab's nodes can be
        /// powered off from here, and never one an edited inventory merely names.
        static func labPower(inventoryPath: String, mode: FailureMode, hosts: [(name: String, address: String)]) throws -> NodePower {
            guard mode == .crash else {
                throw ClusterupError.badInput("--stop-node goes with --mode crash (it is the whole-node form of a crash), not --mode \(mode.rawValue)",
                                              at: "--stop-node", hint: "add --mode crash, or drop --stop-node")
            }
            let notALab = ClusterupError.badInput(
                "--stop-node stops a node of a clusterup lab, but \(inventoryPath) is not in a lab's directory (\(labDirectory)NAME/)",
                at: inventoryPath,
                hint: "outside a lab, use --mode crash without --stop-node (kills the VRRP daemon), or power the node off by hand")
            guard let lab = labName(inventoryPath: inventoryPath),
                  let status = try? ClusterupLab.Lab.status(name: lab) else { throw notALab }
            if let problem = labMismatch(hosts: hosts, nodes: status.nodes.map { ($0.name, $0.address) }, lab: lab) {
                throw ClusterupError.badInput("--stop-node: \(problem)", at: inventoryPath,
                                              hint: "use the inventory `clusterup lab up` wrote (or a copy with the same hosts and addresses)")
            }
            return NodePower(
                stop: { node in try waitFor { try await ClusterupLab.Lab.stopNode(node, lab: lab, mode: .kill) } },
                start: { node in try waitFor { try await ClusterupLab.Lab.startNode(node, lab: lab) } })
        }

        /// `<labs>/<name>/<file>.yml` → name; anything else (another directory, a nested path) → nil.
        static func labName(inventoryPath: String) -> String? {
            guard inventoryPath.hasPrefix(labDirectory) else { return nil }
            let parts = inventoryPath.dropFirst(labDirectory.count).split(separator: "/", omittingEmptySubsequences: false)
            guard parts.count == 2, !parts[0].isEmpty, parts[0] != ".", parts[0] != "..",
                  parts[1].hasSuffix(".yml") || parts[1].hasSuffix(".yaml") else { return nil }
            return String(parts[0])
        }

        /// Why the inventory's hosts are not the lab's nodes (a host the lab lacks, or at another
        /// address), or nil when each host is a node of the lab at the same address.
        static func labMismatch(hosts: [(name: String, address: String)], nodes: [(name: String, address: String)], lab: String) -> String? {
            let byName = Dictionary(nodes.map { ($0.name, $0.address) }, uniquingKeysWith: { first, _ in first })
            let missing = hosts.filter { byName[$0.name] == nil }.map(\.name)
            if !missing.isEmpty {
                return "lab \(lab) has no node named \(missing.joined(separator: ", ")) (it has \(byName.keys.sorted().joined(separator: ", ")))"
            }
            let moved = hosts.filter { byName[$0.name] != $0.address }
            if !moved.isEmpty {
                return moved.map { "\($0.name) is \($0.address) in the inventory but \(byName[$0.name]!) in lab \(lab)" }.joined(separator: "; ")
            }
            return nil
        }

        /// Runs async lab work from the runner's dedicated thread (never from the cooperative pool).
        static func waitFor(_ work: @escaping @Sendable () async throws -> Void) throws {
            let outcome = Locked<Result<Void, any Error>>(.success(()))
            let done = DispatchSemaphore(value: 0)
            Task {
                do { try await work() } catch { outcome.withLock { $0 = .failure(error) } }
                done.signal()
            }
            done.wait()
            try outcome.withLock { $0 }.get()
        }
    }
}
