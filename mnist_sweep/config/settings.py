"""A run's config validated once into frozen, typed :class:`Settings`: every section re-typed
against its schema (a saved config has no defaults list), every range and cross-key rule
checked, and the model counted against its budget (arithmetically: nothing is allocated).
Code below the entry points receives Settings, never the raw config."""
from __future__ import annotations

import copy
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Any

from omegaconf import DictConfig, ListConfig, OmegaConf
from omegaconf.errors import ConfigKeyError, MissingMandatoryValue, OmegaConfBaseException, ValidationError

from mnist_sweep.config.keys import did_you_mean, holders, unknown_key
from mnist_sweep.config.lines import interpolated_from, omegaconf_line, type_fix, unmergeable_fix, unresolved_line
from mnist_sweep.config.file_errors import file_line
from mnist_sweep.config.options import own_option
from mnist_sweep.config.ranges import OBJECTIVES, TRAIN_IMAGES, check_fields
from mnist_sweep.config.sections import (
    SCHEMAS, AdamSchema, CosineSchema, DataSchema, OptimizerSchema, SchedulerSchema, SgdSchema, StepSchema,
    TrainerSchema, schema_for,
)
from mnist_sweep.config.syntax import omegaconf_literal
from mnist_sweep.errors import ConfigError, ModelConfigError
from mnist_sweep.spec import ModelSpec, check_budget, spec_from_config


@dataclass(frozen=True)
class TrainerSettings:
    max_epochs: int
    seed: int
    device: str
    threads: int
    target_acc: float
    select_on: str
    progress: bool | None  # None: auto (a bar when stderr is a terminal)
    save_checkpoint: bool
    save_curves: bool  # curves.png at the end of a run
    label_smoothing: float
    ema_decay: float | None  # an exponential moving average of the weights, evaluated and saved; None: off (0 too)
    channels_last: bool
    precision: str  # auto | fp32 | bf16 (auto: mnist_sweep.precision decides per machine)
    test_every_epoch: bool  # false: the test set only at the final epoch (epoch_reached_target unknown)
    fast_dropout: bool  # CPU: dropout masks from 16 random bits per element (mnist_sweep.model.BitsDropout)
    objectives: tuple[str, ...] | None
    teacher: str | None  # a run dir to distill from, as given (mnist_sweep.distill); None: plain cross-entropy
    distill_alpha: float  # the distillation term's weight, in (0, 1]
    distill_temperature: float  # > 0

    def show_progress(self, is_tty: bool) -> bool:
        return is_tty if self.progress is None else self.progress


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
class OptimizerSettings:
    name: str  # sgd | adam | adamw
    kwargs: Mapping[str, Any]  # the torch.optim constructor's keyword arguments


@dataclass(frozen=True)
class SchedulerSettings:
    name: str  # none | step | onecycle | cosine
    kwargs: Mapping[str, Any]


@dataclass(frozen=True)
class Settings:
    """Everything a run needs, validated: what ``validate(cfg)`` returns."""

    trainer: TrainerSettings
    data: DataSettings
    model: ModelSpec
    n_params: int
    optimizer: OptimizerSettings
    scheduler: SchedulerSettings


def _typed(section: str, raw: Any) -> Any:
    """``cfg.<section>`` (resolved) as an instance of its schema dataclass; type errors name the key."""
    if raw is None:
        raise ConfigError(f"{section}: missing section; pick one with {section}=<option>")
    try:
        plain = OmegaConf.to_container(raw, resolve=True) if isinstance(raw, (DictConfig, ListConfig)) else raw
    except OmegaConfBaseException as e:
        raise ConfigError(unresolved_line(raw._get_root(), e, section)) from None
    if not isinstance(plain, Mapping):
        raise ConfigError(f"{section}: expected a mapping of keys, got {plain!r}")
    schema = schema_for(section, plain)
    key = (schema, repr(plain))  # the resolved values, types included (1, 1.0, '1' and True differ)
    if (kept := _TYPED.get(key)) is not None:  # typed before: a sweep's candidates share most sections
        return copy.deepcopy(kept)  # (the ranges and cross-key rules in validate still run on it)
    try:
        node = OmegaConf.merge(_structured(schema), _literal(plain))
        missing = sorted(OmegaConf.missing_keys(node))
        if missing:
            raise ConfigError(f"{section}.{missing[0]}: missing; set it in conf/ or with {section}.{missing[0]}=..."
                              + own_option(raw, section))
        obj = OmegaConf.to_object(node)
    except ConfigKeyError as e:
        full_key, chosen = f"{section}.{e.key}", {section: plain.get("name")}
        if holders(full_key, chosen):  # a key of another option: scheduler.gamma under onecycle
            raise ConfigError(unknown_key(full_key, chosen)) from None
        raise ConfigError(f"{full_key}: no such key in {section} ({schema.__name__}){did_you_mean(full_key, chosen)} "
                          "(`python -m mnist_sweep.train --cfg job` lists the keys)") from None
    except (ValidationError, MissingMandatoryValue, OmegaConfBaseException) as e:
        if not getattr(e, "full_key", None):  # OmegaConf could not tell which key: find it
            for k, v in plain.items():
                try:
                    OmegaConf.merge(_structured(schema), {k: _literal(v)})
                except OmegaConfBaseException:
                    raise ConfigError(f"{section}.{k}: {omegaconf_line(e)}, got {v!r}") from None
        if source := interpolated_from(raw, getattr(e, "full_key", None)):  # widths[0]: ${model.c1}
            raise ConfigError(f"{source}: {str(getattr(e, 'msg', None) or e).splitlines()[0]}") from None
        line = omegaconf_line(e, section)  # a saved config's wrong kind: what to write, as on the command line
        raise ConfigError(line.rstrip(".") + type_fix(line.split(": ", 1)[0], str(getattr(e, "msg", None) or e))) from None
    if len(_TYPED) >= MAX_TYPED:
        _TYPED.clear()
    _TYPED[key] = obj  # only what typed cleanly: a refused section goes through the merge (and its error) each time
    return copy.deepcopy(obj)


