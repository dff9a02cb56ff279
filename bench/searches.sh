#!/usr/bin/env bash
# The long result searches (README -> Results): each a resumable Optuna study with repeats in
# outputs/sweeps/<name>/ (git-ignored), one worker each, started in the background with its log in
# outputs/sweeps/<name>.log. Running `start` again after a stop (a session's end, a reboot)
# continues every study where it stopped: finished trials and seeds are kept, a config lost while
# its seeds ran is revived (docs/sweeps.md#repeats-judging-the-best-configs-on-a-mean-over-seeds).
#
#   bash bench/searches.sh start [NAME ...]   # default: the four result searches (issue: results)
#   bash bench/searches.sh start fastest      # the fewest training seconds to the target (BENCHMARKS.md)
#   bash bench/searches.sh start smallest_wide  # smallest over the widened family (k1, pool, se, EMA, smoothing)
#   bash bench/searches.sh start best_8k      # the best 3-seed validation mean under 8,000 parameters
#   bash bench/searches.sh start smallest_6k  # the smallest net at 99.40% on test, below best_8k's trial 23
#   bash bench/searches.sh start smallest_5k  # the same, below smallest_994 (4,960 params)
#   bash bench/searches.sh status             # running or not, and each leaderboard's top 5
#   bash bench/searches.sh stop [NAME ...]
#   bash bench/searches.sh save [NAME ...]      # into the repo, to carry the studies to the next session
#
# A search runs for hours and composes every candidate's config from conf/ as it goes: run it from a
# checkout pinned at a commit, so that work on the repo cannot change (or break) a running study:
#   bash bench/searches.sh pin [DIR]        # clone HEAD to DIR (default ../mnist_sweep-searches), data linked
#   PY=$PWD/.venv/bin/python bash ../mnist_sweep-searches/bench/searches.sh start
# Its studies are then in DIR/outputs/sweeps/; `git -C DIR pull` moves the pin (between runs).
#
# outputs/ is git-ignored and has not outlived a session on this project's machines, so a study
# is carried across sessions in the repo: `save` copies each study's storage (a consistent SQLite
# backup of optuna.db) and its runs' small files (configs, metrics.csv, result.json; no
# checkpoints, plots or logs) to $SAVE_TO (default bench/results/searches/), to be committed; `start`
# restores a study from bench/results/searches/ when its sweep dir is missing, and then resumes it.
# A run still open at the save is failed as lost in the copy (bench/save_study.py), so the resumed
# sweep replaces it, and revives a config that was repeating, as after a killed worker. Restore
# into the same pin path (the default, ../mnist_sweep-searches): the storage records each run's
# dir by absolute path, so `start` refuses a study saved from another path (its saved_from).
#   SAVE_TO=$PWD/bench/results/searches bash ../mnist_sweep-searches/bench/searches.sh save
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd -P)"
caller="$PWD"
if [ "${1:-}" = pin ]; then
  dir="${2:-$here/../mnist_sweep-searches}"
  git clone -q "$here" "$dir" && ln -s "$here/data" "$dir/data"
  echo "pinned $(git -C "$dir" log --oneline -1) in $dir"; exit 0
fi
cd "$here"
PY="${PY:-.venv/bin/python}"
export PYTHONPATH="$here"  # this checkout's code, whichever venv runs it
# n_trials counts a study's trials to the end, resumed ones included; 60 -> 100 once search_smallest_6k
# reached 60 with nothing feasible (2026-12-07)
REPEATS=(hydra.sweeper.repeats.seeds=3 hydra.sweeper.repeats.top_k=3 hydra.sweeper.workers=1 hydra.sweeper.n_trials=100)

