"""Repeats (``hydra.sweeper.repeats``): a config that enters the study's top-k (in a constrained
sweep: among its feasible trials) is trained again with further ``trainer.seed`` values, and Optuna
is told the mean over its seeds.

- The config's trial (the parent) stays open (RUNNING, status ``repeating``) after its first seed.
  Each further seed is a WAITING trial of the side study ``<study>.repeats`` in the same storage,
  which any worker claims the way Optuna pops a queued trial (one atomic state change): with
  several workers, local or on PostgreSQL, no repeat runs twice. Its run dir is
  ``<parent dir>/seed_<seed>``, an ordinary run dir.
- The worker that tells a parent's last seed tells the parent: each objective averaged over its
  seeds, the constraint from the mean selection metric, and ``n_seeds``, ``val_mean``, ``val_sem``.
- Racing: a repeat reports its epochs like a trial; the projection pruner stops it when its
  optimistic projection cannot reach ``race_bar`` (the target in a constrained sweep, else the k-th
  best mean of the other configs). The parent is then told with the pruned seed's last value,
  below what it would have reached (it ranks lower, never higher), ``raced_out`` set, and its
  waiting seeds cancelled.
- Faults: a repeat whose worker died is failed as lost and queued again (if its run ended, told). A parent whose worker
  stopped is failed as lost; the next sweep on the study revives it (a queued trial with the same
  parameters that takes over its dir, its first run and its finished seeds) and runs what is missing.
"""
from __future__ import annotations

import os
import shlex
import socket
from dataclasses import dataclass
from typing import Any

import optuna
from hydra.core.utils import JobStatus
from optuna.trial import FrozenTrial, TrialState

from hydra_plugins.mnist_sweep_sweeper import _failures, _liveness, _optuna, _study
from hydra_plugins.mnist_sweep_sweeper._log import TRIAL_LINE, log
from mnist_sweep import children, results
from mnist_sweep.storage import REPEATS_SUFFIX, status_of
from mnist_sweep.target import met, reached, shortfall
from mnist_sweep.text import percent, plural, spread

SEED_TRIES = 2  # a seed whose run failed (not lost with its worker) runs once more, then its config fails
DONE = ("complete", "pruned", "cancelled")  # a seed in one of these states needs no further run


def seed_dir(parent_dir: str, seed: int) -> str:
    return f"{parent_dir}/seed_{seed}"


