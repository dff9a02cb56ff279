"""Composing candidates for the sweeper's own checks (space, precheck, dry run) fast.

Hydra composes a config in two steps (``ConfigLoaderImpl._load_configuration_impl``): the
defaults list (config groups, the slow part: about 0.2 s here) and then the plain ``key=value``
overrides applied to the result. Candidates of a sweep differ mostly in plain values, so the
first step is done once per combination of group choices and kept; the second is Hydra's own
function. The launcher still composes every job itself: only the checks before launch use this.
Each candidate gets its own copy of the kept base, unpickled from bytes taken once (a fifth of a
``copy.deepcopy`` of the config's thousands of nodes; the same nodes, flags and types).
"""
from __future__ import annotations

import copy
import pickle
from collections.abc import Callable

from hydra.errors import HydraException
from omegaconf import DictConfig

from hydra_plugins.mnist_sweep_sweeper import _optuna

MAX_BASES = 64  # group-choice combinations kept


def is_value_override(override: str) -> bool:
    """A plain ``a.b=v`` (``+a.b=v``, ``~a.b``) on the app's config: no group, no package, no hydra key."""
    key = override.split("=", 1)[0].lstrip("+~")
    return "." in key and not key.startswith("hydra.") and "/" not in key and "@" not in key


class Composer:
    """``compose(overrides)`` equal to Hydra's ``load_sweep_config`` for the app's config."""

    def __init__(self, load: Callable[[list[str]], DictConfig]) -> None:
        self._load = load
        self._bases: dict[tuple[str, ...], bytes | DictConfig | tuple] = {}

    def __call__(self, overrides: list[str]) -> DictConfig:
        structural = tuple(o for o in overrides if not is_value_override(o))
        values = [o for o in overrides if is_value_override(o)]
        base = self._bases.get(structural)
        if base is None:
            if len(self._bases) >= MAX_BASES:
                self._bases.clear()
            try:
                base = self._bases[structural] = _frozen(self._load(list(structural)))
            except HydraException as e:  # kept too: each candidate with these groups is refused at once (0.3 s)
                self._bases[structural] = (e, e.__traceback__)
                raise
        if isinstance(base, tuple):  # raised with its own traceback, which words it (file_errors.missing_option_error)
            raise base[0].with_traceback(base[1])
        cfg = pickle.loads(base) if isinstance(base, bytes) else copy.deepcopy(base)
        if values:
            _optuna.apply_overrides(cfg, values)  # Hydra's second step, the function its loader calls
        return cfg


def _frozen(cfg: DictConfig) -> bytes | DictConfig:
    """A composed base kept as its pickled bytes (what each candidate's copy is read from), or as
    itself where some value does not pickle (a copy is then a deep copy, as before)."""
    try:
        return pickle.dumps(cfg, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:  # noqa: BLE001 - any value pickle refuses: the slower copy is still exact
        return cfg