args_for() {  # the sweep's overrides: mode, tier, warm start
  case "$1" in
    smallest)    echo "hparams_search=smallest hydra.sweeper.enqueue=[tiny]" ;;
    # The <=4k tier's bar is on test (each seed >= 99.40%); validation reads ~0.14 below test
    # (docs/results.md), so its search's feasibility bar is a mean validation accuracy of 99.30%.
    # Under 1% of the smallest space fits 4k (99% rejected, which also crowds TPE's good group with
    # rejected candidates); this narrower one, around tiny, fits 59% of its configs.
    smallest_4k) echo "hparams_search=smallest model.max_params=4000 trainer.target_acc=0.993 hydra.sweeper.enqueue=[tiny]" \
      "model.c1=choice(4,6,8) model.c2=choice(8,10,12) model.t1=choice(4,6,8) model.c3=choice(8,10,12)" \
      "model.c4=choice(6,8,10,12) model.c5=choice(6,8,10,12) model.c6=choice(8,10,12,14)" ;;
    # smallest_4k's widths over the widened family (k1, pool_at, se, EMA, smoothing): the plain
    # family's trials there ended at 99.09-99.22% validation (docs/results.md); 48% of it fits 4k
    smallest_4k_wide) echo "hparams_search=smallest_wide model.max_params=4000 trainer.target_acc=0.993 hydra.sweeper.enqueue=[tiny]" \
      "model.c1=choice(4,6,8) model.c2=choice(8,10,12) model.t1=choice(4,6,8) model.c3=choice(8,10,12)" \
      "model.c4=choice(6,8,10,12) model.c5=choice(6,8,10,12) model.c6=choice(8,10,12,14)" ;;
    smallest_8k) echo "hparams_search=smallest model.max_params=8000 hydra.sweeper.enqueue=[small_8k]" \
      "model.c4=choice(8,10,12,14,16,20,24) model.c6=choice(8,10,12,14,16,20,24)" ;;  # small_8k's 14s
    # smallest_8k over the widened family, from the shipped small_8k (its trial 19): the 8k search's
    # nearest misses crowd the budget at 99.37-99.40% (docs/results.md); EMA and smoothing cost no parameters
    smallest_8k_wide) echo "hparams_search=smallest_wide model.max_params=8000 hydra.sweeper.enqueue=[small_8k]" \
      "model.c4=choice(8,10,12,14,16,20,24) model.c6=choice(8,10,12,14,16,20,24)" ;;
    # The smallest net whose 5-seed test mean reaches 99.40% (the tier without a budget): best_8k's
    # trial 23 (5,666 params, a 3-seed validation mean of 99.30%) reached it on test (docs/results.md),
    # so this searches below it at smallest_4k's validation bar (99.30%, which trial 23's 99.297% rounds to), over the widths
    # between smallest_4k's and best_8k's and best_8k's recipe (pool, padding, bias, EMA, smoothing)
    smallest_6k) echo "hparams_search=smallest model.max_params=5665 trainer.target_acc=0.993 hydra.sweeper.enqueue=[tiny]" \
      "model.c1=choice(4,6,8) model.c2=choice(8,10,12) model.t1=choice(4,6,8) model.c3=choice(8,10,12,16,20)" \
      "model.c4=choice(6,8,10,12,14) model.c5=choice(6,8,10,12) model.c6=choice(8,10,12,14,16)" \
      "model.pool_at=choice(1,2) model.p1=choice(0,1) model.bias=choice(false,true) optimizer.nesterov=choice(true,false)" \
      "optimizer.weight_decay=choice(0.0,0.00005) trainer.label_smoothing=interval(0.0,0.05)" \
      "trainer.ema_decay=choice(0.0,0.999) model.dropout=interval(0.0,0.08)" ;;
    # Below smallest_994 (smallest_6k's trial 102, 4,960 params): smallest_6k's space and bar under 4,960,
    # where that study spent its late trials at 5,398-5,562 (36% of this space is refused before training)
    smallest_5k) echo "hparams_search=smallest model.max_params=4959 trainer.target_acc=0.993 hydra.sweeper.enqueue=[tiny]" \
      "model.c1=choice(4,6,8) model.c2=choice(8,10,12) model.t1=choice(4,6,8) model.c3=choice(8,10,12,16,20)" \
      "model.c4=choice(6,8,10,12,14) model.c5=choice(6,8,10,12) model.c6=choice(8,10,12,14,16)" \
      "model.pool_at=choice(1,2) model.p1=choice(0,1) model.bias=choice(false,true) optimizer.nesterov=choice(true,false)" \
      "optimizer.weight_decay=choice(0.0,0.00005) trainer.label_smoothing=interval(0.0,0.05)" \
      "trainer.ema_decay=choice(0.0,0.999) model.dropout=interval(0.0,0.08)" ;;
    smallest_wide) echo "hparams_search=smallest_wide hydra.sweeper.enqueue=[tiny]" ;;  # the widened family
    best_20k)    echo "hydra.sweeper.enqueue=[best_20k]" ;;
    # The <=8k tier's target is an accuracy (a 5-seed test mean >= 99.55%) and small_8k misses it by
    # 0.02: `best` under 8k maximizes the 3-seed validation mean there (smallest_8k asks for the
    # fewest parameters at a bar instead); small_8k's space, widened to hold small_8k itself
    # (t1=10, c3=20, c5=10, c6=20, dropout 0.052) and with EMA, which costs no parameters
    best_8k)     echo "hparams_search=small_8k hydra.sweeper.enqueue=[small_8k]" \
      "model.t1=choice(6,8,10) model.c3=choice(10,12,14,16,20) model.c5=choice(10,12,14,16) model.c6=choice(12,14,16,20)" \
      "model.dropout=interval(0.0,0.08) trainer.ema_decay=choice(0.0,0.999)" ;;
    # best_8k's space distilled from best_20k (trainer.teacher): a teacher trained on the search's own
    # 50k images (data.val_size=10000, split_seed 0: it never saw the validation images), with the
    # distillation's weight and temperature searched on validation; best_20k's 60k-image teacher at a fixed
    # alpha 0.5, T 4 did not lift small_8k on test (docs/results.md -> Distillation at 8k)
    distill_8k)  echo "$(args_for best_8k) trainer.teacher=bench/results/teachers/best_20k_val10k_seed1" \
      "trainer.distill_alpha=interval(0.1,0.9) trainer.distill_temperature=interval(1.0,8.0)" ;;
    fastest)     echo "hparams_search=fastest hydra.sweeper.enqueue=[best_20k]" ;;
    *) echo "unknown search '$1'; use smallest, smallest_4k, smallest_4k_wide, smallest_5k, smallest_6k, smallest_8k, smallest_8k_wide, smallest_wide, best_8k, distill_8k, best_20k or fastest" >&2; return 2 ;;
  esac
}