@dataclass
class Repeats:
    study: optuna.Study  # the sweep's study (parents)
    side: optuna.Study  # <study>.repeats (one trial per further seed)
    seeds: int
    top_k: int
    constrained: bool
    race: bool = True  # False: race_bar None for every seed (nothing is raced out)

    @classmethod
    def open(cls, study: optuna.Study, seeds: int, top_k: int, constrained: bool, race: bool = True) -> Repeats | None:
        if seeds <= 1:
            return None
        side = optuna.create_study(
            study_name=study.study_name + REPEATS_SUFFIX, storage=_optuna.storage_of(study), load_if_exists=True,
            directions=[d.name.lower() for d in study.directions], sampler=optuna.samplers.RandomSampler(),
        )
        return cls(study, side, seeds, top_k, constrained, race)

    # ------------------------------------------------------------------ which configs are repeated
    def wants(self, trial: optuna.Trial, values: list[float], res: dict[str, Any]) -> bool:
        """Whether a parent whose first seed just completed enters the top-k (feasible, when constrained)."""
        val = res.get("value")
        if val is None:
            return False
        if self.constrained and (res.get("target_acc") is None or not reached(val, res["target_acc"])):
            return False
        better = sum(1 for other in self._judged(trial.number) if self._dominates(other, values))
        return better < self.top_k

    def _judged(self, number: int) -> list[list[float]]:
        """The objective values of every other config as it stands: told (a mean when repeated) or
        still repeating (its seeds so far); only feasible ones in a constrained sweep."""
        out = []
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.RUNNING)):
            if t.number == number or status_of(t) == "duplicate":
                continue
            if t.state == TrialState.COMPLETE:
                if not self.constrained or all(met(v) for v in t.constraints.values()):
                    out.append(list(t.values))
            elif status_of(t) == "repeating":
                runs = [r for r in t.user_attrs.get("seed_runs", {}).values() if r.get("values")]
                so_far = results.seed_summary(runs, self.study.metric_names) if runs else None
                if so_far and (not self.constrained or reached(so_far["val_mean"], t.user_attrs.get("target_acc", 0))):
                    out.append(so_far["values"])
        return out

    def _dominates(self, a: list[float], b: list[float]) -> bool:
        """``a`` at least as good as ``b`` in every objective and better in one."""
        signs = [1 if d == optuna.study.StudyDirection.MAXIMIZE else -1 for d in self.study.directions]
        pairs = [(s * x, s * y) for s, x, y in zip(signs, a, b)]
        return all(x >= y for x, y in pairs) and any(x > y for x, y in pairs)

    def race_bar(self, parent_dir: str) -> float | None:
        """What a repeat must be able to reach: the target (constrained), else the k-th best mean
        selection metric of the other configs (None: fewer than k, nothing to race against)."""
        parent = self.parent(parent_dir)
        if self.constrained:
            return parent.user_attrs.get("target_acc") if parent is not None else None
        own = parent.number if parent is not None else -1
        vals = sorted((v[0] for v in self._judged(own)), reverse=self.study.directions[0].name == "MAXIMIZE")
        return vals[self.top_k - 1] if len(vals) >= self.top_k and len(self.study.directions) == 1 else None

    # ------------------------------------------------------------------ parents
    def hold_if_wanted(self, trial: optuna.Trial, values: list[float], res: dict[str, Any]) -> bool:
        """The sweep loop's question after a trial's first seed: keep it open for more seeds?"""
        if not self.wants(trial, values, res):
            return False
        self.hold(trial, values, res)
        return True

    def hold(self, trial: optuna.Trial, values: list[float], res: dict[str, Any]) -> None:
        """Keep the parent open after its first seed and queue its further seeds."""
        seed = int(res.get("seed") or 0)
        seeds = [seed + i for i in range(self.seeds)]
        runs = {str(seed): {"values": values, "val": float(res["value"]), "state": "complete"}}
        for key, value in {"status": "repeating", "repeat_seeds": seeds, "seed_runs": runs,
                           "target_acc": res.get("target_acc")}.items():
            trial.set_user_attr(key, value)
        self.queue_missing(trial.user_attrs["trial_dir"], trial.user_attrs["overrides"], seeds, runs)
        log.info("trial %d: in the top %s on seed %d; %s queued (%s)", trial.number, f"{self.top_k:,}", seed,
                 plural(self.seeds - 1, "more seed"), ", ".join(map(str, seeds[1:])), extra=TRIAL_LINE)

    def parent(self, parent_dir: str) -> FrozenTrial | None:
        for t in self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            if t.user_attrs.get("trial_dir") == parent_dir and status_of(t) == "repeating":
                return t
        return None

    def queue_missing(self, parent_dir: str, overrides: str, seeds: list[int], runs: dict[str, Any]) -> None:
        """Queue every seed of the parent that is neither run, queued, running nor finished."""
        taken = {str(s) for s in runs}
        for t in self._seeds_of(parent_dir):
            if t.state in (TrialState.WAITING, TrialState.RUNNING) or status_of(t) in DONE:
                taken.add(str(t.user_attrs["seed"]))
        for seed in seeds:
            if str(seed) not in taken:
                self.side.enqueue_trial({}, user_attrs={"parent_dir": parent_dir, "seed": seed, "overrides": overrides,
                                                        "trial_dir": seed_dir(parent_dir, seed), "status": "queued"})

    def _seeds_of(self, parent_dir: str) -> list[FrozenTrial]:
        return [t for t in self.side.get_trials(deepcopy=False) if t.user_attrs.get("parent_dir") == parent_dir]

    def settle(self, parent_dir: str) -> bool:
        """Tell the parent once every seed is done; True when it is told (by this call or before)."""
        parent = self.parent(parent_dir)
        if parent is None:
            return True
        runs = dict(parent.user_attrs.get("seed_runs", {}))
        for t in self._seeds_of(parent_dir):
            if status_of(t) in ("complete", "pruned") and t.user_attrs.get("val") is not None:
                runs[str(t.user_attrs["seed"])] = {"values": list(t.values) if t.values else None,
                                                   "val": t.user_attrs["val"], "state": status_of(t)}
        raced = any(r["state"] == "pruned" for r in runs.values())
        if not raced and len(runs) < len(parent.user_attrs.get("repeat_seeds", [])):
            return False
        self._tell(parent, runs, raced)
        return True

    def _tell(self, parent: FrozenTrial, runs: dict[str, Any], raced: bool) -> None:
        summary = results.seed_summary(list(runs.values()), self.study.metric_names)
        values, mean, sem = summary["values"], summary["val_mean"], summary["val_sem"]
        attrs = {"seed_runs": runs, "n_seeds": summary["n_seeds"], "val_mean": mean, "val_sem": sem,
                 "raced_out": raced, "status": "complete"}
        target = parent.user_attrs.get("target_acc") if self.constrained else None
        constrain = None if target is None else (
            lambda tid: optuna.Trial(self.study, tid).set_constraint("target", shortfall(mean, target)))
        if not _study.settle(self.study, parent, attrs, values[0] if len(values) == 1 else values, before_tell=constrain):
            return
        log.info("trial %d: mean over %s %s (sem %s)%s", parent.number, plural(summary["n_seeds"], "seed"), percent(mean),
                 "-" if sem is None else spread(sem), ", raced out" if raced else "", extra=TRIAL_LINE)

    # ------------------------------------------------------------------ repeat jobs
    def claim(self, n: int) -> list[tuple[optuna.Trial, list[str]]]:
        """Up to ``n`` queued seeds, each claimed for this worker by one atomic state change."""
        storage, out = _optuna.storage_of(self.side), []
        for t in self.side.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
            if len(out) >= n:
                break
            with children.deferred():  # an interrupt waits until the claimed seed is marked this worker's
                try:
                    if not storage.set_trial_state_values(_optuna.trial_id(t), TrialState.RUNNING):
                        continue  # another worker claimed it
                except optuna.exceptions.UpdateFinishedTrialError:
                    continue
                trial = optuna.Trial(self.side, _optuna.trial_id(t))
                parent = self.parent(t.user_attrs["parent_dir"])
                if parent is None and self._settled(t.user_attrs["parent_dir"]):
                    _liveness.fail_open(storage, t, "cancelled", "its config was settled before this seed started")
                    continue
                out.append((trial, self._job(trial, t, parent)))
        return out

    def _settled(self, parent_dir: str) -> bool:
        """The config was told (a parent lost while repeating is not: its seeds still run, for the
        trial that revives it)."""
        return any(t.user_attrs.get("trial_dir") == parent_dir and t.state == TrialState.COMPLETE
                   for t in self.study.get_trials(deepcopy=False))

    def _job(self, trial: optuna.Trial, t: FrozenTrial, parent: FrozenTrial | None) -> list[str]:
        bar = self.race_bar(t.user_attrs["parent_dir"]) if self.race else None
        _study.mark(trial, "running", host=socket.gethostname(), pid=os.getpid(), race_bar=bar,
                    repeat_of=parent.number if parent else None)
        seed, parent_dir = int(t.user_attrs["seed"]), t.user_attrs["parent_dir"]
        kept = [o for o in shlex.split(t.user_attrs["overrides"]) if not o.lstrip("+").startswith("trainer.seed=")]
        return _study.job_overrides([*kept, f"trainer.seed={seed}"], f"{parent_dir.rsplit('/', 1)[-1]}/seed_{seed}",
                                    _optuna.trial_id(trial), parent.number if parent else -1)

    def record(self, trial: optuna.Trial, ret: Any) -> int | None:
        """Tell a repeat how its run ended; cancel its config's other seeds when it was raced out;
        tell the parent when it was the last seed (then its number is returned)."""
        res = results.read(trial.user_attrs.get("trial_dir"))
        value = _optuna.return_value(ret)
        parent_dir = trial.user_attrs["parent_dir"]
        if res.get("value") is not None:
            trial.set_user_attr("val", float(res["value"]))
            trial.set_user_attr("result", results.stored(res))
        values, why = None, value
        if ret.status == JobStatus.COMPLETED and res.get("value") is not None:
            try:
                values = _study.objective_values(value)
            except ValueError as e:  # a NaN: failed and queued again, as a trial would be failed
                why = e
        if isinstance(value, optuna.TrialPruned) and res.get("value") is not None:
            trial.set_user_attr("status", "pruned")
            self.side.tell(trial, state=TrialState.PRUNED)
            for t in self._seeds_of(parent_dir):
                if t.state == TrialState.WAITING:
                    _liveness.cancel_waiting(_optuna.storage_of(self.side), t, f"seed {trial.user_attrs['seed']} was raced out")
        elif values is not None:
            trial.set_user_attr("status", "complete")
            self.side.tell(trial, values[0] if len(values) == 1 else values)
        else:
            trial.set_user_attr("status", "failed")
            trial.set_user_attr("error", _failures.reason(why))
            self.side.tell(trial, state=TrialState.FAIL)
            log.warning("%s failed: %s", _liveness.named(trial), why, extra=TRIAL_LINE)
            seed = trial.user_attrs["seed"]
            if sum(1 for t in self._seeds_of(parent_dir) if t.user_attrs.get("seed") == seed
                   and status_of(t) == "failed") >= SEED_TRIES:
                return self._give_up(parent_dir, f"seed {seed} failed {SEED_TRIES} times: {_failures.reason(why)}")
            self._requeue(parent_dir)
            return None
        parent = self.parent(parent_dir)
        return parent.number if parent is not None and self.settle(parent_dir) else None

    def _give_up(self, parent_dir: str, why: str) -> int | None:
        """A seed that fails again (a NaN loss is the same on the same seed) fails its config, as a
        failure on its first seed would; its queued seeds are cancelled. Returns the config's number."""
        for t in self._seeds_of(parent_dir):
            if t.state == TrialState.WAITING:
                _liveness.cancel_waiting(_optuna.storage_of(self.side), t, "its config failed")
        parent = self.parent(parent_dir)
        if parent is None:
            return None
        if not _study.settle(self.study, parent, {"status": "failed", "error": why}, state=TrialState.FAIL):
            return None
        log.warning("trial %d failed: %s", parent.number, why, extra=TRIAL_LINE)
        return parent.number

    def _requeue(self, parent_dir: str) -> None:
        parent = self.parent(parent_dir)
        if parent is not None:
            self.queue_missing(parent_dir, parent.user_attrs["overrides"], parent.user_attrs["repeat_seeds"],
                               parent.user_attrs.get("seed_runs", {}))

    def fail_lost(self, grace_period: int | None) -> None:
        """Dead workers' seeds: one of this host whose run had ended (result.json) told from it as ``record`` tells
        a live one (it was lost and trained again); the rest failed as lost, queued again by ``_requeue`` or a revival."""
        _liveness.tell_ended(self.side, self.study.metric_names, self.record)
        _liveness.fail_lost_trials(self.side, grace_period)

    def poll(self, held: list[optuna.Trial], grace_period: int | None) -> list[optuna.Trial]:
        """For this worker's open parents: fail dead workers' seeds (an ended one told, ``fail_lost``),
        queue them again, tell the parents whose seeds are all done; returns the parents still open."""
        self.fail_lost(grace_period)
        still = []
        for trial in held:
            parent_dir = trial.user_attrs.get("trial_dir")
            if parent_dir is None or self.settle(parent_dir):
                continue
            self._requeue(parent_dir)
            still.append(trial)
        return still
