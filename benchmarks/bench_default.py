"""The main job as a new user runs it: `gancli train` with no flags (a DCGAN on the embedded digits), timed
against its 5-minute budget on a 2-core CPU, then judged by the `recognition` metric against the real
digits' own score.

    python benchmarks/bench_default.py [--steps N]

Prints the wall time and its ratio to the budget, and the share of generated digits a classifier fitted
on the real ones recognises, as a ratio to the share of held-out real digits it recognises.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUDGET_SECONDS = 300.0


def gancli(*args: str, cwd: Path) -> str:
    result = subprocess.run([sys.executable, "-m", "gancli", *args], cwd=cwd, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"gancli {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, help="override the default step budget")
    args = parser.parse_args()
    extra = ["--steps", str(args.steps)] if args.steps else []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        start = time.perf_counter()
        gancli("train", "--quiet", *extra, cwd=work)
        seconds = time.perf_counter() - start
        run = next((work / "runs").iterdir())
        gancli("grid", "-o", str(Path.cwd() / "default-run-grid.png"), cwd=work)
        evals = [json.loads(line) for line in (run / "eval.jsonl").read_text().splitlines()]
        config = json.loads((run / "config.json").read_text())
    last = evals[-1]
    print(f"gancli train (defaults: {config['arch']} on {config['data']}, {config['steps']} steps, CPU)")
    print(f"  wall time     {seconds:7.1f} s   budget {BUDGET_SECONDS:.0f} s   ratio {seconds / BUDGET_SECONDS:.2f}")
    for record in evals:
        ratio = record["recognised"] / record["recognised_real"]
        print(
            f"  step {record['step']:5d}: recognised {record['recognised']:.3f} "
            f"(real digits {record['recognised_real']:.3f}, ratio {ratio:.2f}), "
            f"classes covered {record['classes_covered']}/10, class KL {record['class_kl']:.3f}"
        )
    print(f"  grid of the last step: {Path.cwd() / 'default-run-grid.png'}")
    if seconds > BUDGET_SECONDS or last["classes_covered"] < 10:
        sys.exit(1)


if __name__ == "__main__":
    main()
