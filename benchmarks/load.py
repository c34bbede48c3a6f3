"""What every benchmark prints about the machine it ran on: the load before and after, how much of the machine
other processes used meanwhile, and whether its figures may be quoted (other processes slow the sides of a
comparison unevenly)."""

from __future__ import annotations

import os
import platform
import resource
import time

#: the load average per core before a measurement above which it shared the machine, where the CPU time of other
#: processes cannot be read
QUIET = 0.5
#: the CPU other processes may use during a measurement, in cores, before its ratios are not to be quoted
OTHERS_AT_MOST = 0.25


def busy_seconds() -> float | None:
    """CPU seconds the whole machine has spent busy since boot (Linux's /proc/stat), or None elsewhere."""
    try:
        with open("/proc/stat") as stat:
            fields = [int(value) for value in stat.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    guests = sum(fields[8:10])  # already counted in user and nice
    return (sum(fields) - idle - guests) / os.sysconf("SC_CLK_TCK")


def own_seconds() -> float:
    """CPU seconds of this process and of the children it has waited for."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


#: the benchmark's start, taken when it imports this module: the load average after counts the benchmark's own
#: threads, so what other processes did meanwhile is measured as the machine's busy time less this process's
STARTED = (time.monotonic(), busy_seconds(), own_seconds())


def load_report(load_before: float, details: str) -> str:
    """The machine, its load around a measurement, the cores other processes used during it and ``details`` of
    the run, with a warning when other processes shared the machine."""
    load_after = os.getloadavg()[0]
    cores = os.cpu_count() or 1
    line = (
        f"{platform.processor() or platform.machine()}, {cores} cores, load average {load_before:.2f} "
        f"before, {load_after:.2f} after (its own threads included)"
    )
    started, busy_then, own_then = STARTED
    busy_now = busy_seconds()
    others = None
    if busy_then is not None and busy_now is not None:
        others = max(0.0, (busy_now - busy_then) - (own_seconds() - own_then)) / max(time.monotonic() - started, 1e-9)
        line += f"; other processes used {others:.2f} cores meanwhile"
    line += f"; {details}"
    # the load average before also holds what ran just before and has ended; what ran meanwhile decides
    shared = load_before > QUIET * cores if others is None else others > OTHERS_AT_MOST
    if shared:
        line += "\n  warning: other processes shared the machine; do not quote these figures"
    return line
