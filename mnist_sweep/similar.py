"""The names nearest a mistyped one, nearest first, as a reader ranks them: difflib's similarity of the
names case-folded, with the look-alikes l, I and 1 (and O and 0) read as one, so ``model.cl`` and
``model.C1`` are nearest ``model.c1`` and ``optimizer.Ir`` nearest ``optimizer.lr``; equally near
names go to the nearest last number (``model.c7``: c6, c5, c4; ``smallest_9k``: smallest_8k), then in the order given
(``model.c``: c1, c2, c3), where difflib's own ``get_close_matches`` put them in reverse order (c6, c5, c4)."""
from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

_ALIKE = str.maketrans("li|o", "1110")  # applied after casefold, so I reads as 1 and O as 0 too


def folded(name: str) -> str:
    """``name`` case-folded with look-alike characters made one (``Ir``, ``lr`` and ``1r`` alike)."""
    return name.casefold().translate(_ALIKE)


def _ratio(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a, b).ratio()


def _number_gap(a: str, b: str) -> int:
    """How far apart the last numbers of two names are (c7, c6: 1; smallest_9k, smallest_8k: 1); 0 where
    either has none."""
    x, y = re.findall(r"\d+", a), re.findall(r"\d+", b)
    return abs(int(x[-1]) - int(y[-1])) if x and y else 0


def close_matches(word: str, names: Iterable[str], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` of ``names`` at least ``cutoff`` alike to ``word`` (difflib's ratio, folded or as
    written, whichever is higher), the nearest first: folded, then as written, then by last number,
    then in the order given; a name that folds to ``word``'s alone."""
    scored = []
    for i, name in enumerate(dict.fromkeys(names)):
        alike, exact = _ratio(folded(word), folded(name)), _ratio(word, name)
        if max(alike, exact) >= cutoff:
            scored.append((-alike, -exact, _number_gap(word, name), i, name))
    scored.sort()
    if scored and scored[0][0] == -1.0:  # the same name, but for case or a look-alike: that one alone
        scored = [s for s in scored if s[0] == -1.0]
    return [s[-1] for s in scored[:n]]


def _parts(name: str) -> list[str]:
    return [p for p in re.split(r"[._\-\s]+", folded(name)) if p]


# A word for what a column measures, as the column's name abbreviates it: its unit (train_s, wall_s, s_per_epoch)
UNITS = {folded(w): "s" for w in ("time", "times", "seconds", "second", "secs", "sec", "duration", "runtime")}


def unit_matches(word: str, names: Iterable[str], n: int = 3) -> list[str]:
    """``part_matches`` for a word naming what a column measures (``time``, ``train_time``, ``seconds``:
    the columns in seconds, wall_s, train_s, s_per_epoch, in the order given), which difflib's ratio matched to any name sharing its letters
    (``time``: val_mean); [] for any other word, or where a name is the word but for case (``close_matches``'s).
    Asked before ``close_matches``."""
    names = list(names)
    if any(folded(name) == folded(word) for name in names) or not any(p in UNITS for p in _parts(word)):
        return []
    return part_matches(word, names, n)


def _abbreviates(a: str, b: str) -> bool:
    """One part the other's abbreviation (``acc``, ``accuracy``; 3 characters at least), or the same."""
    short, long = sorted((a, b), key=len)
    return short == long or (len(short) >= 3 and long.startswith(short))


def part_matches(word: str, names: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` of ``names`` (in the order given) with a part (split at ``.``, ``_`` and ``-``) for
    each part of ``word``, the same or one the other's abbreviation: a word spelled out where a name
    abbreviates it, which difflib's ratio finds too far apart (``accuracy``: val_acc, test_acc_final;
    ``lr``: hp.optimizer.lr; ``time``: train_s, a unit's word). For a line where ``close_matches`` has none."""
    wanted = [UNITS.get(p, p) for p in _parts(word)]  # time: s, a unit matched whole (train_s)
    found = [name for name in dict.fromkeys(names)
             if wanted and all(any(_abbreviates(w, p) for p in _parts(name)) for w in wanted)]
    return found[:n]
