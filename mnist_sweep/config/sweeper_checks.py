"""The sweeper's own keys checked before anything is opened or written: one SweepError line
naming ``hydra.sweeper.<key>``. Types come from MnistOptunaSweeperConf (Hydra enforces them);
ranges from its fields' metadata; the cross-key rules are here (the direction against the
objectives: ``directions``), and the one rule between the keys and the disk: a sweep dir belongs
to one study (``check_sweep_dir``)."""
from __future__ import annotations

import os
import string
from enum import Enum
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_sweep.config.directions import check_constrained, check_directions
from mnist_sweep.config.file_values import example_of
from mnist_sweep.config.nodes import check_groups, check_nodes, is_own_sweeper
from mnist_sweep.config.options import nearest_option
from mnist_sweep.config.ranges import range_of
from mnist_sweep.config.sweeper import MnistOptunaSweeperConf, RepeatsConf
from mnist_sweep.errors import MnistSweepError, SweepError
from mnist_sweep.storage import REPEATS_SUFFIX, STORAGE_ENV, check_no_clear_password, mask_url

P = "hydra.sweeper"


def _node(cfg: Any) -> DictConfig:
    """``hydra.sweeper`` of a composed config (or the sweeper node itself)."""
    if isinstance(cfg, DictConfig) and "hydra" in cfg:
        return cfg.hydra.sweeper
    return cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)


def check_trial_dir(fmt: Any) -> None:
    """A file name (no '/', no '..') using only ``{number}``, different for different numbers."""
    where = f"{P}.trial_dir"
    if not isinstance(fmt, str) or not fmt:
        raise SweepError(f"{where}: expected a format string such as trial_{{number:04d}}, got {fmt!r}")
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]
        bad = [n for n in names if n != "number"]
        if bad:
            raise SweepError(f"{where}: '{fmt}' uses {{{bad[0]}}}; only {{number}} is known (e.g. trial_{{number:04d}})")
        first, second = fmt.format(number=1), fmt.format(number=2)
    except (ValueError, IndexError, KeyError, TypeError) as e:
        raise SweepError(f"{where}: '{fmt}' is not a valid format string ({e}); e.g. trial_{{number:04d}}") from None
    if first == second:
        raise SweepError(f"{where}: '{fmt}' gives every trial the same dir; include {{number}}")
    if "/" in first or "\\" in first or first in (".", "..") or "\x00" in first:
        raise SweepError(f"{where}: '{fmt}' must be a plain file name (no '/' or '..'); e.g. trial_{{number:04d}}")


# Dotted paths of functions, and the arguments the sweeper calls each with.
CALLABLES = {"precheck": ("cfg",), "on_trial_end": ("study", "sweep_dir"), "on_sweep_end": ("study", "sweep_dir"),
             "custom_search_space": ("cfg", "trial")}


def check_callable(name: str, path: Any) -> None:
    """``hydra.sweeper.<name>`` names an importable function (or is null) that takes the arguments
    the sweeper passes (a function whose signature Python cannot read is taken as it is)."""
    if path is None:
        return
    import inspect
    import logging

    from hydra.utils import get_method

    quiet = logging.getLogger("hydra.utils")  # it logs the failure too: the one line below says it
    disabled, quiet.disabled = quiet.disabled, True
    try:
        fn = get_method(path)
    except Exception as e:  # noqa: BLE001 - ImportError, AttributeError, ValueError: one line for all
        cause = e.__cause__ or e
        reason = (str(cause).strip().splitlines() or [type(cause).__name__])[0]
        raise SweepError(f"{P}.{name}: cannot import '{path}' ({reason}); give module.function, "
                         "importable from here, or null") from None
    finally:
        quiet.disabled = disabled
    args = CALLABLES[name]
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # some builtins
        return
    try:
        signature.bind(*args)
    except TypeError as e:
        raise SweepError(f"{P}.{name}: '{path}{signature}' cannot be called as {name}({', '.join(args)}) ({e}); "
                         f"give a function of ({', '.join(args)}), or null") from None