pid_of() {  # this checkout's search NAME: another pin's (or a test's) search of the same name is not it
  local p
  for p in $(pgrep -f -- "hydra.sweep.dir=outputs/sweeps/search_$1 " || true); do
    [ "$(readlink "/proc/$p/cwd" 2>/dev/null)" != "$here" ] || echo "$p"
  done
}

copy_study() {  # SRC DEST: the storage as a consistent backup, the runs' small files, no checkpoints
  [ -f "$1/optuna.db" ] || { echo "$1/optuna.db: no study there to copy; start it first" >&2; return 1; }
  local tmp="$2.partial"; rm -rf "$tmp"; mkdir -p "$tmp"
  # a running sweep may append to a metrics.csv while tar reads it (tar's exit 1): the copy's
  # storage is taken after the files, so it never holds a result whose files are missing
  if { tar -C "$1" --warning=no-file-changed --warning=no-file-removed --exclude='*.pt' --exclude='*.onnx' \
         --exclude='*.png' --exclude='train.log' --exclude='optuna.db*' -cf - . || [ $? -eq 1 ]; } \
       | tar -C "$tmp" -xf - \
     && "$PY" "$here/bench/save_study.py" "$1/optuna.db" "$tmp/optuna.db"; then  # open trials: lost in the copy
    rm -rf "$2"; mv "$tmp" "$2"  # all or nothing: a failed copy leaves DEST as it was
  else
    rm -rf "$tmp"; echo "$1: copying it to $2 failed; $2 is as it was" >&2; return 1
  fi
}
saved_elsewhere() {  # SAVED NAME: the saved study's runs were recorded under another path than this pin's
  local from; from="$(cat "$1/saved_from" 2>/dev/null || true)"
  [ -n "$from" ] && [ "$from" != "$here/outputs/sweeps/search_$2" ] || return 1
  echo "$1: saved from ${from%/outputs/sweeps/*}, and its storage records each run's dir by that absolute path;" \
    "restore it there: bash bench/searches.sh pin ${from%/outputs/sweeps/*}, then start it from that checkout" >&2
}
SAVE_TO="${SAVE_TO:-$here/bench/results/searches}"
case "$SAVE_TO" in /*) ;; *) SAVE_TO="$caller/$SAVE_TO" ;; esac  # relative to where it was called from

cmd="${1:-status}"; shift || true
names=("$@"); [ ${#names[@]} -gt 0 ] || names=(smallest smallest_4k smallest_8k best_20k)
mkdir -p outputs/sweeps
rc=0  # a name that fails (nothing to save, a restore refused) is skipped; the others go on
for name in "${names[@]}"; do
  extra=$(args_for "$name")
  case "$cmd" in
    start)
      pid=$(pid_of "$name"); if [ -n "$pid" ]; then echo "$name: already running (pid $pid)"; continue; fi
      saved="bench/results/searches/search_$name"
      if [ ! -e "outputs/sweeps/search_$name" ] && [ -f "$saved/optuna.db" ]; then
        if saved_elsewhere "$saved" "$name" || ! copy_study "$saved" "outputs/sweeps/search_$name"; then
          rc=1; continue  # never a fresh study where a saved one could not be restored
        fi
        echo "$name: restored from $saved"
      fi
      # shellcheck disable=SC2086 - $extra is a list of overrides
      nohup "$PY" -m mnist_sweep.train -m $extra "${REPEATS[@]}" "hydra.sweeper.study_name=search_$name" \
        "hydra.sweep.dir=outputs/sweeps/search_$name" trainer.progress=false \
        >> "outputs/sweeps/search_$name.log" 2>&1 &
      echo "$name: started (pid $!), log outputs/sweeps/search_$name.log" ;;
    save)
      mkdir -p "$SAVE_TO"; copy_study "outputs/sweeps/search_$name" "$SAVE_TO/search_$name" || { rc=1; continue; }
      echo "$here/outputs/sweeps/search_$name" > "$SAVE_TO/search_$name/saved_from"
      echo "$name: saved to $SAVE_TO/search_$name ($(du -sh "$SAVE_TO/search_$name" | cut -f1))" ;;
    stop)
      pid=$(pid_of "$name"); [ -z "$pid" ] || kill $pid; echo "$name: stopped ${pid:-(was not running)}" ;;
    status)
      echo "== $name: $([ -n "$(pid_of "$name")" ] && echo running || echo stopped)"
      [ -f "outputs/sweeps/search_$name/leaderboard.csv" ] && "$PY" -m mnist_sweep.leaderboard "outputs/sweeps/search_$name" --top 5 || true ;;
    *) echo "usage: bash bench/searches.sh start|stop|status|save [NAME ...] | pin [DIR]" >&2; exit 2 ;;
  esac
done
exit $rc
