"""Optuna storage helpers shared by the sweeper and the leaderboard: redaction of secrets in any
text, the clear-text password check, and a trial's status."""
from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from mnist_sweep.errors import SECRET_KEYS, StorageError, SweepError, redact
from mnist_sweep.open_hints import CONNECT_TIMEOUT_S as CONNECT_TIMEOUT_S, STORAGE_ENV, URL_FORMS as URL_FORMS, cannot_open, connect_args, engine_kwargs  # URL_FORMS: the sweeper's
from mnist_sweep.url_escapes import misread

_INTERPOLATION = re.compile(r"\$\{([^{}]*)\}")  # an innermost ${...}
_QUOTED = re.compile(r"^\s*(['\"])(.*)\1\s*$")  # a resolver's quoted argument: ${oc.env:P,''}
STORAGE_RECORD = "storage.json"  # <sweep_dir>/storage.json: where the sweep's Optuna study lives (sweeps writes it)


def mask_url(url: str | None) -> str:
    """A storage URL with its password replaced by ***."""
    return redact(url) if url else "in-memory"


_AT_IN_PASSWORD = re.compile(r"(?P<user>[A-Za-z][\w+.-]*://[^:/@\s]*):[^@\s]*@(?:(?:(?![?&][^\s@&?=]*=)[^\s@])*@)+")  # me:a@b/c@db
QUERY_SECRETS = {*SECRET_KEYS, *(f"ssl{k}" for k in SECRET_KEYS)}  # query keys a URL's secret hides in: redact's
_ODBC_SECRET = re.compile(rf"(?:^|(?<=;))\s*(?:{'|'.join(QUERY_SECRETS)})\s*=(?:\s*\{{(?:[^}}]|\}}\}})*\}}|[^;]*)(?:;|$)", re.IGNORECASE)


def without_password(url: str) -> str:
    """``url`` with no password in it, in its userinfo or its query string (``?password=``): what a
    record on disk keeps (the password comes from $MNIST_SWEEP_STORAGE, PGPASSWORD or ~/.pgpass
    when it is read back). A URL SQLAlchemy cannot parse is masked instead."""
    from sqlalchemy.engine import make_url

    if m := _AT_IN_PASSWORD.match(url):  # a bare '@' in the password: SQLAlchemy would keep its rest as the host
        return f"{m['user']}@{url[m.end():]}"
    try:
        u = make_url(url)
    except Exception:  # noqa: BLE001 - not a URL sqlalchemy parses: keep nothing secret
        return mask_url(url)
    u = u.difference_update_query([k for k in u.query if k.lower() in QUERY_SECRETS])
    inner = {k: _ODBC_SECRET.sub("", v) for k, v in u.query.items() if isinstance(v, str) and _ODBC_SECRET.search(v)}
    u = u.update_query_dict(inner) if inner else u  # odbc_connect=...;PWD=x;...: the connection string's own
    return u._replace(password=None).render_as_string(hide_password=False)  # set(password=None) keeps it


def has_clear_password(url: str) -> bool:
    """Whether ``url`` spells out a password, in its userinfo or in its query string."""
    return redact(url) != url


def check_no_clear_password(raw: Any, key: str = "hydra.sweeper.storage") -> None:
    """Refuse a storage URL whose password is written out (not interpolated from the environment):
    an interpolation elsewhere in it (``/${oc.env:DB}``) does not hide one, nor does an
    interpolation's default (``${oc.env:URL,postgresql://me:PASSWORD@db/x}``), both saved as written."""
    if not isinstance(raw, str):
        return
    text = raw
    while (bare := _INTERPOLATION.sub(lambda m: _QUOTED.sub(r"\2", m[1].partition(",")[2]), text)) != text:
        text = bare  # each interpolation as its default (unquoted: '' is no password), or nothing; innermost first
    if not has_clear_password(text):
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


REPEATS_SUFFIX = ".repeats"  # <study>.repeats: the further seeds of repeated configs (hydra.sweeper.repeats)


def status_of(t: Any) -> str:
    """A trial's status tag; a finished trial still tagged running was failed for its owner (lost)."""
    status = t.user_attrs.get("status") or t.state.name.lower()
    return "lost" if status == "running" and t.state.is_finished() else status


JOURNAL_SCHEME = "journal:///"  # journal:///relative/file.log or journal:////absolute/file.log (like sqlite:///)