DIRECTIONS = ("minimize", "maximize")


def _name(v: Any) -> Any:
    return v.name if isinstance(v, Enum) else v  # the stock config's Direction enum


def _direction(v: Any) -> str:
    """The direction ``v`` was probably meant as (max, MAXIMIZE, maximise -> maximize); Optuna takes only
    minimize and maximize, so no alias is accepted, only suggested."""
    if _name(v) in DIRECTIONS:
        return _name(v)
    text = str(_name(v)).strip().lower()
    return next((d for d in DIRECTIONS if text and d.startswith(text[:3])), None) or nearest_option(
        text, DIRECTIONS, cutoff=0.4) or "maximize"


def check_direction(value: Any) -> None:
    """``direction``: minimize or maximize, or a non-empty list of them (one per objective); a
    refusal shows the value meant (direction=max: e.g. hydra.sweeper.direction=maximize)."""
    values = list(value) if isinstance(value, (list, tuple)) or OmegaConf.is_list(value) else [value]
    for v in values:
        if not isinstance(_name(v), str) or _name(v) not in DIRECTIONS:
            fixed = [_direction(w) for w in values]
            example = fixed[0] if value is v else f"[{','.join(fixed)}]"
            raise SweepError(f"{P}.direction: must be minimize or maximize (or a list of them, one per objective), "
                             f"got {OmegaConf.to_container(value) if OmegaConf.is_config(value) else value!r}; "
                             f"e.g. {P}.direction={example}")
    if not values:
        raise SweepError(f"{P}.direction: an empty list; give minimize or maximize, e.g. {P}.direction=maximize "
                         f"(several objectives: {P}.direction=[maximize,minimize])")


def check_storage(url: Any, raw: Any = None) -> None:
    """A storage is a URL (a non-empty string) or null: ``storage=true``, ``=1.5`` or ``=[a,b]`` was an
    AttributeError traceback (an empty sweep dir left), and ``''`` (or ``$MNIST_SWEEP_STORAGE`` set
    empty, ``raw`` the key as written) an in-memory study nothing resumes. A SQLite URL without a
    file (``sqlite:///``, ``:memory:``) is a database in one process's memory: each worker and each
    trial's job would open an empty one of its own."""
    if url is None:
        return
    example = f"e.g. {P}.storage=sqlite:///outputs/sweeps/NAME/optuna.db, or {P}.storage=null for an in-memory study in one worker"
    if not isinstance(url, str):
        given = OmegaConf.to_container(url) if OmegaConf.is_config(url) else url
        raise SweepError(f"{P}.storage: must be a storage URL or null, got {given!r}; give a URL, {example}")
    if not url.strip():
        if isinstance(raw, str) and f"oc.env:{STORAGE_ENV}" in raw and os.environ.get(STORAGE_ENV) is not None:
            raise SweepError(f"{P}.storage: ${STORAGE_ENV} is set but empty; unset it (unset {STORAGE_ENV}) for "
                             f"the sweep dir's optuna.db, or export {STORAGE_ENV}=<a storage URL>")
        raise SweepError(f"{P}.storage: empty, which is no storage URL; drop the override for the sweep dir's "
                         f"optuna.db, or give a URL, {example}")
    if not url.startswith("sqlite:"):
        return
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        db = make_url(url).database
    except ArgumentError:  # not a URL: opening it says why
        return
    if not db or db == ":memory:" or db.startswith("file::memory:") or "mode=memory" in url:
        raise SweepError(
            f"{P}.storage: '{url}' is an in-memory SQLite database, which the sweep's processes (workers, each "
            f"trial's job) cannot share; give a file, e.g. sqlite:///outputs/sweeps/NAME/optuna.db, or "
            f"{P}.storage=null for an in-memory study in one worker"
        )


