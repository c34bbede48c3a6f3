"""The whole `gancli train` process against a plain PyTorch script doing the same steps (not a test).

Both are started as a user starts them, in fresh processes, each its start-up (imports, data, networks), its
``--steps`` training steps and its one checkpoint at the end:

- ``gancli train --data digits --arch dcgan --image-size 32 --batch-size 64 --latent-dim 100 --set
  dcgan.g_width=64 --set dcgan.d_width=64 --loss nonsaturating --optimizer adam --lr 2e-4 --r1 0 --ema 0``
  with every output at the last step (a record every 10 steps, one sample image, one checkpoint) and no metric
  (``metrics = []`` in a config file): the networks and updates of the plain script;
- ``python benchmarks/plain_dcgan.py``: the same DCGAN in the style of pytorch/examples ``dcgan/main.py``, its
  losses printed every 10 steps, ``torch.save`` of both networks and optimizers at the end.

They take turns ``--repeats`` times; printed: each one's median wall-clock seconds and CPU seconds (user +
system of the process), and gancli's speed as a ratio to the script's (above 1, gancli is faster; the median
over the back-to-back pairs), with the load average before and after.

    python benchmarks/bench_process.py [--steps N] [--repeats R] [--threads T]
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from load import load_report

PLAIN = Path(__file__).with_name("plain_dcgan.py")


def gancli_command(steps: int, out: Path, config: Path) -> list[str]:
    flags = "--data digits --arch dcgan --image-size 32 --batch-size 64 --latent-dim 100 --loss nonsaturating"
    flags += " --optimizer adam --lr 2e-4 --r1 0 --ema 0 --set dcgan.g_width=64 --set dcgan.d_width=64"
    flags += " --log-every 10 --device cpu --quiet"
    every = [f"--{name}-every={steps}" for name in ("sample", "checkpoint", "eval")]
    return [sys.executable, "-m", "gancli", "train", *flags.split(), *every, f"--steps={steps}",
            f"--config={config}", f"--out={out}"]  # fmt: skip


def timed(command: list[str], threads: int) -> tuple[float, float]:
    """Wall-clock and CPU seconds of one run of ``command`` (which must succeed)."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{result.stderr}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=100, help="training steps of each run (default 100)")
    parser.add_argument("--repeats", type=int, default=5, help="runs of each (default 5)")
    parser.add_argument("--threads", type=int, default=1, help="OMP_NUM_THREADS of both (default 1)")
    args = parser.parse_args()
    load_before = os.getloadavg()[0]
    times: dict[str, list[tuple[float, float]]] = {"gancli train": [], "plain script": []}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "no-metrics.toml"
        config.write_text("metrics = []\n")
        timed(gancli_command(2, Path(tmp) / "warmup", config), args.threads)  # the file cache, as on a machine in use
        for repeat in range(args.repeats):
            commands = {
                "gancli train": gancli_command(args.steps, Path(tmp) / f"gancli-{repeat}", config),
                "plain script": [sys.executable, str(PLAIN), f"--steps={args.steps}", f"--out={tmp}/plain-{repeat}"],
            }
            for name in list(commands) if repeat % 2 == 0 else list(reversed(commands)):
                times[name].append(timed(commands[name], args.threads))

    details = f"torch {importlib.metadata.version('torch')}, {args.threads} thread(s), {args.steps} steps"
    details += f", {args.repeats} runs each"
    print(load_report(load_before, details))
    for name, runs in times.items():
        print(
            f"  {name:<14} {statistics.median(w for w, _ in runs):7.2f} s wall "
            f"({', '.join(f'{w:.1f}' for w, _ in runs)}), {statistics.median(c for _, c in runs):7.2f} s CPU"
        )
    pairs = list(zip(times["gancli train"], times["plain script"], strict=True))
    wall = statistics.median(theirs[0] / ours[0] for ours, theirs in pairs)
    cpu = statistics.median(theirs[1] / ours[1] for ours, theirs in pairs)
    print(f"  gancli's speed / the plain script's (median of the pairs): {wall:.3f} wall, {cpu:.3f} CPU")


if __name__ == "__main__":
    main()
