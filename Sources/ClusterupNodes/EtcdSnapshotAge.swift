import ClusterupCore

/// How old the newest etcd snapshot (`*.db`) in a node's backup directory is: the node prints
/// its clock and the snapshot's time, so the age needs no agreement between clocks. `status`
/// and `verify` ask it in their probes.
public enum EtcdSnapshotAge {
    /// Two lines: the node's time, then the newest snapshot's (nothing when there is none).
    public static func script(directory: String) -> String {
        let dir = shellQuote(directory)
        return "date +%s; ls -1 \(dir) 2>/dev/null | grep '\\.db$' | (cd \(dir) && xargs -r stat -c %Y) | sort -n | tail -1"
    }

    /// Seconds since the newest snapshot; nil when there is none.
    public static func parse(_ output: String) -> Double? {
        let numbers = output.split(whereSeparator: \.isWhitespace).compactMap { Double($0) }
        return numbers.count == 2 ? max(0, numbers[0] - numbers[1]) : nil
    }
}
