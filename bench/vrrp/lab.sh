#!/bin/sh
# Lab for clusterup-vrrpd: a LAN (bridge cuvt-br0 inside netns cuvt-lan) with router netns
# cuvt-r1..cuvt-rN and a client netns cuvt-c, addresses from 198.51.100.192/26 only.
#   lab.sh up N     create (N routers, default 3)
#   lab.sh down     remove everything named cuvt-*
set -eu
cmd=${1:-up}
n=${2:-3}
down() {
    for ns in $(ip netns list | awk '{print $1}' | grep '^cuvt-' || true); do
        for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null || true; done
        ip netns del "$ns" 2>/dev/null || true
    done
}
if [ "$cmd" = down ]; then down; exit 0; fi
down
ip netns add cuvt-lan
ip -n cuvt-lan link add cuvt-br0 type bridge forward_delay 0
ip -n cuvt-lan link set cuvt-br0 type bridge mcast_snooping 0
ip -n cuvt-lan link set cuvt-br0 up
ip -n cuvt-lan link set lo up
attach() {  # attach NS IFNAME ADDRESS
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip link add "$2" netns "$1" type veth peer name "p-$1" netns cuvt-lan
    ip -n cuvt-lan link set "p-$1" master cuvt-br0 up
    ip -n "$1" addr add "$3/26" dev "$2"
    ip -n "$1" link set "$2" up
}
i=1
while [ "$i" -le "$n" ]; do
    attach "cuvt-r$i" eth0 "198.51.100.$((200 + i))"
    i=$((i + 1))
done
attach cuvt-c eth0 198.51.100.250
