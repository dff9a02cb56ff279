"""One typed schema for every config key, every sweeper key and every CLI flag.

- Types: the dataclasses below are registered in Hydra's ConfigStore (group ``schema/<section>``)
  and named first in the defaults list of every ``conf/<section>/*.yaml``, so Hydra itself refuses
  ``model.bias=abc`` or ``trainer.save_checkpoint=maybe`` while composing.
- Ranges: each field carries its valid range (``key(default, ge=..., lt=...)``); ``validate(cfg)``
  re-types every section against its schema (saved configs have no defaults list), checks every
  range and the cross-key rules, and returns the frozen :class:`Settings` the training loop uses.
- Sweeps: ``check_distribution`` refuses a search space whose values cannot fit their key.
- CLIs: ``CLI_FLAGS`` holds every entry point's flags; ``check_cli`` (run by ``CliParser``) checks them.

Every refusal is one line starting with the key: ``optimizer.lr: must be in (0, 10], got -1``.
"""
from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING, DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException, ValidationError

from mnist_sweep.errors import ConfigError, SweepError

TRAIN_IMAGES, TEST_IMAGES = 60_000, 10_000
MAX_SEED = 2**32 - 1  # numpy, torch and Optuna samplers all take it
#: Largest model ever built, budget or not (model.max_params=null): about 40 MB of float32.
HARD_PARAM_LIMIT = 10_000_000
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "onecycle", "cosine")
OBJECTIVES = ("val_acc", "test_acc_final", "params")
DEVICE_PATTERN = r"auto|cpu|cuda(:\d{1,3})?"


# --------------------------------------------------------------------------- ranges
@dataclass(frozen=True)
class Range:
    """A field's valid values; ``None`` is valid where the field is Optional."""

    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    lt: float | None = None
    one_of: tuple[Any, ...] | None = None
    pattern: str | None = None
    text: str = ""  # overrides the generated description

    def ok(self, v: Any) -> bool:
        if self.one_of is not None and not any(v == c and type(v) is type(c) for c in self.one_of):
            return False
        if self.pattern is not None and not (isinstance(v, str) and re.fullmatch(self.pattern, v)):
            return False
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            if isinstance(v, float) and not math.isfinite(v):
                return False
            if (self.ge is not None and v < self.ge) or (self.gt is not None and v <= self.gt):
                return False
            if (self.le is not None and v > self.le) or (self.lt is not None and v >= self.lt):
                return False
        return True

    def describe(self) -> str:
        if self.text:
            return self.text
        if self.one_of is not None:
            return "one of " + ", ".join(str(c) for c in self.one_of)
        lo = self.ge if self.ge is not None else self.gt
        hi = self.le if self.le is not None else self.lt
        if lo is not None and hi is not None:
            return f"in {'[' if self.ge is not None else '('}{_num(lo)}, {_num(hi)}{']' if self.le is not None else ')'}"
        if lo is not None:
            return f"{'>=' if self.ge is not None else '>'} {_num(lo)}"
        if hi is not None:
            return f"{'<=' if self.le is not None else '<'} {_num(hi)}"
        return "valid"


def _num(v: float) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    return f"{v:,}" if abs(v) >= 100_000 else str(v)


def key(default: Any = MISSING, *, factory: Any = None, **limits: Any) -> Any:
    """A dataclass field with its valid range in the metadata (OmegaConf ignores metadata)."""
    meta = {"range": Range(**limits)} if limits else {}
    if factory is not None:
        return field(default_factory=factory, metadata=meta)
    return field(default=default, metadata=meta)


def range_of(schema: type, name: str) -> Range | None:
    for f in fields(schema):
        if f.name == name:
            return f.metadata.get("range")
    return None


