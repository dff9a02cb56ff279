"""mnist_sweep.storage: one redaction for every text, the clear-text password check, log filter."""
from __future__ import annotations

import logging

import pytest

from mnist_sweep.errors import LeaderboardError, SweepError
from mnist_sweep.storage import RedactFilter, check_no_clear_password, mask_url, missing_file, redact

SECRET = "hunter2"  # every password in these tests
LEAKY = [
    f"postgresql://me:{SECRET}@db:5432/x",
    f"postgresql+psycopg2://me:{SECRET}@db/x?sslmode=require",
    f"postgresql://me@db/x?password={SECRET}",
    f"postgresql://me@db/x?sslmode=require&PASSWORD={SECRET}",
    f"mysql://db/x?user=me&passwd={SECRET}",
    f"mssql://db/x?pwd={SECRET};x=1",
    f"Could not parse SQLAlchemy URL from string 'postgresql://me:{SECRET}@[bad'",
    f"connection to server failed: host=db user=me password={SECRET} dbname=x",
    f"redis://:{SECRET}@host:6379/0",
    f"postgresql://me@db/x?sslmode=verify-full&sslpassword={SECRET}",  # libpq: the client key's passphrase
]


@pytest.mark.parametrize("text", LEAKY)
def test_redact_masks_every_password(text):
    out = redact(text)
    assert SECRET not in out and "***" in out, out


@pytest.mark.parametrize("password", ["p@ss", "it's", 'say"hi', "two words", "a/b@c"])
def test_a_password_with_at_quote_or_space_is_masked_whole_and_refused(password):
    """SQLAlchemy takes a password written out with '@', quotes or spaces as it is: the mask
    stopped at the first of them and printed the rest (or all of it, and let the URL be saved)."""
    url = f"postgresql://me:{password}@db:5432/x"
    assert redact(url) == "postgresql://me:***@db:5432/x"
    assert redact(f"cannot open '{url}' (OperationalError)") == "cannot open 'postgresql://me:***@db:5432/x' (OperationalError)"
    assert redact("host=db password='two words' dbname=x") == "host=db password=*** dbname=x"  # libpq's quoting
    with pytest.raises(SweepError) as e:
        check_no_clear_password(url)
    assert password not in str(e.value)


@pytest.mark.parametrize("text", ["sqlite:///outputs/sweeps/s/optuna.db", "postgresql://me@db/x", "in-memory",
                                  "model.c1: must be >= 1, got 0", "https://user@example.com/a?b=c",
                                  "optuna-dashboard at http://127.0.0.1:8080/dashboard (me@example.com)",
                                  "http://localhost:8080 started by bob@host", "ftp://host:21, then me@host:22/x"])
def test_redact_leaves_secret_free_text_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize("url", LEAKY[:6])
def test_a_password_anywhere_in_a_storage_url_is_refused(url):
    with pytest.raises(SweepError) as e:
        check_no_clear_password(url)
    assert str(e.value).startswith("hydra.sweeper.storage: ") and SECRET not in str(e.value)


def test_interpolated_and_password_free_urls_pass():
    for url in ("${oc.env:MNIST_SWEEP_STORAGE}", "postgresql://me@db/x", "sqlite:///a.db", None,
                "postgresql://me:${oc.env:PGPASS,''}@db/x", 'postgresql://me:${oc.env:PGPASS,""}@db/x'):
        check_no_clear_password(url)
    assert mask_url(None) == "in-memory"


def test_every_error_text_is_redacted():
    """MnistSweepError redacts whatever it quotes (a driver's error text included)."""
    assert SECRET not in str(LeaderboardError(f"cannot open ({LEAKY[6]})"))


def test_log_filter_masks_messages_and_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "opened %s", (LEAKY[2],), None)
    assert RedactFilter().filter(record) and SECRET not in record.getMessage()


