"""A resume that searches a key its study never searched (``model.c2=choice(8,10)`` added on resume): the
earlier trials all ran with one value of it (their override's, else the config's default), and the new
trials, which vary it, are ranked beside them; ``newly_searched`` is the one warning that says so, naming
each such key and the value the study's last finished trial used, in ``_resume.changed_settings``' style."""
from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any

import optuna
from omegaconf import OmegaConf
from optuna.trial import TrialState

from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace, describe

_UNKNOWN = object()
APART = ("the new trials are ranked beside the earlier ones in one leaderboard: give this run its own "
         "hydra.sweeper.study_name to keep them apart")  # how each resume warning ends


def last_finished(study: optuna.Study, space: SearchSpace) -> optuna.trial.FrozenTrial | None:
    """The trial a resume's warnings compare with: the study's last finished (complete or pruned) trial
    whose overrides are recorded; None where there is none, or a custom space adds overrides of its own
    (they are not this run's to compare)."""
    if space.custom is not None:
        return None
    done = [t for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
            if isinstance(t.user_attrs.get("overrides"), str)]
    return max(done, key=lambda t: t.number) if done else None


def _value(trial: optuna.trial.FrozenTrial, key: str, group: bool) -> Any:
    """What ``trial`` ran with for ``key``: its own override's value, else its saved config's (a group's
    choice from .hydra/hydra.yaml), else ``_UNKNOWN`` (no trial dir here, a damaged file)."""
    try:
        given = dict(o.lstrip("+").partition("=")[::2] for o in shlex.split(trial.user_attrs["overrides"]) if "=" in o)
    except (KeyError, TypeError, ValueError):
        given = {}
    if key in given:
        return given[key]
    d = trial.user_attrs.get("trial_dir")
    try:
        if group:
            return OmegaConf.select(OmegaConf.load(Path(d) / ".hydra" / "hydra.yaml"), f"hydra.runtime.choices.{key}",
                                    default=_UNKNOWN)
        return OmegaConf.select(OmegaConf.load(Path(d) / ".hydra" / "config.yaml"), key, default=_UNKNOWN)
    except Exception:  # noqa: BLE001 - no trial dir (another machine's), a damaged file: the value is not known here
        return _UNKNOWN


def _said(value: Any) -> str:
    return "null" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def newly_searched(study: optuna.Study, space: SearchSpace) -> str | None:
    """The warning for a resume that searches keys no trial of the study searched; None where there is
    none, the study has no finished trial, or a custom space samples the keys (not this run's to compare)."""
    last = last_finished(study, space)
    if last is None:
        return None
    ever = {k.lstrip("+") for t in study.get_trials(deepcopy=False) for k in t.distributions}
    new = {k.lstrip("+"): d for k, d in space.distributions.items() if k.lstrip("+") not in ever}
    if not new:
        return None
    had = [(k, _value(last, k, k in {g.lstrip("+") for g in space.groups})) for k in sorted(new)]
    used = ", ".join(f"{k}={_said(v)}" if v is not _UNKNOWN else f"{k} as its config had it" for k, v in had)
    keys = ", ".join(sorted(new))
    return (f"study {study.study_name}: this run searches {', '.join(f'{k}={describe(new[k])}' for k in sorted(new))}, "
            f"which its earlier trials did not: its trial {last.number} had {used}; {APART} (or leave {keys} out of "
            "the search to resume it as it was)")
