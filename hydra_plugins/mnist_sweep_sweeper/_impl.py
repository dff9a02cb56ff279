"""The sweep: the stock ``OptunaSweeperImpl``, extended. Imported by the front (``sweeper.py``) only
when Hydra instantiates the sweeper, that is in a sweep, never in a single run.

``sweep`` checks the sweeper's keys and the sweep dir, builds the search space, opens the study,
starts the helper workers and runs the loop; each concern lives in its own module (see the
package's ``__init__``). The sweeper's keys arrive as MnistOptunaSweeperConf (``sweeper_conf``),
whose defaults are the only ones.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import os
from pathlib import Path
from typing import Any, Callable

import optuna
from hydra.utils import get_method, instantiate
from hydra_plugins.hydra_optuna_sweeper._impl import OptunaSweeperImpl
from omegaconf import DictConfig, OmegaConf
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper import _enqueue, _failures, _faults, _groups, _open, _optuna, _pruner, _resume, _revive, _space, _study, _undo
from hydra_plugins.mnist_sweep_sweeper._compose import Composer
from hydra_plugins.mnist_sweep_sweeper._log import attach_helper_channel, log
from hydra_plugins.mnist_sweep_sweeper._loop import Hooks, Limits, Loop
from hydra_plugins.mnist_sweep_sweeper._precheck import Precheck
from hydra_plugins.mnist_sweep_sweeper._progress import Progress
from hydra_plugins.mnist_sweep_sweeper._repeats import Repeats
from hydra_plugins.mnist_sweep_sweeper._workers import Helpers, stop_with_parent, trial_load, worker_count
from mnist_sweep import results, url_escapes
from mnist_sweep.config.dict_overrides import nested_space_error
from mnist_sweep.config.space import check_distribution
from mnist_sweep.config.sweeper import MnistOptunaSweeperConf, RepeatsConf
from mnist_sweep.config.sweeper_checks import check_sweeper
from mnist_sweep.errors import SweepError, SweepStopped, one_line
from mnist_sweep.next_steps import closing_lines
from mnist_sweep.storage import install_log_redaction, mask_url, unexpanded_home
from mnist_sweep.text import plural
from mnist_sweep.trial import WORKER_ENV, metric_names, worker_index


def sweeper_conf(config: dict[str, Any]) -> MnistOptunaSweeperConf:
    """The sweeper's keys (what Hydra instantiated from ``hydra.sweeper``) as MnistOptunaSweeperConf;
    a key not given takes that dataclass's default."""
    known = {f.name for f in dataclasses.fields(MnistOptunaSweeperConf)} - {"_target_", "defaults"}
    unknown = sorted(set(config) - known)
    if unknown:
        raise SweepError(f"hydra.sweeper.{unknown[0]}: not a key of hydra/sweeper=mnist_optuna")
    conf = MnistOptunaSweeperConf(**config)
    if not isinstance(conf.repeats, RepeatsConf):  # Hydra hands nested keys over as a mapping
        conf.repeats = RepeatsConf(**conf.repeats)
    return conf


