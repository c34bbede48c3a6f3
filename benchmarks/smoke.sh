#!/usr/bin/env bash
# CI's smoke of every benchmark: each runs at a tiny size and must print its comparison. No figure is checked:
# speed is measured on a quiet machine with the commands in README.md, never asserted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)  # what the benchmarks write (bench_default's grid) lands here, not in the checkout
trap 'rm -rf "$work"' EXIT
cd "$work"
export OMP_NUM_THREADS=1

expect() {  # expect TEXT COMMAND...: COMMAND succeeds (or, for bench_default, misses its bar) and prints TEXT
    local text=$1 output status=0
    shift
    output=$("$@" 2>&1) || status=$?
    printf '%s\n' "$output" | tail -n 4
    if [[ $status -ne 0 && ! ($status -eq 1 && $output == *"bar ("*) ]] || [[ $output != *"$text"* ]]; then
        printf 'benchmark smoke failed (exit %s, expected "%s"): %s\n%s\n' "$status" "$text" "$*" "$output" >&2
        exit 1
    fi
}

expect "/ hand-written:" python "$here/bench_train.py" --steps 2 --repeats 1 --extras
expect "total" python "$here/profile_step.py" --steps 2
expect "gancli's speed / the plain script's" python "$here/bench_process.py" --steps 2 --repeats 1
expect "ours is" python "$here/bench_kernels.py" --images 8 --repeat 1
expect "import torch / command" python "$here/bench_startup.py" --repeats 1
expect "gancli best" python "$here/bench_gpu.py" --device cpu --steps 2 --repeats 1 --sizes 32 --batches 16
expect "GB/s" python "$here/bench_fingerprint.py" --images 64 --repeats 1
expect "host's share / step" python "$here/bench_loader.py" --images 512 --batches 2 --warm 2 --steps 1
expect "a logged step" python "$here/bench_logging.py" --steps 2 --repeats 1
expect "ring8" python "$here/bench_modes.py" --data ring8 --seeds 0 --steps 20
expect "KL" python "$here/bench_stacked.py" --seeds 0 --steps 4
expect "bar (precision" python "$here/bench_default.py" -- --steps 4 --eval-every 4 --image-size 16
python - "$work/icons" <<'PY'  # 120 small RGBA icons and a link to a moved one, as an icon theme holds
import sys
from pathlib import Path

import numpy as np
from PIL import Image

root = Path(sys.argv[1])
root.mkdir()
rng = np.random.default_rng(0)
for i in range(120):
    Image.fromarray(rng.integers(0, 256, (12, 12, 4), dtype=np.uint8)).save(root / f"{i:03}.png")
(root / "moved.png").symlink_to("gone.png")
PY
expect "gancli / plain" python "$here/bench_images.py" --data "$work/icons" --image-size 16 --steps 2 --batch 16 \
    --eval-samples 50 --out "$work/grids"
echo "every benchmark ran"
