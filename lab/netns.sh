#!/bin/sh
# Lab for clusterup-vrrpd: a LAN (bridge cuvt-br0 inside netns ${LAB_PREFIX}lan) with router
# netns ${LAB_PREFIX}r1..rN and a client netns ${LAB_PREFIX}c, addresses from
# 198.51.100.192/26 only. LAB_PREFIX (default cuvt-) must start with cuvt- or va-; give each
# concurrent run its own (e.g. cuvt-1a2b-) so runs never tear down each other's namespaces.
#   lab/netns.sh up N     create (N routers, default 3)
#   lab/netns.sh down     kill every process in this lab's namespaces and delete them
set -eu
cmd=${1:-up}
n=${2:-3}
p=${LAB_PREFIX:-cuvt-}
case $p in cuvt-*|va-*) ;; *) echo "LAB_PREFIX must start with cuvt- or va-" >&2; exit 2 ;; esac
down() {
    for ns in $(ip netns list | awk '{print $1}' | grep -E "^${p}(lan|c|r[0-9]+)\$" || true); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}
if [ "$cmd" = down ]; then down; exit 0; fi
down
ip netns add "${p}lan"
ip -n "${p}lan" link add cuvt-br0 type bridge forward_delay 0
ip -n "${p}lan" link set cuvt-br0 type bridge mcast_snooping 0
ip -n "${p}lan" link set cuvt-br0 up
ip -n "${p}lan" link set lo up
attach() {  # attach NAME ADDRESS: netns ${p}NAME with eth0, its peer p-NAME on the bridge
    ip netns add "${p}$1"
    ip -n "${p}$1" link set lo up
    ip link add eth0 netns "${p}$1" type veth peer name "p-$1" netns "${p}lan"
    ip -n "${p}lan" link set "p-$1" master cuvt-br0 up
    ip -n "${p}$1" addr add "$2/26" dev eth0
    ip -n "${p}$1" link set eth0 up
}
i=1
while [ "$i" -le "$n" ]; do
    attach "r$i" "198.51.100.$((200 + i))"
    i=$((i + 1))
done
attach c 198.51.100.250
