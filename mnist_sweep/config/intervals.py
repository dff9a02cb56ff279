"""An interval's ends as written: Hydra's ``int(interval(3.5,8.5))`` casts each end with int(), which
truncates (3 and 8: 3 is below what was written, and -3.5 rises to -3); the integers inside are 4..8.
A zero-width interval (``interval(0.05,0.05)``) and an int interval with one integer inside
(``int(interval(3.5,4.2))``: 4) search one value, and one with no integer inside (``int(interval(3.2,3.8))``)
none: each is refused in one line naming its key, as a range that draws one value alone is
(``range(0.0,0.1)``, sweep_values.step_error): ends written as a span that search no span are a slip.
``choice(8)`` lists its one value itself, and is searched as written."""
from __future__ import annotations

import math
import re
from typing import Any

from mnist_sweep.errors import SweepError

_INTERVAL = re.compile(r"interval\(([^()]*)\)")


def _written_ends(override: Any) -> tuple[float, float] | None:
    """The interval's ends before any int() cast, as Hydra reads ``interval(...)`` alone."""
    from hydra.core.override_parser.overrides_parser import OverridesParser

    found = _INTERVAL.search(override.input_line.partition("=")[2])
    if found is None:
        return None
    try:
        value = OverridesParser.create().parse_override(f"k={found.group(0)}").value()
        return float(value.start), float(value.end)
    except Exception:  # noqa: BLE001 - not as expected: the ends Hydra gave
        return None


def interval_ends(override: Any) -> tuple[Any, Any]:
    """The ends an interval sweep searches: an int interval's the integers inside the ends as written
    (ceil of the low, floor of the high), a float interval's as Hydra gives them; SweepError for one
    that searches a single value or none."""
    value, key = override.value(), override.get_key_element()
    whole = isinstance(value.start, int) and isinstance(value.end, int)
    written = _written_ends(override) or (float(value.start), float(value.end))
    lo, hi = written
    text = f"interval({lo:g},{hi:g})"
    if lo == hi:
        one = int(lo) if whole or lo.is_integer() else f"{lo:g}"
        raise SweepError(f"hydra.sweeper.params.{key}: {text} has zero width, so it searches {one} alone; write "
                         f"{key}={one} to set it, or a wider interval (the low end below the high)")
    if not whole:
        return value.start, value.end
    wider = f"int(interval({math.floor(lo)},{math.ceil(hi)}))"
    if lo < hi and math.ceil(lo) > math.floor(hi):
        raise SweepError(f"hydra.sweeper.params.{key}: int({text}) has no integer inside, so it searches nothing; "
                         f"widen it to hold one (e.g. {wider}) or set {key} to a value")
    if lo < hi and math.ceil(lo) == math.floor(hi):
        raise SweepError(f"hydra.sweeper.params.{key}: int({text}) has one integer inside, so it searches "
                         f"{math.ceil(lo)} alone; write {key}={math.ceil(lo)} to set it, or widen it (e.g. {wider})")
    if lo < hi:
        return math.ceil(lo), math.floor(hi)
    return value.start, value.end  # reversed: Optuna's line (the low end first)
