"""The shipped searches made for a smaller budget than the default 20,000 (``conf/hparams_search/*.yaml``
that set ``model.max_params``: small_8k's 8,000, tiny's 4,000), named where a sweep's space is mostly
over its budget: ``model.max_params=10000`` on the default space (its smallest model 9,450) rejected
hundreds of candidates while the lines said only to narrow the space, whose seven widths a user then
had to choose, though a search with narrower ones ships."""
from __future__ import annotations

import yaml

from mnist_sweep import PROJECT_ROOT

SEARCHES = PROJECT_ROOT / "conf" / "hparams_search"


def smaller_searches(budget: int) -> list[tuple[str, int]]:
    """(name, its model.max_params) of each shipped search made for a budget at most ``budget``, largest first."""
    found = []
    for path in sorted(SEARCHES.glob("*.yaml")):
        try:
            made_for = ((yaml.safe_load(path.read_text()) or {}).get("model") or {}).get("max_params")
        except (OSError, yaml.YAMLError, AttributeError):  # not a search file this can read: none named
            continue
        if isinstance(made_for, int) and not isinstance(made_for, bool) and made_for <= budget:
            found.append((path.stem, made_for))
    return sorted(found, key=lambda f: -f[1])


def narrower_searches(budget: int | None) -> str:
    """``; or start from hparams_search=small_8k (made for 8,000 parameters) or ...`` for a budget some
    shipped search is made for (at most it), else ''."""
    found = smaller_searches(budget) if isinstance(budget, int) else []
    if not found:
        return ""
    names = " or ".join(f"hparams_search={name} (made for {made_for:,} parameters)" for name, made_for in found)
    return (f"; or start from {names}, whose widths are narrower, keeping model.max_params={budget} and a "
            "hydra.sweeper.study_name of your own (each search's own study is its tier's)")
