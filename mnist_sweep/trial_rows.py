"""A study's trials as leaderboard rows: each trial's state and user attrs from the Optuna storage,
then its ``result.json`` (or the storage's copy where the file is gone or damaged); a config judged
over seeds (``hydra.sweeper.repeats``) with its seeds' mean; a duplicate with its original's numbers; a distilled
run's ``teacher`` (its path; the key only where result.json has one).
``mnist_sweep.leaderboard`` sorts, ranks and prints them.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

from mnist_sweep import results
from mnist_sweep.errors import redact
from mnist_sweep.moved import local_trial_dir
from mnist_sweep.storage import status_of
from mnist_sweep.target import met

REPEAT_COLUMNS = ["n_seeds", "val_mean", "val_sem"]  # a sweep with hydra.sweeper.repeats (else dropped)
NEVER_LAUNCHED = ("rejected", "duplicate")  # no trial dir was created for these


def rows_from_study(study: Any, sweep_dir: Path | None = None) -> list[dict[str, Any]]:
    """One dict per trial: storage state and user attrs, then the trial's result.json (in
    ``sweep_dir`` where the sweep dir was moved or copied since: ``moved.local_trial_dir``)."""
    rows = []
    sign = 1.0 if len(study.directions) > 1 or study.direction.name == "MAXIMIZE" else -1.0
    trials = study.get_trials(deepcopy=False)
    revived = {t.user_attrs["revive_of"]: t.number for t in trials  # not the duplicate of a revive told first
               if t.user_attrs.get("revive_of") is not None and status_of(t) != "duplicate"}
    for t in trials:
        attrs = t.user_attrs
        status = status_of(t)
        error = attrs.get("error") or ("its worker stopped (no heartbeat) while it ran" if status == "lost" else None)
        error = redact(error) if error else error  # a trial's exception may quote a storage URL: no password in the table
        if t.number in revived:  # lost while its seeds ran (hydra.sweeper.repeats): where it went on
            error = f"{error}; its run and seeds continued as trial {revived[t.number]}"
        status = {"lost": "failed", "fail": "failed"}.get(status, status)
        taken = t.number in revived  # its dir, first run and seeds are the reviving trial's: its numbers are there
        here = local_trial_dir(attrs.get("trial_dir"), sweep_dir) if sweep_dir is not None else attrs.get("trial_dir")
        res = {} if taken else results.read_or_stored(here, attrs.get("result"))
        row: dict[str, Any] = {
            "trial": t.number,
            "status": status,
            "params": res.get("params", attrs.get("params")),
            "value": t.value if t.values and len(t.values) == 1 and t.state.name == "COMPLETE" else None,  # pruned: a metric
            "seed": res.get("seed"),
            "host": attrs.get("host"),
            "feasible": all(met(v) for v in t.constraints.values()) if t.constraints else None,
            "_violation": sum(v for v in t.constraints.values() if not met(v)) if t.constraints else None,
            **({} if taken else seeds_of(attrs)),
            "direction": study.direction.name.lower() if len(study.directions) == 1 else None,  # the table records it
            "_sign": sign,
        }
        for key in results.RESULT_KEYS:
            row.setdefault(key, res.get(key))
        if isinstance(taught := res.get("teacher"), dict):  # a distilled run: a sweep without one has no such column
            row["teacher"] = taught.get("path")
        if attrs.get("n_seeds") and t.values and len(t.values) == len(study.metric_names or []):
            for name, told in zip(study.metric_names, t.values):  # a repeated config: an objective's
                if name in results.RESULT_KEYS and name not in results.SELECTION_METRICS:  # mean over seeds
                    row[name] = told  # (train_s in `fastest`), as Optuna was told and ranks it
        row.update({f"hp.{k}": v for k, v in t.params.items()})
        trial_dir = attrs.get("trial_dir")
        if status in NEVER_LAUNCHED and trial_dir and not Path(here).is_dir():
            trial_dir = None  # never launched: there is no dir to point at
        row.update(error=error, trial_dir=trial_dir, overrides=attrs.get("overrides"))
        row["_duplicate_of"] = attrs.get("duplicate_of") if status == "duplicate" else None
        rows.append(row)
    by_number = {r["trial"]: r for r in rows}
    for row in rows:  # a duplicate (same parameters, not trained again) shows its original's numbers
        original = by_number.get(row.pop("_duplicate_of"))
        if original is not None:
            for key in ("params", "seed", *results.RESULT_KEYS):
                if row.get(key) is None:
                    row[key] = original.get(key)
            if original.get("teacher") is not None:
                row.setdefault("teacher", original["teacher"])
    return rows


def seeds_of(attrs: dict[str, Any]) -> dict[str, Any]:
    """n_seeds, val_mean and val_sem of a repeated config (hydra.sweeper.repeats): as told, or its
    seeds so far while it is still repeating; nothing for a config trained on one seed."""
    if attrs.get("n_seeds") is not None:
        return {k: attrs.get(k) for k in REPEAT_COLUMNS}
    runs = [r for r in attrs.get("seed_runs", {}).values() if r.get("val") is not None]
    if not runs:
        return {}
    summary = results.seed_summary(runs)
    return {k: summary[k] for k in REPEAT_COLUMNS}