def _literal(value: Any) -> Any:
    """A resolved value as OmegaConf reads it back: a string's ``${`` (data.root '/a/${x}', written
    '/a/\\${x}') escaped again, not resolved a second time in the schema's merge."""
    if isinstance(value, str):
        return omegaconf_literal(value)
    if isinstance(value, Mapping):
        return {k: _literal(v) for k, v in value.items()}
    return [_literal(v) for v in value] if isinstance(value, list) else value


_INDEXED = re.compile(r"model\.\w+\[\d+\]")  # a per-block key in a model error: model.widths[4]


_STRUCTURED: dict[type, DictConfig] = {}
_TYPED: dict[tuple[type, str], Any] = {}  # (schema, repr of a section's resolved values) -> its typed instance
MAX_TYPED = 256


def _structured(schema: type) -> DictConfig:
    """The schema as a typed OmegaConf node, built once (merge copies it)."""
    if schema not in _STRUCTURED:
        _STRUCTURED[schema] = OmegaConf.structured(schema)
    return _STRUCTURED[schema]


def hydra_error_line(e: BaseException, choices: Mapping[str, Any] | None = None,
                     given: list[str] | None = None) -> str | None:
    """One line naming the key for a Hydra composition error caused by a schema type error;
    ``choices`` (group -> selected option), where known, say which option a key belongs to; an
    option no group has (``hydra/sweeper/sampler=randomm``), the nearest one; a key a config file
    sets that the option composed lacks, the file and the option (with ``given``, the command
    line's overrides, the fix: ``clash_line``)."""
    if (line := file_line(e, choices, given)) is not None:
        return line
    cause = e.__cause__ or e.__context__
    full_key = str(getattr(cause, "full_key", None) or "")
    if isinstance(cause, ConfigKeyError) and full_key in SCHEMAS:  # a whole section deleted (~trainer)
        return f"{full_key}: missing section; pick one with {full_key}=<option> (see `--cfg job`)"
    if isinstance(cause, ConfigKeyError) and full_key.split(".", 1)[0] in SCHEMAS:
        if choices and holders(full_key, choices):
            return unknown_key(full_key, choices)
        return (f"{full_key}: no such key in {full_key.split('.', 1)[0]}'s schema{did_you_mean(full_key, choices)} "
                "(`python -m mnist_sweep.train --cfg job` lists the keys)")
    if full_key.split(".", 1)[0] in SCHEMAS and (fix := unmergeable_fix(cause)) is not None:
        return omegaconf_line(cause) + fix
    if isinstance(cause, ValidationError) and full_key:
        fix = type_fix(full_key, str(getattr(cause, "msg", "")), given)
        return omegaconf_line(cause).rstrip(".") + fix if fix else omegaconf_line(cause)
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
                              f"got {t.objectives!r}; e.g. trainer.objectives=[val_acc,params]")
        if dup := next((o for i, o in enumerate(t.objectives) if o in t.objectives[:i]), None):
            raise ConfigError(f"trainer.objectives: {dup} is listed twice; list each objective once, e.g. [val_acc, params]")
        objectives = tuple(t.objectives)
    return TrainerSettings(
        max_epochs=t.max_epochs, seed=t.seed, device=t.device, threads=t.threads, target_acc=t.target_acc,
        select_on=t.select_on, progress=None if t.progress == "auto" else bool(t.progress), save_checkpoint=t.save_checkpoint,
        save_curves=t.save_curves, label_smoothing=t.label_smoothing, ema_decay=t.ema_decay or None,
        channels_last=t.channels_last, precision=t.precision,
        test_every_epoch=t.test_every_epoch, fast_dropout=t.fast_dropout, objectives=objectives, teacher=t.teacher,
        distill_alpha=t.distill_alpha, distill_temperature=t.distill_temperature,
    )


