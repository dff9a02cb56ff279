#!/bin/bash
# Validation seeds 2 and 3 of search_smallest_6k's nearest trials (45, 40, 37), as the sweeper's repeats would run them.
cd "$(dirname "$0")/../../.."
B=$PWD/bench/results/searches/search_smallest_6k
run() { t=$1; s=$2; .venv/bin/python -m mnist_sweep.train --config-path $B/trial_00$t/.hydra --config-name config \
  trainer.seed=$s trainer.precision=fp32 trainer.progress=false hydra.run.dir=outputs/val_seeds/t${t}_s$s > outputs/val_seeds/t${t}_s$s.log 2>&1; }
mkdir -p outputs/val_seeds
for t in 37 45 40; do
  run $t 2 & run $t 3 & wait
done
echo done $(date)