def test_missing_file_is_the_one_check_for_file_storages(tmp_path, monkeypatch):
    """Every reader (leaderboard, report, dashboard, the CLI flag schema) refuses through it."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "there.db").write_bytes(b"")
    assert missing_file("sqlite:///there.db") is None and missing_file(f"sqlite:///{tmp_path}/there.db") is None
    assert missing_file("postgresql://u@h/db") is None  # a server: nothing to look for here
    rel = missing_file("sqlite:///gone.db")
    assert rel == f"sqlite:///gone.db: no such SQLite file gone.db (relative to the current directory {tmp_path})"
    assert missing_file(f"journal:///{tmp_path}/j.log") == f"journal:///{tmp_path}/j.log: no such journal file {tmp_path}/j.log"
    assert missing_file("sqlite:///:memory:").endswith("names no SQLite file")
    assert "secret" not in missing_file("sqlite:///gone.db?password=secret")


def test_a_locked_sqlite_storage_says_another_process_holds_it(tmp_path):
    """A sweep holding its SQLite file in a write (here an exclusive lock, past SQLite's 5 s wait):
    the line asked whether it was an Optuna storage at all."""
    import sqlite3

    import optuna

    from mnist_sweep.errors import StorageError
    from mnist_sweep.storage import open_for_reading

    url = f"sqlite:///{tmp_path}/optuna.db"
    optuna.create_study(storage=url, study_name="s")
    holder = sqlite3.connect(tmp_path / "optuna.db")
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StorageError, match=r"database is locked.*another process holds it \(a sweep writing\); "
                                               r"run the command again in a moment$"):
            open_for_reading(url, "--storage")
    finally:
        holder.rollback()
        holder.close()


@pytest.mark.parametrize("url", ["foo://x/y", "journal://two-slashes.log", "sqlite://two-slashes.db",
                                 "postgresql://me@db:notaport/x", "mysql://me@127.0.0.1:1/x"])
def test_a_url_optuna_cannot_open_is_told_apart_from_a_server_down(tmp_path, url):
    """An unknown dialect, two slashes, a bad port, a driver not installed: the line asked whether
    the database server was running."""
    import importlib.util

    from conftest import assert_one_line_error, run_inproc

    if url.startswith("mysql") and importlib.util.find_spec("MySQLdb") is not None:
        pytest.skip("MySQL's driver is installed here")
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", url, "--study", "s"], cwd=tmp_path)
    hint = "its database driver is not installed here; install it or" if url.startswith("mysql") else \
        "not a URL Optuna can open;"
    line = assert_one_line_error(proc, f"--storage {url}: cannot open (", f"); {hint} use e.g. sqlite:///")
    assert "server running" not in line and list(tmp_path.iterdir()) == []


def test_a_damaged_journal_is_not_called_a_bad_url(tmp_path):
    """Optuna reads a journal's JSON on opening: a damaged record (a ValueError) said 'not a URL
    Optuna can open; use e.g. ...' of a URL that was right."""
    from conftest import assert_one_line_error, run_inproc

    (tmp_path / "journal.log").write_text('{"op_code": 0, "worker_id": "a", "study_name": "s", "directions": [1]}\n'
                                          '{garbage\n{"op_code": 0}\n')
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", f"journal:///{tmp_path}/journal.log", "--study", "s"],
                      cwd=tmp_path)
    line = assert_one_line_error(proc, "cannot open (JSONDecodeError", "is it an Optuna storage the sweep wrote?")
    assert "not a URL" not in line


