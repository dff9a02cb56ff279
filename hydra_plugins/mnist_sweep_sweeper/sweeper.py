"""OptunaSweeper subclass: budget precheck, resumable totals, trial dirs by Optuna number,
conditional parameters, per-sweep failure rate and a hook after every trial.

What it adds to the stock ``hydra-optuna-sweeper`` loop:

- ``n_trials`` is the total for the study: re-running the same command resumes and runs only
  the trials still missing (rejected candidates do not count; trials whose worker died are
  marked failed and do not count either).
- Each candidate's config is composed and passed to ``precheck`` before launch; if it raises
  (a model over the parameter budget), the trial is told PRUNED with no intermediate value
  (so TPE ranks it below everything) and tagged ``status=rejected``; nothing is launched.
- A parameter whose key does not exist in the config chosen by the group parameters
  (``scheduler.pct_start`` when ``scheduler=step``) is not sampled: a conditional space.
- A job that raises is told FAIL with its error; the sweep stops only once failures exceed
  ``max_failure_rate * n_trials``.
- Jobs get ``MNIST_SWEEP_TRIAL_ID``/``MNIST_SWEEP_TRIAL_NUMBER`` in their environment, so
  they can open their own live trial from the storage.
- Many sweep processes (``workers`` here, or the same command on other machines) share one
  study through an RDB storage (SQLite, PostgreSQL). A trial left RUNNING by a worker that died
  is failed as lost: at once by a worker on the same host (its pid is gone), or by any worker
  once its heartbeat is older than ``grace_period`` (``heartbeat_interval`` set).
- A storage URL with a password written in the config or on the command line is refused (Hydra
  would save it in every trial's config): the password comes from ``$MNIST_SWEEP_STORAGE`` (which
  the default storage reads) or from libpq's ``PGPASSWORD``/``~/.pgpass``; logs show it masked.
"""
from __future__ import annotations

import logging
import math
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import optuna
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.core.utils import JobReturn, JobStatus
from hydra.errors import HydraException
from hydra.utils import get_method, instantiate
from hydra_plugins.hydra_optuna_sweeper._impl import (
    OptunaSweeperImpl,
    create_optuna_distribution_from_override,
)
from hydra_plugins.hydra_optuna_sweeper.optuna_sweeper import OptunaSweeper
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import BaseDistribution
from optuna.trial import TrialState

from mnist_sweep.errors import MnistSweepError, ParamBudgetExceeded, SweepError, unusable_path
from mnist_sweep import results
from mnist_sweep.schema import check_distribution
from mnist_sweep.storage import check_no_clear_password, install_log_redaction, mask_url, status_of
from hydra_plugins.mnist_sweep_sweeper.checks import check_sweeper
from mnist_sweep.trial import TRIAL_ID_ENV, TRIAL_NUMBER_ENV, WORKER_ENV

log = logging.getLogger(__name__)
optuna.logging.set_verbosity(optuna.logging.WARNING)

_ABSENT = object()


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def helpers_running(study: optuna.Study) -> bool:
    """Whether some worker still runs a trial (the last worker to finish writes the report)."""
    return bool(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))


def counts_toward_total(t: optuna.trial.FrozenTrial) -> bool:
    """Rejected candidates and trials lost with their worker are not part of ``n_trials``."""
    return status_of(t) not in ("rejected", "lost")


