"""Search spaces against the schema: ``check_distribution`` refuses, before any trial, a
distribution whose values cannot fit their key's type or range (a model key typed per block, such
as model.dropout, by the run's own model check)."""
from __future__ import annotations

import math
import typing
from dataclasses import fields, is_dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_sweep.config.ranges import KINDS, Range, range_of
from mnist_sweep.config.sections import SCHEMAS, schema_for
from mnist_sweep.errors import ConfigError, ModelConfigError, SweepError
from mnist_sweep.spec import spec_from_config


def schema_leaf(cfg: Any, dotted: str) -> tuple[type | None, Range | None, bool | None]:
    """(schema type, range, optional) of a config key, or (None, None, None) when it has no schema."""
    section, _, rest = dotted.partition(".")
    if section not in SCHEMAS or not rest:
        return None, None, None
    raw = cfg.get(section) if cfg is not None else None
    try:
        plain = OmegaConf.to_container(raw, resolve=False) if isinstance(raw, DictConfig) else (raw or {})
        schema = schema_for(section, plain)
    except ConfigError:
        return None, None, None
    parts = rest.split(".")
    for part in parts[:-1]:
        sub = next((f for f in fields(schema) if f.name == part), None)
        if sub is None or not isinstance(sub.default_factory, type) or not is_dataclass(sub.default_factory):
            return None, None, None
        schema = sub.default_factory
    hints = typing.get_type_hints(schema)
    if parts[-1] not in hints:
        return None, None, None
    tp = hints[parts[-1]]
    optional = getattr(tp, "__origin__", None) is not None and type(None) in getattr(tp, "__args__", ())
    if optional:
        tp = next(a for a in tp.__args__ if a is not type(None))
    return (tp if tp in (int, float, bool, str) else None), range_of(schema, parts[-1]), optional


# A choice's values as the sweep passes them on (Hydra's Transformer.encode): null is the text 'null',
# which the trial's override ``KEY=null`` reads back as None.
NULL = "null"


