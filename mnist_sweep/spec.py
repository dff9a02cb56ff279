"""The model's spec without torch: per-block widths, kernels, padding, dropout and block type
checked into a frozen ``ModelSpec``, its exact parameter count and the budget check. The config
schema and the model builder (mnist_sweep.model) both use it; nothing here allocates a tensor.

Block types: ``plain`` (conv, ReLU, BatchNorm, Dropout), ``separable`` (the conv depthwise +
pointwise), ``se`` (plain, then a squeeze-and-excitation gate of hidden width
``se_hidden(width, se_ratio)``) and ``residual`` (plain, its input added to its output: only
where the shapes match, ``fits_residual``). A scalar ``residual`` means "residual on every block
that fits, plain on the others"; a listed one that does not fit is refused."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, is_dataclass
from typing import Any

from mnist_sweep.errors import ModelConfigError, ParamBudgetExceeded
from mnist_sweep.text import plural

BLOCK_TYPES = ("plain", "separable", "se", "residual")
SE_RATIO_MAX = 64
IMAGE_SIZE, IN_CHANNELS, NUM_CLASSES = 28, 1, 10
#: Largest model ever built, budget or not (model.max_params=null): about 40 MB of float32.
HARD_PARAM_LIMIT = 10_000_000


@dataclass(frozen=True)
class ModelSpec:
    widths: tuple[int, ...]
    kernels: tuple[int, ...]
    padding: tuple[int, ...]
    dropout: tuple[float, ...]
    block: tuple[str, ...]
    pool_after: tuple[int, ...]
    bias: bool = False
    max_params: int | None = 20_000
    se_ratio: int = 4


def se_hidden(width: int, ratio: int) -> int:
    """The hidden width of an ``se`` block's gate."""
    return max(1, width // ratio)


def fits_residual(c_in: int, c_out: int, k: int, p: int) -> bool:
    """A block's input can be added to its output: same channels and an odd kernel with padding
    (k-1)/2, so the spatial size is kept."""
    return c_in == c_out and k % 2 == 1 and p == (k - 1) // 2


def _residuals(block: tuple[str, ...], scalar: bool, widths: tuple[int, ...], kernels: tuple[int, ...],
               padding: tuple[int, ...]) -> tuple[str, ...]:
    """``block`` with a scalar ``residual`` resolved per block; a listed residual that cannot fit is refused."""
    c_ins = (IN_CHANNELS, *widths[:-1])
    fits = [fits_residual(*shape) for shape in zip(c_ins, widths, kernels, padding)]
    if scalar and block[0] == "residual":
        if not any(fits):
            raise ModelConfigError(
                f"model.block: residual fits none of the {plural(len(block), 'block')} (each needs c_in == c_out and an odd "
                "kernel k with padding (k-1)/2); make two consecutive widths equal and pad the second to keep "
                "its size (model=cnn: e.g. c4=c3 and p4=1), or use plain, separable or se"
            )
        return tuple("residual" if f else "plain" for f in fits)
    for i, (kind, f) in enumerate(zip(block, fits)):
        if kind == "residual" and not f:
            k, p, wrong, fix = kernels[i], padding[i], [], []
            if c_ins[i] != widths[i]:
                wrong.append(f"c_in {c_ins[i]} != c_out {widths[i]}")
                fix.append(f"model.widths[{i}]={c_ins[i]}")
            if k % 2 == 0:
                wrong.append(f"an even kernel {k}")
                fix.append(f"an odd model.kernels[{i}] with padding (k-1)/2")
            elif p != (k - 1) // 2:
                wrong.append(f"padding {p} with kernel {k}")
                fix.append(f"model.padding[{i}]={(k - 1) // 2}")
            raise ModelConfigError(
                f"model.block[{i}]: residual needs c_in == c_out and padding (k-1)/2 (odd k) to add its input back, "
                f"but block {i} has {' and '.join(wrong)}; set {' and '.join(fix)}, or use plain there"
            )
    return block


def _per_block(cfg: Mapping[str, Any], key: str, n: int, kind: type) -> tuple:
    value = cfg.get(key)
    if value is None:
        raise ModelConfigError(f"model.{key}: missing; give one value or a list of {n}")
    if isinstance(value, bytes) or isinstance(value, list) and any(isinstance(v, bytes) for v in value):
        raise ModelConfigError(f"model.{key}: must be {_KINDS[kind]} (or a list, one per block), got binary data (YAML's explicit "
                               f"tag !!binary made it; no config key takes it); drop the tag"
                               + (f", e.g. model.{key}={_EXAMPLES[key]}" if key in _EXAMPLES else ""))
    values = list(value) if isinstance(value, Sequence) and not isinstance(value, str) else [value] * n
    if len(values) != n:
        raise ModelConfigError(
            f"model.{key}: has {plural(len(values), 'entry', 'entries')} but model.widths has {n}; give one per block or a scalar"
        )
    for i, v in enumerate(values):
        ok = isinstance(v, kind) and not isinstance(v, bool) or (kind is float and isinstance(v, int) and not isinstance(v, bool))
        if not ok:
            raise ModelConfigError(f"{_name(cfg, key, i)}: expected {_KINDS[kind]}, got {v!r}{_hint(cfg, key)}")
    return tuple(kind(v) for v in values)


_KINDS = {int: "an integer", float: "a number", str: "a name"}
_EXAMPLES = {"dropout": "0.05", "block": "plain", "padding": "0", "kernels": "3"}


def _name(cfg: Mapping[str, Any], key: str, i: int) -> str:
    """The key a per-block value is named by: ``model.dropout[2]`` in a list, ``model.dropout`` where
    one scalar was given for every block (``model.dropout=1.5`` has no index to name)."""
    raw = cfg.get(key)
    return f"model.{key}[{i}]" if isinstance(raw, Sequence) and not isinstance(raw, str) else f"model.{key}"


def _hint(cfg: Mapping[str, Any], key: str) -> str:
    """How to give a scalar per-block key, e.g. ``; e.g. model.dropout=0.05``; empty for a list."""
    raw = cfg.get(key)
    if key not in _EXAMPLES or isinstance(raw, Sequence) and not isinstance(raw, str):
        return ""
    return f"; e.g. model.{key}={_EXAMPLES[key]}"


_WIDTHS = (8, 16, 8, 16, 16, 16, 16)  # model=cnn's: an example's widths


def _widths_example(cfg: Mapping[str, Any], widths: Sequence[int] = ()) -> str:
    """A ``model.widths`` the width check accepts, written as a command line does: ``widths`` with each
    width below 1 made positive (-16: 16; 0: 8), or, for none given, one per block as many as the
    other per-block lists have (else model=cnn's seven), enough for ``model.pool_after``'s indices."""
    if not widths:
        lists = [len(v) for k in ("kernels", "padding", "dropout", "block")
                 if isinstance(v := cfg.get(k), Sequence) and not isinstance(v, str) and len(v)]
        pools = [p for p in (cfg.get("pool_after") or []) if isinstance(p, int)]
        n = lists[0] if lists else max(len(_WIDTHS), max(pools, default=0) + 1)
        widths = [_WIDTHS[i % len(_WIDTHS)] for i in range(n)]
    return "[" + ",".join(str(w if w >= 1 else -w or 8) for w in widths) + "]"


def spec_from_config(cfg: Any) -> ModelSpec:
    """Validate a ``model`` section (a mapping, or its typed schema dataclass); errors name the key."""
    if is_dataclass(cfg):
        cfg = asdict(cfg)
    widths_raw = cfg.get("widths")
    if not isinstance(widths_raw, Sequence) or isinstance(widths_raw, str) or len(widths_raw) == 0:
        raise ModelConfigError(f"model.widths: expected a non-empty list of channel counts, got {widths_raw!r}; "
                               f"give one positive width per block, e.g. model.widths={_widths_example(cfg)}")
    n = len(widths_raw)
    widths = _per_block(cfg, "widths", n, int)
    for i in range(n):  # before the other keys' counts (set by widths): widths=[8,0] names widths[1]
        if widths[i] < 1:
            raise ModelConfigError(f"model.widths[{i}]: must be a positive channel count, got {widths[i]}; give each "
                                   f"block at least 1 channel, e.g. model.widths={_widths_example(cfg, widths)}")
    kernels = _per_block(cfg, "kernels", n, int)
    padding = _per_block(cfg, "padding", n, int)
    dropout = _per_block(cfg, "dropout", n, float)
    block = _per_block(cfg, "block", n, str)
    for i in range(n):
        if kernels[i] < 1:
            raise ModelConfigError(f"{_name(cfg, 'kernels', i)}: must be >= 1, got {kernels[i]}{_hint(cfg, 'kernels')}")
        if not 0 <= padding[i] < kernels[i]:
            raise ModelConfigError(f"{_name(cfg, 'padding', i)}: must be in [0, {kernels[i] - 1}] (below the kernel size), "
                                   f"got {padding[i]}{_hint(cfg, 'padding')}")
        if not 0.0 <= dropout[i] < 1.0:
            raise ModelConfigError(f"{_name(cfg, 'dropout', i)}: must be in [0, 1), got {dropout[i]}{_hint(cfg, 'dropout')}")
        if block[i] not in BLOCK_TYPES:
            raise ModelConfigError(f"{_name(cfg, 'block', i)}: unknown block type {block[i]!r}; valid: "
                                   f"{', '.join(BLOCK_TYPES)}{_hint(cfg, 'block')}")
    pool_raw = cfg.get("pool_after") or []
    if not isinstance(pool_raw, Sequence) or isinstance(pool_raw, str):
        raise ModelConfigError(f"model.pool_after: expected a list of block indices, got {pool_raw!r}")
    for p in pool_raw:  # before set(): a nested list or dict is no index (and unhashable)
        if not isinstance(p, int) or isinstance(p, bool) or not 0 <= p < n:
            raise ModelConfigError(f"model.pool_after: {p!r} is not a block index in [0, {n - 1}]")
    pool_after = tuple(sorted(set(pool_raw)))
    block = _residuals(block, isinstance(cfg.get("block"), str), widths, kernels, padding)
    se_ratio = cfg.get("se_ratio", 4)
    if not isinstance(se_ratio, int) or isinstance(se_ratio, bool) or not 1 <= se_ratio <= SE_RATIO_MAX:
        raise ModelConfigError(f"model.se_ratio: expected an integer in [1, {SE_RATIO_MAX}], got {se_ratio!r}")
    max_params = cfg.get("max_params", 20_000)
    if max_params is not None and (not isinstance(max_params, int) or isinstance(max_params, bool) or max_params < 1):
        raise ModelConfigError(f"model.max_params: expected a positive integer or null, got {max_params!r}")
    spec = ModelSpec(widths, kernels, padding, dropout, block, pool_after, bool(cfg.get("bias", False)), max_params,
                     se_ratio)
    output_sizes(spec)
    return spec


def output_sizes(spec: ModelSpec) -> list[int]:
    """Spatial size after each block (after its pool); raises if it collapses below 1x1."""
    size, sizes = IMAGE_SIZE, []
    for i, (k, p) in enumerate(zip(spec.kernels, spec.padding)):
        new = size + 2 * p - k + 1
        if new < 1:
            raise ModelConfigError(
                f"model.kernels[{i}]: a {k}x{k} kernel with padding {p} on a {size}x{size} input "
                "collapses the image below 1x1; use smaller kernels, more padding or fewer pools"
            )
        size = new
        if i in spec.pool_after:
            if size < 2:
                raise ModelConfigError(f"model.pool_after: pooling after block {i} would shrink {size}x{size} below 1x1")
            size //= 2
        sizes.append(size)
    return sizes


def spec_params(spec: ModelSpec) -> int:
    """The exact parameter count of ``Net(spec)``, computed without allocating anything."""
    n, c_in = 0, IN_CHANNELS
    for c_out, k, kind in zip(spec.widths, spec.kernels, spec.block):
        if kind == "separable" and k > 1:
            n += c_in * k * k + c_in * c_out
        else:
            n += c_in * c_out * k * k
        n += (c_out if spec.bias else 0) + 2 * c_out  # conv bias, BatchNorm weight and bias
        if kind == "se":  # two 1x1 convs with bias: c_out -> hidden -> c_out
            hidden = se_hidden(c_out, spec.se_ratio)
            n += c_out * hidden + hidden + hidden * c_out + c_out
        c_in = c_out
    return n + c_in * NUM_CLASSES + NUM_CLASSES


def check_budget(spec: ModelSpec) -> int:
    """The parameter count, or ParamBudgetExceeded over ``max_params`` (and over the hard limit
    when there is no budget), before any tensor exists."""
    n = spec_params(spec)
    if spec.max_params is not None and n > spec.max_params:
        raise ParamBudgetExceeded(n, spec.max_params)
    if n > HARD_PARAM_LIMIT:
        raise ModelConfigError(
            f"model.widths: the model would have {n:,} parameters, above the hard limit of {HARD_PARAM_LIMIT:,} "
            "that holds even with model.max_params=null (memory guard); shrink the widths"
        )
    return n