class MnistOptunaSweeperImpl(OptunaSweeperImpl):
    def __init__(
        self, *args: Any, precheck: str | None, max_rejected: int, on_trial_end: str | None, trial_dir: str, pruner: Any,
        workers: int, on_sweep_end: str | None, heartbeat_interval: int | None = None, grace_period: int | None = None,
    ) -> None:
        super().__init__(*args)
        self.heartbeat_interval, self.grace_period = heartbeat_interval, grace_period
        self.on_sweep_end: Callable[[optuna.Study, Path], None] | None = get_method(on_sweep_end) if on_sweep_end else None
        self.durations: list[float] = []
        self.workers = workers
        # Hydra instantiates nested _target_ configs before __init__; accept either form.
        self.pruner = instantiate(pruner) if isinstance(pruner, (dict, DictConfig)) else pruner
        self.precheck: Callable[[DictConfig], dict] | None = get_method(precheck) if precheck else None
        self.on_trial_end: Callable[[optuna.Study, Path], None] | None = get_method(on_trial_end) if on_trial_end else None
        self.max_rejected = max_rejected
        self.trial_dir_format = trial_dir

    # ----------------------------------------------------------------- search space
    def _compose(self, overrides: list[str]) -> DictConfig:
        return self.hydra_context.config_loader.load_sweep_config(self.config, overrides)

    def _search_space(self, arguments: list[str]) -> tuple[dict[str, BaseDistribution], dict[str, BaseDistribution], dict[str, str]]:
        """(group distributions, value distributions, fixed overrides), each checked against conf/."""
        self._process_searchspace_config()
        entries = self._parse_sweeper_params_config() + list(arguments)
        parser = OverridesParser.create()
        groups: dict[str, BaseDistribution] = {}
        values: dict[str, BaseDistribution] = {}
        fixed: dict[str, str] = {}
        choices = self.config.hydra.runtime.choices
        for entry in entries:
            key = entry.split("=", 1)[0]
            try:
                (override,) = parser.parse_overrides([entry])
                dist = create_optuna_distribution_from_override(override)
            except (HydraException, ValueError, AssertionError) as e:
                msg = str(e).splitlines()[1] if len(str(e).splitlines()) > 1 else str(e)
                raise SweepError(f"hydra.sweeper.params.{key}: invalid search space '{entry}' ({msg.strip()})") from None
            name = override.get_key_element()
            if not isinstance(dist, BaseDistribution):
                fixed[name] = dist
            elif name in choices:
                groups[name] = dist
            else:
                values[name] = dist
        if self.search_space_distributions:  # deprecated hydra.sweeper.search_space form
            values.update(self.search_space_distributions)
        for name in fixed:  # `data.batch_size=128` on the command line takes it out of the search
            groups.pop(name, None)
            values.pop(name, None)
        for name, dist in groups.items():
            for option in dist.choices:  # type: ignore[attr-defined]
                try:
                    self._compose([f"{name}={option}"])
                except HydraException:
                    raise SweepError(
                        f"hydra.sweeper.params.{name}: '{option}' is not an option of config group '{name}'"
                    ) from None
        for name in values:
            self._check_key(name, groups)
            check_distribution(name, values[name], self.config)
        return groups, values, fixed

    def _check_key(self, name: str, groups: dict[str, BaseDistribution]) -> None:
        """A value parameter must exist in the config for at least one choice of its group."""
        if name.startswith("+"):
            return
        head = name.split(".", 1)[0]
        options = [[]] + ([[f"{head}={o}"] for o in groups[head].choices] if head in groups else [])  # type: ignore[attr-defined]
        for opts in options:
            if OmegaConf.select(self._compose(opts), name, default=_ABSENT) is not _ABSENT:
                return
        raise SweepError(
            f"hydra.sweeper.params.{name}: no such key in the config; fix the name "
            f"(see `python -m mnist_sweep.train --cfg job`) or add a new key with '+{name}'"
        )

    def _suggest(self, trial: optuna.Trial, groups: dict, values: dict, fixed: dict) -> list[str]:
        """Group choices first, then the value parameters that exist in the config they chose."""
        def overrides() -> list[str]:
            return [f"{k}={v}" for k, v in {**trial.params, **fixed}.items()]

        for name, dist in groups.items():
            trial._suggest(name, dist)
        cfg = self._compose(overrides()) if values else None
        for name, dist in values.items():
            if name.startswith("+") or OmegaConf.select(cfg, name, default=_ABSENT) is not _ABSENT:
                trial._suggest(name, dist)
        return overrides()

    # ----------------------------------------------------------------- study and storage
    def _open_study(self) -> optuna.Study:
        check_no_clear_password(OmegaConf.to_container(self.config.hydra.sweeper, resolve=False).get("storage"))
        url = self.storage
        if isinstance(url, str) and url.startswith("sqlite:///"):
            try:
                Path(url[len("sqlite:///"):]).parent.mkdir(parents=True, exist_ok=True)
            except OSError as e:
                raise SweepError(unusable_path(e, "hydra.sweeper.storage")) from None
        from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

        for attempt in range(1, 6):
            try:
                storage: Any = url
                if url and self.heartbeat_interval:
                    storage = optuna.storages.RDBStorage(
                        url, heartbeat_interval=self.heartbeat_interval, grace_period=self.grace_period
                    )
                return optuna.create_study(
                    study_name=self.study_name,
                    storage=storage,
                    sampler=self.sampler,
                    pruner=self.pruner,
                    directions=self._get_directions(),
                    load_if_exists=True,
                )
            except (IntegrityError, OperationalError, ProgrammingError) as e:
                # Workers started at once on an empty database race to create its tables and the
                # study; the loser finds them on a second try (SQLite: "already exists", "locked").
                racing = not isinstance(e, OperationalError) or any(w in str(e) for w in ("already exists", "locked"))
                if attempt == 5 or not racing:
                    self._raise_open_error(url, e)
                log.info("storage busy being created by another worker (%s); retrying", type(e).__name__)
                time.sleep(0.5 * attempt)
            except Exception as e:  # noqa: BLE001 - sqlalchemy/optuna raise many types; report one line
                self._raise_open_error(url, e)
        raise AssertionError("unreachable")

    @staticmethod
    def _raise_open_error(url: str | None, e: Exception) -> None:
        """One line for every way a storage fails to open."""
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise SweepError(
            f"hydra.sweeper.storage: cannot open '{mask_url(url)}' ({type(e).__name__}: {reason}); "
            "use e.g. sqlite:///outputs/sweeps/NAME/optuna.db or postgresql://user@host/db"
        ) from None

    def _fail_lost_trials(self, study: optuna.Study) -> None:
        """Trials left RUNNING by a dead worker become FAIL (status lost): on this host when the
        owner's pid is gone, on any host when its heartbeat is older than grace_period."""
        host, storage = socket.gethostname(), study._storage
        for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
            pid = t.user_attrs.get("pid")
            if t.user_attrs.get("host") == host and isinstance(pid, int) and not _pid_alive(pid):
                try:
                    storage.set_trial_user_attr(t._trial_id, "status", "lost")
                    storage.set_trial_user_attr(t._trial_id, "error", f"worker {host}:{pid} died while the trial ran")
                    storage.set_trial_state(t._trial_id, TrialState.FAIL)
                except RuntimeError:  # another worker failed it first
                    continue
                log.warning("trial %d: worker %s:%d died while it ran; marked failed (lost)", t.number, host, pid)
        if storage.is_heartbeat_enabled():
            for trial_id in storage.fail_stale_trials(study._study_id):
                log.warning("trial id %d: no heartbeat for %ss; marked failed (lost)", trial_id, self.grace_period)

    def _heartbeat(self, study: optuna.Study, in_flight: list[optuna.Trial], stop: threading.Event) -> None:
        """Record a heartbeat for this worker's open trials every heartbeat_interval seconds."""
        while not stop.wait(self.heartbeat_interval):
            for trial in list(in_flight):
                try:
                    study._storage.record_heartbeat(trial._trial_id)
                except Exception as e:  # noqa: BLE001 - a missed beat is retried next interval
                    log.warning("heartbeat for trial %d failed: %s", trial.number, type(e).__name__)

    def _mark(self, trial: optuna.Trial, status: str, **attrs: Any) -> None:
        trial.set_user_attr("status", status)
        for k, v in attrs.items():
            trial.set_user_attr(k, v)

    # ----------------------------------------------------------------- the loop
    def sweep(self, arguments: list[str]) -> None:
        check_sweeper(self.config)  # every hydra.sweeper key in range, before anything is opened
        install_log_redaction()
        groups, values, fixed = self._search_space(arguments)
        self._precheck_base(fixed, {*groups, *values})
        study = self._open_study()
        sweep_dir = Path(self.config.hydra.sweep.dir).resolve()
        sweep_dir.mkdir(parents=True, exist_ok=True)
        os.environ.setdefault(WORKER_ENV, "0")
        helpers = self._start_workers(sweep_dir)
        log.info(
            "study %s in %s: %d trials recorded, %d requested in total, %d at a time",
            study.study_name, mask_url(self.storage), len(study.trials), self.n_trials, self.n_jobs,
        )
        rejected_here = 0
        in_flight: list[optuna.Trial] = []
        stop_beats = threading.Event()
        if study._storage.is_heartbeat_enabled():
            threading.Thread(target=self._heartbeat, args=(study, in_flight, stop_beats), daemon=True).start()
        try:
            while True:
                self._fail_lost_trials(study)
                counted = [t for t in study.get_trials(deepcopy=False) if counts_toward_total(t)]
                remaining = self.n_trials - len(counted)
                if remaining <= 0:
                    break
                self._check_failure_rate(study)
                trials, job_overrides = [], []
                while len(trials) < min(self.n_jobs, remaining):
                    trial = study.ask()
                    in_flight.append(trial)
                    self._mark(trial, "running", host=socket.gethostname(), pid=os.getpid())  # owner first
                    if study._storage.is_heartbeat_enabled():
                        study._storage.record_heartbeat(trial._trial_id)
                    overrides = self._suggest(trial, groups, values, fixed)
                    trial_dir = sweep_dir / self.trial_dir_format.format(number=trial.number)
                    self._mark(trial, "running", trial_dir=str(trial_dir),
                               overrides=" ".join(shlex.quote(o) for o in overrides))
                    if (trial_dir / "result.json").exists():
                        raise SweepError(
                            f"{trial_dir}: already holds a finished run but the study '{study.study_name}' has no such "
                            "trial; the storage does not belong to this sweep dir: use a new hydra.sweeper.study_name"
                        )
                    if self._reject(study, trial, overrides):
                        in_flight.remove(trial)
                        self._trial_end(study, sweep_dir)
                        rejected_here += 1
                        if rejected_here > self.max_rejected:
                            raise SweepError(
                                f"hydra.sweeper.max_rejected: {rejected_here} candidates rejected by the precheck "
                                "(over the parameter budget?); narrow the search space or raise model.max_params"
                            )
                        continue
                    trials.append(trial)
                    job_overrides.append([
                        *overrides,
                        f"hydra.sweep.subdir={trial_dir.name}",
                        f"++hydra.job.env_set.{TRIAL_ID_ENV}={trial._trial_id}",
                        f"++hydra.job.env_set.{TRIAL_NUMBER_ENV}={trial.number}",
                    ])
                t_launch = time.time()
                returns = self.launcher.launch(job_overrides, initial_job_idx=self.job_idx)
                self.job_idx += len(returns)
                for trial, ret in zip(trials, returns):
                    self._record(study, trial, ret)
                    in_flight.remove(trial)
                    self._trial_end(study, sweep_dir)
                    self._progress(study, trial.number, time.time() - t_launch)
            self._check_failure_rate(study)
        except BaseException as e:
            for trial in in_flight:  # asked but never told: interrupted, or the sweep itself failed
                self._mark(trial, "lost", error=f"sweep stopped while the trial was open: {type(e).__name__}: {e}")
                study.tell(trial, state=TrialState.FAIL)
            for proc, _ in helpers:  # Ctrl-C reaches them too; SIGTERM to this process does not
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            raise
        finally:
            stop_beats.set()
            self._trial_end(study, sweep_dir)
            self._wait_workers(helpers)
        self._trial_end(study, sweep_dir)
        self._report_best(study, sweep_dir)
        if self.on_sweep_end is not None and not helpers_running(study):
            self.on_sweep_end(study, sweep_dir)

    def _start_workers(self, sweep_dir: Path) -> list[tuple[subprocess.Popen, Path]]:
        """workers - 1 more processes running this same command on the same study."""
        if self.workers <= 1:
            return []
        if not self.storage:
            log.warning("hydra.sweeper.workers=%d needs a persistent storage; in-memory study: one worker", self.workers)
            return []
        argv = [a for a in sys.orig_argv[1:] if not a.startswith(("hydra.sweeper.workers=", "hydra.sweeper.sampler.seed="))]
        seed = self.config.hydra.sweeper.sampler.get("seed")
        helpers = []
        for i in range(1, self.workers):
            log_path = sweep_dir / f"worker-{i}.log"
            # Same seed in every worker would make them sample the same candidates.
            extra = ["hydra.sweeper.workers=1"] + ([f"hydra.sweeper.sampler.seed={seed + i}"] if seed is not None else [])
            with open(log_path, "ab") as out:
                proc = subprocess.Popen(
                    [sys.executable, *argv, *extra], stdout=out, stderr=out, env={**os.environ, WORKER_ENV: str(i)}
                )
            helpers.append((proc, log_path))
            log.info("started worker %d (pid %d), log %s", i, proc.pid, log_path)
        return helpers

    def _wait_workers(self, helpers: list[tuple[subprocess.Popen, Path]]) -> None:
        for proc, log_path in helpers:
            if proc.wait() != 0:
                log.warning("worker pid %d exited with %d; see %s", proc.pid, proc.returncode, log_path)

    def _precheck_base(self, fixed: dict[str, Any], searched: set[str]) -> None:
        """A config error in a key the search does not vary would reject every candidate: report
        it once, before the study is touched (an over-budget base model is fine: widths are sampled)."""
        if self.precheck is None:
            return
        try:
            self.precheck(self._compose([f"{k}={v}" for k, v in fixed.items()]))
        except ParamBudgetExceeded:
            return
        except MnistSweepError as e:
            if str(e).split(":", 1)[0] not in searched:
                raise SweepError(str(e)) from None

    def _reject(self, study: optuna.Study, trial: optuna.Trial, overrides: list[str]) -> bool:
        if self.precheck is None:
            return False
        try:
            attrs = self.precheck(self._compose(overrides)) or {}
        except Exception as e:  # noqa: BLE001 - any precheck error rejects the candidate
            self._mark(trial, "rejected", error=str(e), **getattr(e, "user_attrs", {}))
            study.tell(trial, state=TrialState.PRUNED)
            log.info("trial %d rejected before launch: %s", trial.number, e)
            return True
        for k, v in attrs.items():
            trial.set_user_attr(k, v)
        return False

    def _record(self, study: optuna.Study, trial: optuna.Trial, ret: JobReturn) -> None:
        value = ret._return_value
        self._store_result(trial)
        if ret.status == JobStatus.COMPLETED:
            try:
                values = [float(v) for v in value] if isinstance(value, (list, tuple)) else [float(value)]
                if not all(math.isfinite(v) for v in values):
                    raise ValueError(f"non-finite objective {values}")
            except (TypeError, ValueError) as e:
                self._mark(trial, "failed", error=f"bad return value {value!r}: {e}")
                study.tell(trial, state=TrialState.FAIL)
                return
            self._mark(trial, "complete")
            study.tell(trial, values[0] if len(values) == 1 else values)
            log.info("trial %d complete: %s", trial.number, values)
        elif isinstance(value, optuna.TrialPruned):
            self._mark(trial, "pruned", error=str(value))
            study.tell(trial, state=TrialState.PRUNED)
            log.info("trial %d pruned: %s", trial.number, value)
        else:
            self._mark(trial, "failed", error=f"{type(value).__name__}: {value}")
            study.tell(trial, state=TrialState.FAIL)
            log.warning("trial %d failed: %s: %s", trial.number, type(value).__name__, value)

    @staticmethod
    def _store_result(trial: optuna.Trial) -> None:
        """Copy the job's result.json summary into the storage, so the leaderboard can be rebuilt
        from the storage alone (trial dirs may live on other machines, or be gone)."""
        res = results.read(trial.user_attrs.get("trial_dir"))
        if res:
            trial.set_user_attr("result", results.stored(res))

    def _progress(self, study: optuna.Study, number: int, seconds: float) -> None:
        """One line per finished trial: n of N, status, metric, best so far, ETA."""
        self.durations.append(seconds)
        trials = study.get_trials(deepcopy=False)
        done = [t for t in trials if counts_toward_total(t) and t.state != TrialState.RUNNING]
        t = next(t for t in trials if t.number == number)
        value = f"{t.values[0]:.4f}" if t.values else "-"
        complete = [x for x in trials if x.state == TrialState.COMPLETE]
        best = "-"
        if complete:
            sign = 1 if study.directions[0] == optuna.study.StudyDirection.MAXIMIZE else -1
            b = max(complete, key=lambda x: sign * x.values[0])
            best = f"{b.values[0]:.4f} (trial {b.number})"
        left = max(self.n_trials - len(done), 0)
        active = 1 + sum(1 for x in trials if x.state == TrialState.RUNNING)  # this worker and the busy others
        eta = left * (sum(self.durations) / len(self.durations)) / active
        log.info(
            "[%d/%d] trial %d %s, metric %s, best %s, ETA %s",
            len(done), self.n_trials, number, t.user_attrs.get("status", "?"), value, best,
            f"{eta / 60:.0f} min" if left else "done",
        )

    def _check_failure_rate(self, study: optuna.Study) -> None:
        failed = [t for t in study.get_trials(deepcopy=False) if status_of(t) == "failed"]
        if len(failed) > self.max_failure_rate * self.n_trials:
            raise SweepError(
                f"hydra.sweeper.max_failure_rate: {len(failed)} trials failed, more than "
                f"{self.max_failure_rate} x {self.n_trials} trials; last error: {failed[-1].user_attrs.get('error')}"
            )

    def _trial_end(self, study: optuna.Study, sweep_dir: Path) -> None:
        if self.on_trial_end is not None:
            self.on_trial_end(study, sweep_dir)

    def _report_best(self, study: optuna.Study, sweep_dir: Path) -> None:
        done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if not done:
            log.warning("no trial completed")
            return
        if len(study.directions) == 1:
            best = study.best_trial
            results = {"name": "optuna", "best_trial": best.number, "best_params": best.params, "best_value": best.value}
            log.info("best trial %d: value %s, params %s", best.number, best.value, best.params)
        else:
            results = {"name": "optuna", "solutions": [{"trial": t.number, "params": t.params, "values": t.values} for t in study.best_trials]}
        OmegaConf.save(OmegaConf.create(results), sweep_dir / "optimization_results.yaml")


class MnistOptunaSweeper(OptunaSweeper):
    """hydra/sweeper=mnist_optuna: the stock sweeper's keys plus precheck, on_trial_end, trial_dir, max_rejected."""

    def __init__(self, sampler, direction, storage, study_name, n_trials, n_jobs, max_failure_rate,
                 search_space, custom_search_space, params, precheck=None, max_rejected=1000,
                 on_trial_end=None, trial_dir="trial_{number:04d}", pruner=None, workers=1,
                 on_sweep_end=None, heartbeat_interval=None, grace_period=None) -> None:  # fmt: skip
        if custom_search_space:
            raise SweepError("hydra.sweeper.custom_search_space: not supported by mnist_optuna; use params")
        self.sweeper = MnistOptunaSweeperImpl(
            sampler, direction, storage, study_name, n_trials, n_jobs, max_failure_rate, search_space,
            custom_search_space, params,
            precheck=precheck, max_rejected=max_rejected, on_trial_end=on_trial_end, trial_dir=trial_dir,
            pruner=pruner, workers=workers, on_sweep_end=on_sweep_end,
            heartbeat_interval=heartbeat_interval, grace_period=grace_period,
        )