def check_distribution(key: str, dist: Any, cfg: Any = None) -> None:
    """Refuse a search space whose values cannot fit ``key``'s type or range (before any trial); a
    choice's ``null`` (None, or the 'null' a sweep passes on) only where the key is optional."""
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    where = f"hydra.sweeper.params.{key}"
    tp, rng, optional = schema_leaf(cfg, key.lstrip("+"))
    if isinstance(dist, FloatDistribution):
        lo, hi = dist.low, dist.high
        if dist.log and lo <= 0:
            raise SweepError(f"{where}: a log interval must start above 0, got {lo}")
        if tp is int and dist.step is not None:  # range(4,12,2.5): a float step
            raise SweepError(f"{where}: range({_g(lo)}, {_g(hi)}, {_g(dist.step)}) steps by a float, so it samples floats, but "
                             f"{key} is an integer; use range({math.ceil(lo)}, {math.floor(hi)}, {max(1, round(dist.step))})"
                             " or choice(...)")
        if tp is int:
            raise SweepError(
                f"{where}: interval({_g(lo)}, {_g(hi)}) samples floats but {key} is an integer; "
                f"use int(interval({math.ceil(lo)}, {math.floor(hi)})) or choice(...)"  # range(a, b) would include b
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
        values = [None if v == NULL else as_read(v) for v in dist.choices]  # the trial's override reads 'null' as None
        for v in values:
            if v is None and optional is not False:  # optional, or a key without a schema: the run's to say
                continue
            if v is None:
                raise SweepError(f"{where}: choice value null: {key} cannot be null; e.g. {_fixed(key, dist, tp, rng, cfg)}")
            if not _fits(v, tp):
                raise SweepError(f"{where}: choice value {v!r} is not {KINDS[tp]} (the type of {key}); "
                                 f"e.g. {_fixed(key, dist, tp, rng, cfg)}")
    else:
        return
    if rng is not None:
        for v in values:
            if v is not None and not rng.ok(v):  # _fixed is None where no finite sweep can be offered
                raise SweepError(f"{where}: value {v!r} is outside {key}'s range; it must be {rng.describe()}" + (
                    f", e.g. {fixed}" if (fixed := _fixed(key, dist, tp, rng, cfg)) else "; give both ends as finite numbers"))
    if tp is None and key.startswith("model."):  # a scalar or one per block: the run's own check says
        for v in values:
            if (error := _model_error(cfg, key, v)) is not None:
                fits = f"; it must be {rng.describe()}" if rng is not None else ""
                raise SweepError(f"{where}: value {v!r} does not fit {key} ({error}){fits}")


def as_read(value: Any) -> Any:
    """A choice's value as the trial's ``KEY=value`` reads it: a quoted one (``'fp32'``, as ``'fp32',bf16``
    passes it on) is the string inside the quotes; a list (one per block, ``choice([1,1,0,1,1,1,1],0)``,
    which Optuna holds as its text) the list; any other as it is."""
    if not isinstance(value, str) or len(value) < 2:
        return value
    if value[0] == "[" and value[-1] == "]":
        try:
            return read_as_trial(value)
        except Exception:  # noqa: BLE001 - not Hydra's list after all: the check words it as it is
            return value
    return read_as_trial(value) if value[0] == value[-1] and value[0] in "'\"" else value


def read_as_trial(text: str) -> Any:
    """``text`` as a trial's ``KEY=text`` reads it (``'8'`` the string 8, ``8`` the int 8)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    return OverridesParser.create().parse_override(f"k={text}").value()


# The most permissive one-block model a per-block value can meet (a kernel that allows any padding
# the image keeps): a value refused here and in the sweep's model is refused whatever else is searched.
PERMISSIVE = {"widths": [1], "kernels": [27], "padding": [0], "dropout": [0.0], "block": ["plain"],
               "pool_after": [], "max_params": None}


def _model_error(cfg: Any, key: str, value: Any) -> str | None:
    """What the run's validation of the model (spec_from_config) says of ``key=value`` in the
    sweep's model section when it refuses that value of ``key`` itself (a per-block value's error:
    indexed in a list, ``model.dropout[2]: must be in [0, 1)``, or a scalar's with its example,
    ``model.dropout: must be in [0, 1), got 1.5; e.g. model.dropout=0.05``, that a permissive
    model gives too); else None."""
    try:
        model = OmegaConf.to_container(cfg.model, resolve=True)
    except Exception:  # noqa: BLE001 - no model section, or one that does not resolve: the run reports it
        return None
    leaf = key.split(".", 1)[1]
    if not isinstance(model, dict) or leaf not in PERMISSIVE:
        return None
    errors = []
    for base in (model, dict(PERMISSIVE)):
        base[leaf] = value
        try:
            spec_from_config(base)
        except ModelConfigError as e:
            if str(e).startswith(f"{key}[") or f"; e.g. {key}=" in str(e):
                errors.append(str(e))
                continue
        return None
    return errors[0]


def _g(v: float) -> str:
    return f"{v:g}"


def _inside(lo: float, hi: float, rng: Range, whole: bool) -> tuple[float, float]:
    """``[lo, hi]`` moved inside ``rng`` (the key's whole range, where it lies outside); an open end
    one step (or a hundredth of the width) inside; a NaN or infinite end is the range's own end."""
    a = rng.ge if rng.ge is not None else rng.gt
    b = rng.le if rng.le is not None else rng.lt
    lo, hi = lo if math.isfinite(lo) or a is None else a, hi if math.isfinite(hi) or b is None else b
    new_lo, new_hi = lo if a is None else max(lo, a), hi if b is None else min(hi, b)
    if new_lo >= new_hi and a is None and b is None:  # no bounds (a pattern): nothing to move it into
        return lo, hi
    if new_lo >= new_hi:  # nothing of it inside: the range itself (its width where an end is open-ended)
        width = (hi - lo) or 1
        new_lo, new_hi = (a if a is not None else b - width), (b if b is not None else a + width)
    if rng.gt is not None and new_lo <= rng.gt:
        new_lo = rng.gt + 1 if whole else rng.gt + (new_hi - rng.gt) / 100
    if rng.lt is not None and new_hi >= rng.lt:
        new_hi = rng.lt - 1 if whole else rng.lt - (rng.lt - new_lo) / 100
    return new_lo, new_hi


def _written(v: Any) -> str:
    return "null" if v is None else str(v).lower() if isinstance(v, bool) else _g(v) if isinstance(v, float) else str(v)


def _fixed(key: str, dist: Any, tp: type | None, rng: Range | None, cfg: Any) -> str | None:
    """A sweep of ``key`` like the one given that fits its type and range: a choice keeps the values
    that fit (with the config's own value and its double, or the range's ends, where too few do);
    a range or an interval has its ends moved inside the key's range (None where one stays NaN or inf)."""
    from optuna.distributions import CategoricalDistribution, IntDistribution

    def ok(v: Any) -> bool:
        if v is None:  # null where the key is optional
            return schema_leaf(cfg, key.lstrip("+"))[2] is not False
        return _fits(v, tp) and (rng is None or rng.ok(v))

    if isinstance(dist, CategoricalDistribution):
        choices = [None if v == NULL else v for v in dist.choices]
        keep = [v for v in choices if ok(v)]
        try:
            current = OmegaConf.select(cfg, key, default=None) if cfg is not None else None
        except Exception:  # noqa: BLE001 - an interpolation that does not resolve: no example from it
            current = None
        more = [current, current * 2 if isinstance(current, (int, float)) and not isinstance(current, bool) else None,
                *(rng.one_of or () if rng else ()), *((rng.ge, rng.le) if rng else ()), *((True, False) if tp is bool else ())]
        for v in more:
            if len(keep) >= max(2, len(dist.choices) - 1):
                break
            if v is not None and ok(v) and v not in keep:
                keep.append(v)
        if tp is str and not [v for v in keep if v is not None]:  # data.root=choice(6,35): strings, quoted
            keep = [f"'{_written(v)}'" for v in choices if v is not None]
        listed = ",".join(_written(v) for v in keep)  # Hydra's choice(...) takes no null: a list does
        return f"{key}={listed}" if None in keep else f"{key}=choice({listed})"
    if rng is not None and rng.one_of:  # model.k1=range(3,5) draws a 4: its values, as a choice
        return f"{key}=choice({','.join(_written(v) for v in rng.one_of)})"
    lo, hi = (dist.low, dist.high) if rng is None else _inside(dist.low, dist.high, rng, tp is int)
    lo = lo if not dist.log or lo > 0 else max(1, hi // 1000) if tp is int else hi / 1000  # a log scale starts above 0
    if isinstance(dist, IntDistribution):
        step = f",{dist.step}" if dist.step != 1 else ""
        return f"{key}=tag(log,int(interval({lo},{hi})))" if dist.log else f"{key}=range({lo},{hi}{step})"
    ends = f"tag(log,interval({_g(lo)},{_g(hi)}))" if dist.log else f"interval({_g(lo)},{_g(hi)})"
    return f"{key}={ends}" if math.isfinite(lo) and math.isfinite(hi) else None  # no bounds to move nan/inf to: dropout


def _fits(v: Any, tp: type | None) -> bool:
    if tp is None:
        return True
    if tp is float:
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if tp is int:
        return isinstance(v, int) and not isinstance(v, bool)
    return isinstance(v, tp)
