import TextFormats
import Testing
@testable import VRRPConfig

/// One duration grammar (TextFormats' `Duration(inventoryText:)`): clusterup-vrrpd's
/// configuration takes exactly the spellings the inventory takes. (Before, the daemon had a parser
/// of its own that refused "0" and days, so an inventory could pass `inventory check` with
/// `preempt_delay: 0` and the daemon refuse the file deploy rendered from it.)
@Suite struct DurationGrammarTests {
    func daemonPreemptDelay(_ text: String) -> Duration? {
        let config = """
        instances:
          - name: api
            interface: eth0
            vrid: 51
            vips: [198.51.100.62/26]
            preempt_delay: "\(text)"
        """
        return (try? DaemonConfig.parse(config, file: "vrrpd.yaml"))?.instances.first?.preemptDelay
    }

    @Test(arguments: ["0", "0ms", "0d", "250ms", "5s", "2m", " 5s ", "\u{A0}5s", "1000s", "1001s", "1h", "1d",
                      "", "5", "1.5s", "-1s", "5 s", "1sec", "s", "99999999999999999999d"])
    func theDaemonTakesWhatTheInventoryTakes(_ text: String) {
        // The daemon adds its own limit on top (preempt_delay at most 1000s).
        let inventory = Duration(inventoryText: text).flatMap { $0 <= .seconds(1000) ? $0 : nil }
        #expect(daemonPreemptDelay(text) == inventory, "'\(text)'")
    }

    @Test func conversionsTruncateAndClamp() {
        #expect(Duration.nanoseconds(1_999_999).totalMilliseconds == 1)
        #expect(Duration.nanoseconds(1_500_000).milliseconds == 1.5)
        #expect(Duration.milliseconds(1500).wholeNanoseconds == 1_500_000_000)
        #expect(Duration.milliseconds(-5).wholeNanoseconds == 0)
        #expect(Duration.days(1).inventoryText == "1d")
    }
}
