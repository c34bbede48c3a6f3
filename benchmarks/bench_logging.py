"""What a run pays at its logging points, on its device (not a test).

The main job's run (`gancli train` with no flags: the DCGAN on the digits with their recipe, lazy R1 and G's
moving average; every live diagnostic on) trains ``--steps`` steps twice from the same seed, with a record at every
step and with a record at the last step only, and no sample image, evaluation or checkpoint before the last step:
the difference per step is what a logged step costs (its statistics read back, the health check, the live
diagnostics' measurements and findings, a line of metrics.jsonl and of progress). Then, one at a time on a trained
run: a sample image (64 samples from G's moving average, its batch statistics measured first), an evaluation
(the run's own metrics, as ``--eval-every`` takes them: the digits' FD, KID, PRDC and recognition on 2,500 samples,
3 draws) and a checkpoint (written, checksummed, the old ones pruned). The pairs take turns ``--repeats`` times
after a warm-up; printed: medians in milliseconds.

    python benchmarks/bench_logging.py [--steps N] [--repeats R] [--device cpu|cuda] [--threads T]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from collections.abc import Callable
from pathlib import Path

import torch
from bench_gpu import seconds
from gancli.render import run_samples_png
from gancli.train import lifecycle, loop
from gancli.train.evaluation import Evaluation
from load import load_report


def run_of(root: Path, steps: int, log_every: int, device: str, metrics: bool) -> Callable[[], None]:
    """The main job's run of ``steps`` steps with a record every ``log_every``, ready to train; with ``metrics``
    False no metric is evaluated at its end (the two arms' only evaluation: left out of their difference)."""
    never = 10 * steps
    flags: dict[str, object] = {"steps": steps, "log_every": log_every, "device": device, "seed": 0}
    flags |= {"sample_every": never, "eval_every": never, "checkpoint_every": never}
    if not metrics:
        flags["metrics"] = []
    session, run = lifecycle.start(flags, None, (), root)
    return lambda: loop.train(session, run, show_progress=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50, help="steps of each run (default 50)")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each arm (default 3)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()[0]
    logged: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        run_of(root / "warmup", 3, 1, args.device, metrics=False)()
        for repeat in range(args.repeats):
            arms = {
                every: run_of(root / f"{repeat}-{every}", args.steps, every, args.device, False)
                for every in (1, args.steps)
            }
            order = list(arms) if repeat % 2 == 0 else list(arms)[::-1]
            times = {every: seconds(arms[every], args.device) for every in order}
            logged.append((times[1] - times[args.steps]) / (args.steps - 1))

        session, run = lifecycle.start(
            {"steps": 2, "device": args.device, "seed": 0, "eval_every": 100, "checkpoint_every": 100},
            None,
            (),
            root / "trained",
        )
        loop.train(session, run, show_progress=False)  # its end writes one sample, evaluation and checkpoint
        evaluate = Evaluation(session, strict=False, warn=print)
        costs = {
            "a sample image": [seconds(lambda: run_samples_png(session, 2), args.device) for _ in range(5)],
            "an evaluation": [seconds(evaluate, args.device) for _ in range(args.repeats)],
            "a checkpoint": [seconds(lambda: loop.save(session, run), args.device) for _ in range(5)],
        }
        metrics = ", ".join(reg.name for reg, _ in evaluate.metrics)
    print(load_report(load_before, f"torch {torch.__version__}, {args.threads} thread(s), device {args.device}"))
    print(f"the main job's run (digits, DCGAN, lazy R1, G's moving average), {args.steps} steps, medians")
    spread = ", ".join(f"{1000 * value:.1f}" for value in logged)
    print(f"  a logged step (records, health, live diagnostics) {1000 * statistics.median(logged):9.1f} ms ({spread})")
    for name, values in costs.items():
        print(f"  {name:<48}{1000 * statistics.median(values):9.1f} ms")
    print(f"  (the evaluation's metrics: {metrics})")


if __name__ == "__main__":
    main()