def check_sweeper(cfg: Any) -> None:
    """Ranges of every ranged key of MnistOptunaSweeperConf, the cross-key rules, and no clear-text
    storage password; raises SweepError naming ``hydra.sweeper.<key>``."""
    node = _node(cfg)
    raw = OmegaConf.to_container(node, resolve=False)
    if unknown := sorted(set(raw) - set(MnistOptunaSweeperConf.__dataclass_fields__)):  # +hydra.sweeper.KEY
        from mnist_sweep.config.keys import did_you_mean

        near = did_you_mean(f"{P}.{unknown[0]}").removeprefix("; ")
        raise SweepError(f"{P}.{unknown[0]}: not a key of hydra/sweeper=mnist_optuna; drop +{P}.{unknown[0]}"
                         + (f" ({near})" if near else " (`python -m mnist_sweep.train --cfg hydra -p hydra.sweeper` lists them)"))
    check_no_clear_password(raw.get("storage"))
    try:
        check_storage(node.get("storage"), raw.get("storage"))
    except SweepError:
        raise
    except Exception:  # noqa: BLE001 - an interpolation that does not resolve: Hydra reports it
        pass
    check_direction(node.get("direction"))
    if isinstance(cfg, DictConfig) and "hydra" in cfg:
        check_directions(cfg)  # one per objective, each its objective's own
        check_constrained(cfg)  # a cost alone (params, train_s) only with the target as a constraint
    _check_grace(node)  # before the ranges: grace_period=-1's example is to be one the pair rules take
    for name in (f for f in MnistOptunaSweeperConf.__dataclass_fields__):
        r = range_of(MnistOptunaSweeperConf, name)
        if r is None or name not in node:
            continue
        value = node.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not r.ok(value):
            raise SweepError(r.refusal(f"{P}.{name}", value, example_of(cfg, MnistOptunaSweeperConf, name, f"{P}.{name}")))
    check_trial_dir(node.get("trial_dir"))
    check_study_name(node.get("study_name"))
    check_repeats(node.get("repeats"), cfg)
    if isinstance(cfg, DictConfig) and "hydra" in cfg:
        check_nodes(cfg)  # the launcher too: hydra.launcher=joblib
    else:
        check_groups(node)
    for name in CALLABLES:
        check_callable(name, node.get(name))
    if isinstance(cfg, DictConfig) and "hydra" in cfg and not node.get("dry_run"):
        check_sweep_dir(cfg)


def _check_grace(node: Any) -> None:
    """grace_period above heartbeat_interval, which it needs (a heartbeat out of range: its own line). Checked
    before grace_period's range, whose example (1) the pair rules refuse while heartbeats are off (null)."""
    beat, grace = node.get("heartbeat_interval"), node.get("grace_period")
    beat_range = range_of(MnistOptunaSweeperConf, "heartbeat_interval")
    if not isinstance(grace, int) or isinstance(grace, bool) or not (beat is None or beat_range.ok(beat)):
        return
    if beat is None:
        pair = f"{P}.heartbeat_interval={max(1, grace // 4)}" + (f" {P}.grace_period=4" if grace < 2 else "")
        raise SweepError(f"{P}.grace_period: needs {P}.heartbeat_interval (null: heartbeats are off); set it below "
                         f"the grace period, e.g. {pair}, or {P}.grace_period=null")
    if grace <= beat:
        raise SweepError(f"{P}.grace_period: must be > {P}.heartbeat_interval={beat}, got {grace}; "
                         f"e.g. {P}.grace_period={beat * 4} (a few missed heartbeats)")


def check_multirun(cfg: DictConfig) -> None:
    """A sweep's composed config: Hydra's launcher and sweeper nodes (``nodes.check_nodes``:
    hydra.sweeper=nope was an AttributeError traceback), then hydra/sweeper=mnist_optuna's keys."""
    check_nodes(cfg)
    if is_own_sweeper(cfg.hydra.sweeper):
        check_sweeper(cfg)


