import Timeline

/// Fixed probe logs for the golden pictures: written out here, not measured, so the pictures
/// change only when the renderer does. (docs/images holds a picture of a real lab run.)
enum TimelineFixtures {
    /// One probe every `every` ms from `from` to `to` (ms from the fault), outcome by start time.
    static func probes(_ kind: String, from: Int, to: Int, every: Int, _ outcome: (Int) -> ProbeMark = { _ in .success }) -> [TimelineProbe] {
        stride(from: from, through: to, by: every).map { TimelineProbe(at: .milliseconds($0), kind: kind, outcome: outcome($0)) }
    }

    static let refused = ProbeMark.failure(.refused, reason: "connect: Connection refused")
    static func timeout(_ ms: Int) -> ProbeMark { .failure(.timeout, reason: "no answer within \(ms) ms") }

    /// Two graceful rounds of a tcp probe every 10 ms: the old master resigns, a few probes are
    /// refused or time out while the VIP moves, and it comes back after the restore (preempt).
    static var graceful: TimelinePicture {
        func round(_ index: Int, gapStart: Int, takeover: Int) -> TimelineLane {
            TimelineLane(
                label: "round \(index): graceful failure of node1",
                figures: [TimelineFigure("downtime", "40.0 ms"), TimelineFigure("failback downtime", "0.0 ms"),
                          TimelineFigure("failed probes", "3 of 211")],
                probes: probes("tcp", from: -300, to: 1800, every: 10) { at in
                    if at == gapStart { return refused }
                    if at > gapStart && at < gapStart + 30 { return timeout(30) }
                    return .success
                },
                markers: [
                    TimelineMarker(at: .zero, kind: .fault, label: "graceful fault on node1"),
                    TimelineMarker(at: .milliseconds(takeover), kind: .takeover, label: "node2 holds the VIP"),
                    TimelineMarker(at: .milliseconds(1000), kind: .restore, label: "restore node1"),
                    TimelineMarker(at: .milliseconds(1320), kind: .failback, label: "VIP back on node1"),
                ],
                spans: [TimelineSpan(start: .milliseconds(gapStart - 10), end: .milliseconds(gapStart + 30), label: "downtime 40.0 ms")])
        }
        return TimelinePicture(
            title: "verify failover of lab: graceful, 2 rounds",
            subtitle: "tcp 198.51.100.62:8443, a probe every 10.0 ms (timeout 30.0 ms); time from the fault",
            lanes: [round(1, gapStart: 20, takeover: 34), round(2, gapStart: 30, takeover: 41)],
            figures: [TimelineFigure("median downtime", "40.0 ms"), TimelineFigure("failed probes", "6 of 422")],
            detail: .milliseconds(-50) ... .milliseconds(150))
    }

    /// A network cut of an https probe every 20 ms: timeouts while the master is cut off, HTTP 500
    /// from one apiserver in three while HAProxy still sends to it, then a failback outage of
    /// refusals and resets when the healed node takes the VIP back.
    static var networkWithFailback: TimelinePicture {
        let log = probes("https", from: -300, to: 3000, every: 20) { at in
            switch at {
            case 0..<260: return timeout(200)
            case 260..<620 where at % 60 == 0: return .failure(.http, reason: "HTTP 500")
            case 2080..<2140: return refused
            case 2140..<2200: return .failure(.reset, reason: "TLS handshake: Connection reset by peer")
            case 2200: return .failure(.tls, reason: "TLS handshake: error:0A000126:SSL routines::unexpected eof while reading")
            default: return .success
            }
        }
        let lane = TimelineLane(
            label: "round 1: network failure of node1",
            figures: [TimelineFigure("downtime", "280.0 ms"), TimelineFigure("failback downtime", "160.0 ms"), TimelineFigure("failed probes", "26 of 166")],
            probes: log,
            markers: [
                TimelineMarker(at: .zero, kind: .fault, label: "network fault on node1"),
                TimelineMarker(at: .milliseconds(212), kind: .detection, label: "node2 sees no adverts"),
                TimelineMarker(at: .milliseconds(251), kind: .takeover, label: "node2 holds the VIP"),
                TimelineMarker(at: .milliseconds(2000), kind: .restore, label: "restore node1"),
                TimelineMarker(at: .milliseconds(2150), kind: .failback, label: "VIP back on node1"),
            ],
            spans: [
                TimelineSpan(start: .milliseconds(-20), end: .milliseconds(260), label: "downtime 280.0 ms"),
                TimelineSpan(start: .milliseconds(2060), end: .milliseconds(2220), label: "failback downtime 160.0 ms"),
            ])
        return TimelinePicture(
            title: "verify failover of lab: network, 1 round",
            subtitle: "https://198.51.100.62:8443/readyz, a probe every 20.0 ms (timeout 200.0 ms); time from the fault",
            lanes: [lane],
            figures: [TimelineFigure("median downtime", "280.0 ms"), TimelineFigure("median failback downtime", "160.0 ms"),
                      TimelineFigure("failed probes", "26 of 166")])
    }

    /// An operation of three steps, one host each, probed by tcp and https at once: each step
    /// costs a short gap while its host's apiserver restarts. Host names carry markup on purpose.
    static var multiStep: TimelinePicture {
        let hosts = ["cp-1", "cp-2 <east & \"west\">", "cp-3"]
        var markers: [TimelineMarker] = []
        var steps: [TimelineStep] = []
        for (index, host) in hosts.enumerated() {
            let start = index * 4000
            steps.append(TimelineStep(name: "upgrade kube-apiserver", host: host, start: .milliseconds(start), end: .milliseconds(start + 3500)))
            markers.append(TimelineMarker(at: .milliseconds(start), kind: .stepStart, label: "step \(index + 1)"))
        }
        func outcome(_ at: Int) -> ProbeMark {
            let into = at % 4000
            if at >= 0 && into >= 1200 && into < 1300 { return .failure(.reset, reason: "connect: Connection reset by peer") }
            return .success
        }
        let lane = TimelineLane(
            label: "upgrade apply: 3 steps",
            figures: [TimelineFigure("longest gap", "100.0 ms"), TimelineFigure("failed probes", "30 of 482")],
            probes: probes("tcp", from: -500, to: 11500, every: 50, outcome)
                + probes("https", from: -480, to: 11480, every: 50) { at in
                    let into = at % 4000
                    return at >= 0 && into >= 1180 && into < 1400 ? .failure(.http, reason: "HTTP 503") : .success
                },
            markers: markers,
            steps: steps,
            note: "synthetic fixture")
        return TimelinePicture(title: "upgrade apply of lab & <friends>", subtitle: "tcp and https probes every 50 ms", lanes: [lane])
    }

    static let all: [(name: String, picture: TimelinePicture)] = [
        ("graceful-round", graceful), ("network-round-failback", networkWithFailback), ("multi-step", multiStep),
    ]
}
