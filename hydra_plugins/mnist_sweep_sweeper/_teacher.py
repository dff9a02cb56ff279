"""``trainer.teacher`` checked at the sweep's start, before the study or the sweep dir is touched: each
teacher the sweep can train with (the base config's, or each choice of a searched trainer.teacher) loaded
once (``distill.opened``: a run dir whose model.pt loads) and checked against the base config's validation
images, where the search varies none of the split's keys (else each trial's run checks its own). Without
this every trial failed with the same line and the sweep stopped after trial 0, its sweep dir left behind.
A search of the distillation settings with no teacher is refused there too (``unread_knobs``); a resume whose
teacher was trained again under the same path is one warning (``retrained``, ``_resume.resume_warnings``)."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import optuna
from omegaconf import DictConfig, OmegaConf
from optuna.distributions import CategoricalDistribution

from hydra_plugins.mnist_sweep_sweeper._new_keys import APART, last_finished
from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
from mnist_sweep import distill, results
from mnist_sweep.config.settings import DataSettings, validate
from mnist_sweep.config.unread import KNOBS, unread_line
from mnist_sweep.errors import ConfigError, MnistSweepError
from mnist_sweep.reuse import changed_teacher

KEY = "trainer.teacher"
SPLIT = ("data.val_size", "data.split_seed", "data.train_limit")  # what the honest-validation rule reads


def teachers(space: SearchSpace, base: DictConfig) -> list[str]:
    """The teacher paths the sweep's candidates can have (null: none)."""
    dist = space.values.get(KEY) or space.values.get("+" + KEY)
    if isinstance(dist, CategoricalDistribution):
        values = list(dist.choices)
    else:
        values = [OmegaConf.select(base, KEY, default=None)]
    return list(dict.fromkeys(str(v) for v in values if v is not None and str(v) not in ("null", "None")))


def student_data(space: SearchSpace, compose: Callable[[list[str]], DictConfig], overrides: list[str]) -> DataSettings | None:
    """The base config's data split (its budget lifted: only the split matters); None where the search varies a
    key of the split or the base config is no valid one (each trial's run checks it then)."""
    if any(k.lstrip("+") in SPLIT for k in space.distributions):
        return None
    try:
        return validate(compose([*overrides, "model.max_params=null"])).data
    except MnistSweepError:
        return None


def check(space: SearchSpace, compose: Callable[[list[str]], DictConfig], overrides: list[str]) -> None:
    """Each teacher loaded once; the first that cannot teach is one line naming trainer.teacher (ConfigError)."""
    try:
        base = compose(overrides)
    except Exception:  # noqa: BLE001 - a base that does not compose: the start's other checks say why
        return
    found = teachers(space, base)
    if not found:
        unread_knobs(space)
        return
    data = student_data(space, compose, overrides)
    for given in found:
        distill.opened(given, data)


def unread_knobs(space: SearchSpace) -> None:
    """A search of trainer.distill_alpha or distill_temperature where no candidate has a teacher: no trial reads it,
    so the trials differ in a value that changes nothing (and the sampler models it): one line (ConfigError). A custom
    space may give each trial a teacher of its own: not this check's to judge."""
    if space.custom is None and (searched := [k.lstrip("+") for k in space.distributions if k.lstrip("+") in KNOBS]):
        raise ConfigError(unread_line([f"hydra.sweeper.params.{searched[0]}"], "searched", "no trial reads")
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
