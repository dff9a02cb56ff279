#!/usr/bin/env bash
# The GPU check: one prepared script that runs this project's CUDA paths on a GPU machine and
# measures them, in at most 8 minutes (default budget 450 s), writing its results to one folder.
#
#   1. installs the carried wheels offline (pip --target, on top of the machine's own torch) and
#      unpacks the carried, gzipped MNIST files; checks every import and the data's checksums
#   1b. beside the CUDA tests, the host's CPU: seconds per epoch of best_20k and tiny in fp32, bf16
#      and auto, one single-thread trial each, side by side (bench/cpu_epoch.py; issue 26 wants an
#      AMX Xeon's numbers, and a GPU host may have one)
#   2. the CUDA tests: pytest -m cuda over tests/ (tests/test_cuda.py: a run with trainer.device=cuda,
#      determinism on CUDA, the NaN/diverged path, GPU slots of multigpu jobs and of sweep
#      workers); with MNIST_SWEEP_REQUIRE_CUDA=1 they fail, not skip, if torch sees no GPU
#   3. seconds per epoch of model=eva8_seed at batch 128 and 512, data resident on the GPU,
#      fp32/bf16 autocast x NCHW/channels_last, and cuDNN autotuning (bench/gpu_epoch.py)
#   4. the same short sweep with 1, 2, 4 and 8 trials at once on the one GPU: completed trials
#      per minute (bench/gpu_sweep.py)
#   5. torch.compile variants with whatever time is left (bench/gpu_epoch.py --only-compile)
#   then summary.md (bench/gpu_summary.py). Every phase has a time limit; results are written as
#   they come, so a phase cut short keeps what it measured.
#
# Results (at most 8 files, what the device tool brings back): summary.md, env.txt,
# cuda_tests.txt, cpu_epoch.csv, epoch.csv, sweeps.csv, sweep_logs.tar.gz, log.txt.
#
#   bash bench/gpu_prepare.sh            # here, on the CPU machine: fills bench/gpu_carry/
#   then, through the device tool:  run(command="bash bench/gpu_check.sh --out $OUT",
#                                       carry=["bench/gpu_carry"], timeout_s=540)
#   bash bench/gpu_check.sh --dry-run --out /tmp/gpu_dry   # CPU, tiny data, this venv; ~1 minute
#
# Options: --out DIR (default $OUT, else bench/gpu_check_out), --carry DIR (default
# bench/gpu_carry), --budget SECONDS (default 450), --dry-run. $PYTHON picks the interpreter
# (default: python3 on the GPU machine; .venv/bin/python, else python3, for --dry-run).
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
DRY=0
OUTDIR="${OUT:-}"
CARRY="$REPO/bench/gpu_carry"
BUDGET=450
while [ $# -gt 0 ]; do
  case "$1" in
    --dry-run) DRY=1; shift ;;
    --out) OUTDIR="$2"; shift 2 ;;
    --carry) CARRY="$2"; shift 2 ;;
    --budget) BUDGET="$2"; shift 2 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
[ -n "$OUTDIR" ] || OUTDIR="$REPO/bench/gpu_check_out"
mkdir -p "$OUTDIR" || { echo "error: --out $OUTDIR: cannot create it" >&2; exit 2; }
OUTDIR="$(cd "$OUTDIR" && pwd)"
CARRY="$(cd "$CARRY" 2>/dev/null && pwd || echo "$CARRY")"
rm -f "$OUTDIR"/{summary.md,env.txt,cuda_tests.txt,cpu_epoch.csv,epoch.csv,sweeps.csv,sweep_logs.tar.gz,log.txt}
START=$(date +%s)
WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")"
PHASES="$WORK/phases"
: > "$PHASES"

left() { echo $(( START + BUDGET - $(date +%s) )); }
note() { echo "[gpu_check $(( $(date +%s) - START ))s] $*"; }
record() { echo "$1|$2|$3|${4:-}" >> "$PHASES"; }
die() { note "error: $*"; record setup 1 $(( $(date +%s) - START )) "$*"; "$PY" "$REPO/bench/gpu_summary.py" "$OUTDIR" "$PHASES" >/dev/null 2>&1; exit 1; }

# phase NAME LIMIT_S CMD...: run CMD under a time limit and record its exit status and duration
phase() {
  local name=$1 limit=$2; shift 2
  if [ "$limit" -lt 10 ]; then note "$name: skipped (time budget)"; record "$name" skipped 0 "time budget"; return 0; fi
  note "$name: start (limit ${limit}s)"
  local t0=$(date +%s)
  timeout -k 20 "$limit" "$@"
  local rc=$?
  local why=""
  [ $rc -eq 124 ] || [ $rc -eq 137 ] && why="cut at ${limit}s"
  note "$name: exit $rc after $(( $(date +%s) - t0 ))s $why"
  record "$name" "$rc" $(( $(date +%s) - t0 )) "$why"
}

