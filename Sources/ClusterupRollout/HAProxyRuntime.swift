import ClusterupCore
import ClusterupDeploy
import ClusterupNodes

extension HAProxyRuntime {
    /// A shell script sending each command on its own connection to the admin socket with socat
    /// (the runtime API answers one command per connection in its non-interactive mode), each
    /// answer after a line `@@answer N`, read back by `answers`. socat's `-t 5`: how long it
    /// waits for the answer once the command is sent.
    public static func script(_ commands: [String], socat: String = "socat", socket: String = HAProxyNode.adminSocket) -> String {
        commands.enumerated().map { index, command in
            "echo '@@answer \(index)'; echo \(shellQuote(command)) | \(shellQuote(socat)) -t 5 stdio \(shellQuote("unix-connect:\(socket)"))"
        }.joined(separator: "\n") + "\n"
    }

    /// The answers of `script`, in command order (a missing answer is empty).
    public static func answers(_ output: String, count: Int) -> [String] {
        let sections = ProbeSections(output).all("answer")
        return (0..<count).map { index in sections.first { $0.argument == String(index) }?.body ?? "" }
    }
}
