"""Optuna storage helpers shared by the sweeper and the leaderboard: masked URLs, the
clear-text password check, and a trial's status."""
from __future__ import annotations

import os
from typing import Any

from mnist_sweep.errors import SweepError

STORAGE_ENV = "MNIST_SWEEP_STORAGE"  # the default storage reads it: the URL (and password) stays out of configs


def mask_url(url: str | None) -> str:
    """A storage URL with its password replaced by ***."""
    if not url:
        return "in-memory"
    try:
        from sqlalchemy.engine import make_url

        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL sqlalchemy understands: show nothing secret
        return url.split("@")[-1] if "@" in url else url


def check_no_clear_password(raw: Any, key: str = "hydra.sweeper.storage") -> None:
    """Refuse a storage URL whose password is written out (not interpolated from the environment)."""
    if not isinstance(raw, str) or "${" in raw or "://" not in raw:
        return
    try:
        from sqlalchemy.engine import make_url

        password = make_url(raw).password
    except Exception:  # noqa: BLE001 - opening the storage reports URLs sqlalchemy cannot parse
        return
    if password:
        raise SweepError(
            f"{key}: '{mask_url(raw)}' has its password in clear text, which would be saved in every trial's "
            f"config and shown by ps; leave it out and export {STORAGE_ENV}='<the full URL>' (the default "
            "storage reads it) or PGPASSWORD"
        )


def default_storage() -> str | None:
    return os.environ.get(STORAGE_ENV) or None


def status_of(t: Any) -> str:
    """A trial's status tag; a finished trial still tagged running was failed for its owner (lost)."""
    status = t.user_attrs.get("status") or t.state.name.lower()
    return "lost" if status == "running" and t.state.is_finished() else status
