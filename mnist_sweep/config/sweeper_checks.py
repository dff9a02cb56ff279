"""The sweeper's own keys checked before anything is opened or written: one SweepError line
naming ``hydra.sweeper.<key>``. Types come from MnistOptunaSweeperConf (Hydra enforces them);
ranges from its fields' metadata; the cross-key rules are here."""
from __future__ import annotations

import string
from typing import Any

from omegaconf import DictConfig, OmegaConf

from mnist_sweep.errors import SweepError
from mnist_sweep.config.ranges import range_of
from mnist_sweep.storage import check_no_clear_password

from mnist_sweep.config.sweeper import MnistOptunaSweeperConf

P = "hydra.sweeper"


def _node(cfg: Any) -> DictConfig:
    """``hydra.sweeper`` of a composed config (or the sweeper node itself)."""
    if isinstance(cfg, DictConfig) and "hydra" in cfg:
        return cfg.hydra.sweeper
    return cfg if isinstance(cfg, DictConfig) else OmegaConf.create(cfg)


def check_trial_dir(fmt: Any) -> None:
    """A file name (no '/', no '..') using only ``{number}``, different for different numbers."""
    where = f"{P}.trial_dir"
    if not isinstance(fmt, str) or not fmt:
        raise SweepError(f"{where}: expected a format string such as trial_{{number:04d}}, got {fmt!r}")
    try:
        names = [f for _, f, _, _ in string.Formatter().parse(fmt) if f is not None]
        bad = [n for n in names if n != "number"]
        if bad:
            raise SweepError(f"{where}: '{fmt}' uses {{{bad[0]}}}; only {{number}} is known (e.g. trial_{{number:04d}})")
        first, second = fmt.format(number=1), fmt.format(number=2)
    except (ValueError, IndexError, KeyError, TypeError) as e:
        raise SweepError(f"{where}: '{fmt}' is not a valid format string ({e}); e.g. trial_{{number:04d}}") from None
    if first == second:
        raise SweepError(f"{where}: '{fmt}' gives every trial the same dir; include {{number}}")
    if "/" in first or "\\" in first or first in (".", "..") or "\x00" in first:
        raise SweepError(f"{where}: '{fmt}' must be a plain file name (no '/' or '..'); e.g. trial_{{number:04d}}")


def check_sweeper(cfg: Any) -> None:
    """Ranges of every ranged key of MnistOptunaSweeperConf, the cross-key rules, and no clear-text
    storage password; raises SweepError naming ``hydra.sweeper.<key>``."""
    node = _node(cfg)
    raw = OmegaConf.to_container(node, resolve=False)
    check_no_clear_password(raw.get("storage"))
    for name in (f for f in MnistOptunaSweeperConf.__dataclass_fields__):
        r = range_of(MnistOptunaSweeperConf, name)
        if r is None or name not in node:
            continue
        value = node.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not r.ok(value):
            raise SweepError(f"{P}.{name}: must be {r.describe()}, got {value!r}")
    check_trial_dir(node.get("trial_dir"))
    beat, grace = node.get("heartbeat_interval"), node.get("grace_period")
    if grace is not None and beat is None:
        raise SweepError(f"{P}.grace_period: needs {P}.heartbeat_interval (null: heartbeats are off)")
    if grace is not None and grace <= beat:
        raise SweepError(f"{P}.grace_period: must be > {P}.heartbeat_interval={beat}, got {grace}")
