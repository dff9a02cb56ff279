#!/usr/bin/env bash
# Whole trials on a lent GPU machine's CPU (issue 26 wants an AMX Xeon's trial seconds and its
# accuracy in each precision; the GPU host has such a CPU). Two device calls, because the trials
# outlast one call (10 minutes at most): `start` installs the carried wheels and MNIST, starts
# bench/cpu_epoch.py in a new process session (it survives the call while the machine stays
# warm), waits --wait seconds and returns what has finished so far; `collect`, the next call
# within the machine's 30 s of warmth, waits for the rest and returns the table.
#
#   bash bench/gpu_prepare.sh      # here: fills bench/gpu_carry/
#   run(command="bash bench/xeon_trials.sh start --out $OUT --wait 540", carry=["bench/gpu_carry"], timeout_s=580)
#   run(command="bash bench/xeon_trials.sh collect --out $OUT", timeout_s=300)
#   PYTHON=.venv/bin/python XEON_ARGS="..." bash bench/xeon_trials.sh start --carry C --work W ...  # a smoke test
#
# What runs is cpu_epoch.py's ARGS below: whole trials (each experiment's own epochs), one torch
# thread each, all at once (12 runs on the host's 16 cores); the --deadline-s cuts any run still
# going (status "cut", its epochs kept in runs.tar.gz).
set -uo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
MODE="${1:-}"; shift || true
OUTDIR="${OUT:-/tmp/xeon_out}"; WAIT=540; W=/tmp/xeon; CARRY="$REPO/bench/gpu_carry"
while [ $# -gt 0 ]; do
  case "$1" in
    --out) OUTDIR="$2"; shift 2 ;;
    --wait) WAIT="$2"; shift 2 ;;
    --work) W="$2"; shift 2 ;;
    --carry) CARRY="$2"; shift 2 ;;
    *) echo "error: unknown argument $1 (usage: start|collect [--out DIR] [--wait S] [--work DIR] [--carry DIR])" >&2
       exit 2 ;;
  esac
done
ARGS=(--epochs 0 --seeds 1 2 3 --experiments tiny best_20k --precisions fp32 auto --deadline-s 740)
# XEON_ARGS replaces them (a smoke test on tiny data)
[ -n "${XEON_ARGS:-}" ] && read -r -a ARGS <<< "$XEON_ARGS"
PY="${PYTHON:-python3}"
mkdir -p "$OUTDIR"
snapshot() {  # the epochs so far of every run, and the driver's log
  (cd "$W" && tar czf "$OUTDIR/runs.tar.gz" --ignore-failed-read runs/*/metrics.csv runs/*/result.json runs/*.log 2>/dev/null)
  cp "$W/log.txt" "$OUTDIR/log.txt" 2>/dev/null || true
}
case "$MODE" in
  start)
    ls "$CARRY"/mnist/*.gz > /dev/null 2>&1 || { echo "error: --carry $CARRY has no mnist/*.gz: run bash bench/gpu_prepare.sh first" >&2; exit 2; }
    rm -rf "$W"; mkdir -p "$W/data/MNIST/raw"
    if ls "$CARRY"/wheels/*.whl > /dev/null 2>&1; then  # the GPU machine has torch but not the project's stack
      "$PY" -m pip install -q --no-index --no-deps --no-compile --target "$W/site" "$CARRY"/wheels/*.whl
    fi
    for f in "$CARRY"/mnist/*.gz; do gunzip -c "$f" > "$W/data/MNIST/raw/$(basename "$f" .gz)"; done
    { lscpu; echo; lscpu -e; echo; "$PY" -c 'import torch; print("torch", torch.__version__)'; } > "$OUTDIR/lscpu.txt" 2>&1
    cd "$REPO" || exit 2
    # a simple command in the background: no subshell keeps the caller's stdout open until it ends
    PYTHONPATH="$W/site:$REPO" MNIST_SWEEP_DATA="$W/data" setsid nohup "$PY" bench/cpu_epoch.py \
      "${ARGS[@]}" --work "$W/runs" --out "$W/trials.csv" > "$W/log.txt" 2>&1 < /dev/null &
    echo $! > "$W/pid"
    sleep "$WAIT"; snapshot; echo "started; $(ls "$W"/runs/*/result.json 2>/dev/null | wc -l) runs finished so far" ;;
  collect)
    [ -f "$W/pid" ] || { echo "error: nothing started in --work $W: run start first" >&2; exit 2; }
    while kill -0 "$(cat "$W/pid")" 2> /dev/null; do sleep 2; done
    snapshot; cp "$W/trials.csv" "$OUTDIR/" && cat "$W/trials.csv" ;;
  *) echo "error: first argument: start or collect" >&2; exit 2 ;;
esac