def check_fields(obj: Any, path: str, error: type[Exception] = ConfigError) -> None:
    """Every ranged field of a dataclass instance (nested ones too); ``error`` names ``path.field``."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            check_fields(value, f"{path}.{f.name}", error)
            continue
        r: Range | None = f.metadata.get("range")
        if r is None or value is None:
            continue
        if not r.ok(value):
            raise error(f"{path}.{f.name}: must be {r.describe()}, got {value!r}")


# --------------------------------------------------------------------------- config sections
@dataclass
class ModelSchema:
    """``model``: per-block lists (a scalar means every block); see model.spec_from_config."""

    name: str = "custom"
    max_params: Optional[int] = key(20_000, ge=1, le=HARD_PARAM_LIMIT,
                                    text=f"in [1, {HARD_PARAM_LIMIT:,}] or null (no budget, still at most {HARD_PARAM_LIMIT:,})")
    # Per-block keys: checked by model.spec_from_config (the ranges here document them).
    widths: List[int] = key(MISSING, text="a non-empty list of ints >= 1 (at most 10,000,000 parameters in all)")
    kernels: Any = key(3, text="int >= 1, or one per block; the image must stay >= 1x1")
    padding: Any = key(0, text="int in [0, kernel - 1], or one per block")
    pool_after: Optional[List[int]] = key(factory=list, text="block indices in [0, blocks - 1]")
    dropout: Any = key(0.0, text="float in [0, 1), or one per block")
    block: Any = key("plain", text="plain or separable, or one per block")
    bias: bool = False


@dataclass
class CnnModelSchema(ModelSchema):
    """``model=cnn``: widths built from scalar keys so a search can vary them."""

    c1: int = key(8, ge=1)
    c2: int = key(16, ge=1)
    t1: int = key(8, ge=1)
    c3: int = key(16, ge=1)
    c4: int = key(16, ge=1)
    c5: int = key(16, ge=1)
    c6: int = key(16, ge=1)
    pool_at: int = key(1, ge=0, le=6, text="block index in [0, 6] the max-pool follows (2: after the 1x1 t1)")
    p1: int = key(0, ge=0, le=1, text="0 or 1 (padding of block c1)")
    p2: int = key(0, ge=0, le=1, text="0 or 1 (padding of block c2)")
    p3: int = key(0, ge=0, le=1, text="0 or 1 (padding of block c3)")
    p4: int = key(0, ge=0, le=1, text="0 or 1 (padding of block c4)")
    p5: int = key(0, ge=0, le=1, text="0 or 1 (padding of block c5)")
    p6: int = key(0, ge=0, le=1, text="0 or 1 (padding of block c6)")


@dataclass
class OptimizerSchema:
    name: str = key(MISSING, one_of=OPTIMIZERS)
    lr: float = key(MISSING, gt=0, le=10)
    weight_decay: float = key(0.0, ge=0, le=1)


@dataclass
class SgdSchema(OptimizerSchema):
    momentum: float = key(0.9, ge=0, lt=1)
    nesterov: bool = False


@dataclass
class AdamSchema(OptimizerSchema):
    betas: List[float] = key(factory=lambda: [0.9, 0.999], text="two numbers in [0, 1)")


@dataclass
class SchedulerSchema:
    name: str = key(MISSING, one_of=SCHEDULERS)


@dataclass
class OneCycleSchema(SchedulerSchema):
    pct_start: float = key(0.25, gt=0, lt=1)
    div_factor: float = key(25.0, ge=1, le=1e6)
    final_div_factor: float = key(1000.0, ge=1, le=1e9)


@dataclass
class CosineSchema(SchedulerSchema):
    eta_min: float = key(0.0, ge=0)


@dataclass
class StepSchema(SchedulerSchema):
    step_size: int = key(6, ge=1, text=">= 1 (epochs)")
    gamma: float = key(0.1, gt=0, le=1)


@dataclass
class AugmentSchema:
    """Each maximum times ``strength``; the products are bounded too (see validate)."""

    strength: float = key(1.0, ge=0, le=10, text="in [0, 10] (0 switches augmentation off)")
    rotate_deg: float = key(8.0, ge=0, le=180)
    translate: float = key(0.07, ge=0, le=0.5)
    scale: float = key(0.07, ge=0, lt=1)


@dataclass
class DataSchema:
    root: Optional[str] = key(None, pattern=r"[^\x00]+", text="a directory path (or null)")
    val_size: int = key(5000, ge=0, lt=TRAIN_IMAGES)
    split_seed: int = key(0, ge=0, le=MAX_SEED)
    train_limit: Optional[int] = key(None, ge=1, le=TRAIN_IMAGES, text="in [1, 60000 - data.val_size] or null")
    test_limit: Optional[int] = key(None, ge=1, le=TEST_IMAGES, text=f"in [1, {TEST_IMAGES}] or null")
    # >= 2: BatchNorm cannot train on one sample, and a batch of one would be dropped (zero steps).
    batch_size: int = key(128, ge=2, text=">= 2 (BatchNorm needs two samples) and <= the training images")
    eval_batch_size: int = key(1000, ge=1, le=TRAIN_IMAGES)
    augment: AugmentSchema = field(default_factory=AugmentSchema)


@dataclass
class TrainerSchema:
    max_epochs: int = key(20, ge=1)
    epoch_cap: Optional[int] = key(20, ge=1, text=">= 1 (or null to lift the guard)")
    seed: int = key(1, ge=0, le=MAX_SEED)
    device: str = key("auto", pattern=DEVICE_PATTERN, text="auto, cpu, cuda or cuda:N")
    threads: int = key(1, ge=1, le=256)
    target_acc: float = key(0.994, gt=0, le=1)
    select_on: str = key("val", one_of=("val", "test"))
    progress: Any = key("auto", one_of=("auto", True, False), text="auto, true or false")
    save_checkpoint: bool = True
    label_smoothing: float = key(0.0, ge=0, lt=1)
    channels_last: bool = True
    objectives: Optional[List[str]] = None


SCHEMAS: dict[str, dict[str, type]] = {
    "model": {"cnn": CnnModelSchema, "base": ModelSchema},
    "optimizer": {"sgd": SgdSchema, "adam": AdamSchema, "adamw": AdamSchema},
    "scheduler": {"none": SchedulerSchema, "step": StepSchema, "onecycle": OneCycleSchema, "cosine": CosineSchema},
    "data": {"mnist": DataSchema},
    "trainer": {"default": TrainerSchema},
}


def register() -> None:
    """Store every schema as ``schema/<section>/<name>`` (what conf/*.yaml name in their defaults)."""
    cs = ConfigStore.instance()
    for section, by_name in SCHEMAS.items():
        for name, node in by_name.items():
            cs.store(group=f"schema/{section}", name=name, node=node, provider="mnist_sweep")


def schema_for(section: str, raw: Mapping[str, Any]) -> type:
    """The schema of one section, picked by its ``name`` (model: the cnn family has ``c1``)."""
    by_name = SCHEMAS[section]
    if section == "model":
        return CnnModelSchema if "c1" in raw else ModelSchema
    if section in ("optimizer", "scheduler"):
        name = raw.get("name")
        if not isinstance(name, str) or name not in by_name:
            valid = OPTIMIZERS if section == "optimizer" else SCHEDULERS
            raise ConfigError(f"{section}.name: must be one of {', '.join(valid)}, got {name!r}")
        return by_name[name]
    return next(iter(by_name.values()))


# --------------------------------------------------------------------------- typed settings
@dataclass(frozen=True)
class TrainerSettings:
    max_epochs: int
    seed: int
    device: str
    threads: int
    target_acc: float
    select_on: str
    progress: str  # "auto", "True" or "False"
    save_checkpoint: bool
    label_smoothing: float
    channels_last: bool
    objectives: tuple[str, ...] | None


@dataclass(frozen=True)
class DataSettings:
    root: str | None
    val_size: int
    split_seed: int
    train_limit: int | None
    test_limit: int | None
    batch_size: int
    eval_batch_size: int
    rotate_deg: float  # strength already applied
    translate: float
    scale: float

    @property
    def n_train(self) -> int:
        return self.train_limit or TRAIN_IMAGES - self.val_size


@dataclass(frozen=True)
class Settings:
    """Everything the training loop needs, validated: what ``validate(cfg)`` returns."""

    trainer: TrainerSettings
    data: DataSettings
    model: Any  # mnist_sweep.model.ModelSpec
    n_params: int
    optimizer: str
    optimizer_kwargs: Mapping[str, Any]
    scheduler: str
    scheduler_kwargs: Mapping[str, Any]


def _typed(section: str, raw: Any) -> Any:
    """``cfg.<section>`` (resolved) as an instance of its schema dataclass; type errors name the key."""
    if raw is None:
        raise ConfigError(f"{section}: missing section; pick one with {section}=<option>")
    try:
        plain = OmegaConf.to_container(raw, resolve=True) if isinstance(raw, (DictConfig, ListConfig)) else raw
    except OmegaConfBaseException as e:
        raise ConfigError(f"{section}: {_omegaconf_line(e, section)}") from None
    if not isinstance(plain, Mapping):
        raise ConfigError(f"{section}: expected a mapping of keys, got {plain!r}")
    schema = schema_for(section, plain)
    try:
        node = OmegaConf.merge(_structured(schema), plain)
        missing = sorted(OmegaConf.missing_keys(node))
        if missing:
            raise ConfigError(f"{section}.{missing[0]}: missing; set it in conf/ or with {section}.{missing[0]}=...")
        return OmegaConf.to_object(node)
    except ConfigKeyError as e:
        raise ConfigError(f"{section}.{e.key}: no such key in {section} ({schema.__name__}); "
                          f"see `python -m mnist_sweep.train --cfg job`") from None
    except (ValidationError, MissingMandatoryValue, OmegaConfBaseException) as e:
        if not getattr(e, "full_key", None):  # OmegaConf could not tell which key: find it
            for k, v in plain.items():
                try:
                    OmegaConf.merge(_structured(schema), {k: v})
                except OmegaConfBaseException:
                    raise ConfigError(f"{section}.{k}: {_omegaconf_line(e)}, got {v!r}") from None
        raise ConfigError(_omegaconf_line(e, section)) from None


_STRUCTURED: dict[type, DictConfig] = {}


def _structured(schema: type) -> DictConfig:
    """The schema as a typed OmegaConf node, built once (merge copies it)."""
    if schema not in _STRUCTURED:
        _STRUCTURED[schema] = OmegaConf.structured(schema)
    return _STRUCTURED[schema]


def _omegaconf_line(e: Exception, prefix: str = "") -> str:
    """``full.key: what was wrong`` for an OmegaConf error (its message's first line)."""
    msg = str(getattr(e, "msg", None) or e).splitlines()[0] if str(e) else type(e).__name__
    full_key = getattr(e, "full_key", None)
    if full_key is None:
        return msg
    name = f"{prefix}.{full_key}" if prefix and not str(full_key).startswith(prefix + ".") else str(full_key)
    return f"{name}: {msg}"


def hydra_error_line(e: BaseException) -> str | None:
    """One line naming the key for a Hydra composition error caused by a schema type error."""
    cause = e.__cause__ or e.__context__
    full_key = str(getattr(cause, "full_key", None) or "")
    if isinstance(cause, ConfigKeyError) and full_key.split(".", 1)[0] in SCHEMAS:
        return (f"{full_key}: no such key in {full_key.split('.', 1)[0]}'s schema (mnist_sweep/schema.py); "
                "see `python -m mnist_sweep.train --cfg job` for the keys")
    if isinstance(cause, ValidationError) and full_key:
        return _omegaconf_line(cause)
    return None


def _trainer(t: TrainerSchema) -> TrainerSettings:
    if t.epoch_cap is not None and t.max_epochs > t.epoch_cap:
        raise ConfigError(
            f"trainer.max_epochs: {t.max_epochs} is above the guard trainer.epoch_cap={t.epoch_cap}; "
            f"lower it or lift the guard with trainer.epoch_cap={t.max_epochs} (or null)"
        )
    objectives = None
    if t.objectives is not None:
        if not t.objectives or any(o not in OBJECTIVES for o in t.objectives):
            raise ConfigError(f"trainer.objectives: expected null or a non-empty list of {', '.join(OBJECTIVES)}, "
                              f"got {t.objectives!r}")
        objectives = tuple(t.objectives)
    return TrainerSettings(
        max_epochs=t.max_epochs, seed=t.seed, device=t.device, threads=t.threads, target_acc=t.target_acc,
        select_on=t.select_on, progress=str(t.progress), save_checkpoint=t.save_checkpoint,
        label_smoothing=t.label_smoothing, channels_last=t.channels_last, objectives=objectives,
    )


def _data(d: DataSchema) -> DataSettings:
    available = TRAIN_IMAGES - d.val_size
    if d.train_limit is not None and d.train_limit > available:
        raise ConfigError(f"data.train_limit: must be in [1, {available}] (60000 - data.val_size) or null, "
                          f"got {d.train_limit}")
    n_train = d.train_limit or available
    if d.batch_size > n_train:
        raise ConfigError(f"data.batch_size: must be in [2, {n_train}] (the training images), got {d.batch_size}; "
                          "lower it or raise data.train_limit")
    a = d.augment
    for name, limit in (("rotate_deg", 180.0), ("translate", 0.5), ("scale", 0.99)):
        value = a.strength * getattr(a, name)
        if value > limit:
            raise ConfigError(
                f"data.augment.strength: {a.strength} x data.augment.{name}={getattr(a, name)} = {value:g}, "
                f"above the sane maximum {limit}; lower the strength"
            )
    return DataSettings(
        root=d.root, val_size=d.val_size, split_seed=d.split_seed, train_limit=d.train_limit, test_limit=d.test_limit,
        batch_size=d.batch_size, eval_batch_size=d.eval_batch_size, rotate_deg=a.strength * a.rotate_deg,
        translate=a.strength * a.translate, scale=a.strength * a.scale,
    )


def _optimizer(o: OptimizerSchema) -> dict[str, Any]:
    kw: dict[str, Any] = {"lr": float(o.lr), "weight_decay": float(o.weight_decay)}
    if isinstance(o, SgdSchema):
        kw.update(momentum=float(o.momentum), nesterov=o.nesterov)
        if o.nesterov and o.momentum == 0:
            raise ConfigError("optimizer.nesterov: needs optimizer.momentum > 0; set a momentum or nesterov=false")
    elif isinstance(o, AdamSchema):
        if len(o.betas) != 2 or not all(0 <= b < 1 for b in o.betas):
            raise ConfigError(f"optimizer.betas: expected two numbers in [0, 1), got {list(o.betas)!r}")
        kw["betas"] = tuple(float(b) for b in o.betas)
    return kw


def _scheduler(s: SchedulerSchema, lr: float) -> dict[str, Any]:
    kw = {f.name: getattr(s, f.name) for f in fields(s) if f.name != "name"}
    if isinstance(s, CosineSchema) and s.eta_min >= lr:
        raise ConfigError(f"scheduler.eta_min: must be below optimizer.lr={lr} (the peak), got {s.eta_min}")
    return kw


def validate(cfg: Any) -> Settings:
    """Every section typed, range-checked and cross-checked, the model counted against its budget
    (arithmetically: nothing is allocated); raises ConfigError naming the first bad key."""
    from mnist_sweep import model as mmodel  # torch: only when a config is validated

    if not isinstance(cfg, (DictConfig, ListConfig)):
        cfg = OmegaConf.create(cfg)
    typed = {}
    for section in ("trainer", "data", "optimizer", "scheduler", "model"):
        obj = _typed(section, cfg.get(section))
        check_fields(obj, section)
        typed[section] = obj
    ts = _trainer(typed["trainer"])
    ds = _data(typed["data"])
    if ds.val_size == 0 and ("val" == ts.select_on or "val_acc" in (ts.objectives or ())):
        raise ConfigError("trainer.select_on: 'val' (or objective val_acc) needs data.val_size > 0; "
                          "set data.val_size or trainer.select_on=test")
    opt_kw = _optimizer(typed["optimizer"])
    sched_kw = _scheduler(typed["scheduler"], opt_kw["lr"])
    model_cfg = OmegaConf.to_container(cfg.model, resolve=True)
    spec = mmodel.spec_from_config(model_cfg)
    n_params = mmodel.check_budget(spec)
    return Settings(ts, ds, spec, n_params, typed["optimizer"].name, opt_kw, typed["scheduler"].name, sched_kw)


# --------------------------------------------------------------------------- search spaces
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
    import typing

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


# --------------------------------------------------------------------------- CLI flags
RUN_MARKERS = ("result.json", "metrics.csv", ".hydra", "leaderboard.csv", "optuna.db")


@dataclass(frozen=True)
class Flag:
    """One CLI flag: its valid values, and for paths what the command does with them."""

    range: Range | None = None
    path: str = ""  # "" | "out-dir" (refuses a run/trial dir) | "out-csv" | "in" | "storage-ro"


_POSITIVE = Range(ge=1)
CLI_FLAGS: dict[str, dict[str, Flag]] = {
    "leaderboard": {"paths": Flag(path="in"), "storage": Flag(path="storage-ro"), "study": Flag(Range(pattern=r"[^\x00]+")),
                    "top": Flag(Range(ge=1, le=1_000_000)), "out": Flag(path="out-csv")},
    "report": {"path": Flag(path="in"), "storage": Flag(path="storage-ro"), "study": Flag(Range(pattern=r"[^\x00]+"))},
    "reproduce": {"leaderboard": Flag(path="in"), "rank": Flag(Range(ge=1, le=1_000_000)),
                  "trial": Flag(Range(ge=0, le=10**9)), "out": Flag(path="out-dir")},
    "confirm": {"leaderboard": Flag(path="in"), "top": Flag(Range(ge=1, le=1000)), "seeds": Flag(Range(ge=1, le=100)),
                "parallel": Flag(Range(ge=1, le=64)), "out": Flag(path="out-dir"),
                "experiment": Flag(Range(pattern=r"[A-Za-z0-9_\-]+", text="a name from conf/experiment/")),
                "override": Flag(Range(pattern=r"[^\x00=]+=[^\x00]*", text="KEY=VALUE"))},
    "data": {"root": Flag(path="in"), "action": Flag(Range(one_of=("fetch", "verify")))},
}


def _flag_name(dest: str) -> str:
    return {"override": "--set", "paths": "paths", "path": "path", "leaderboard": "leaderboard",
            "action": "action"}.get(dest, f"--{dest}")


def check_cli(prog: str, args: Any) -> str | None:
    """The first flag of ``args`` (an argparse Namespace of entry point ``prog``) outside its schema."""
    name = prog.rsplit(".", 1)[-1]
    flags = CLI_FLAGS.get(name, {})
    for dest, flag in flags.items():
        value = getattr(args, dest, None)
        if name == "leaderboard" and dest == "storage" and value is None and getattr(args, "study", None):
            from mnist_sweep.storage import STORAGE_ENV, default_storage

            value = default_storage()  # what the leaderboard will open: it must exist too
            if value and (bad := _readonly_storage(value, check_password=False)):
                return f"--storage (default ${STORAGE_ENV}): {bad}"
            continue
        for v in value if isinstance(value, list) else [value]:
            if v is None:
                continue
            bad = _check_flag(dest, flag, v)
            if bad:
                return f"{_flag_name(dest)}: {bad}"
    return None


def _check_flag(dest: str, flag: Flag, v: Any) -> str | None:
    if flag.range is not None and not flag.range.ok(v):
        return f"must be {flag.range.describe()}, got {v!r}"
    if not flag.path:
        return None
    if not isinstance(v, str) or not v.strip() or "\x00" in v:
        return f"expected a path, got {v!r}"
    if flag.path == "storage-ro":
        return _readonly_storage(v)
    p = Path(v)
    if flag.path == "out-dir" and p.is_dir():
        held = [m for m in RUN_MARKERS if (p / m).exists()]
        if held:
            return (f"{v} holds a run or trial ({held[0]}); the command would overwrite it: "
                    "give a new or empty directory")
    if flag.path == "out-dir" and p.exists() and not p.is_dir():
        return f"{v} is a file, not a directory; give a new or empty directory"
    if flag.path == "out-csv":
        if p.is_dir():
            return f"{v} is a directory; give a .csv file name"
        if p.exists() and not _is_leaderboard_csv(p):
            return f"{v} exists and is not a leaderboard CSV; it would be overwritten: give a new file name"
    return None


def _is_leaderboard_csv(p: Path) -> bool:
    try:
        with open(p, encoding="utf-8") as f:
            header = f.readline().strip().split(",")
    except (OSError, UnicodeDecodeError):
        return False
    return {"rank", "trial", "status"} <= set(header)


def _readonly_storage(url: str, check_password: bool = True) -> str | None:
    """A read-only command must not create a database: refuse an SQLite URL to a missing file,
    and a password written out on the command line (the environment may hold one)."""
    from mnist_sweep.storage import check_no_clear_password, missing_file, redact

    try:
        if check_password:
            check_no_clear_password(url, "--storage")
    except SweepError as e:
        return str(e).split(": ", 1)[1]
    if bad := missing_file(url):
        return f"{bad}; give the storage of an existing study"
    if "://" not in url:
        return f"{redact(url)}: not a storage URL; e.g. sqlite:///outputs/sweeps/NAME/optuna.db"
    return None


def _type_name(tp: Any) -> str:
    if tp is Any:
        return "any"
    name = str(tp).replace("typing.", "") if getattr(tp, "__origin__", None) else tp.__name__
    return name.replace("NoneType", "null")


def error_table() -> list[tuple[str, str, str]]:
    """(key, type, valid values) of every key with a range, the sweeper's included: the README's table."""
    from hydra_plugins.mnist_sweep_sweeper.config import MnistOptunaSweeperConf

    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()

    def walk(schema: type, path: str) -> None:
        hints = _hints(schema)
        for f in fields(schema):
            if isinstance(f.default_factory, type) and is_dataclass(f.default_factory):
                walk(f.default_factory, f"{path}.{f.name}")
                continue
            r = f.metadata.get("range")
            name = f"{path}.{f.name}"
            if r is not None and name not in seen:
                seen.add(name)
                rows.append((name, _type_name(hints[f.name]), r.describe()))

    for section, by_name in SCHEMAS.items():
        for schema in by_name.values():
            walk(schema, section)
    walk(MnistOptunaSweeperConf, "hydra.sweeper")
    return rows


register()
