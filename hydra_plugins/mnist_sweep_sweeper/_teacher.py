"""``trainer.teacher`` checked at the sweep's start, before the study or the sweep dir is touched: each
teacher the sweep can train with (the base config's, each choice of a searched trainer.teacher, or the one each
choice of a swept option brings: ``trainer=choice(...)``, ``+experiment=choice(a,b)``) loaded once
(``distill.opened``: a run dir whose model.pt loads) and checked against the validation images of the config
that brings it, where the search varies none of the split's keys (else each trial's run checks its own). Without
this every trial failed with the same line and the sweep stopped after trial 0, its sweep dir left behind.
A search of the distillation settings with no teacher is refused there too (``unread_knobs``); a resume whose
teacher was trained again under the same path is one warning (``retrained``, ``_resume.resume_warnings``)."""
from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import CategoricalDistribution

from hydra_plugins.mnist_sweep_sweeper._new_keys import APART, last_finished
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
from mnist_sweep import distill, results
from mnist_sweep.config.settings import DataSettings, validate
from mnist_sweep.config.unread import KNOBS, READER, unread_line
from mnist_sweep.errors import ConfigError
from mnist_sweep.reuse import changed_teacher

KEY = "trainer.teacher"
SPLIT = ("data.val_size", "data.split_seed", "data.train_limit")  # what the honest-validation rule reads
MAX_COMBINATIONS = 64  # swept options' choices composed together at most (the composer keeps as many)
Compose = Callable[[list[str]], DictConfig]
Fixed = Callable[[dict[str, Any]], list[str]]  # the base config's overrides with some values set (_precheck)


def swept_options(space: SearchSpace) -> dict[str, list]:
    """Each swept config group's options (``trainer=choice(...)``) and each searched one added with a +
    (``+experiment=choice(a,b)``, drawn as a value): what can bring a trainer.teacher of its own."""
    swept = {**space.groups, **{k: d for k, d in space.values.items() if "." not in k.lstrip("+")}}
    return {k: list(d.choices) for k, d in swept.items() if isinstance(d, CategoricalDistribution)}


def added(space: SearchSpace) -> dict[str, Any]:
    """Each swept option added with a + at its first choice: every trial runs one of its choices, none without
    (the base config, ``fixed({})``, has none: its split is no trial's where an experiment sets data.val_size=0)."""
    return {k: cs[0] for k, cs in swept_options(space).items() if k.startswith("+")}


def choices_of(space: SearchSpace, compose: Compose, fixed: Fixed) -> list[dict[str, Any]]:
    """The swept options' choices the start composes (each over ``added``'s): none (the base config: each group's
    first option), each choice of each key alone, and where two or more keys' choices bring different teachers,
    their every combination (at most ``MAX_COMBINATIONS``; an experiment may override the trainer option's teacher)."""
    swept, first = swept_options(space), added(space)
    alone = [{}] + [{k: c} for k, cs in swept.items() for c in cs]
    found = {k: {_teacher_of(compose, fixed({**first, k: c})) for c in cs} for k, cs in swept.items()}
    varying = {k: swept[k] for k, ts in found.items() if len(ts) > 1}
    if len(varying) < 2 or math.prod(len(cs) for cs in varying.values()) > MAX_COMBINATIONS:
        return alone
    return alone + [dict(zip(varying, combo)) for combo in itertools.product(*varying.values())]


def _teacher_of(compose: Compose, overrides: list[str]) -> str | None:
    """The trainer.teacher these overrides compose (None: null, or no composition: the start's other checks)."""
    try:
        return _path(OmegaConf.select(compose(overrides), KEY, default=None))
    except Exception:  # noqa: BLE001 - Hydra's many composition errors: the start's other checks say why
        return None


def _path(value: Any) -> str | None:
    """A trainer.teacher value as its path (None: null, as a config or a searched choice gives it)."""
    return None if value is None or str(value) in ("null", "None") else str(value)


