import ArgumentParser
import ClusterupCore
import ClusterupSSH
import Foundation

extension Clusterup {
    /// `clusterup exec [INVENTORY] [--hosts a,b] [--roles r] -- COMMAND`
    struct ExecCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "exec",
            abstract: "Run a command on every selected host at once.",
            discussion: """
            The command runs through the login shell on each host, all hosts in parallel (up to --concurrency at a time), one SSH connection per host. Each host's output is printed when it finishes, stdout and stderr apart; the exit status is non-zero if any host failed or the command exited non-zero anywhere.

            Examples:
              clusterup exec -- hostname
              clusterup exec lab.yml --roles etcd -- systemctl is-active etcd
              clusterup exec --hosts node1,node2 --sudo -- journalctl -u haproxy -n 20
              clusterup exec --output json -- uname -r | jq -r '.[] | "\\(.host) \\(.stdout)"'
              clusterup exec --timings -- true     # where each host's login time goes

            --timings prints, per host, how long each phase took (TCP connect, SSH handshake, known_hosts check, authentication, channel open, exec start, output, exit) and the negotiated key exchange and host key algorithms; `--output json` always carries them as `timings` and `ssh`. A slow `channel open` on a fresh connection is the host's PAM session (systemd-logind, motd scripts); a slow `handshake` is the host's sshd starting up and signing.
            """)

        @OptionGroup var inventory: InventoryOptions
        @OptionGroup var ssh: SSHOptions
        @OptionGroup var fanOut: FanOutOptions
        @OptionGroup var output: OutputOptions

        @Flag(help: "Run as root (sudo for non-root SSH users, as the inventory configures).")
        var sudo = false

        @Option(help: "Seconds before the command is abandoned on a host.")
        var timeout: Double?

        @Flag(help: "Print how long each phase of each host's login and command took.")
        var timings = false

        @Argument(parsing: .postTerminator, help: "The command, after --.")
        var command: [String] = []

        func validate() throws {
            guard !command.isEmpty else { throw ValidationError("give the command after --, e.g. clusterup exec -- hostname") }
        }

        func run() async throws {
            let words = command
            // One word is taken as shell text ("a && b"); several are quoted word by word.
            let script = words.count == 1 ? words[0] : words.map(Shell.quote).joined(separator: " ")
            let (loaded, hosts) = try inventory.loadSelection()
            let connector = try ssh.connector(for: loaded)
            let sudo = self.sudo, timeout = self.timeout, json = output.isJSON
            let printLock = Locked(())
            let results = await fanOut.fanOut(clock: .continuous).run(hosts, initialStep: "connecting") { host, reporter in
                let connection = try connector.connect(host)
                defer { connection.close() }
                reporter.step("running")
                let result = try connection.run(script, sudo: sudo, timeout: timeout)
                if !json {
                    printLock.withLock { _ in print(ExecReport.block(host: host.name, result: result), terminator: "") }
                }
                return ExecOutcome(result: result, timings: LoginTimings(
                    connection: connection.timings, command: result.timings, algorithms: connection.algorithms))
            }
            var failed = 0
            for result in results {
                if let error = result.error {
                    failed += 1
                    if !json { printError("\(result.host): \(explain(error))") }
                } else if result.value?.result.succeeded == false {
                    failed += 1
                }
            }
            if timings && !json {
                for case let (host, outcome?) in results.map({ ($0.host, $0.value) }) {
                    print(outcome.timings.line(host: host))
                }
            }
            if json {
                print(JSONValue.array(results.map(ExecReport.json)).pretty)
            } else {
                print("\(results.count - failed) of \(results.count) host(s) succeeded")
            }
            if failed > 0 { throw ExitCode(1) }
        }
    }
}

/// What `exec` keeps of one host: the command's result and where its login time went.
struct ExecOutcome: Sendable {
    var result: CommandResult
    var timings: LoginTimings
}

enum ExecReport {
    static func block(host: String, result: CommandResult) -> String {
        var text = "== \(host): " + (result.signal.map { "killed by SIG\($0)" } ?? "exit \(result.exitStatus)") + "\n"
        let out = result.stdoutText, err = result.stderrText
        if !out.isEmpty { text += out.hasSuffix("\n") ? out : out + "\n" }
        if !err.isEmpty {
            for line in err.split(separator: "\n", omittingEmptySubsequences: false).dropLast(err.hasSuffix("\n") ? 1 : 0) {
                text += "stderr: \(line)\n"
            }
        }
        return text
    }

    static func json(_ result: HostResult<ExecOutcome>) -> JSONValue {
        var fields: [(String, JSONValue)] = [("host", .string(result.host))]
        fields.append(("elapsed_seconds", .double(result.elapsed.totalSeconds)))
        if let outcome = result.value {
            let value = outcome.result
            fields.append(("exit_status", .int(Int64(value.exitStatus))))
            fields.append(("signal", .optional(value.signal)))
            fields.append(("stdout", .string(value.stdoutText)))
            fields.append(("stderr", .string(value.stderrText)))
            fields.append(("ok", .bool(value.succeeded)))
            fields.append(("timings", outcome.timings.json))
            fields.append(("ssh", outcome.timings.algorithmsJSON))
        } else {
            fields.append(("ok", .bool(false)))
            fields.append(("error", .string(result.error.map { explain($0) } ?? "skipped")))
        }
        return .object(fields)
    }
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
