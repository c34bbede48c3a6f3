"""`gancli train` on a GPU against the loop a user would otherwise write there, side by side (not a test).

For 32×32 and 64×64 digits at batch 64, 256 and 1,024, in fp32 and bf16: the hand-written loop of
bench_train.py (pytorch/examples' dcgan style: the same networks, batch, Adam 2e-4 β1 0.5, non-saturating loss;
in bf16 its step under ``torch.autocast``) and gancli's run with the same updates (no R1, no moving average, the
dcgan's recommended channels-last, ``--precision`` as the column says), interleaved ``--repeats`` times after a
warm-up; then gancli with its best options for the GPU (bf16, channels-last, ``--compile``, ``--prefetch``)
against the fp32 loop, and the same with ``--compile-mode=reduce-overhead`` (CUDA graphs). Printed: images per
second (generator samples trained on: steps × batch) of each and the ratio gancli / loop (above 1, gancli is
faster; gancli's rate is its steps' own: a run of one step times the run's fixed cost, its first step's check and
the end's sample, evaluation and checkpoint, printed apart for fp32 as "fixed s"), with the GPU, torch version
and load; then, on CUDA, whether steps between logging points synchronise with the host
(``torch.cuda.set_sync_debug_mode("error")``), and where.

Absolute figures hold only on the GPU they were measured on; on the CPU this runs too (slowly: use few
``--steps``), as a check.

    python benchmarks/bench_gpu.py [--device cuda] [--steps N] [--repeats R] [--sizes 32,64] [--batches 64,256,1024]
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path

import torch
from bench_train import HandWritten, hand_images, start_run
from gancli.train import loop
from load import load_report

#: gancli's best options for a GPU, each a ``gancli train`` flag
BEST = ["--precision=bf16", "--channels-last", "--compile", "--prefetch"]
#: the same, G's and D's passes replayed as CUDA graphs
GRAPHED = [*BEST, "--compile-mode=reduce-overhead"]


#: a side's whole run, and for gancli's sides the same run of one step: its time (the first step's contract
#: check, then the end's sample, evaluation and checkpoint) is the run's fixed cost, kept apart from the steps'
Side = tuple[Callable[[], None], Callable[[], None] | None]


def contenders(root: Path, device: str, steps: int, size: int, batch: int) -> dict[str, Side]:
    """Each side, ready to run ``steps`` steps from the same weights on the same images."""

    def gancli(name: str, flags: list[str]) -> Side:
        runs = [start_run(root / f"{name}-{n}", n, device, batch, [f"--image-size={size}", *flags]) for n in (steps, 1)]
        whole, one = (lambda s=s, r=r: loop.train(s, r, show_progress=False) for s, r in runs)
        return whole, one

    timed: dict[str, Side] = {}
    for precision, dtype in (("fp32", None), ("bf16", torch.bfloat16)):
        timed[f"gancli {precision}"] = gancli(f"gancli-{precision}", [f"--precision={precision}", "--no-prefetch"])
        session = start_run(root / f"weights-{precision}", steps, device, batch, [f"--image-size={size}"])[0]
        networks = copy.deepcopy(session.generator), copy.deepcopy(session.discriminator)
        hand = HandWritten(*networks, hand_images(session), session.config.latent_dim, dtype)
        timed[f"hand-written {precision}"] = (lambda h=hand: h.train(steps, batch)), None
    timed["gancli best options"] = gancli("best", BEST)
    timed["gancli graphed"] = gancli("graphed", GRAPHED)
    return timed


#: the runs whose steps between logging points must not synchronise with the host: the digits' recipe (R1 every
#: 2nd step here, G's moving average; the images held on the device), the host path (``--prefetch``: pinned
#: batches copied while the step runs), and a conditional run (classes with every batch and latent)
SYNC_CHECKS = {
    "the recipe (R1 every 2nd, the average), data on the device": ["--r1=1", "--r1-every=2", "--ema=0.998"],
    "the host path with --prefetch": ["--no-data-on-device", "--prefetch"],
    "a conditional run": ["--conditional"],
}


def host_syncs(root: Path, device: str) -> str:
    """Whether steps between logging points make the host wait for the GPU: five steps of each of ``SYNC_CHECKS``
    under ``torch.cuda.set_sync_debug_mode("error")``, which raises at the first synchronising call."""
    if not device.startswith("cuda"):
        return "host syncs between logging points: checked on CUDA only (tests/test_host_syncs.py counts them here)"
    verdicts = []
    for name, flags in SYNC_CHECKS.items():
        session, run = start_run(root / f"syncs-{len(verdicts)}", 10, device, 64, flags)
        game = session.game
        session.rule.step(game)  # the first step allocates and chooses kernels
        game.recording = False
        torch.cuda.synchronize()
        torch.cuda.set_sync_debug_mode("error")
        try:
            for _ in range(5):
                session.rule.step(game)
            verdicts.append(f"{name}: none in 5 steps")
        except RuntimeError as exc:
            where = [f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in traceback.extract_tb(exc.__traceback__)]
            verdicts.append(f"{name}: FOUND {str(exc).splitlines()[0]}, at {' < '.join(reversed(where[-4:]))}")
        finally:
            torch.cuda.set_sync_debug_mode("default")
            if session.loader is not None:
                session.loader.pause()
            run.release()
    return "host syncs between logging points: " + "; ".join(verdicts)


def seconds(fn: Callable[[], object], device: str) -> float:
    """Wall seconds of ``fn()``, the device's queued work included."""
    sync = torch.cuda.synchronize if device.startswith("cuda") else lambda: None
    sync()
    start = time.perf_counter()
    fn()
    sync()
    return time.perf_counter() - start