class MnistOptunaSweeperImpl(OptunaSweeperImpl):
    def __init__(self, config: dict[str, Any]) -> None:
        conf = self.conf = sweeper_conf(config)
        super().__init__(  # custom_search_space: ours (_custom_space), with its errors in one line
            conf.sampler, conf.direction, conf.storage, conf.study_name, conf.n_trials, conf.n_jobs,
            conf.max_failure_rate, conf.search_space, None, conf.params,
        )
        # Hydra instantiates nested _target_ configs before __init__: either form; one that never prunes here, named
        self.pruner = _pruner.build(conf.pruner, self._get_directions(), self.storage)
        self.precheck: Callable[[DictConfig], dict] | None = get_method(conf.precheck) if conf.precheck else None
        self.on_trial_end: Callable | None = get_method(conf.on_trial_end) if conf.on_trial_end else None
        self.on_sweep_end: Callable | None = get_method(conf.on_sweep_end) if conf.on_sweep_end else None
        self._composer: Composer | None = None
        self._points: dict | None = None  # where n_trials is capped at the space's configs: its grid
        self._start: _undo.Start | None = None  # what the sweep dir and the storage held at the start

    def _compose(self, overrides: list[str]) -> DictConfig:
        """A candidate's config for the checks before launch (the launcher composes each job itself)."""
        if self._composer is None:
            self._composer = Composer(lambda o: self.hydra_context.config_loader.load_sweep_config(self.config, o))
        return self._composer(overrides)

    def sweep(self, arguments: list[str]) -> None:
        storage = mask_url(self.storage) if self.storage else None
        with _faults.one_line_faults(storage, str(self.config.hydra.sweep.dir)):  # a full or read-only sweep dir or storage: one line, how to resume
            self._sweep(arguments)

    def _sweep(self, arguments: list[str]) -> None:
        _optuna.quiet()  # Optuna's INFO lines (the start line says what they would), its heartbeat warning
        attach_helper_channel()
        stop_with_parent()  # a helper: stopped (its open trial lost) when its sweep process dies, SIGKILLed say
        check_sweeper(self.config)  # the sweeper's keys, directions, the sweep dir's study (the CLI checks them first)
        if self.storage and (line := url_escapes.sweep_dir_misread(self.storage, str(self.config.hydra.sweep.dir))):
            raise SweepError(line)  # a sweep dir named a%20b: its optuna.db went to a new dir 'a b'
        if self.storage and (home := unexpanded_home(self.storage) or url_escapes.misread(self.storage)):
            raise SweepError(f"hydra.sweeper.storage: {home}")
        install_log_redaction()
        space = self._search_space(arguments)
        self._cap_to_space(space)  # before the dry run: it estimates the trials the sweep will train
        # the warm-start trials checked against the space before the dry run too: it passed enqueue=[{model.c1:abc}]
        queued = [_enqueue.queued(item, space, self._compose) for item in self.conf.enqueue] if worker_index() == 0 else []
        if self.conf.dry_run:
            from hydra_plugins.mnist_sweep_sweeper._preview import preview  # torch: only for a dry run
            _resume.check_stored(self.storage, self.study_name, space, self._get_directions(),  # as the start checks it
                                 Path(self.config.hydra.sweep.dir).resolve(), self.conf.trial_dir, metric_names(self.config))
            check = Precheck(self._compose, self.precheck, self.conf.precheck)
            if (left := _revive.left_to_start(self.storage, self.study_name, self.n_trials, self.conf, self._points)):
                workers = worker_count(self.conf.workers if self.storage else 1, left.runs, *trial_load(self.config, space, self.n_jobs))
                preview(space, self._compose, left.trials, workers, lambda: check.smallest(space),  # as _run: a resume's left
                        (self.conf.repeats.seeds, self.conf.repeats.top_k), _pruner.unpruned(self.pruner, self._get_directions(), self.storage))
            return
        grid = self._grid(space)
        directions, sweep_dir = self._get_directions(), Path(self.config.hydra.sweep.dir).resolve()
        stored, first = _resume.read(self.storage, self.study_name), worker_index() == 0  # the storage read once, for both below
        self._start = _undo.Start(sweep_dir, self.storage, self.study_name, stored.there)  # a new study that trains nothing: undone
        try:  # every check against the study first: a refused start records nothing, writes nothing
            study = _resume.open_checked(
                lambda: _open.open_study(self.storage, self.study_name, self._sampler(grid, None), self.pruner, directions, self.conf.heartbeat_interval,
                                         self.conf.grace_period, not self._start.existed and first, self._start.joined),  # joined: never undone
                stored, self.study_name, space, directions, sweep_dir, self.conf.trial_dir, metric_names(self.config))
        except Exception:
            if first:  # a new study's storage half-made (a full disk): the sweep dir and file it made go
                self._start.undo()
            raise
        try:
            self._settle_in(study, sweep_dir, queued)
        except Exception as e:  # a full disk writing storage.json: a new study goes as at the open, its line told so
            line = _faults.message(e, mask_url(self.storage) if self.storage else None, str(sweep_dir), new=True)
            if first and not self._start.existed and line:
                self._start.undo()
                raise SweepError(line) from None
            raise
        try:
            ran = self._run(study, space, grid, sweep_dir)
        except SweepStopped:  # by a rule: the trials that finished get a complete sweep's files, then its line
            try:
                self._end(study, sweep_dir, True, stopped=True)
            except Exception as e:  # noqa: BLE001 - the stop's line stays the one printed
                log.warning("the end-of-sweep files were not all written: %s", one_line(e))
            raise
        self._end(study, sweep_dir, ran)

    def _settle_in(self, study: optuna.Study, sweep_dir: Path, queued: list) -> None:
        """The opened study's sweep dir claimed (storage.json), its metrics named, its warm start queued."""
        if self._points is not None:  # a resume may narrow the space to configs the study lacks
            self.n_trials = _resume.within_space(study, self._points, self.conf.n_trials)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        _resume.claim_sweep_dir(self.config, sweep_dir, self.storage, self.study_name)  # a sweep started beside this one
        _study.name_metrics(study, metric_names(self.config))
        os.environ.setdefault(WORKER_ENV, "0")
        if queued:  # checked against the search space before the study was touched
            _study.enqueue(study, queued)

    def _end(self, study: optuna.Study, sweep_dir: Path, ran: bool, stopped: bool = False) -> None:
        """A sweep's end, complete or ``stopped`` by a rule (which wrote leaderboard.csv alone):
        leaderboard.csv, optimization_results.yaml, report.html and the closing lines."""
        if self.on_trial_end is not None:
            self.on_trial_end(study, sweep_dir)
        if not stopped:
            try:
                _failures.check_trained(study)  # every candidate rejected: say why, and fail
            except SweepError:
                if worker_index() == 0 and self._start is not None:  # the helpers have ended: nothing half-written stays
                    self._start.undo()
                raise
        self._report_best(study, sweep_dir)
        if (self.on_sweep_end is not None and not study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
                and (ran or _resume.stale(sweep_dir / "report.html", study))):  # a complete study: a report older than its trials
            self.on_sweep_end(study, sweep_dir)  # the last worker to finish writes the report
        if worker_index() == 0:
            for line in closing_lines(sweep_dir):
                log.info("%s", line)

    # ------------------------------------------------------------------ helpers of sweep()
    def _search_space(self, arguments: list[str]) -> _space.SearchSpace:
        """hydra.sweeper.params and the command line's sweep overrides, each checked against conf/."""
        self._process_searchspace_config()
        if nested := nested_space_error(self.params):  # model: {c1: ...} in a search file: the keys are dotted
            raise SweepError(nested)
        space = _space.build(
            self._parse_sweeper_params_config() + list(arguments), set(self.config.hydra.runtime.choices), self._compose,
            lambda group: self.hydra_context.config_loader.get_group_options(group),
        )
        own = {a.lstrip("+~").split("=", 1)[0] for a in arguments}  # the command line's keys: searched on purpose
        typed = _groups.typed_params(list(self.config.hydra.overrides.hydra))  # hydra.sweeper.params={...}: the user's
        if clash := _groups.searched_over_added([k for k in self.params or {} if k not in own], space.fixed, self._compose, typed):
            log.warning("%s", clash)  # +experiment=tiny under the search file's space
        if self.search_space_distributions:  # the deprecated hydra.sweeper.search_space form
            space.values.update({k: _space.modern(v) for k, v in self.search_space_distributions.items()})
        for name, dist in space.values.items():  # each distribution against its key's type and range
            check_distribution(name, dist, self.config)
        space.custom = self._custom_space()
        _space.check_custom(space, self._compose)  # its error at the first candidate would leave the study written
        Precheck(self._compose, self.precheck, self.conf.precheck).base(space)
        return space

    def _custom_space(self) -> Callable[[optuna.Trial], Any] | None:
        """hydra.sweeper.custom_search_space: the stock contract, ``fn(cfg, trial)`` with the sweep's config."""
        path = self.conf.custom_search_space
        if not path:
            return None
        try:
            fn = get_method(path)
        except Exception as e:  # noqa: BLE001 - Hydra's ImportError/ValueError with a long message
            raise SweepError(
                f"hydra.sweeper.custom_search_space: cannot import '{path}' ({one_line(str(e).strip().splitlines()[0])}); "
                "give the dotted path of a function (cfg, trial) -> None | dict"
            ) from None
        return functools.partial(fn, self.config)

    def _run(self, study: optuna.Study, space: _space.SearchSpace, grid: dict | None, sweep_dir: Path) -> bool:
        """The loop in this process, with the helper workers beside it; False where the study was
        complete (n_trials reached, nothing running or queued): no worker is started."""
        progress = Progress(self.n_trials)
        _revive.fail_lost(study, self.conf.grace_period, self.conf.constrain_to_target, self.conf.repeats.seeds > 1)  # before the count
        left = progress.start_line(study, mask_url(self.storage))
        if _resume.complete(study, left, self.n_trials, self.n_trials < self.conf.n_trials):
            return False
        for changed in _resume.resume_warnings(study, space) if worker_index() == 0 else []:  # trials to be ranked
            log.warning("%s", changed)                                                         # beside others trained otherwise
        rep = self.conf.repeats
        repeats = Repeats.open(study, rep.seeds, rep.top_k, self.conf.constrain_to_target, rep.race)
        if repeats is not None:  # a dead worker's seed is to run again (one that ended told): counted below
            repeats.fail_lost(self.conf.grace_period)
        runs = _revive.runs_to_go(study, left, repeats)  # a resume's: 2 of 3 trials done started a helper for none
        load = trial_load(self.config, space, self.n_jobs)  # n_jobs at once (joblib), a searched threads' most; Slurm's: its nodes'
        helpers = Helpers(worker_count(self.conf.workers if self.storage else 1, runs, *load), sweep_dir)
        if self.conf.workers > 1 and not self.storage:
            log.warning("hydra.sweeper.workers=%d needs a persistent storage; in-memory study: one worker", self.conf.workers)
        limits = Limits(self.n_trials, self.n_jobs, self.conf.max_rejected, self.conf.max_duplicates,
                        self.max_failure_rate, self.conf.grace_period)
        loop = Loop(study, space, sweep_dir, self.conf.trial_dir, limits, self._hooks(study, grid),
                    self.conf.constrain_to_target, repeats)
        try:  # the helpers started in it: an interrupt from their start on stops them
            helpers.start()
            loop.run(progress)
            if helpers.wait():  # a helper died (killed, say) while this worker waited for it: its trials go on here
                loop.run(progress)
        except BaseException:
            helpers.stop()
            helpers.wait()
            raise
        return True

    def _hooks(self, study: optuna.Study, grid: dict | None) -> Hooks:
        def reseed(first_number: int) -> None:
            seed = self._seed()
            own = _study.own_seed(seed, first_number, worker_index())
            if own != seed:
                study.sampler = self._sampler(grid, own)
                log.debug("sampler seed %s (configured %s)", own, seed)

        def launch(job_overrides: list[list[str]]) -> list:
            returns = self.launcher.launch(job_overrides, initial_job_idx=self.job_idx)
            self.job_idx += len(returns)
            return list(returns)

        return Hooks(self._compose, launch, self.precheck, self.on_trial_end, reseed)

    def _seed(self) -> int | None:
        return self.config.hydra.sweeper.sampler.get("seed")

    def _grid(self, space: _space.SearchSpace) -> dict | None:
        """GridSampler (a partial: it needs the search space): its grid."""
        if not (isinstance(self.sampler, functools.partial) and self.sampler.func is optuna.samplers.GridSampler):
            return None
        return _space.grid(space)  # n_trials was capped to its size by _cap_to_space

    def _cap_to_space(self, space: _space.SearchSpace) -> None:
        """n_trials at most the configs the space has (choices and ranges only; the empty space has
        one, the base config): each config is trained once, and no worker draws duplicates until
        max_duplicates says the space is exhausted (an empty space trained 1 trial, then each
        worker drew 50 duplicates)."""
        try:
            points = _space.grid(space)
        except SweepError:  # a continuous parameter or a custom space: no end to its configs
            return
        if (size := math.prod(len(v) for v in points.values())) >= self.n_trials:
            return
        if not space.distributions:
            log.warning("hydra.sweeper.params: nothing is searched (hydra.sweeper.params=null and no sweep expression), so "
                        "n_trials %d -> 1: the base config, trained once; add a sweep expression such as "
                        "'model.c1=choice(8,12)' to search, or run without -m", self.n_trials)
        else:
            log.info("hydra.sweeper.params: the search space has %s at most, so n_trials %d -> %d",
                     plural(size, "config"), self.n_trials, size)
        self.n_trials, self._points = size, points

    def _sampler(self, grid: dict | None, seed: int | None) -> Any:
        """The configured sampler; with ``seed``, a copy seeded with it."""
        if grid is not None:
            return _study.GridSampler(grid, seed=seed if seed is not None else self._seed())
        if seed is None:
            return self.sampler
        cfg = OmegaConf.to_container(self.config.hydra.sweeper.sampler, resolve=True)
        cfg["seed"] = seed
        return instantiate(cfg)

    def _report_best(self, study: Any, sweep_dir: Path) -> None:
        summary = _study.best_summary(study)
        if summary is None:
            log.warning("no trial completed")
            return
        results.atomic_write(sweep_dir / "optimization_results.yaml", lambda p: OmegaConf.save(OmegaConf.create(summary), p))
