"""Config sections to plain, validated, typed values. Errors name the key and the valid range."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mnist_sweep.errors import ConfigError

_MISSING = object()
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "onecycle", "cosine")


def take(
    section: Mapping[str, Any],
    path: str,
    key: str,
    kind: type | tuple[type, ...],
    ok: Callable[[Any], bool] | None = None,
    need: str = "",
    default: Any = _MISSING,
) -> Any:
    """``section[key]`` checked for type and range; ``path`` is the section's dotted name."""
    value = section.get(key, default)
    if value is _MISSING:
        raise ConfigError(f"{path}.{key}: missing; set it in conf/ or with {path}.{key}=...")
    if value is None and default is None:
        return None
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if float in kinds:
        kinds = (*kinds, int)
    if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
        names = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
        raise ConfigError(f"{path}.{key}: expected {names}, got {value!r}")
    if ok is not None and not ok(value):
        raise ConfigError(f"{path}.{key}: must be {need}, got {value!r}")
    return float(value) if kind is float else value


def choice(section: Mapping[str, Any], path: str, key: str, valid: tuple[str, ...]) -> str:
    return take(section, path, key, str, lambda v: v in valid, "one of " + ", ".join(valid))


@dataclass(frozen=True)
class TrainerSettings:
    max_epochs: int
    seed: int
    device: str
    threads: int
    target_acc: float
    select_on: str
    progress: str
    save_checkpoint: bool
    label_smoothing: float
    channels_last: bool
    objectives: tuple[str, ...] | None

    @classmethod
    def from_cfg(cls, t: Mapping[str, Any]) -> TrainerSettings:
        p = "trainer"
        cap = take(t, p, "epoch_cap", int, lambda v: v >= 1, ">= 1 (or null to lift the guard)", default=None)
        epochs = take(t, p, "max_epochs", int, lambda v: v >= 1, ">= 1")
        if cap is not None and epochs > cap:
            raise ConfigError(
                f"trainer.max_epochs: {epochs} is above the guard trainer.epoch_cap={cap}; "
                f"lower it or lift the guard with trainer.epoch_cap={epochs} (or null)"
            )
        return cls(
            max_epochs=epochs,
            seed=take(t, p, "seed", int, lambda v: v >= 0, ">= 0"),
            device=take(t, p, "device", str, lambda v: v in ("auto", "cpu", "cuda") or bool(re.fullmatch(r"cuda:\d+", v)),
                        "auto, cpu, cuda or cuda:N"),
            threads=take(t, p, "threads", int, lambda v: v >= 1, ">= 1"),
            target_acc=take(t, p, "target_acc", float, lambda v: 0 < v <= 1, "in (0, 1]"),
            select_on=choice(t, p, "select_on", ("val", "test")),
            progress=str(take(t, p, "progress", (str, bool), lambda v: v in (True, False, "auto"), "auto, true or false")),
            save_checkpoint=take(t, p, "save_checkpoint", bool),
            label_smoothing=take(t, p, "label_smoothing", float, lambda v: 0 <= v < 1, "in [0, 1)"),
            channels_last=take(t, p, "channels_last", bool),
            objectives=_objectives(t.get("objectives")),
        )


OBJECTIVES = ("val_acc", "test_acc_final", "params")


def _objectives(value: Any) -> tuple[str, ...] | None:
    """trainer.objectives: null (the selection metric alone) or a list for multi-objective sweeps."""
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence) or not value or any(v not in OBJECTIVES for v in value):
        raise ConfigError(f"trainer.objectives: expected null or a non-empty list of {', '.join(OBJECTIVES)}, got {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class DataSettings:
    root: str | None
    val_size: int
    split_seed: int
    train_limit: int | None
    test_limit: int | None
    batch_size: int
    eval_batch_size: int
    rotate_deg: float
    translate: float
    scale: float

    @classmethod
    def from_cfg(cls, d: Mapping[str, Any], train_size: int = 60_000) -> DataSettings:
        p = "data"
        val_size = take(d, p, "val_size", int, lambda v: 0 <= v < train_size, f"in [0, {train_size})")
        available = train_size - val_size
        limit = take(d, p, "train_limit", int, lambda v: 1 <= v <= available, f"in [1, {available}] or null", None)
        n_train = limit or available
        a = d.get("augment") or {}
        pa = "data.augment"
        strength = take(a, pa, "strength", float, lambda v: v >= 0, ">= 0 (0 switches augmentation off)")
        return cls(
            root=take(d, p, "root", str, default=None),
            val_size=val_size,
            split_seed=take(d, p, "split_seed", int, lambda v: v >= 0, ">= 0"),
            train_limit=limit,
            test_limit=take(d, p, "test_limit", int, lambda v: 1 <= v <= 10_000, "in [1, 10000] or null", None),
            batch_size=take(d, p, "batch_size", int, lambda v: 1 <= v <= n_train, f"in [1, {n_train}] (the training set size)"),
            eval_batch_size=take(d, p, "eval_batch_size", int, lambda v: v >= 1, ">= 1"),
            rotate_deg=strength * take(a, pa, "rotate_deg", float, lambda v: 0 <= v <= 180, "in [0, 180]"),
            translate=strength * take(a, pa, "translate", float, lambda v: 0 <= v <= 0.5, "in [0, 0.5]"),
            scale=strength * take(a, pa, "scale", float, lambda v: 0 <= v < 1, "in [0, 1)"),
        )


def optimizer_kwargs(o: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, torch keyword arguments) for the ``optimizer`` section."""
    p = "optimizer"
    name = choice(o, p, "name", OPTIMIZERS)
    kw: dict[str, Any] = {
        "lr": take(o, p, "lr", float, lambda v: 0 < v <= 10, "in (0, 10]"),
        "weight_decay": take(o, p, "weight_decay", float, lambda v: v >= 0, ">= 0", 0.0),
    }
    if name == "sgd":
        kw["momentum"] = take(o, p, "momentum", float, lambda v: 0 <= v < 1, "in [0, 1)")
        kw["nesterov"] = take(o, p, "nesterov", bool, default=False)
        if kw["nesterov"] and kw["momentum"] == 0:
            raise ConfigError("optimizer.nesterov: needs optimizer.momentum > 0; set a momentum or nesterov=false")
    else:
        betas = o.get("betas", [0.9, 0.999])
        if len(betas) != 2 or not all(isinstance(b, (int, float)) and 0 <= b < 1 for b in betas):
            raise ConfigError(f"optimizer.betas: expected two numbers in [0, 1), got {betas!r}")
        kw["betas"] = tuple(float(b) for b in betas)
    return name, kw


def scheduler_kwargs(s: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, parameters) for the ``scheduler`` section; the trainer turns them into a torch scheduler."""
    p = "scheduler"
    name = choice(s, p, "name", SCHEDULERS)
    if name == "step":
        return name, {
            "step_size": take(s, p, "step_size", int, lambda v: v >= 1, ">= 1 (epochs)"),
            "gamma": take(s, p, "gamma", float, lambda v: 0 < v <= 1, "in (0, 1]"),
        }
    if name == "onecycle":
        return name, {
            "pct_start": take(s, p, "pct_start", float, lambda v: 0 < v < 1, "in (0, 1)"),
            "div_factor": take(s, p, "div_factor", float, lambda v: v >= 1, ">= 1"),
            "final_div_factor": take(s, p, "final_div_factor", float, lambda v: v >= 1, ">= 1"),
        }
    if name == "cosine":
        return name, {"eta_min": take(s, p, "eta_min", float, lambda v: v >= 0, ">= 0")}
    return name, {}
