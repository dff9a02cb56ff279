"""A command line's sweep expressions (``model.dropout=0.1,0.2``, ``optimizer.lr=interval(0.01,0.1)``)
checked before Hydra starts, as the sweep checks them: each as the Optuna distribution the sweep draws
its values from, against its key's type and range (``space.check_distribution``, the sweeper's own
check). A bad value is named in the line the sweep gives, with -m or without it."""
from __future__ import annotations

import warnings
from typing import Any

from mnist_sweep.config.space import check_distribution
from mnist_sweep.errors import SweepError, one_line


def distribution(override: Any) -> Any | None:
    """The distribution hydra-optuna-sweeper builds for a sweep override (its
    ``create_optuna_distribution_from_override``, which this package may not import): a choice's
    values (encoded as Hydra passes them on), a range's or an interval's ends. None for a glob and for
    ends Optuna refuses (the sweep's own line says how to write them)."""
    from hydra.core.override_parser.types import Transformer
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    value = override.value()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Optuna's note on a float range whose end is off its step
            if override.is_choice_sweep() or (override.is_range_sweep() and value.shuffle):
                return CategoricalDistribution(list(override.sweep_iterator(transformer=Transformer.encode)))
            if override.is_range_sweep():
                if any(isinstance(v, float) for v in (value.start, value.stop, value.step)):
                    return FloatDistribution(value.start, value.stop, step=value.step)
                return IntDistribution(int(value.start), int(value.stop), step=int(value.step))
            if override.is_interval_sweep():
                whole = isinstance(value.start, int) and isinstance(value.end, int)
                kind = IntDistribution if whole else FloatDistribution
                return kind(value.start, value.end, log="log" in value.tags)
    except (ValueError, TypeError):
        return None
    return None


def sweep_value_error(cfg: Any, sweeps: list[Any]) -> str | None:
    """One line for the first sweep expression over a key of ``cfg`` (composed with the command line's
    plain overrides, its hydra node too) with a value that key cannot take, as the sweep words it
    (``hydra.sweeper.params.model.dropout: value 5 does not fit model.dropout ...``); None where every
    value fits. A config group's options are not values: the sweep checks them by composing each."""
    groups = set(cfg.hydra.runtime.choices)
    for o in sweeps:
        if o.key_or_group in groups or o.key_or_group.split("@")[0] in groups:
            continue
        if (dist := distribution(o)) is None:
            continue
        try:
            check_distribution(o.get_key_element(), dist, cfg)
        except SweepError as e:
            return one_line(str(e))
    return None
