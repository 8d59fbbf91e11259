"""CPU time spent inside lab nodes, read from /proc on this machine (root only).

A node is a systemd-nspawn container with its own PID namespace. Every process in it counts its
own CPU (utime+stime) and, once reaped, its children's (cutime+cstime); so the sum of
utime+stime+cutime+cstime over the processes alive in the node's namespace only ever grows, and
the difference between two snapshots is what the node spent in between: sshd (re-executed per
connection, key exchange, host key signature, PAM), systemd-logind, dbus, journald, the login
shell and the command. (On this machine the nodes share one cgroup, so cgroup accounting cannot
tell them apart.)
"""

import json
import os
import time

TICKS = os.sysconf("SC_CLK_TCK")


def _pid_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def node_leaders(state_file):
    """PIDs of the nodes' init processes, from the lab's state.json."""
    with open(state_file) as f:
        state = json.load(f)
    return [n["initProcess"]["pid"] for n in state["nodes"] if n.get("initProcess")]


def snapshot(leaders):
    """Total CPU seconds so far of every process inside the given nodes, keyed by command name."""
    namespaces = {_pid_namespace(pid) for pid in leaders} - {None}
    totals = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or _pid_namespace(entry) not in namespaces:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                stat = f.read()
        except OSError:
            continue  # exited meanwhile: its time is in its parent's cutime now
        command = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()
        ticks = sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
        totals[command] = totals.get(command, 0) + ticks / TICKS
    return totals


def idle_rate(leaders, seconds):
    """CPU seconds per second the nodes spend with nobody logged in, by command name."""
    before = snapshot(leaders)
    started = time.monotonic()
    time.sleep(seconds)
    after = snapshot(leaders)
    elapsed = time.monotonic() - started
    return {c: s / elapsed for c, s in difference(before, after).items()}


def difference(before, after, idle=None, seconds=0.0):
    """CPU seconds spent between two snapshots, by command name, less what idle nodes would have
    spent in those `seconds` (`idle` from idle_rate)."""
    idle = idle or {}
    spent = {c: after.get(c, 0) - before.get(c, 0) - idle.get(c, 0) * seconds for c in set(before) | set(after)}
    return {c: s for c, s in spent.items() if s > 0}
