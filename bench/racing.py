"""Racing (issue 24): the same repeated sweep with and without racing, and whether each race was right.

Per sampler seed, two arms from empty studies, started together (one per core), one worker each,
the default search space and projection pruner, ``hydra.sweeper.repeats.seeds=3`` and ``top_k``,
and the random sampler with that seed: both arms ask the same configs in the same order, and a
seed of a config trains to the same numbers in both (same machine, same seed). Arm ``race`` races
repeats (a seed stops when its projection cannot reach the k-th best mean of the other configs);
arm ``norace`` sets ``hydra.sweeper.repeats.race=false``, so every seed runs to its end and gives
the ground truth for each race: the raced config's full 3-seed mean, against the final k-th best
mean. Reduced workload (a training subset, 2,000 validation images, a few epochs).

Prints one row per arm (runs, epochs trained, seeds raced out, the selected config and the top-k
by mean) and one row per raced seed, and writes both to ROOT/racing_arms.csv and ROOT/racing_races.csv.

    .venv/bin/python bench/racing.py [--sampler-seeds 1 2] [--trials 10] [--epochs 8] [--train-limit 8000]
        [--top-k 3] [--arms race norace] [--root DIR] [-- extra overrides]
"""
from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import optuna
import pandas as pd
from _sweep import reduced_workload, run_sweep

ARMS = {"race": [], "norace": ["hydra.sweeper.repeats.race=false"]}


def epochs_trained(d: Path) -> int:
    """Every epoch any run of the sweep trained (first seeds and repeats)."""
    return sum(len(pd.read_csv(m)) for m in d.rglob("metrics.csv"))


def arm_rows(d: Path, name: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(configs, seeds) of one arm's storage: each config's params, state, told value, n_seeds and
    raced_out; each further seed's parent, seed, state, last epoch, last value and race bar."""
    url = f"sqlite:///{d}/optuna.db"
    main, side = (optuna.load_study(study_name=n, storage=url) for n in (name, name + ".repeats"))
    configs = pd.DataFrame([{"trial": t.number, "state": t.state.name, "value": t.value,
                             "first_seed": (t.intermediate_values[max(t.intermediate_values)]
                                            if t.intermediate_values else None),
                             "n_seeds": t.user_attrs.get("n_seeds", 1), "raced_out": t.user_attrs.get("raced_out", False),
                             "trial_dir": t.user_attrs.get("trial_dir"), "params": repr(sorted(t.params.items()))}
                            for t in main.trials])
    seeds = pd.DataFrame([{"parent_dir": t.user_attrs.get("parent_dir"), "seed": t.user_attrs.get("seed"),
                           "state": t.user_attrs.get("status", t.state.name.lower()), "race_bar": t.user_attrs.get("race_bar"),
                           "epochs": max(t.intermediate_values) if t.intermediate_values else 0,
                           "last": t.intermediate_values[max(t.intermediate_values)] if t.intermediate_values else None}
                          for t in side.trials])
    return configs, seeds


def top(configs: pd.DataFrame, k: int) -> list[int]:
    done = configs[configs.state == "COMPLETE"].sort_values("value", ascending=False)
    return done.trial.head(k).tolist()


def compare(root: Path, seed: int, k: int, epochs: int) -> tuple[list[dict], list[dict]]:
    """The arms' rows and the raced seeds' rows of one sampler seed."""
    arms, got = [], {}
    for arm in ARMS:
        d = root / f"s{seed}_{arm}"
        configs, seeds = got[arm] = arm_rows(d, f"racing_{arm}")
        raced = seeds[seeds.state == "pruned"]
        arms.append({"sampler_seed": seed, "arm": arm, "configs": len(configs),
                     "repeated": int((configs.n_seeds > 1).sum()), "seed_runs": len(seeds),
                     "raced_out": len(raced), "epochs": epochs_trained(d),
                     "selected": (top(configs, 1) or [None])[0], f"top_{k}": top(configs, k)})
    truth = got["norace"][0].set_index("trial")
    kth = truth[truth.state == "COMPLETE"].value.sort_values(ascending=False)
    final_bar = kth.iloc[k - 1] if len(kth) >= k else None
    races = []
    configs, seeds = got["race"]
    for _, s in seeds[seeds.state == "pruned"].iterrows():
        c = configs[configs.trial_dir == s.parent_dir].iloc[0]
        same = truth.loc[c.trial] if c.trial in truth.index and truth.loc[c.trial].params == c.params else None
        full = None if same is None or same.n_seeds < 3 else same.value
        races.append({"sampler_seed": seed, "trial": c.trial, "seed": s.seed, "stopped_at": s.epochs,
                      "of": epochs, "val_then": s["last"], "race_bar": s.race_bar, "full_mean_norace": full,
                      "final_kth_mean_norace": final_bar,
                      "right": None if full is None or final_bar is None else bool(full < final_bar)})
    return arms, races


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sampler-seeds", nargs="+", type=int, default=[1, 2])
    p.add_argument("--trials", type=int, default=10)
    p.add_argument("--epochs", type=int, default=8)
    p.add_argument("--train-limit", type=int, default=8000)
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--arms", nargs="+", default=list(ARMS), choices=list(ARMS),
                   help="the arms to run (the others must already be in --root: e.g. rerun race after a rule change)")
    p.add_argument("--root", type=Path, default=None)
    p.add_argument("extra", nargs="*", help="overrides for both arms (after --)")
    a = p.parse_args()
    root = a.root or Path(tempfile.mkdtemp(prefix="racing."))
    common = [*reduced_workload(a.train_limit, a.epochs, a.trials), "hydra.sweeper.workers=1",
              "hydra/sweeper/sampler=random", "hydra.sweeper.repeats.seeds=3", f"hydra.sweeper.repeats.top_k={a.top_k}",
              *a.extra]
    all_arms, all_races = [], []
    for seed in a.sampler_seeds:
        with ThreadPoolExecutor(len(ARMS)) as pool:
            walls = dict(zip(a.arms, pool.map(
                lambda arm: run_sweep(root / f"s{seed}_{arm}", f"racing_{arm}",
                                      [*common, f"hydra.sweeper.sampler.seed={seed}", *ARMS[arm]])[1], a.arms)))
        arms, races = compare(root, seed, a.top_k, a.epochs)
        for r in arms:
            r["wall_s"] = round(walls[r["arm"]], 1) if r["arm"] in walls else None
        all_arms += arms
        all_races += races
        pd.DataFrame(all_arms).to_csv(root / "racing_arms.csv", index=False)
        pd.DataFrame(all_races).to_csv(root / "racing_races.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(pd.DataFrame(all_arms).to_string(index=False))
        print(pd.DataFrame(all_races).to_string(index=False) if all_races else "no seed was raced out")
    print(f"rows: {root}/racing_arms.csv, {root}/racing_races.csv")


if __name__ == "__main__":
    main()
