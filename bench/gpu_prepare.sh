#!/usr/bin/env bash
# Gather, on this (CPU, online) machine, what bench/gpu_check.sh needs on the GPU machine, which has
# Python 3.12 with torch, torchvision, pandas, matplotlib, numpy, PyYAML, joblib, pytest and tqdm but
# no network and none of this project's Hydra/Optuna stack:
#   <dest>/wheels/  Python 3.12 x86_64 wheels of the missing packages (versions from requirements.lock)
#   <dest>/mnist/   the four MNIST IDX files, gzipped (55 MB raw, about 13 MB gzipped: -1, fast)
# Both go to the device together with the working tree (64 MiB in all) by naming <dest> in `carry`.
#
#   bash bench/gpu_prepare.sh                      # -> bench/gpu_carry/ (git-ignored)
#   bash bench/gpu_prepare.sh --dest DIR
#   bash bench/gpu_prepare.sh --data-only --dest DIR   # only the data (no network; the dry-run test uses it)
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
DEST="$REPO/bench/gpu_carry"
DATA_ONLY=0
PY="${PYTHON:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --dest) DEST="$2"; shift 2 ;;
    --data-only) DATA_ONLY=1; shift ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "error: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$PY" ]; then
  if [ -x "$REPO/.venv/bin/python" ]; then PY="$REPO/.venv/bin/python"; else PY=python3; fi
fi
# Every package the project (mnist_sweep, hydra_plugins, tests, bench) imports that the GPU
# machine lacks, and their own missing requirements; versions come from requirements.lock.
LOCKED=(hydra-core omegaconf antlr4-python3-runtime optuna SQLAlchemy alembic Mako colorlog torchinfo
        hydra-joblib-launcher hydra-submitit-launcher submitit)
SWEEPER="hydra-optuna-sweeper==1.3.0"   # not in the lock: installed --no-deps (it declares optuna<3)
SDIST_ONLY="antlr4-python3-runtime"     # pure Python, published only as an sdist: built into a wheel here
CARRY_LIMIT_MIB=60                      # the device takes 64 MiB with the working tree

cd "$REPO"
export PYTHONPATH="$REPO${PYTHONPATH:+:$PYTHONPATH}"
RAW="${MNIST_SWEEP_DATA:-$REPO/data}/MNIST/raw"
mkdir -p "$DEST/mnist"
"$PY" -m mnist_sweep.data verify --root "$(dirname "$(dirname "$RAW")")" >/dev/null
for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
  gzip -1 -c "$RAW/$f" > "$DEST/mnist/$f.gz.tmp" && mv "$DEST/mnist/$f.gz.tmp" "$DEST/mnist/$f.gz"
done
echo "MNIST: $(du -sh "$DEST/mnist" | cut -f1) gzipped in $DEST/mnist"

if [ "$DATA_ONLY" = 0 ]; then
  specs=()
  for name in "${LOCKED[@]}"; do
    line=$(grep -iE "^${name}==" "$REPO/requirements.lock" || true)
    [ -n "$line" ] || { echo "error: $name is not pinned in requirements.lock" >&2; exit 1; }
    [ "$name" = "$SDIST_ONLY" ] || specs+=("$line")
  done
  specs+=("$SWEEPER")
  rm -rf "$DEST/wheels"
  mkdir -p "$DEST/wheels"
  "$PY" -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    --python-version 3.12 --implementation cp --abi cp312 \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$DEST/wheels" "${specs[@]}"
  "$PY" -m pip wheel -q --disable-pip-version-check --no-deps --no-binary "$SDIST_ONLY" \
    -w "$DEST/wheels" "$(grep -iE "^${SDIST_ONLY}==" "$REPO/requirements.lock")"
  n=$(ls "$DEST/wheels"/*.whl | wc -l)
  [ "$n" -eq $(( ${#LOCKED[@]} + 1 )) ] || { echo "error: expected $(( ${#LOCKED[@]} + 1 )) wheels, got $n" >&2; exit 1; }
  echo "wheels: $n, $(du -sh "$DEST/wheels" | cut -f1) in $DEST/wheels"
fi
total_kib=$(du -sk "$DEST" | cut -f1)
echo "carry: $(( total_kib / 1024 )) MiB in $DEST (limit ${CARRY_LIMIT_MIB} MiB with the tree: 64 MiB)"
[ "$total_kib" -le $(( CARRY_LIMIT_MIB * 1024 )) ] || { echo "error: $DEST is over ${CARRY_LIMIT_MIB} MiB" >&2; exit 1; }
