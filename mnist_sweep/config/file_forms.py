"""A key as a config file writes it, for the lines that tell a file what to write: sections nest
(``trainer: {max_epochs: 3}``), while a search space's keys keep their dots under ``params``
(``hydra: {sweeper: {params: {model.c1: choice(4,8)}}}``)."""
from __future__ import annotations

PARAMS = "hydra.sweeper.params"


def nested(key: str, shown: str | None) -> str:
    """``key`` set to ``shown`` as a config file writes it: ``trainer: {max_epochs: 3}``; a key of the
    search space (``hydra.sweeper.params.model.c1``) nested down to ``params`` only, its name whole."""
    if key.startswith(f"{PARAMS}."):
        return nested(PARAMS, f"{{{key.removeprefix(f'{PARAMS}.')}: {shown or '...'}}}")
    parts = key.split(".")
    return parts[0] + ": " + "".join(f"{{{p}: " for p in parts[1:]) + (shown or "...") + "}" * (len(parts) - 1)
