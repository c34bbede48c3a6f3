#!/usr/bin/env bash
# CI: every fuzz target for a short run (44 s of fuzzing, under 60 s in all once built) on its seeds and the
# regressions; exits non-zero when any target crashes, hangs (-timeout) or runs out of memory. See docs/fuzzing.md.
#
# Installs what it needs on a fresh machine: cargo-fuzz (built from crates.io, ~3 min) and atheris (a wheel
# from PyPI). gancli itself must already be installed (.ci/run's pip install does it). The Rust targets build
# with AddressSanitizer, a nightly rustc flag that the stable toolchain accepts under RUSTC_BOOTSTRAP=1.
set -euo pipefail
cd "$(dirname "$0")"

CARGO_FUZZ_VERSION=0.13.2
if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $CARGO_FUZZ_VERSION" ]]; then
    cargo install cargo-fuzz --version "$CARGO_FUZZ_VERSION" --locked
fi
python -c "import atheris" 2>/dev/null || pip install atheris
python -c "import gancli" || { echo "fuzz/run-ci.sh: install gancli first (pip install .)" >&2; exit 1; }

export RUSTC_BOOTSTRAP=1
cargo fuzz build -O

# New inputs go to a scratch folder (libFuzzer adds to the first corpus folder it is given), so the repository
# keeps only its seeds; crash reproducers land in fuzz/artifacts/TARGET/.
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export TMPDIR=$scratch  # fuzz_data.py's scratch files, removed with it
failed=()

fuzz() {  # fuzz TARGET SECONDS COMMAND...: one target on its seeds and regressions for SECONDS
    local target=$1 seconds=$2
    shift 2
    mkdir -p "$scratch/$target" "artifacts/$target"
    local folders=("$scratch/$target" "corpus/$target")
    [[ -d "corpus/regressions/$target" ]] && folders+=("corpus/regressions/$target")
    local flags=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="artifacts/$target/")
    echo "--- fuzzing $target for $seconds s"
    if [[ $1 == cargo ]]; then
        "$@" "$target" "${folders[@]}" -- "${flags[@]}" || failed+=("$target")
    else
        "$@" "${folders[@]}" "${flags[@]}" || failed+=("$target")
    fi
}

fuzz decode 18 cargo fuzz run -O
fuzz resize 8 cargo fuzz run -O
fuzz zip 9 ./fuzz_data.py --zip
fuzz packed 9 ./fuzz_data.py --packed

if ((${#failed[@]})); then
    echo "fuzz/run-ci.sh: crashes in ${failed[*]}; reproducers are in fuzz/artifacts/" >&2
    exit 1
fi
echo "fuzz/run-ci.sh: no crashes"
