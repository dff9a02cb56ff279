"""Search spaces against the schema: ``check_distribution`` refuses, before any trial, a
distribution whose values cannot fit their key's type or range."""
from __future__ import annotations

import math
import typing
from dataclasses import fields, is_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_sweep.config.ranges import Range, range_of
from mnist_sweep.config.sections import SCHEMAS, schema_for
from mnist_sweep.errors import ConfigError, SweepError


def _leaf(cfg: Any, dotted: str) -> tuple[type | None, Range | None, bool]:
    """(schema type, range, optional) of a config key, or (None, None, False) when it has no schema."""
    section, _, rest = dotted.partition(".")
    if section not in SCHEMAS or not rest:
        return None, None, False
    raw = cfg.get(section) if cfg is not None else None
    try:
        plain = OmegaConf.to_container(raw, resolve=False) if isinstance(raw, DictConfig) else (raw or {})
        schema = schema_for(section, plain)
    except ConfigError:
        return None, None, False
    parts = rest.split(".")
    for part in parts[:-1]:
        sub = next((f for f in fields(schema) if f.name == part), None)
        if sub is None or not isinstance(sub.default_factory, type) or not is_dataclass(sub.default_factory):
            return None, None, False
        schema = sub.default_factory
    hints = _hints(schema)
    if parts[-1] not in hints:
        return None, None, False
    tp = hints[parts[-1]]
    optional = getattr(tp, "__origin__", None) is not None and type(None) in getattr(tp, "__args__", ())
    if optional:
        tp = next(a for a in tp.__args__ if a is not type(None))
    return (tp if tp in (int, float, bool, str) else None), range_of(schema, parts[-1]), optional


def _hints(schema: type) -> dict[str, Any]:
    return typing.get_type_hints(schema)


def check_distribution(key: str, dist: Any, cfg: Any = None) -> None:
    """Refuse a search space whose values cannot fit ``key``'s type or range (before any trial)."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    where = f"hydra.sweeper.params.{key}"
    tp, rng, optional = _leaf(cfg, key.lstrip("+"))
    if isinstance(dist, FloatDistribution):
        lo, hi = dist.low, dist.high
        if dist.log and lo <= 0:
            raise SweepError(f"{where}: a log interval must start above 0, got {lo}")
        if tp is int:
            raise SweepError(
                f"{where}: interval({_g(lo)}, {_g(hi)}) samples floats but {key} is an integer; "
                f"use range({math.ceil(lo)}, {math.floor(hi) + 1}) or choice(...)"
            )
        if tp in (bool, str):
            raise SweepError(f"{where}: an interval samples numbers but {key} is a {tp.__name__}; use choice(...)")
        values: list[Any] = [lo, hi]
    elif isinstance(dist, IntDistribution):
        if dist.log and dist.low <= 0:
            raise SweepError(f"{where}: a log range must start above 0, got {dist.low}")
        if tp in (bool, str):
            raise SweepError(f"{where}: a range samples integers but {key} is a {tp.__name__}; use choice(...)")
        values = [dist.low, dist.high]
    elif isinstance(dist, CategoricalDistribution):
        values = list(dist.choices)
        for v in values:
            if v is None and optional:
                continue
            if not _fits(v, tp):
                raise SweepError(f"{where}: choice value {v!r} is not a {tp.__name__} (the type of {key})")
    else:
        return
    if rng is not None:
        for v in values:
            if v is not None and not rng.ok(v):
                raise SweepError(f"{where}: value {v!r} is outside {key}'s range; it must be {rng.describe()}")


def _g(v: float) -> str:
    return f"{v:g}"


def _fits(v: Any, tp: type | None) -> bool:
    if tp is None:
        return True
    if tp is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if tp is int:
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, tp)
