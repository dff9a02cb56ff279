"""hydra.sweeper.enqueue: each item, a parameter dict or the name of an experiment whose values for
the searched keys are queued, as the parameters of a trial run before any is sampled, checked
against the search space before the study is touched; a key the experiment leaves null (no
override) gets the value of the space that runs as null does, or one line."""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from omegaconf import DictConfig, OmegaConf

from hydra_plugins.mnist_sweep_sweeper import _corner, _groups, _space
from mnist_sweep.config.options import nearest_option
from mnist_sweep.config.space import NULL
from mnist_sweep.errors import MnistSweepError, SweepError

Compose = Callable[[list[str]], DictConfig]
_ABSENT = object()


def queued(item: Any, space: _space.SearchSpace, compose: Compose) -> dict[str, Any]:
    """A parameter dict, or an experiment name whose values for the searched keys are queued."""
    if isinstance(item, str):
        try:
            cfg = compose([f"+experiment={item}"])
        except Exception as e:  # noqa: BLE001 - Hydra's many composition errors
            raise SweepError(_groups.not_an_experiment(item, e)) from None
        params = values_for(cfg, space)
        for key in nulls_for(cfg, space):  # null is no override: find the value that runs the same
            if (value := _stand_in(item, cfg, key, space.values[key], compose)) is not None:
                params[key] = value
        return check_queued(params, space, f"experiment {item}")
    if isinstance(item, (dict, DictConfig)):
        params = dict(OmegaConf.to_container(item, resolve=True) if isinstance(item, DictConfig) else item)
        unknown = [k for k in params if k not in space.distributions]
        if unknown:
            near = nearest_option(unknown[0], list(space.distributions))
            raise SweepError(f"hydra.sweeper.enqueue: {', '.join(unknown)} not searched; " + (f"did you mean {near}? " if near
                             else "") + f"use keys of hydra.sweeper.params ({', '.join(space.distributions)})")
        return check_queued(params, space, "queued")
    raise SweepError(f"hydra.sweeper.enqueue: expected parameter dicts or experiment names, got {item!r}")


def _stand_in(item: str, cfg: DictConfig, key: str, dist: Any, compose: Compose) -> Any:
    """The value of ``key``'s distribution that runs experiment ``item`` exactly as its null does
    (``trainer.ema_decay``: 0.0 is off, like null), so the queued trial is the experiment; else
    one SweepError line (a null left to the sampler would queue another config)."""
    from mnist_sweep.config.settings import validate

    try:
        same = validate(cfg)
    except MnistSweepError:  # the experiment itself does not fit this sweep: its trial is rejected as usual
        return None
    for value in _corner.ends(dist):  # a choice's values, a range's ends (0.0 is off at a range's low end)
        try:
            if validate(compose([f"+experiment={item}", f"{key.lstrip('+')}={value}"])) == same:
                return value
        except MnistSweepError:
            continue
    raise SweepError(f"hydra.sweeper.enqueue: experiment {item} leaves {key.lstrip('+')} null, and no value of "
                     f"hydra.sweeper.params.{key.lstrip('+')} runs as null does; add one that does (trainer.ema_decay: "
                     f"0.0, off) or set {key.lstrip('+')} in conf/experiment/{item}.yaml")


def check_queued(params: dict[str, Any], space: _space.SearchSpace, what: str) -> dict[str, Any]:
    """``params`` (a warm-start trial) when each value lies in its key's distribution, else one
    SweepError line naming the key, the value and what the space allows."""
    for key, value in params.items():
        dist = space.distributions[key]
        if value is None and NULL in getattr(dist, "choices", ()):  # the space's null, as the sweep passes it on
            params[key] = value = NULL
        try:
            inside = dist._contains(dist.to_internal_repr(value))
        except (ValueError, TypeError):
            inside = False
        if not inside:
            allowed = (f"one of {', '.join(map(str, dist.choices))}" if hasattr(dist, "choices")
                       else f"in [{dist.low}, {dist.high}]")
            raise SweepError(f"hydra.sweeper.enqueue: {key}={value!r} ({what}) is outside the search space, which "
                             f"allows {allowed}; change the value or widen hydra.sweeper.params.{key.lstrip('+')}")
    return params


def values_for(cfg: DictConfig, space: _space.SearchSpace) -> dict[str, Any]:
    """The values a composed config gives to the searched keys (warm start from an experiment)."""
    choices = cfg.hydra.runtime.choices if "hydra" in cfg else {}
    params: dict[str, Any] = {}
    for name in space.groups:
        if name in choices:
            params[name] = choices[name]
    for name, dist in space.values.items():
        value = OmegaConf.select(cfg, name.lstrip("+"), default=_ABSENT)
        if value is not _ABSENT and value is not None:
            params[name] = value
    return params


def nulls_for(cfg: DictConfig, space: _space.SearchSpace) -> list[str]:
    """The searched value keys the composed config leaves null: ``values_for`` cannot queue them."""
    return [name for name in space.values if OmegaConf.select(cfg, name.lstrip("+"), default=_ABSENT) is None]