def test_a_bare_at_in_a_password_is_refused_before_connecting(tmp_path):
    """SQLAlchemy splits at the first '@': the rest of the password became the host, and the
    driver's line ("failed to resolve host 'zq9rest@127.0.0.1'") printed it."""
    from conftest import TINY, assert_one_line_error, run

    url = "postgresql://me:hunter@zq9rest@127.0.0.1:1/db"
    proc = run(["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/s"],
               cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": url})
    assert_one_line_error(proc, "hydra.sweeper.storage", "more than one '@' before the host; write a '@' in the "
                                                         "password or user name as %40")
    assert "zq9rest" not in proc.stdout + proc.stderr


def test_a_directory_given_as_the_storage_file_is_named_so(tmp_path):
    """sqlite:///outputs/sweeps/NAME (the sweep dir in a URL): 'no such SQLite file' for a path
    that is there; the line names the database file in it."""
    from conftest import assert_one_line_error, run_inproc

    (tmp_path / "s").mkdir()
    (tmp_path / "s" / "optuna.db").write_bytes(b"")
    proc = run_inproc(["mnist_sweep.leaderboard", "--storage", "sqlite:///s", "--study", "x"], cwd=tmp_path)
    assert_one_line_error(proc, f"--storage: sqlite:///s: s is a directory (relative to the current directory {tmp_path}), "
                                "not a SQLite file (the optuna.db in it: sqlite:///s/optuna.db); give the storage of")
    assert missing_file(f"journal:///{tmp_path}") == f"journal:///{tmp_path}: {tmp_path} is a directory, not a journal file"


@pytest.mark.parametrize("scheme, kind, file", [("sqlite:///", "SQLite", "optuna.db"), ("journal:///", "journal", "journal.log")])
def test_a_sweep_given_a_directory_as_its_storage_file_names_it_and_a_file_in_it(tmp_path, scheme, kind, file):
    """A sweep whose storage URL names a directory: SQLite said 'unable to open database file; use
    e.g. sqlite:///outputs/...', of a URL whose only fault was the missing file name."""
    from conftest import TINY, assert_one_line_error, run

    (tmp_path / "dir").mkdir()
    proc = run(["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/s",
                f"hydra.sweeper.storage={scheme}{tmp_path}/dir"], cwd=tmp_path)
    assert_one_line_error(proc, f"hydra.sweeper.storage: {scheme}{tmp_path}/dir: {tmp_path}/dir is a directory, not a "
                                f"{kind} file; name a file, e.g. {scheme}{tmp_path}/dir/{file}")
    assert not list((tmp_path / "dir").iterdir()) and not (tmp_path / "s").exists()


@pytest.mark.parametrize("scheme", ["sqlite:///", "journal:///"])
def test_a_storage_path_under_tilde_is_refused_naming_the_full_path(tmp_path, scheme):
    """Nothing expands '~' in a URL: a sweep on sqlite:///~/x.db made a directory named '~' in the
    current one and its study in it, rc 0."""
    from pathlib import Path

    from conftest import TINY, assert_one_line_error, run

    proc = run(["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/s"],
               cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": f"{scheme}~/x.db"})
    assert_one_line_error(proc, f"hydra.sweeper.storage: {scheme}~/x.db: '~' is not expanded in a storage URL",
                          f"write the full path: {scheme}{Path('~/x.db').expanduser()}")
    assert list(tmp_path.iterdir()) == []
    assert "'~' is not expanded" in missing_file(f"{scheme}~/x.db")  # the read-only commands' check too


def test_a_password_in_the_query_string_is_never_recorded(tmp_path, monkeypatch):
    """$MNIST_SWEEP_STORAGE='postgresql://me@db/x?password=...' (psycopg takes it there): storage.json
    recorded the URL with its password; only the userinfo's was dropped."""
    from mnist_sweep import sweeps
    from mnist_sweep.storage import without_password

    assert without_password(f"postgresql://me:{SECRET}@db/x?sslmode=require&PassWord={SECRET}&sslpassword={SECRET}") \
        == "postgresql://me@db/x?sslmode=require"
    url = f"postgresql://me@db:5432/x?password={SECRET}"

    class Study:
        study_name, _storage = "s", type("Storage", (), {"url": url})()

    sweeps.record_storage(Study(), tmp_path)
    assert SECRET not in (tmp_path / sweeps.STORAGE_RECORD).read_text()
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", url)
    assert sweeps.find_storage(tmp_path)[0] == url  # read back with its password from the environment


@pytest.mark.parametrize("value", ["postgresql://me:hunter2@127.0.0.1:1/${oc.env:HOME}",
                                   "${oc.env:NO_SUCH_VAR_HERE,postgresql://me:hunter2@127.0.0.1:1/x}"])
def test_an_interpolation_does_not_hide_a_written_out_password(tmp_path, value):
    """Any '${' in the value skipped the check, and Hydra saved the password in every trial's config."""
    from conftest import TINY, assert_one_line_error, run

    proc = run(["mnist_sweep.train", "-m", *TINY, f"hydra.sweeper.storage='{value}'", "hydra.sweeper.n_trials=1",
                f"hydra.sweep.dir={tmp_path}/s"], cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.storage: '", "has its password in clear text")
    assert SECRET not in proc.stdout + proc.stderr and list(tmp_path.iterdir()) == []
    check_no_clear_password("postgresql://me:${oc.env:PW}@db/x")  # the password itself interpolated: fine


@pytest.mark.parametrize("key", ["password", "PWD", "sslpassword", "ssltoken", "Secret", "pass"])
def test_every_key_redact_masks_is_dropped_from_a_recorded_url(key):
    """One list of secret keys (errors.SECRET_KEYS) for the mask and for what a record keeps: the
    record's own list had only sslpassword of the ssl-prefixed keys that redact masked."""
    from mnist_sweep.storage import without_password

    url = f"postgresql://me@db/x?{key}={SECRET}&sslmode=require"
    assert SECRET not in redact(url) and without_password(url) == "postgresql://me@db/x?sslmode=require"


def test_a_percent_escaped_sqlite_path_is_the_file_sqlalchemy_opens(tmp_path):
    """sqlite:///my%20runs/optuna.db opens 'my runs/optuna.db' (SQLAlchemy decodes it); the
    existing study was 'no such SQLite file my%20runs/optuna.db' to every read-only command. A
    path with '%' or '?' in it is recorded escaped, so that it reads back as itself."""
    import optuna
    from sqlalchemy.engine import make_url

    from mnist_sweep.storage import open_for_reading, sqlite_path
    from mnist_sweep.sweeps import portable_url

    db = tmp_path / "my runs" / "optuna.db"
    db.parent.mkdir()
    optuna.create_study(study_name="s", storage=f"sqlite:///{db}")
    url = f"sqlite:///{tmp_path}/my%20runs/optuna.db"
    assert missing_file(url) is None and sqlite_path(url) == db
    assert open_for_reading(url, "--storage").get_all_studies()[0].study_name == "s"
    odd = tmp_path / "100% ?done" / "optuna.db"
    given = f"sqlite:///{tmp_path}/100%25%20%3Fdone/optuna.db"
    assert make_url(given).database == str(odd) == str(sqlite_path(given))
    recorded = portable_url(given, tmp_path)
    assert sqlite_path(recorded) == odd and make_url(recorded).database == str(odd), recorded


@pytest.mark.parametrize("case", ["a sweep dir named a%20b", "a URL whose written dir is there",
                                  "a URL whose written file is there", "the escaped URL"])
def test_a_sqlite_url_that_opens_another_file_than_the_path_written_in_it_is_one_line(tmp_path, case):
    """hydra.sweep.dir=.../a%20b: the default storage, sqlite:///${hydra.sweep.dir}/optuna.db, put the study
    in a new dir 'a b' beside the sweep dir; and sqlite:///x%20y/o.db with a dir x%20y there opened (made)
    'x y/o.db' without a word, the study in x%20y never read. One line each now, naming the file it would
    open and the URL that opens the one written, nothing made; that URL is taken, as one written so on
    purpose is where the path written is not there (documented: my%20runs is 'my runs')."""
    from conftest import assert_one_line_error, run_inproc

    args = ["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null", "model.c3=choice(8,16)"]
    d, there = tmp_path / "a%20b", tmp_path / "x%20y"
    if case == "a sweep dir named a%20b":
        proc = run_inproc([*args, f"hydra.sweep.dir={d}"], cwd=tmp_path)
        assert_one_line_error(proc, f"error: hydra.sweep.dir: {d}: its storage URL sqlite:///{d}/optuna.db would open "
                              f"{tmp_path}/a b/optuna.db, outside the sweep dir (SQLAlchemy reads each %XX",
                              f"or give hydra.sweeper.storage=sqlite:///{tmp_path}/a%2520b/optuna.db")
        assert list(tmp_path.iterdir()) == []
        return
    there.mkdir()
    if case == "a URL whose written file is there":
        import optuna
        optuna.create_study(study_name="s", storage=f"sqlite:///{there}/o.db".replace("%", "%25"))  # x%20y/o.db itself
    url = f"sqlite:///{there}/o.db".replace("%", "%25") if case == "the escaped URL" else f"sqlite:///{there}/o.db"
    proc = run_inproc([*args, f"hydra.sweep.dir={tmp_path}/s", f"hydra.sweeper.storage={url}"], cwd=tmp_path)
    if case == "the escaped URL":
        assert proc.returncode == 0, proc.stderr[-2000:]
    else:
        is_there = "which is there" if case.endswith("file is there") else "whose dir is there"
        assert_one_line_error(proc, f"error: hydra.sweeper.storage: {url}: it opens {tmp_path}/x y/o.db, not {there}/o.db, "
                              f"{is_there} (SQLAlchemy reads", f"write each '%' as %25: sqlite:///{tmp_path}/x%2520y/o.db")
        assert missing_file(url).startswith(f"{url}: it opens ")  # the readers: not 'no such SQLite file x y/o.db'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x%20y"]


@pytest.mark.parametrize("when", ["at the start's read", "after the start's read"])
def test_a_sweep_whose_server_never_answers_is_one_line_after_the_timeout(tmp_path, monkeypatch, when):
    """hydra.sweeper.storage on a host that takes the connection and says nothing (a hung server,
    another service's port): the sweep waited forever without a word. It now waits connect_timeout
    (open_hints.connect_args, the readers' too) once and says no server answered there. A server that
    answered the start's read and stopped before _study.open_study ended its line with the URL forms
    (use e.g. sqlite:///...), as if the URL were wrong; it says the same as at the read now."""
    import socket
    import threading

    from conftest import TINY, assert_one_line_error, run_inproc

    from hydra_plugins.mnist_sweep_sweeper import _resume
    from mnist_sweep import open_hints

    monkeypatch.setattr(open_hints, "CONNECT_TIMEOUT_S", 1)
    if when == "after the start's read":  # it answered: a new study
        monkeypatch.setattr(_resume, "read", lambda url, study_name: _resume.Stored(True, None, False))
    with socket.socket() as mute:
        mute.bind(("127.0.0.1", 0))
        mute.listen(4)  # never accepted, never answered; closed after 30 s: then a reset, not a timeout
        closer = threading.Timer(30, mute.close)
        closer.daemon = True
        closer.start()
        url = f"postgresql://u@127.0.0.1:{mute.getsockname()[1]}/db"
        proc = run_inproc(["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/s",
                           f"hydra.sweeper.storage={url}"], cwd=tmp_path)
        closer.cancel()
    assert_one_line_error(proc, f"hydra.sweeper.storage: {url}: cannot open (", "timeout expired",
                          "; no answer in 1 s: is a PostgreSQL server running at that host and port?")
    assert "sqlite:///" not in proc.stderr and not (tmp_path / "s").exists()


def test_a_sweep_whose_server_refuses_it_says_why_not_the_url_forms(tmp_path, pg_admin_url):
    """A server that answers and refuses (no password reached it) at the sweep's start ended its
    line with 'use e.g. sqlite:///...' as if the URL's form were wrong; it gets the readers' fix now (open_hints)."""
    from sqlalchemy.engine import make_url

    from conftest import TINY, assert_one_line_error, run_inproc

    url = make_url(pg_admin_url)._replace(password=None).render_as_string(hide_password=False)  # the server refuses it
    proc = run_inproc(["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/s",
                       f"hydra.sweeper.storage={url}"], cwd=tmp_path)
    assert_one_line_error(proc, f"hydra.sweeper.storage: {url}: cannot open (", "; no password reached the server")
    assert "sqlite:///" not in proc.stderr and not (tmp_path / "s").exists()
