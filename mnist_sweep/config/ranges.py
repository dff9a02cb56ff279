"""Valid ranges: each schema field carries its range in its metadata (``key(default, ge=..., lt=...)``),
and one check (``check_fields``) enforces them; the image counts and value lists every layer shares."""
from __future__ import annotations

import dataclasses
import math
import re
from dataclasses import dataclass, field, fields, is_dataclass
from typing import Any

from omegaconf import MISSING

from mnist_sweep.errors import ConfigError

TRAIN_IMAGES, TEST_IMAGES = 60_000, 10_000
MAX_SEED = 2**32 - 1  # numpy, torch and Optuna samplers all take it
OPTIMIZERS = ("sgd", "adam", "adamw")
SCHEDULERS = ("none", "step", "onecycle", "cosine")
OBJECTIVES = ("val_acc", "test_acc_final", "params", "train_s")
PRECISIONS = ("auto", "fp32", "bf16")
DEVICE_PATTERN = r"auto|cpu|cuda(:\d{1,3})?"


KINDS = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}  # a type, in a refusal's words


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
    less: str = ""  # a sibling key whose value the upper limit is lowered by (train_limit: 60000 - val_size)
    example: Any = None  # the example a refusal gives where the field's default is none (null)
    below: str = ""  # a key of another section the value must stay below (a cross-key rule): so must the example
    also: tuple[Any, ...] = ()  # values valid besides the numbers the bounds take (a key of any type: 'auto')
    off: Any = None  # the value that switches its section off (data.augment.strength: 0), offered for data.augment=false

    def ok(self, v: Any) -> bool:
        if self.also and any(v == c and type(v) is type(c) for c in self.also):
            return True
        if self.also and (not isinstance(v, (int, float)) or isinstance(v, bool)):
            return False
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

    def how_to(self, path: str, value: Any = None, example: Any = None) -> str:
        """What to give instead of ``value``, with an override to paste (``example``: the field's
        default where valid, else the lowest valid whole number)."""
        if isinstance(value, str) and value != value.lower() and self.ok(value.lower()):  # BF16, CPU: as the options do
            return f"did you mean {path}={value.lower()}?"
        if self.one_of is not None:
            pick = example if example is not None and self.ok(example) else self.one_of[0]
            return f"e.g. {path}={pick}"
        if self.pattern is not None:
            example = example if isinstance(example, str) and self.ok(example) else self.example
            shown = f"e.g. {path}={example}" if isinstance(example, str) and self.ok(example) else \
                f"e.g. {path}=null" if "or null" in self.text else ""  # data.root's default
            if shown and isinstance(value, str) and not value.strip():  # data.root='': not null, not the default
                return f"an empty value is none of these (nor null); {shown}"
            return f"give {self.text or 'a value matching ' + self.pattern}" + (f", {shown}" if shown else "")
        if self.also and any(example == c and type(example) is type(c) for c in self.also):  # max_resource's auto
            return f"give {self.text or self.describe()}, e.g. {path}={example}"
        bounds = [b for b in (self.ge, self.gt, self.le, self.lt) if b is not None]
        if not bounds:  # described by its text alone (model.block, model.dropout: a name or number, or a list)
            example = self.example if example is None else example  # so no 'give a number' for model.block=nan
            written = f"[{','.join(map(str, example))}]" if isinstance(example, (list, tuple)) else example
            return f"e.g. {path}={written}" if example is not None else "give one as described"
        kind = "a whole number" if all(isinstance(b, int) for b in bounds) and not isinstance(example, float) \
            and not isinstance(value, float) else "a number"
        if self.ge is not None and self.le is not None:
            words = f"from {_num(self.ge)} to {_num(self.le)}"
        else:
            lo = f"at least {_num(self.ge)}" if self.ge is not None else f"above {_num(self.gt)}" if self.gt is not None else ""
            hi = f"at most {_num(self.le)}" if self.le is not None else f"below {_num(self.lt)}" if self.lt is not None else ""
            words = " and ".join(w for w in (lo, hi) if w)
            words = f"of {words}" if words.startswith("at ") else words
        if not isinstance(example, (int, float)) or isinstance(example, bool) or not self.ok(example):
            example = self.example if self.example is not None and self.ok(self.example) else \
                self.ge if kind == "a whole number" else None
        return f"give {kind}{' ' + words if words else ''}" + (f", e.g. {path}={example}" if example is not None else "")

    def refusal(self, path: str, value: Any, example: Any = None) -> str:
        """The one line for ``value`` outside this range at ``path``: what is wrong, and how to fix it."""
        return f"{path}: must be {self.describe()}, got {value!r}; {self.how_to(path, value, example)}"

    def within(self, obj: Any, path: str) -> Range:
        """This range with its limit that depends on a sibling key (``less``) worked out from ``obj``,
        the dataclass holding both: data.train_limit in [1, 50000] (60000 - data.val_size=10000)."""
        if not self.less or self.le is None or not isinstance(other := getattr(obj, self.less, None), int):
            return self
        limit, sibling = self.le - other, f"{path.rpartition('.')[0]}.{self.less}"
        lo = self.ge if self.ge is not None else self.gt
        text = (f"in {'[' if self.ge is not None else '('}{_num(lo)}, {_num(limit)}] ({_num(self.le)} - {sibling}={other})"
                + (" or null" if "or null" in self.text else ""))
        example = min(self.example, limit) if isinstance(self.example, int) else None
        return dataclasses.replace(self, le=limit, less="", text=text, example=example)


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


def check_fields(obj: Any, path: str, error: type[Exception] = ConfigError, config: Any = None) -> None:
    """Every ranged field of a dataclass instance (nested ones too); ``error`` names ``path.field``.
    ``config``, the sections checked before (section -> instance), bounds a refusal's example by a
    ``below`` key: scheduler.step_size=0 under trainer.max_epochs=3 suggests 2, not the default 6."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        if is_dataclass(value):
            check_fields(value, f"{path}.{f.name}", error, config)
            continue
        r: Range | None = f.metadata.get("range")
        if r is None or value is None:
            continue
        r = r.within(obj, f"{path}.{f.name}")
        if not r.ok(value):
            default = f.default if f.default is not dataclasses.MISSING else None
            raise error(_below_refusal(r, f"{path}.{f.name}", value, default, config))


def _below_refusal(r: Range, path: str, value: Any, example: Any, config: Any) -> str:
    """``r.refusal`` with an example below ``r.below``'s value in ``config`` (a whole number's range):
    the highest valid one up to ``example``; where none is, the lowest, and the other key raised above it."""
    section, _, name = r.below.partition(".")
    cap = getattr((config or {}).get(section), name, None) if r.below else None
    if not isinstance(cap, int) or isinstance(cap, bool) or not isinstance(example, int):
        return r.refusal(path, value, example)
    lowest = int(r.ge if r.ge is not None else r.gt + 1)
    if cap - 1 >= lowest and r.ok(fit := min(example, cap - 1)):
        return r.refusal(path, value, fit)
    return f"{r.refusal(path, value, lowest)} {r.below}={lowest + 1} (it stays below {r.below})"
