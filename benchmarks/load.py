"""What every benchmark prints about the machine it ran on: the load before and after, and whether its
figures may be quoted (other processes slow the sides of a comparison unevenly)."""

from __future__ import annotations

import os
import platform

#: the load average per core above which a measurement shared the machine
QUIET = 0.5


def load_report(load_before: float, details: str) -> str:
    """The machine, its load around a measurement and ``details`` of the run, with a warning when other
    processes shared the machine."""
    load_after = os.getloadavg()[0]
    line = (
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load average {load_before:.2f} "
        f"before, {load_after:.2f} after; {details}"
    )
    if max(load_before, load_after) > QUIET * (os.cpu_count() or 1):
        line += (
            f"\n  warning: load over {QUIET} per core: other processes shared the machine; do not quote these figures"
        )
    return line