def local_path(url: str) -> Path | None:
    """The file behind a SQLite or journal URL (None for a server or in-memory storage); a SQLite
    one's %-escapes decoded as SQLAlchemy decodes them (sqlite:///my%20runs/optuna.db)."""
    from urllib.parse import unquote

    for scheme in ("sqlite:///", JOURNAL_SCHEME):
        if url.startswith(scheme):
            path = url[len(scheme):].split("?", 1)[0]
            return Path(unquote(path) if scheme == "sqlite:///" else path)
    return None


def file_url(scheme: str, path: Path | str) -> str:
    """``scheme`` (sqlite:/// or journal:///) and ``path`` as a URL that reads back as ``path``: a
    SQLite one's '%' and '?' escaped (SQLAlchemy decodes the first, ends the path at the second)."""
    text = str(path)
    return scheme + (text.replace("%", "%25").replace("?", "%3F") if scheme == "sqlite:///" else text)


def unexpanded_home(url: str) -> str | None:
    """Why a SQLite or journal URL's path that starts with '~' is wrong: nothing expands it in a
    URL, so SQLite made a directory named '~' in the current one. None for any other URL."""
    path = local_path(url)
    if path is None or not str(path).startswith("~"):
        return None
    scheme = JOURNAL_SCHEME if url.startswith(JOURNAL_SCHEME) else "sqlite:///"
    return (f"{redact(url)}: '~' is not expanded in a storage URL (it would be a directory named '~' in "
            f"{Path.cwd()}); write the full path: {scheme}{path.expanduser()}")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite or journal URL (relative paths stay relative); None for servers, in-memory."""
    path = local_path(url)
    return None if path is None or str(path) in ("", ".", ":memory:") else path


def missing_file(url: str) -> str | None:
    """Why a SQLite or journal URL cannot be read: its file does not exist (opening it would create
    an empty one), or it names no file at all. None for a server URL or an existing file."""
    if local_path(url) is None:
        return None
    if home := unexpanded_home(url) or misread(url):  # '~' not expanded; my%20runs there, 'my runs' opened
        return home
    kind = "journal" if url.startswith(JOURNAL_SCHEME) else "SQLite"
    path = sqlite_path(url)
    if path is None:
        return f"{redact(url)}: names no {kind} file"
    if path.is_file():
        return None
    where = "" if path.is_absolute() else f" (relative to the current directory {Path.cwd()})"
    if path.is_dir():  # a sweep dir given as the file: name the file it holds
        return a_directory(url, path, kind, where)
    return f"{redact(url)}: no such {kind} file {path}{where}"


def a_directory(url: str, path: Path, kind: str, where: str = "") -> str:
    """Why ``url`` cannot be opened: its file ``path`` is a directory; the file it holds, if any."""
    scheme, held = (JOURNAL_SCHEME, path / "journal.log") if kind == "journal" else ("sqlite:///", path / "optuna.db")
    inside = f" (the {held.name} in it: {scheme}{held})" if held.is_file() else ""
    return f"{redact(url)}: {path} is a directory{where}, not a {kind} file{inside}"


def check_userinfo(url: str) -> None:
    """StorageError for a URL with a '@' written out in its password or user name: SQLAlchemy
    splits at the first '@', so the rest of the password became the host, and the driver's
    "failed to resolve host" line printed it."""
    from sqlalchemy.engine import make_url

    try:
        host = make_url(url).host or ""
    except Exception:  # noqa: BLE001 - not a URL SQLAlchemy parses: opening it says why ('@' first: its port's words)
        host = ""
    if "@" in host or _AT_IN_PASSWORD.match(url):
        raise StorageError(f"{mask_url(url)}: more than one '@' before the host; write a '@' in the password "
                           "or user name as %40")


def open_storage(
    url: str, *, heartbeat_interval: int | None = None, grace_period: int | None = None, upgrade: bool = False,
    claims: bool = False,
) -> Any:
    """An Optuna storage for ``url``: RDB (SQLite, PostgreSQL, ...) or a journal file (many processes
    on one machine or a shared filesystem, no database server). A database written by an older
    Optuna (the 2.10 schema) is upgraded in place when ``upgrade`` (the sweep), else refused in one
    line (read-only commands never write). ``claims``: a sweep worker's, which claims queued trials
    (see ``_serialized``)."""
    import optuna

    if (path := sqlite_path(url)) is not None and path.is_dir():  # SQLite: 'unable to open database file'
        kind = "journal" if url.startswith(JOURNAL_SCHEME) else "SQLite"
        file = f"{JOURNAL_SCHEME}{path / 'journal.log'}" if kind == "journal" else f"sqlite:///{path / 'optuna.db'}"
        raise StorageError(f"{a_directory(url, path, kind)}; name a file, e.g. {file}")
    if url.startswith(JOURNAL_SCHEME):
        from optuna.storages.journal import JournalFileBackend

        return optuna.storages.JournalStorage(JournalFileBackend(str(local_path(url))))
    check_userinfo(url)
    kwargs: dict[str, Any] = {"heartbeat_interval": heartbeat_interval, "grace_period": grace_period}
    try:
        return _rdb(url, kwargs, claims)
    except RuntimeError as e:
        if "optuna storage upgrade" not in str(e):
            raise
    old = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs(url), skip_compatibility_check=True)
    current, head = old.get_current_version(), old.get_head_version()
    if not upgrade:
        raise StorageError(
            f"{mask_url(url)}: written by an older Optuna (schema {current}, this one needs {head}); resume the "
            f"sweep once (it upgrades the file) or run `optuna storage upgrade --storage URL`"
        )
    import warnings

    alembic_log = logging.getLogger("alembic")
    level = alembic_log.level
    alembic_log.setLevel(logging.WARNING)  # its INFO lines, one per migration step
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # the migration reads 2.10's distribution classes
            old.upgrade()
    finally:
        alembic_log.setLevel(level)
    logging.getLogger(__name__).warning(
        "%s: upgraded the storage schema from %s (an older Optuna) to %s", mask_url(url), current, head
    )
    return _rdb(url, kwargs, claims)


def open_for_reading(url: str, flag: str) -> Any:
    """``open_storage`` for a command that only reads: whatever goes wrong (a server that does not answer, a
    driver the URL names that is not installed, an old schema) is one StorageError line naming ``flag``, never a
    driver's traceback; a server's database without Optuna's tables (a wrong or new one) too: opening it through
    Optuna would create them in it. A URL without its password is opened as $MNIST_SWEEP_STORAGE gives it."""
    url = with_env_password(url)
    try:
        if local_path(url) is None and not url.startswith("sqlite") and _lacks_optuna_tables(url):
            raise StorageError(f"{flag} {mask_url(url)}: the database has no Optuna tables, so no sweep ran on it "
                               "(nothing was written into it); give the URL of the database the sweep used")
        return open_storage(url)
    except StorageError:
        raise
    except Exception as e:  # noqa: BLE001 - sqlalchemy, psycopg and optuna raise many types
        raise StorageError(cannot_open(flag, mask_url(url), e, is_file=local_path(url) is not None)) from None


def with_env_password(url: str) -> str:
    """$MNIST_SWEEP_STORAGE where it is ``url`` with its password (a clear-text one's refusal says: export it)."""
    env = default_storage()
    return env if env and local_path(url) is None and env != url and without_password(env) == url else url


def _lacks_optuna_tables(url: str) -> bool:
    """Whether a server's database (PostgreSQL, MySQL) lacks Optuna's tables, read without writing."""
    from sqlalchemy import create_engine, inspect

    check_userinfo(url)  # before any connection: a '@' in the password would be tried as the host
    engine = create_engine(url, connect_args=connect_args(url))
    try:
        return not {"studies", "trials", "version_info"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _rdb(url: str, kwargs: dict[str, Any], claims: bool) -> Any:
    """RDBStorage; heartbeats are a feature we use on purpose, not a surprise: no ExperimentalWarning
    (it would fail a sweep run under -Werror)."""
    import warnings

    import optuna
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        storage = optuna.storages.RDBStorage(url, engine_kwargs=engine_kwargs(url), **kwargs)
    if claims and storage.engine.name == "sqlite":
        _serialized(storage.engine)
    return storage


SQLITE_BUSY_MS = 60_000  # how long a transaction waits for another worker's to end


def _serialized(engine: Any) -> None:
    """Optuna claims a queued trial (WAITING to RUNNING) by reading its state and writing it in one
    transaction, which ``SELECT ... FOR UPDATE`` makes atomic on PostgreSQL and MySQL. SQLite ignores
    that clause and pysqlite reads outside a transaction, so two workers could claim one trial and
    both run it. Here every transaction begins IMMEDIATE (SQLite's write lock, taken before its first
    read): the second worker then reads the trial RUNNING and leaves it (SQLAlchemy's pysqlite recipe)."""
    from sqlalchemy import event

    def connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # no implicit BEGIN: ``begin`` below opens each one
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_MS}")

    event.listen(engine, "connect", connect)
    event.listen(engine, "begin", lambda conn: conn.exec_driver_sql("BEGIN IMMEDIATE"))
    engine.dispose()  # the connection that created the tables predates ``connect``
