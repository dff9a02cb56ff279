"""A number written with thousands commas (``model.max_params=10,000``, as the docs write budgets):
Hydra reads each comma as a separator between a sweep's values, so it searched 10 and the string
'000', and the line said only that '000' is not an integer, with ``choice(10,20000)`` to paste.
A group after a comma that starts with 0 is no number of its own, so such a choice is a number
written with commas: ``comma_number`` says so and gives it written without them."""
from __future__ import annotations

import re
from typing import Any

_ZERO_GROUP = re.compile(r"0\d\d(\.\d+)?")  # '000', '048', '000.5': Hydra reads them as strings
_GROUP = re.compile(r"\d{3}(\.\d+)?")


def comma_number(name: str, choices: tuple[Any, ...] | list[Any]) -> str | None:
    """The line for a choice whose values are one or more numbers written with thousands commas
    (a value after a comma is a 3-digit group starting with 0); None for any other choice."""
    texts = [str(c) for c in choices]
    if not any(isinstance(c, str) and _ZERO_GROUP.fullmatch(c) for c in choices):
        return None
    merged: list[str] = []
    for i, text in enumerate(texts):
        if i and re.fullmatch(r"\d+", merged[-1]) and _GROUP.fullmatch(text):  # one more group of the number before it
            merged[-1] += text
        else:
            merged.append(text)
    return (f"hydra.sweeper.params.{name}: {','.join(texts)} is read as a sweep over {', '.join(texts[:-1])} and {texts[-1]} (a comma "
            f"separates a sweep's values), and {_first_zero(choices)!r} is no number; write numbers without "
            f"thousands commas: {name}={','.join(merged)}")


def _first_zero(choices: tuple[Any, ...] | list[Any]) -> str:
    return next(c for c in choices if isinstance(c, str) and _ZERO_GROUP.fullmatch(c))