main() {
  cd "$REPO"
  export PYTHONUNBUFFERED=1 MPLBACKEND=Agg GPU_CHECK_NEED_CUDA=$(( 1 - DRY ))
  unset MNIST_SWEEP_STORAGE HYDRA_FULL_ERROR
  # --- 1. environment: interpreter, packages, data -------------------------------------------
  if [ "$DRY" = 1 ]; then
    if [ -z "${PYTHON:-}" ]; then
      if [ -x "$REPO/.venv/bin/python" ]; then PYTHON="$REPO/.venv/bin/python"; else PYTHON=python3; fi
    fi
    PY="$PYTHON"
    export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
    note "dry run: CPU, tiny data, $PY"
  else
    PY="${PYTHON:-python3}"
    ls "$CARRY"/wheels/*.whl >/dev/null 2>&1 \
      || die "no wheels in $CARRY/wheels: run bench/gpu_prepare.sh on the CPU machine and carry bench/gpu_carry"
    # --target, not a venv: the GPU machine's python3 is itself a venv (/opt/torch/.venv), and a
    # venv made from a venv sees the base interpreter's packages, not torch.
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target "$WORK/site" \
      "$CARRY"/wheels/*.whl || die "offline install of $CARRY/wheels failed"
    export PYTHONPATH="$WORK/site:$REPO"
  fi
  if ls "$CARRY"/mnist/*.gz >/dev/null 2>&1; then
    "$PY" - "$CARRY/mnist" "$WORK/data/MNIST/raw" <<'EOF' || die "could not unpack $CARRY/mnist"
import gzip, shutil, sys
from pathlib import Path
src, dst = Path(sys.argv[1]), Path(sys.argv[2])
dst.mkdir(parents=True, exist_ok=True)
for gz in sorted(src.glob("*.gz")):
    with gzip.open(gz) as f, open(dst / gz.name[:-3], "wb") as out:
        shutil.copyfileobj(f, out, 1 << 20)
EOF
    export MNIST_SWEEP_DATA="$WORK/data"
  elif [ "$DRY" = 0 ]; then
    die "no MNIST in $CARRY/mnist: run bench/gpu_prepare.sh on the CPU machine and carry bench/gpu_carry"
  fi
  # one interpreter start for the checks: data checksums, every import, the machine's description
  (
    echo "mode: $([ "$DRY" = 1 ] && echo 'dry run (CPU, tiny data)' || echo 'GPU')   date: $(date -u +%FT%TZ)   host: $(uname -n)"
    echo "MNIST_SWEEP_DATA=${MNIST_SWEEP_DATA:-(default)}"
    "$PY" -W ignore - <<'EOF'
import os, platform, sys
try:
    from mnist_sweep import data
    data.verify(data.default_root())
except Exception as e:  # noqa: BLE001
    sys.exit(f"MNIST data did not verify: {e}")
try:
    import hydra, omegaconf, optuna, sqlalchemy, alembic, torchinfo, pandas, matplotlib, tqdm, pytest
    import hydra_plugins.hydra_optuna_sweeper.optuna_sweeper, hydra_plugins.hydra_joblib_launcher.joblib_launcher
    import hydra_plugins.hydra_submitit_launcher.submitit_launcher, hydra_plugins.mnist_sweep_sweeper.sweeper
    import mnist_sweep.train, mnist_sweep.report, mnist_sweep.leaderboard
except ImportError as e:
    sys.exit(f"import failed ({e}): a package is missing from the carried wheels")
import torch
from importlib.metadata import version  # torchvision's: importing it costs 2.5 CPU-s, and no phase uses it
print(f"python {platform.python_version()}  torch {torch.__version__}  torchvision {version('torchvision')}  "
      f"hydra {hydra.__version__}  optuna {optuna.__version__}  sqlalchemy {sqlalchemy.__version__}")
print(f"cuda available: {torch.cuda.is_available()}  devices: {torch.cuda.device_count()}  "
      f"cuda {torch.version.cuda}  cudnn {torch.backends.cudnn.version() if torch.cuda.is_available() else None}")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"  cuda:{i} {p.name}  {p.total_memory / 2**30:.0f} GiB  sm_{p.major}{p.minor}  {p.multi_processor_count} SMs")
print(f"cpu cores: {os.cpu_count()}")
if os.environ.get("GPU_CHECK_NEED_CUDA") == "1" and not torch.cuda.is_available():
    sys.exit("torch sees no CUDA device on this machine")
EOF
    rc=$?
    command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm --format=csv
    exit $rc
  ) > "$OUTDIR/env.txt" 2>&1
  local env_rc=$?
  cat "$OUTDIR/env.txt"
  [ $env_rc -eq 0 ] || die "$(grep -vE '^(mode|MNIST_SWEEP_DATA|name,|NVIDIA)' "$OUTDIR/env.txt" | tail -1)"
  record setup 0 $(( $(date +%s) - START ))

  # --- 1b. the host's CPU: seconds per epoch in each precision (issue 26), beside the CUDA tests ---
  # one single-thread trial per (experiment, precision), side by side on the host's cores
  if [ "$DRY" = 1 ]; then
    phase cpu_epoch 120 "$PY" bench/cpu_epoch.py --experiments tiny --precisions fp32 bf16 --epochs 1 \
      --set data.train_limit=128 --set data.val_size=32 --set data.test_limit=32 --set trainer.save_curves=false \
      --out "$OUTDIR/cpu_epoch.csv" &
  else
    phase cpu_epoch 170 "$PY" bench/cpu_epoch.py --epochs 3 --deadline-s 150 --out "$OUTDIR/cpu_epoch.csv" &
  fi
  local cpu_pid=$!

  # --- 2. the CUDA tests ------------------------------------------------------------------------
  local require=1
  [ "$DRY" = 1 ] && require=0
  local lim=150
  [ "$DRY" = 0 ] && lim=$(( $(left) < 150 ? $(left) : 150 ))
  # only the files that mark a test cuda: collecting all of tests/ (2,000 tests) took 12 s of the budget
  local cuda_files
  cuda_files=$(grep -l 'mark\.cuda' tests/test_*.py | tr '\n' ' ')
  MNIST_SWEEP_REQUIRE_CUDA=$require phase cuda_tests "$lim" \
    bash -c 'set -o pipefail; "$0" -m pytest $2 -m cuda -rA -q -p no:cacheprovider --continue-on-collection-errors 2>&1 | tee "$1"' \
    "$PY" "$OUTDIR/cuda_tests.txt" "${cuda_files:-tests}"
  wait "$cpu_pid"

  # --- 3. seconds per epoch -------------------------------------------------------------------
  if [ "$DRY" = 1 ]; then
    # batches of 32 and 128 on 128 training images (the larger batch's one full batch): every variant's
    # code as on the GPU; bf16 autocast on a CPU without bf16 costs about 10 ms an image (at 512 images
    # and batches of 128 and 512 this phase took 20 CPU-s, 13 now)
    phase epoch 120 "$PY" bench/gpu_epoch.py --device cpu --batch-sizes 32 128 --train-limit 128 --val-size 32 \
      --test-limit 32 --epochs 1 --warmup 0 --out "$OUTDIR/epoch.csv"
  else
    lim=$(( $(left) - 200 < 150 ? $(left) - 200 : 150 ))  # keep 200 s for the sweeps
    phase epoch "$lim" "$PY" bench/gpu_epoch.py --device cuda --epochs 2 --warmup 1 --deadline-s $(( lim - 25 )) \
      --out "$OUTDIR/epoch.csv"
  fi

  # --- 4. trials per minute with 1, 2, 4, 8 at once -------------------------------------------
  if [ "$DRY" = 1 ]; then
    phase sweeps 120 "$PY" bench/gpu_sweep.py --device cpu --workers 2 --trials 2 --train-limit 128 \
      --val-size 32 --test-limit 32 --out "$OUTDIR/sweeps.csv" --logs "$WORK/sweeps"
  else
    lim=$(( $(left) - 60 < 240 ? $(left) - 60 : 240 ))  # keep a minute for torch.compile
    phase sweeps "$lim" "$PY" bench/gpu_sweep.py --device cuda --workers 1 2 4 8 --trials 16 --epochs 1 \
      --deadline-s $(( lim - 30 )) --out "$OUTDIR/sweeps.csv" --logs "$WORK/sweeps"
  fi
  (cd "$WORK" && find sweeps \( -name '*.log' -o -name leaderboard.csv \) 2>/dev/null \
     | tar -czf "$OUTDIR/sweep_logs.tar.gz" -T - 2>/dev/null)

  # --- 5. torch.compile, with what is left --------------------------------------------------------
  if [ "$DRY" = 1 ]; then
    record compile skipped 0 "dry run: no torch.compile on CPU"
  else
    lim=$(( $(left) - 15 ))
    phase compile "$lim" "$PY" bench/gpu_epoch.py --device cuda --epochs 2 --warmup 1 --only-compile \
      --deadline-s $(( lim - 60 )) --out "$OUTDIR/epoch.csv"
  fi

  "$PY" bench/gpu_summary.py "$OUTDIR" "$PHASES"
  note "done in $(( $(date +%s) - START ))s; results in $OUTDIR"
  ! grep -qvE '^[^|]*\|(0|skipped)\|' "$PHASES"
}

main 2>&1 | tee "$OUTDIR/log.txt"
rc=${PIPESTATUS[0]}
rm -rf "$WORK"
exit "$rc"
