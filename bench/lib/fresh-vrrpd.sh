# Sourced by the shell benchmarks: refuses a clusterup-vrrpd older than the daemon's sources (a
# run with an old daemon measures old code). Skipped when CLUSTERUP_VRRPD names the binary.
#   require_fresh_vrrpd BINARY REPO
require_fresh_vrrpd() {
    [ -z "${CLUSTERUP_VRRPD:-}" ] || return 0
    [ -x "$1" ] || { echo "no clusterup-vrrpd at $1: run scripts/build-vrrpd (or set CLUSTERUP_VRRPD)" >&2; exit 2; }
    newer=$(find "$2/Sources/TextFormats" "$2/Sources/VRRP" "$2/Sources/VRRPConfig" "$2/Sources/VRRPDaemon" "$2/Sources/CVRRPSys" "$2/Sources/clusterup-vrrpd" \
        -type f -newer "$1" 2>/dev/null | head -n 1)
    [ -z "$newer" ] || { echo "$1 is older than ${newer#"$2"/}: run scripts/build-vrrpd (or set CLUSTERUP_VRRPD)" >&2; exit 2; }
}
