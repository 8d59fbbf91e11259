# Sourced by the VRRP benchmarks: one way to write the two daemons' configurations, so a
# comparison always gives both the same instance (VRID 61, VIP 198.51.100.240/26 on eth0,
# VRRPv3, the same priority and interval).
#   vrrpd_config FILE SOCKET PRIORITY INTERVAL_MS [REALTIME_PRIORITY]
#   keepalived_config FILE ROUTER_ID PRIORITY INTERVAL_MS
vrrpd_config() {
    cat >"$1" <<YAML
status_socket: $2
realtime_priority: ${5:-10}
instances:
  - name: bench
    interface: eth0
    vrid: 61
    priority: $3
    advert_interval: ${4}ms
    vips: [198.51.100.240/26]
YAML
}

keepalived_config() {
    cat >"$1" <<KA
global_defs {
    router_id $2
    vrrp_version 3
}
vrrp_instance bench {
    state BACKUP
    interface eth0
    virtual_router_id 61
    priority $3
    advert_int $(awk "BEGIN { print $4 / 1000 }")
    virtual_ipaddress {
        198.51.100.240/26 dev eth0
    }
}
KA
}
