"""Keys a user writes by what they mean rather than by a near spelling: the docs call
``model.max_params`` "the budget", yet ``budget=10000`` and ``hydra.sweeper.budget=10000`` were
refused with no key named, ``model.budget`` with a list of 24 keys, and ``data.train_size=2000`` (a
training subset) with "did you mean data.val_size?". ``meant`` names the key such a word means, for
keys.nearest to offer first."""
from __future__ import annotations

import re

# (a whole key written in lower case, the key it means); a section's prefix is any or the one shown
MEANT = (
    (re.compile(r"(.*\.)?[a-z_]*budget[a-z_]*"), "model.max_params"),
    (re.compile(r"((model|trainer|data)\.)?((max|n|num)_?)?param(eter)?s?(_?(max|limit|count|cap))?"), "model.max_params"),
    (re.compile(r"(model\.)?(max_)?(model_|net_|param_)?size"), "model.max_params"),
    (re.compile(r"(data\.)?(train_?(size|samples|subset|images|count|n)|n_?train|num_train|subset)"), "data.train_limit"),
)


def meant(key: str) -> list[str]:
    """The keys ``key`` means by its words (``budget`` -> model.max_params), itself left out."""
    key = key.lstrip("+~").lower()
    return [k for pattern, k in MEANT if pattern.fullmatch(key) and k != key]
