"""Why an Optuna storage did not open, as what to do about it (the end of ``storage.open_for_reading``'s
line): the URL itself (an unknown dialect, a port that is not a number, a driver not installed) told
apart from the database behind it (locked, not Optuna's, a server down), and a server that answered
and refused (no password reached it, a wrong one, no such database). The ground floor: it imports
nothing of the package but errors.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from mnist_sweep.errors import redact

STORAGE_ENV = "MNIST_SWEEP_STORAGE"  # the default storage reads it: the URL (and password) stays out of configs
_NO_DATABASE = re.compile(r'database "([^"]*)" does not exist')  # PostgreSQL's
CONNECT_TIMEOUT_S = 15  # how long the sweep and every reader wait for a PostgreSQL server to answer (connect_args)
URL_FORMS = ("use e.g. sqlite:///outputs/sweeps/NAME/optuna.db, journal:///outputs/sweeps/NAME/journal.log "
             "or postgresql://user@host/db")


def open_hint(e: Exception, first: str, is_file: bool, masked_url: str = "") -> str:
    """What to do about a storage that did not open with ``e`` (``first``: its message's first line);
    ``is_file``: a SQLite or journal URL (no server); ``masked_url``: the URL, its password masked."""
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    if "database is locked" in first:
        return "another process holds it (a sweep writing); run the command again in a moment"
    if isinstance(e, ImportError):
        return f"its database driver is not installed here; install it or {URL_FORMS}"
    if isinstance(e, (ArgumentError, NoSuchModuleError)):  # postgres:// (Heroku's, libpq's): SQLAlchemy's is postgresql://
        return ("SQLAlchemy reads PostgreSQL's URLs as postgresql://, not postgres://: write postgresql:// at its start"
                if masked_url.startswith("postgres://") else f"not a URL Optuna can open; {URL_FORMS}")
    if is_file:  # no server; a ValueError is its content's (a damaged journal's JSON)
        return "is it an Optuna storage the sweep wrote?"
    if isinstance(e, ValueError):  # a port that is not a number
        return f"not a URL Optuna can open; {URL_FORMS}"
    if no_answer(e):
        return f"no answer in {CONNECT_TIMEOUT_S} s: is a PostgreSQL server running at that host and port?"
    return refused(first, masked_url) or "is the database server running and the URL right?"


def refused(first: str, masked_url: str = "") -> str | None:
    """The fix where a server answered and refused: a sweep dir records its storage without the
    password, so one from nowhere ($MNIST_SWEEP_STORAGE unset or another URL's) reaches the server
    as none; a wrong one; a database name the server does not have. None for anything else."""
    if "no password supplied" in first:
        env = os.environ.get(STORAGE_ENV)
        other = (f" (${STORAGE_ENV} holds this URL without one)" if env and redact(env) == masked_url else
                 f" (${STORAGE_ENV} holds another URL, {redact(env)})" if env else "")
        return (f"no password reached the server{other}: export {STORAGE_ENV}='<the URL with its password>' (a "
                "sweep dir's storage.json keeps none), or PGPASSWORD, or add the password to ~/.pgpass")
    if "password authentication failed" in first:
        return (f"the server refused the user name or password; check the one in ${STORAGE_ENV}, PGPASSWORD "
                "or ~/.pgpass")
    if m := _NO_DATABASE.search(first):
        return f"the server answers but has no database {m[1]!r}; check the database name at the URL's end"
    return None


def cannot_open(flag: str, masked_url: str, e: Exception, is_file: bool) -> str:
    """Why a storage did not open, in one line naming ``flag`` (and $MNIST_SWEEP_STORAGE where the URL is
    its value: the user gave no flag) and the URL (its password masked), with what to do (open_hint; a
    file's path given for its URL: the URL to give)."""
    first = (str(e).strip().splitlines() or [type(e).__name__])[0]
    env = os.environ.get(STORAGE_ENV)
    source = f" (${STORAGE_ENV})" if env and redact(env) == masked_url and STORAGE_ENV not in flag else ""  # named once
    return (f"{flag.rstrip(':')}{source}{':' * flag.endswith(':')} {masked_url}: cannot open ({type(e).__name__}: "
            f"{redact(first)}); {path_as_url(masked_url) or open_hint(e, first, is_file, masked_url)}")


def path_as_url(text: str) -> str | None:
    """The URL to give for a storage file's path given as a URL (``outputs/sweeps/NAME/optuna.db``, which
    SQLAlchemy cannot parse): an SQLite file's sqlite:///, a journal's journal:/// (by its first bytes, else
    its suffix); None for a URL or a file of neither kind."""
    if "://" in text or not text.strip():
        return None
    path = Path(text := os.path.expanduser(text))  # ~/x.db quoted: sqlite:///~/x.db would be a dir named ~
    try:
        with open(path, "rb") as f:
            head = f.read(16)
    except OSError:
        head = b""
    sqlite, journal = f"sqlite:///{text}", f"journal:///{text}"
    if head == b"SQLite format 3\x00" or path.suffix in (".db", ".sqlite", ".sqlite3"):
        return f"a file's path, not a storage URL: give {sqlite}"
    if head[:1] == b"{" or path.suffix in (".log", ".journal"):
        return f"a file's path, not a storage URL: give {journal}"
    return None  # a file of neither kind: the caller's own words


def storage_fault(e: BaseException) -> bool:
    """Whether ``e`` is the storage's failing (its server gone, its file locked or its disk full), not a trial's doing."""
    import optuna
    from sqlalchemy.exc import OperationalError

    return isinstance(e, (optuna.exceptions.StorageInternalError, OperationalError))


def root_cause(e: BaseException) -> BaseException:
    """The first exception of the chain (the driver's own error under SQLAlchemy's and Optuna's)."""
    seen = {id(e)}
    while e.__cause__ is not None and id(e.__cause__) not in seen:
        e = e.__cause__
        seen.add(id(e))
    return e


def driver_words(e: BaseException) -> str:
    """The first line of what ``e`` chains to first (the driver's words under SQLAlchemy's and Optuna's), unredacted."""
    root = root_cause(e)
    return (str(root).strip().splitlines() or [type(root).__name__])[0]


def no_answer(e: Exception) -> bool:
    """Whether opening a storage failed because its server took the connection and never answered
    (libpq's connect_timeout, ``connect_args``)."""
    return "timeout expired" in str(e)


def connect_args(url: str) -> dict[str, Any]:
    """The driver's connect arguments for ``url``, the one place every opening takes them from (sweep and
    readers): PostgreSQL waits CONNECT_TIMEOUT_S for an answer unless the URL sets its own connect_timeout;
    without it, a host that takes the connection and never answers kept a command waiting forever, silent."""
    from sqlalchemy.engine import make_url

    u = make_url(url)
    return {"connect_timeout": CONNECT_TIMEOUT_S} if u.get_backend_name() == "postgresql" and "connect_timeout" not in u.query else {}


def engine_kwargs(url: str) -> dict[str, Any]:
    """SQLAlchemy's engine arguments for an Optuna storage at ``url`` (the sweep's and every reader's): its
    connect_args and, for a server, a ping before each pooled connection is used (Optuna pings MySQL's only):
    a connection that a PostgreSQL restart (or an idle timeout) ended stopped the sweep ('terminating
    connection due to administrator command'), the server back and answering."""
    return {"connect_args": connect_args(url), "pool_pre_ping": not url.startswith("sqlite")}


def unset_env(hydra_yaml: str) -> str | None:
    """What to do where a sweep from before storage.json took its storage from $MNIST_SWEEP_STORAGE (its
    trial's saved hydra.yaml names it) and it is not set here, so its SQLite default was read instead
    (an old PostgreSQL sweep said 'no such SQLite file .../optuna.db'); else None."""
    from omegaconf import OmegaConf

    if os.environ.get(STORAGE_ENV) or not hydra_yaml.endswith("hydra.yaml"):
        return None
    try:
        raw = OmegaConf.to_container(OmegaConf.load(hydra_yaml).hydra.sweeper, resolve=False).get("storage")
    except Exception:  # noqa: BLE001 - unreadable: no hint
        return None
    return (f"its trials' hydra.sweeper.storage reads ${STORAGE_ENV}, not set here (a sweep on PostgreSQL had it): "
            f"export {STORAGE_ENV}='URL' as the sweep had it") if f"oc.env:{STORAGE_ENV}" in str(raw) else None
