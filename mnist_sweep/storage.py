"""Optuna storage helpers shared by the sweeper and the leaderboard: redaction of secrets in any
text, the clear-text password check, and a trial's status."""
from __future__ import annotations

import logging
import os
import re
from typing import Any

from mnist_sweep.errors import SweepError

STORAGE_ENV = "MNIST_SWEEP_STORAGE"  # the default storage reads it: the URL (and password) stays out of configs


# scheme://user:PASSWORD@host  (the password may hold anything but '@' and whitespace)
_USERINFO = re.compile(r"(?P<head>\b[A-Za-z][A-Za-z0-9+.\-]*:/?/[^/\s:@'\"]*:)(?P<secret>[^@\s'\"]*)(?=@)")
# ?password=... &passwd=... ;pwd=... (URL query strings, DSNs, libpq key=value strings)
_PARAM = re.compile(r"(?P<head>(?<![A-Za-z0-9_])(?:password|passwd|pwd|pass|secret|token)\s*=\s*)(?P<secret>[^&;\s'\",)]+)",
                    re.IGNORECASE)
SECRET_PARAMS = ("password", "passwd", "pwd", "pass", "secret", "token")


def redact(text: str) -> str:
    """``text`` with every URL password (userinfo or query parameter) replaced by ***."""
    if not isinstance(text, str):
        text = str(text)
    text = _USERINFO.sub(lambda m: m["head"] + ("***" if m["secret"] else ""), text)
    return _PARAM.sub(lambda m: m["head"] + "***", text)


def mask_url(url: str | None) -> str:
    """A storage URL with its password replaced by ***."""
    return redact(url) if url else "in-memory"


def has_clear_password(url: str) -> bool:
    """Whether ``url`` spells out a password, in its userinfo or in its query string."""
    return redact(url) != url


def check_no_clear_password(raw: Any, key: str = "hydra.sweeper.storage") -> None:
    """Refuse a storage URL whose password is written out (not interpolated from the environment)."""
    if not isinstance(raw, str) or "${" in raw or not has_clear_password(raw):
        return
    raise SweepError(
        f"{key}: '{mask_url(raw)}' has its password in clear text, which would be saved in every trial's "
        f"config and shown by ps; leave it out and export {STORAGE_ENV}='<the full URL>' (the default "
        "storage reads it) or PGPASSWORD"
    )


class RedactFilter(logging.Filter):
    """Masks passwords in every record that passes a handler (message and arguments)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True


def install_log_redaction() -> None:
    """Add one RedactFilter to every handler of the root logger (idempotent; Hydra sets them up)."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactFilter) for f in handler.filters):
            handler.addFilter(RedactFilter())


def default_storage() -> str | None:
    return os.environ.get(STORAGE_ENV) or None


def status_of(t: Any) -> str:
    """A trial's status tag; a finished trial still tagged running was failed for its owner (lost)."""
    status = t.user_attrs.get("status") or t.state.name.lower()
    return "lost" if status == "running" and t.state.is_finished() else status
