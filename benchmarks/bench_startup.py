"""Start-up as a user feels it: `gancli --version`, `--help` and `plugins list` in fresh processes, against the
baseline every command paid before the built-ins registered by reference — importing torch (plus the same
commands' own work, which this baseline leaves out, so the ratio understates the gain).

    python benchmarks/bench_startup.py [--repeats N]

Prints the median wall time of each command, the targets (0.5 s, 0.5 s, 1 s on a 2-core machine), the baseline
and the ratio baseline / command, and the load average (a busy machine slows both sides).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from load import load_report

COMMANDS = {
    "gancli --version": (["-m", "gancli", "--version"], 0.5),
    "gancli --help": (["-m", "gancli", "--help"], 0.5),
    "gancli plugins list": (["-m", "gancli", "plugins", "list"], 1.0),
}
BASELINE = ["-c", "import torch"]


def wall(args: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, *args], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    repeats = parser.parse_args().repeats
    load_before = os.getloadavg()[0]
    wall(BASELINE)  # warm the file cache for both sides
    times: dict[str, list[float]] = {name: [] for name in [*COMMANDS, "import torch"]}
    for _ in range(repeats):  # interleaved, so that load changes hit both sides alike
        for name, (args, _) in COMMANDS.items():
            times[name].append(wall(args))
        times["import torch"].append(wall(BASELINE))
    baseline = statistics.median(times["import torch"])
    print(load_report(load_before, f"median of {repeats} fresh processes"))
    print(f"{'command':<22} {'seconds':>8} {'target':>7} {'import torch / command':>24}")
    for name, (_, target) in COMMANDS.items():
        seconds = statistics.median(times[name])
        print(f"{name:<22} {seconds:8.3f} {target:7.1f} {baseline / seconds:23.1f}x")
    print(f"{'import torch':<22} {baseline:8.3f}")


if __name__ == "__main__":
    main()