def _data(d: DataSchema) -> DataSettings:
    available = TRAIN_IMAGES - d.val_size  # data.train_limit is at most this: its range says so (check_fields)
    n_train = d.train_limit or available
    if d.batch_size > n_train:  # the fix names the key that limits the training images
        more = (f"or raise data.train_limit (at most {available})" if d.train_limit is not None and d.train_limit < available
                else f"or data.val_size ({d.val_size:,} of the {TRAIN_IMAGES:,} training images are held out)")
        raise ConfigError(f"data.batch_size: must be in [2, {n_train}] (the training images), got {d.batch_size}; "
                          f"lower it, {more}; e.g. data.batch_size={min(128, n_train)}")
    a = d.augment
    for name, limit in (("rotate_deg", 180.0), ("translate", 0.5), ("scale", 0.99)):
        value = a.strength * getattr(a, name)
        if value > limit:
            most = math.floor(limit / getattr(a, name) * 100) / 100  # the strongest this maximum allows
            raise ConfigError(
                f"data.augment.strength: {a.strength} x data.augment.{name}={getattr(a, name)} = {value:g}, "
                f"above the sane maximum {limit}; lower the strength to at most {most:g}, e.g. data.augment.strength={most:g}"
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
            raise ConfigError("optimizer.nesterov: needs optimizer.momentum > 0; set a momentum, e.g. "
                              "optimizer.momentum=0.9, or optimizer.nesterov=false")
    elif isinstance(o, AdamSchema):
        if len(o.betas) != 2 or not all(0 <= b < 1 for b in o.betas):
            raise ConfigError(f"optimizer.betas: expected two numbers in [0, 1), got {list(o.betas)!r}; "
                              "e.g. optimizer.betas=[0.9,0.999]")
        kw["betas"] = tuple(float(b) for b in o.betas)
    return kw


def _scheduler(s: SchedulerSchema, lr: float, epochs: int) -> dict[str, Any]:
    kw = {f.name: getattr(s, f.name) for f in fields(s) if f.name != "name"}
    if isinstance(s, CosineSchema) and s.eta_min >= lr:
        raise ConfigError(f"scheduler.eta_min: must be below optimizer.lr={lr} (the peak), got {s.eta_min}; "
                          f"e.g. scheduler.eta_min={lr / 100:g} (or raise optimizer.lr)")
    if isinstance(s, StepSchema) and s.step_size >= epochs:  # StepLR steps after each epoch: the last one's is unused
        fix = (f"set scheduler.step_size to at most {epochs - 1}" if epochs > 1
               else "train at least 2 epochs (trainer.max_epochs=2 scheduler.step_size=1)")
        raise ConfigError(f"scheduler.step_size: {s.step_size} is not below trainer.max_epochs={epochs}, so the step "
                          f"schedule would never lower the learning rate; {fix}, or use scheduler=none for a constant rate")
    return kw


def validate(cfg: Any) -> Settings:
    """Every section typed, range-checked and cross-checked, the model counted against its budget
    (arithmetically: nothing is allocated); raises ConfigError naming the first bad key."""
    if not isinstance(cfg, (DictConfig, ListConfig)):
        cfg = OmegaConf.create(cfg)
    typed = {}
    for section in ("trainer", "data", "optimizer", "scheduler", "model"):
        obj = _typed(section, cfg.get(section))
        check_fields(obj, section, config=typed)  # an example below a key of a section before (trainer's)
        typed[section] = obj
    ts = _trainer(typed["trainer"])
    ds = _data(typed["data"])
    if ds.val_size == 0 and "val" == ts.select_on:
        raise ConfigError("trainer.select_on: 'val' needs data.val_size > 0 (the validation images); "
                          "set data.val_size, e.g. data.val_size=10000, or select on the test set: trainer.select_on=test")
    if ds.val_size == 0 and "val_acc" in (ts.objectives or ()):
        others = [o for o in ts.objectives if o != "val_acc"] or ["test_acc_final"]
        raise ConfigError("trainer.objectives: val_acc needs data.val_size > 0 (the validation images); set "
                          f"data.val_size, e.g. data.val_size=10000, or drop it: trainer.objectives=[{','.join(others)}]")
    opt_kw = _optimizer(typed["optimizer"])
    sched_kw = _scheduler(typed["scheduler"], opt_kw["lr"], ts.max_epochs)
    try:
        spec = spec_from_config(typed["model"])
    except ModelConfigError as e:  # model.widths[4] is model.c4 where the list interpolates the key a user sets
        e.args = (_INDEXED.sub(lambda m: interpolated_from(cfg, m[0]) or m[0], str(e)),)
        raise
    return Settings(ts, ds, spec, check_budget(spec), OptimizerSettings(typed["optimizer"].name, opt_kw),
                    SchedulerSettings(typed["scheduler"].name, sched_kw))