def check_study_name(name: Any) -> None:
    """A study name is not a repeats side study's, ``<study>.repeats`` (``hydra.sweeper.repeats``: the
    further seeds of study ``<study>``'s configs, in the same storage, left out of its list of studies)."""
    if isinstance(name, str) and name.endswith(REPEATS_SUFFIX):
        base = name.removesuffix(REPEATS_SUFFIX)
        raise SweepError(f"{P}.study_name: {name!r} ends in '{REPEATS_SUFFIX}', the name of the side study of study {base!r} "
                         f"for its repeated seeds ({P}.repeats), which it would collide with; give another name, "
                         f"e.g. {P}.study_name={base}_repeats")


def check_repeats(node: Any, cfg: Any = None) -> None:
    """hydra.sweeper.repeats: its keys, each in range (a refusal's example the files' value, in ``cfg``)."""
    if node is None:
        return
    if not hasattr(node, "get"):
        raise SweepError(f"{P}.repeats: expected {{seeds: N, top_k: K}}, got {node!r}; set its keys, "
                         f"e.g. {P}.repeats.seeds=3 {P}.repeats.top_k=5")
    for name in node:
        r = range_of(RepeatsConf, str(name))
        if name not in RepeatsConf.__dataclass_fields__:
            near = nearest_option(str(name), list(RepeatsConf.__dataclass_fields__))
            raise SweepError(f"{P}.repeats.{name}: not a key; " + (f"did you mean {P}.repeats.{near}? " if near else "")
                             + f"use {P}.repeats.seeds, {P}.repeats.top_k and {P}.repeats.race")
        value = node.get(name)
        if r is not None and (isinstance(value, bool) or not r.ok(value)):
            raise SweepError(r.refusal(f"{P}.repeats.{name}", value, example_of(cfg, RepeatsConf, str(name), f"{P}.repeats.{name}")))


def check_sweep_dir(cfg: DictConfig) -> None:
    """A sweep dir and its study belong together: refuse a sweep whose storage (or study) differs
    from the one the dir recorded (``storage.json``, else a trial's ``.hydra/hydra.yaml``, else its
    own optuna.db or journal.log): it would write a leaderboard that mixes two studies."""
    try:
        sweep_dir, url, name = Path(cfg.hydra.sweep.dir), cfg.hydra.sweeper.storage, cfg.hydra.sweeper.study_name
    except Exception:  # noqa: BLE001 - an interpolation that does not resolve: Hydra reports it
        return
    try:
        if not sweep_dir.is_dir():
            return
    except OSError:  # a path over the system's limit (is_dir raises ENAMETOOLONG): OutputDirCheck names it
        return
    from mnist_sweep.sweeps import find_storage, in_memory_trial, portable_url  # pandas: only when the dir exists

    try:
        found = find_storage(sweep_dir)
    except MnistSweepError:  # a damaged storage.json: the sweep's next trial rewrites it
        return
    if found is None:
        if memory := in_memory_trial(sweep_dir):  # no storage to resume: its trial dirs would be taken anew
            raise SweepError(
                f"{P}.storage: the sweep dir {sweep_dir} holds the trials of an in-memory study ({P}.storage=null, "
                f"recorded in {memory}), which no sweep can resume; give a new hydra.sweep.dir"
            )
        return
    recorded, recorded_name, source = found
    here = Path.cwd()
    if (portable_url(url, here) if url else None) != portable_url(recorded, here):
        raise SweepError(
            f"{P}.storage: the sweep dir {sweep_dir} belongs to the study in {mask_url(recorded)} (recorded in "
            f"{source}), not to {mask_url(url)}; give a new hydra.sweep.dir for a new study, or "
            f"{P}.storage={mask_url(recorded)} to resume that one"
        )
    if recorded_name is not None and name is not None and str(name) != recorded_name:
        raise SweepError(
            f"{P}.study_name: the sweep dir {sweep_dir} belongs to study '{recorded_name}' (recorded in {source}), "
            f"not to '{name}'; give a new hydra.sweep.dir for a new study"
        )

