"""A value an explicit YAML tag made (``seed: !!timestamp 2020-01-01``: a date; ``!!binary``,
``!!set``), which OmegaConf refuses with 'Value 'date' is not a supported primitive type' and no key
takes: the words a config file's line (config.file_errors.value_line) and a saved run's
``.hydra/config.yaml`` read back (results.read_config) both use. The ground floor: it imports
nothing of the package."""
from __future__ import annotations

import re

TAGS = {"date": ("!!timestamp", "a date"), "datetime": ("!!timestamp", "a date and time"),  # YAML's explicit tags
        "bytes": ("!!binary", "binary data"), "set": ("!!set", "a set")}
_TAGGED = re.compile(r"Value '(\w+)' is not a supported primitive type|Cannot convert '(\w+)' to")


def tag_made(msg: str) -> str | None:
    """``YAML's explicit tag !!timestamp made its value a date`` for OmegaConf's refusal ``msg`` of a
    value such a tag made, else None."""
    if (m := _TAGGED.search(msg)) and (tag := TAGS.get(m[1] or m[2])):
        return f"YAML's explicit tag {tag[0]} made its value {tag[1]}"
    return None


def not_a_config(e: BaseException, again: str) -> str:
    """What OmegaConf refused in a saved YAML config it read, the key named where it gives one, and
    what to do (``again``: e.g. train the config again): ``trainer.seed: YAML's explicit tag !!timestamp
    made its value a date, which no config key takes; drop the tag, or train ...``."""
    key = str(getattr(e, "full_key", None) or "")
    msg = (str(getattr(e, "msg", None) or e).splitlines() or [""])[0]
    if key and (made := tag_made(msg)):
        return f"{key}: {made}, which no config key takes; drop the tag, or {again}"
    return f"{key + ': ' if key else ''}not a config ({type(e).__name__}: {msg}); the saved config is damaged; {again}"