def teachers(space: SearchSpace, compose: Compose,
             fixed: Fixed) -> dict[tuple[str, DataSettings | None], tuple[str, str]]:
    """Each teacher a candidate can have with the data split it is checked against, and the swept choices that
    bring it ('from ...'; '': the base config's, or a searched one's) and whose split it is ('with ...'): a
    searched trainer.teacher's choices (a value override: no option's teacher survives it), else the teacher of
    each composition of the swept options' choices (``choices_of``), each with that composition's split
    (``student_data``)."""
    dist = space.values.get(KEY) or space.values.get("+" + KEY)
    searched = list(dist.choices) if isinstance(dist, CategoricalDistribution) else None
    base, first = _teacher_of(compose, fixed({})), added(space)
    found: dict[tuple[str, DataSettings | None], tuple[str, str]] = {}
    for values in choices_of(space, compose, fixed):
        values, overrides = values or first, fixed({**first, **values})  # named as chosen, composed as a trial is
        given = searched if searched is not None else [_teacher_of(compose, overrides)]
        given = [p for v in given if (p := _path(v)) is not None]
        data = student_data(space, compose, overrides) if given else None
        chosen = " ".join(f"{k}={v}" for k, v in values.items())
        for g in given:  # (the choices that bring it, those whose split it is checked against)
            brought = f"from {chosen}" if searched is None and g != base else ""
            found.setdefault((g, data), (brought, f"with {chosen}" if chosen else ""))
    return found


def student_data(space: SearchSpace, compose: Compose, overrides: list[str]) -> DataSettings | None:
    """These overrides' data split (the budget lifted: only the split matters); None where the search varies a
    key of the split or the config is no valid one (each trial's run checks it then)."""
    if any(k.lstrip("+") in SPLIT for k in space.distributions):
        return None
    try:
        return validate(compose([*overrides, "model.max_params=null"])).data
    except Exception:  # noqa: BLE001 - a config error, or one that does not compose: the trial's run says why
        return None


def check(space: SearchSpace, compose: Compose, fixed: Fixed) -> None:
    """Each teacher loaded once, then checked against each split it is drawn with; the first that cannot teach is
    one line naming trainer.teacher and the swept choices that bring it, or whose split it saw (ConfigError). No
    candidate with a teacher: a searched distillation setting is refused (``unread_knobs``)."""
    try:
        compose(fixed({}))
    except Exception:  # noqa: BLE001 - a base that does not compose: the start's other checks say why
        return
    found = teachers(space, compose, fixed)
    if not found:
        unread_knobs(space)
    loaded: dict[str, tuple[Path, DataSettings]] = {}
    for (given, data), (brought, split) in found.items():
        try:  # 'trainer.teacher (from +experiment=b): gone: no such run dir' (the option's file holds the path)
            if given not in loaded:
                run, _, theirs = distill.opened(given, None)
                loaded[given] = (run.dir, theirs.data)
        except ConfigError as e:
            raise _named(e, brought) from None
        try:  # the split of the choices it is checked with: '(with +experiment=val): ... trained on 10,000 of ...'
            distill.refuse_leak(loaded[given][0], data, loaded[given][1])
        except ConfigError as e:
            raise _named(e, brought or split) from None


def _named(e: ConfigError, source: str) -> ConfigError:
    """``e``'s line with the swept choices ``source`` after trainer.teacher ('' : as it is)."""
    return ConfigError(str(e).replace(f"{KEY}: ", f"{KEY} ({source}): ", 1)) if source else e


def unread_knobs(space: SearchSpace) -> None:
    """A search of trainer.distill_alpha or distill_temperature where no candidate has a teacher: no trial reads it,
    so the trials differ in a value that changes nothing (and the sampler models it): one line (ConfigError). A custom
    space may give each trial a teacher of its own: not this check's to judge."""
    if space.custom is None and (searched := [k.lstrip("+") for k in space.distributions if k.lstrip("+") in KNOBS]):
        raise ConfigError(unread_line([f"hydra.sweeper.params.{searched[0]}"], "searched", READER["sweep"])
                          + f", or drop {searched[0]} from the search")  # a run given one: a warning (config/unread.py)


def retrained(study: optuna.Study, space: SearchSpace) -> str | None:
    """The warning for a resume whose teacher's model.pt (the path the study's last finished trial recorded, read
    from here as the new trials read it) is not the one that trial learnt from (its result.json's sha256): the
    teacher trained again under the same path, which ``_resume.changed_settings`` cannot see. None otherwise (no
    teacher, no such trial or result.json here, the teacher gone: the start's check refuses a teacher not there)."""
    last = last_finished(study, space)
    result = results.read(Path(d)) if last is not None and isinstance(d := last.user_attrs.get("trial_dir"), str) else {}
    if not isinstance(rec := result.get("teacher"), dict) or not isinstance(given := rec.get("path"), str):
        return None
    why = changed_teacher(result, {"trainer": {"teacher": given}})
    if why is None or " has changed since " not in why:
        return None
    return (f"study {study.study_name}: {why.replace('the run was', f'its trial {last.number} was')}; {APART} (or "
            "the teacher's model.pt it learnt from to resume it as it was)")
