"""The config sections' schemas: one dataclass per option of each group, registered in Hydra's
ConfigStore as ``schema/<section>/<name>`` and named first in the defaults list of every
``conf/<section>/*.yaml``, so Hydra itself refuses ``model.bias=abc`` while composing. Each field
carries its valid range (``key(default, ge=..., lt=...)``)."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, List, Optional

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from mnist_sweep.config.ranges import (
    DEVICE_PATTERN, MAX_SEED, OPTIMIZERS, PRECISIONS, SCHEDULERS, TEST_IMAGES, TRAIN_IMAGES, key,
)
from mnist_sweep.errors import ConfigError
from mnist_sweep.spec import HARD_PARAM_LIMIT, SE_RATIO_MAX


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
    pool_after: Optional[List[int]] = key(factory=list, text="block indices in [0, blocks - 1]", example=(1,))
    dropout: Any = key(0.0, text="float in [0, 1), or one per block")
    block: Any = key("plain", text="plain, separable, se or residual, or one per block (residual: where c_in == c_out "
                                   "and padding is (k-1)/2; a scalar residual applies there, plain elsewhere)")
    se_ratio: int = key(4, ge=1, le=SE_RATIO_MAX,
                        text=f"in [1, {SE_RATIO_MAX}] (an se gate's hidden width is max(1, width // se_ratio))")
    bias: bool = False


@dataclass
class CnnModelSchema(ModelSchema):
    """``model=cnn``: widths built from scalar keys so a search can vary them."""

    c1: int = key(8, ge=1)
    k1: int = key(3, one_of=(3, 5), text="3 or 5 (kernel of block c1)")
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
    step_size: int = key(6, ge=1, text=">= 1 (epochs)", below="trainer.max_epochs")
    gamma: float = key(0.1, gt=0, le=1)


@dataclass
class AugmentSchema:
    """Each maximum times ``strength``; the products are bounded too (see validate)."""

    strength: float = key(1.0, ge=0, le=10, text="in [0, 10] (0 switches augmentation off)", off=0)
    rotate_deg: float = key(8.0, ge=0, le=180)
    translate: float = key(0.07, ge=0, le=0.5)
    scale: float = key(0.07, ge=0, lt=1)


@dataclass
class DataSchema:
    root: Optional[str] = key(None, pattern=r"[^\x00]*\S[^\x00]*", text="a directory path (or null)")  # '': not null
    val_size: int = key(10_000, ge=0, le=TRAIN_IMAGES - 2, text="in [0, 59998] (two training images at least)")
    split_seed: int = key(0, ge=0, le=MAX_SEED)
    train_limit: Optional[int] = key(None, ge=2, le=TRAIN_IMAGES, less="val_size", example=5000,  # a batch of 2 at least
                                     text="in [2, 60000 - data.val_size] or null")
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
    save_curves: bool = True
    label_smoothing: float = key(0.0, ge=0, lt=1)
    ema_decay: Optional[float] = key(None, ge=0, lt=1, text="in [0, 1); 0 or null: off")
    channels_last: bool = True
    precision: str = key("auto", one_of=PRECISIONS)
    test_every_epoch: bool = True
    fast_dropout: bool = False  # conf/trainer sets true; a saved config without the key ran torch's dropout
    objectives: Optional[List[str]] = None
    teacher: Optional[str] = key(None, pattern=r"[^\x00]*\S[^\x00]*", text="a run dir's path (or null)")  # distill
    distill_alpha: float = key(0.5, gt=0, le=1)  # the distillation term's weight (mnist_sweep/distill.py)
    distill_temperature: float = key(4.0, gt=0)


SCHEMAS: dict[str, dict[str, type]] = {
    "model": {"cnn": CnnModelSchema, "base": ModelSchema},
    "optimizer": {"sgd": SgdSchema, "adam": AdamSchema, "adamw": AdamSchema},
    "scheduler": {"none": SchedulerSchema, "step": StepSchema, "onecycle": OneCycleSchema, "cosine": CosineSchema},
    "data": {"mnist": DataSchema},
    "trainer": {"default": TrainerSchema},
}


def register() -> None:
    """Store every schema as ``schema/<section>/<name>`` (what conf/*.yaml name in their defaults);
    every boolean key made strict (``_strict_booleans``)."""
    _strict_booleans()
    cs = ConfigStore.instance()
    for section, by_name in SCHEMAS.items():
        for name, node in by_name.items():
            cs.store(group=f"schema/{section}", name=name, node=node, provider="mnist_sweep")


def _strict_booleans() -> None:
    """OmegaConf takes any number as a bool (model.bias=-1, =2 or a 20-digit number: true; 0: false) and
    the strings yes/no/on/off/y/n/1/0, on the command line and in files: a boolean key now takes true or
    false alone (YAML's own booleans in a file, yes and on among them, arrive as true and false), anything
    else refused as 'is not a valid bool', whose line names the key and what to write (config.lines)."""
    from omegaconf import ValidationError
    from omegaconf.nodes import BooleanNode

    def strict(self: BooleanNode, value: Any) -> bool:  # noqa: ARG001
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):  # ${oc.env:X} resolves to a string
            return value.lower() == "true"
        raise ValidationError("Value '$VALUE' is not a valid bool (type $VALUE_TYPE)")

    BooleanNode._validate_and_convert_impl = strict  # the one method every bool node converts a value with


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


def may_be_null(dotted: str) -> bool | None:
    """Whether ``dotted`` (``data.train_limit``) may be null: True where a schema holding it types it
    Optional, False where every one holding it does not (``model.c1``, ``model.dropout``: Any is not
    Optional, the sweep's check reads it so too), None where no schema holds it."""
    import typing
    from dataclasses import fields, is_dataclass

    section, _, rest = dotted.lstrip("+").partition(".")
    found = []
    for schema in SCHEMAS.get(section, {}).values() if rest else ():
        *path, leaf = rest.split(".")
        for part in path:
            sub = next((f.default_factory for f in fields(schema) if f.name == part), None)
            schema = sub if isinstance(sub, type) and is_dataclass(sub) else None
            if schema is None:
                break
        if schema is not None and leaf in (hints := typing.get_type_hints(schema)):
            found.append(type(None) in getattr(hints[leaf], "__args__", ()))
    return any(found) if found else None
