import ArgumentParser
import ClusterupCore
import Foundation

extension Clusterup {
    /// `clusterup fanout-demo`: the fan-out engine and its progress display on simulated hosts,
    /// with blocking sleeps standing in for SSH calls. Hidden: for measuring and for trying displays.
    struct FanOutDemoCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "fanout-demo",
            abstract: "Run a blocking sleep on simulated hosts to show the fan-out and its progress display.",
            discussion: """
            Contacts nothing. Each simulated host sleeps (blocking its thread, as an SSH call would) in two steps, 'connect' and 'exec'. On a terminal the display redraws one line per host; piped, it prints one line per event; --output json prints one object per host at the end. Exits 1 if any host failed.

            Examples:
              clusterup fanout-demo --count 50 --sleep 200ms
              clusterup fanout-demo --count 5 --fail 2 --output json
              hyperfine 'clusterup fanout-demo --count 5' 'clusterup fanout-demo --count 32'
            """,
            shouldDisplay: false)

        @Option(help: "How many simulated hosts.")
        var count: Int = 50

        @Option(help: "How long each host blocks in all (e.g. 200ms, 2s).")
        var sleep: String = "200ms"

        @Option(help: "Make host number N fail (may be repeated).")
        var fail: [Int] = []

        @OptionGroup var fanOutOptions: FanOutOptions
        @OptionGroup var output: OutputOptions

        func run() async throws {
            guard let total = Duration(inventoryText: sleep) else {
                throw ClusterupError.badInput("invalid duration '\(sleep)'", at: "--sleep", hint: "e.g. 200ms or 2s")
            }
            guard count >= 1 else { throw ClusterupError.badInput("must be at least 1", at: "--count") }
            let names = (1...count).map { "host\($0)" }
            let failing = Set(fail.map { "host\($0)" })
            let half = UInt32(total.totalMilliseconds * 500)

            let clock = TimeSource.continuous
            let writer = output.progressWriter(names: names, clock: clock)
            writer.startTicker()
            let results = await fanOutOptions.fanOut(clock: clock).run(
                names, name: { $0 }, initialStep: "connect", progress: writer.sink
            ) { name, reporter in
                usleep(half)
                reporter.step("exec")
                usleep(half)
                if failing.contains(name) { throw ClusterupError.remote("simulated failure", host: name) }
            }
            writer.finish()

            let failed = results.filter { !$0.succeeded }.count
            let wall = clock.now()
            FileHandle.standardError.write(Data(
                "\(count) hosts in \(formatElapsed(wall)) at concurrency \(fanOutOptions.concurrency): \(count - failed) ok, \(failed) failed\n".utf8))
            if failed > 0 { throw ExitCode(1) }
        }
    }
}
