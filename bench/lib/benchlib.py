"""Shared pieces of the benchmarks: timing a command with /usr/bin/time -v, lab up/down, medians.
CPU is user+system time of the command and the children it waited for, on this machine (not
the nodes' sshd, which runs in containers on the same cores).

Every figure is printed with the load average of this machine at the time it was taken, because
the machine's 2 cores are shared and a figure without its load says little.
"""

import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def log(message):
    print(message, file=sys.stderr, flush=True)


def clusterup_binary():
    path = os.environ.get("CLUSTERUP", os.path.join(REPO, ".build/release/clusterup"))
    if not os.access(path, os.X_OK):
        sys.exit(f"no clusterup binary at {path}: run `swift build -c release` first (or set CLUSTERUP)")
    return path


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


class Sample:
    def __init__(self, seconds, max_rss_kib, status, load, output, cpu=0.0):
        self.cpu = cpu
        self.seconds = seconds
        self.max_rss_kib = max_rss_kib
        self.status = status
        self.load = load
        self.output = output


def timed(argv, env=None, timeout=900):
    """Runs argv under /usr/bin/time -v; wall time is measured here (monotonic), peak memory is
    GNU time's "Maximum resident set size": the largest single process among the command and the
    children it waited for (not their sum)."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
        load = loadavg()
        started = time.monotonic()
        proc = subprocess.run(["/usr/bin/time", "-v", "-o", report.name] + argv, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout)
        elapsed = time.monotonic() - started
        text = report.read()
    match = re.search(r"Maximum resident set size \(kbytes\): (\d+)", text)
    cpu = sum(float(m) for m in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
    return Sample(elapsed, int(match.group(1)) if match else 0, proc.returncode, load, proc.stdout, cpu)


def lab_up(name, nodes, attempts=20):
    """`clusterup lab up`; when every address block is in use (other helpers' labs), waits and retries."""
    binary = clusterup_binary()
    for attempt in range(attempts):
        proc = subprocess.run([binary, "lab", "up", "--name", name, "--nodes", str(nodes)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if proc.returncode == 0:
            return proc.stdout.strip().splitlines()[-1]
        if "address block" in proc.stderr.lower() or "in use" in proc.stderr.lower():
            log(f"lab up: address blocks busy, retrying in 30 s ({attempt + 1}/{attempts})")
            time.sleep(30)
            continue
        sys.exit(f"lab up failed:\n{proc.stderr}")
    sys.exit("lab up: no address block became free")


def lab_down(name):
    subprocess.run([clusterup_binary(), "lab", "down", "--name", name],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read_lab_inventory(path):
    """The few fields of a lab inventory the benchmarks need: hosts (name, address), key, known_hosts."""
    text = open(path).read()
    names = re.findall(r"^\s*- name: (\S+)", text, re.M)
    addresses = re.findall(r"^\s+address: (\S+)", text, re.M)
    identity = re.search(r"identity_files: \[(.+?)\]", text).group(1).strip()
    known_hosts = re.search(r"known_hosts: (\S+)", text).group(1)
    return {"hosts": list(zip(names, addresses[:len(names)])), "identity": identity, "known_hosts": known_hosts}


def summary(samples):
    ok = [s for s in samples if s.status == 0]
    failed = len(samples) - len(ok)
    if not ok:
        return "all runs failed"
    times = [s.seconds for s in ok]
    loads = [s.load for s in ok]
    cpu = statistics.median(s.cpu for s in ok)
    return (f"median {statistics.median(times):7.3f} s  (min {min(times):.3f}, max {max(times):.3f}, n={len(ok)}"
            f"{', FAILED ' + str(failed) if failed else ''})  peak RSS {max(s.max_rss_kib for s in ok) / 1024:6.1f} MiB"
            f"  CPU {cpu:.2f} s  load {min(loads):.2f}-{max(loads):.2f}")


def median(samples):
    ok = [s.seconds for s in samples if s.status == 0]
    return statistics.median(ok) if ok else float("nan")


VRRPD_SOURCES = ["Sources/VRRP", "Sources/VRRPDaemon", "Sources/CVRRPSys", "Sources/clusterup-vrrpd"]


def stale_vrrpd(path):
    """The first daemon source file newer than the clusterup-vrrpd binary at path, or None. A
    benchmark run with an old daemon measures old code (deploy uploads whatever binary it finds)."""
    built = os.path.getmtime(path)
    for top in VRRPD_SOURCES:
        for root, _, files in os.walk(os.path.join(REPO, top)):
            for name in files:
                source = os.path.join(root, name)
                if os.path.getmtime(source) > built:
                    return source
    return None


def require_fresh_vrrpd(path):
    """Exits when the default clusterup-vrrpd is older than its sources (CLUSTERUP_VRRPD set: trusted)."""
    if os.environ.get("CLUSTERUP_VRRPD"):
        return
    if not os.path.exists(path):
        sys.exit(f"no clusterup-vrrpd at {path}: run scripts/build-vrrpd (or set CLUSTERUP_VRRPD)")
    newer = stale_vrrpd(path)
    if newer:
        sys.exit(f"{path} is older than {os.path.relpath(newer, REPO)}: run scripts/build-vrrpd "
                 "(or set CLUSTERUP_VRRPD to the daemon you mean to measure)")