def rate(side: Side, device: str, steps: int, batch: int) -> tuple[float, float]:
    """Images per second of a side's steps, and its run's fixed cost in seconds (0 for the hand-written loop)."""
    whole, one = side
    total = seconds(whole, device)
    if one is None:
        return steps * batch / total, 0.0
    stepping = total - seconds(one, device)  # the fixed cost and one step cancel
    return (steps - 1) * batch / stepping, total - stepping * steps / (steps - 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=200, help="timed steps of each run (default 200)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved runs of each (default 3)")
    parser.add_argument("--sizes", default="32,64", help="image sides (default 32,64)")
    parser.add_argument("--batches", default="64,256,1024", help="batch sizes (default 64,256,1024)")
    args = parser.parse_args()
    name = torch.cuda.get_device_name() if args.device.startswith("cuda") else "CPU"
    load_before = os.getloadavg()[0]
    print(f"{name}; DCGAN widths 64 on digits, {args.steps} steps per run, median of {args.repeats}; images/s")
    print(f"  {'size batch':<12}{'loop fp32':>11}{'gancli fp32':>13}{'ratio':>7}{'loop bf16':>11}{'gancli bf16':>13}"
          f"{'ratio':>7}{'gancli best':>13}{'/ loop fp32':>12}{'graphed':>9}{'/ loop':>8}{'fixed s':>9}")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        for size in (int(s) for s in args.sizes.split(",")):
            for batch in (int(b) for b in args.batches.split(",")):
                root = Path(tmp) / f"{size}-{batch}"
                torch.compiler.reset()  # each size and batch compiled afresh, not against the last one's limit
                failed = set()  # the sides that failed their warm-up: left out of the timed runs
                for side, (fn, _) in contenders(root / "warmup", args.device, 5, size, batch).items():
                    try:
                        fn()  # kernels chosen, graphs compiled
                    except Exception as exc:  # a benchmark reports what failed and goes on
                        failed.add(side)
                        print(f"  {side} failed at {size}px {batch}: {type(exc).__name__}: {exc}"[:300], flush=True)
                rates: dict[str, list[float]] = {}
                fixed: list[float] = []  # gancli fp32's fixed cost per run
                for repeat in range(args.repeats):
                    runs = contenders(root / str(repeat), args.device, args.steps, size, batch)
                    order = list(runs)[repeat % len(runs) :] + list(runs)[: repeat % len(runs)]
                    for side in (side for side in order if side not in failed):
                        images, seconds_fixed = rate(runs[side], args.device, args.steps, batch)
                        rates.setdefault(side, []).append(images)
                        if side == "gancli fp32":
                            fixed.append(seconds_fixed)
                m = {side: statistics.median(rates[side]) if side in rates else float("nan") for side in runs}
                loop_fp32, best, graphed = m["hand-written fp32"], m["gancli best options"], m["gancli graphed"]
                print(
                    f"  {size:>3}px {batch:>5} {loop_fp32:11.0f}{m['gancli fp32']:13.0f}"
                    f"{m['gancli fp32'] / loop_fp32:7.2f}{m['hand-written bf16']:11.0f}"
                    f"{m['gancli bf16']:13.0f}{m['gancli bf16'] / m['hand-written bf16']:7.2f}"
                    f"{best:13.0f}{best / loop_fp32:12.2f}{graphed:9.0f}{graphed / loop_fp32:8.2f}"
                    f"{statistics.median(fixed):9.2f}",
                    flush=True,
                )
        print(host_syncs(Path(tmp), args.device))
    print(load_report(load_before, f"torch {torch.__version__}"))


if __name__ == "__main__":
    main()
