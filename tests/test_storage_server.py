"""A sweep's PostgreSQL server that goes away mid-sweep (stopped, restarted, out of reach): the line that
stops the sweep says so and how to resume, not a disk's fix. No server needed: the errors are built as
psycopg and SQLAlchemy raise them."""
from __future__ import annotations

import psycopg
import pytest
from sqlalchemy.exc import OperationalError

from hydra_plugins.mnist_sweep_sweeper import _faults

URL = "postgresql://me:***@db:5432/sweeps"


def _wrapped(root: Exception) -> OperationalError:
    """``root`` as SQLAlchemy raises it (from the driver's error)."""
    try:
        raise OperationalError("UPDATE trials", {}, root) from root
    except OperationalError as e:
        return e


@pytest.mark.parametrize("root", [
    psycopg.errors.AdminShutdown("terminating connection due to administrator command"),  # pg_ctl stop mid-sweep
    psycopg.OperationalError('connection failed: connection to server at "127.0.0.1", port 5432 failed: Connection refused'),
    psycopg.OperationalError("consuming input failed: server closed the connection unexpectedly"),
], ids=["shutdown", "refused", "closed"])
def test_a_server_gone_mid_sweep_is_not_told_to_free_space(root):
    """pg_ctl stop during a trial stopped the sweep saying 'free space or make it writable', which a
    stopped server never needs."""
    line = _faults.message(_wrapped(root), URL)
    assert "free space" not in line and "closed the connection or stopped answering" in line
    assert line.startswith("hydra.sweeper.storage: ") and line.endswith(_faults.AGAIN) and "\n" not in line


def test_a_servers_full_disk_or_a_file_storage_keeps_the_disks_fix():
    full = psycopg.errors.DiskFull('could not extend file "base/16384/16399": No space left on device')
    assert "free space" in _faults.message(_wrapped(full), URL)
    gone = psycopg.OperationalError("server closed the connection unexpectedly")
    assert "free space" in _faults.message(_wrapped(gone), "sqlite:///x/optuna.db")


def test_a_password_missing_from_the_environments_own_url_is_not_called_another_url(monkeypatch):
    """$MNIST_SWEEP_STORAGE holding the URL without its password (the sweep reads it): the line said
    '($MNIST_SWEEP_STORAGE holds another URL, <that same URL>)'."""
    from mnist_sweep.open_hints import cannot_open

    url = "postgresql://mnist@127.0.0.1:55432/h"
    error = psycopg.OperationalError('connection failed: connection to server at "127.0.0.1" failed: '
                                     "fe_sendauth: no password supplied")
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", url)
    line = cannot_open("hydra.sweeper.storage", url, error, is_file=False)
    assert "another URL" not in line and "($MNIST_SWEEP_STORAGE holds this URL without one)" in line
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", url + "x")
    assert f"($MNIST_SWEEP_STORAGE holds another URL, {url}x)" in cannot_open("--storage", url, error, is_file=False)


def test_a_server_restart_between_two_uses_of_the_storage_is_not_a_fault(pg_url, pg_admin_url):
    """A PostgreSQL restart (or an idle timeout) ends every pooled connection; Optuna pings them before use for
    MySQL only, so the sweep's next write, the server back, met 'terminating connection due to administrator
    command' and stopped. pg_terminate_backend ends them as a restart does."""
    import optuna
    from sqlalchemy.engine import make_url

    from mnist_sweep.storage import open_storage

    storage = open_storage(pg_url)
    study = optuna.create_study(study_name="restarted", storage=storage)
    study.ask()  # the pool now holds a connection
    with psycopg.connect(pg_admin_url, autocommit=True) as admin:
        ended = admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                              "pg_backend_pid()", (make_url(pg_url).database,)).fetchall()
    assert ended and all(row[0] for row in ended)
    assert study.ask().number == 1 and len(study.get_trials()) == 2


class _Trial:
    """A live trial whose storage is gone: each report fails as Optuna's does."""
    number = 7

    def __init__(self) -> None:
        self.reported: list[int] = []

    def set_user_attr(self, key, value) -> None:  # noqa: ANN001
        pass

    def report(self, value, epoch) -> None:  # noqa: ANN001
        import optuna

        raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from _wrapped(
            psycopg.OperationalError("connection failed: connection to server at \"db\" failed: Connection refused"))

    def should_prune(self) -> bool:
        return False


def test_a_storage_gone_at_the_last_epochs_report_keeps_the_run(monkeypatch, caplog):
    """The server stopped as a trial's last epoch ended: its report failed the job before result.json was
    written, and the resume trained it again (lost). A run that paid for every epoch is kept (the sweep or
    its resume tells it from its result.json); an earlier epoch's failed report still stops the run."""
    from mnist_sweep import trial

    monkeypatch.setattr(trial, "live_trial", lambda cfg: _Trial())
    hook = trial.pruning_hook(object(), max_epochs=3)
    with pytest.raises(Exception, match="commit"):
        hook(2, 0.5)
    hook(3, 0.5)  # no exception: training writes result.json
    assert "trial 7: its last epoch was not reported to the storage (connection failed: " in caplog.text
    monkeypatch.setattr(_Trial, "report", lambda self, value, epoch: (_ for _ in ()).throw(ValueError("not finite")))
    with pytest.raises(ValueError):  # the trial's own fault is no storage's
        trial.pruning_hook(object(), max_epochs=3)(3, float("nan"))


def test_a_sweep_with_heartbeats_prints_no_optuna_warning_that_they_belong_to_optimize(tmp_path):
    """hydra.sweeper.heartbeat_interval (docs/distributed.md's advice for workers on several machines) printed
    Optuna's 'UserWarning: Heartbeat of storage is supposed to be used with Study.optimize.' with its file and
    line on every sweep's console (and failed it under -Werror): the sweep asks and tells with heartbeats on purpose."""
    import warnings

    from conftest import run_inproc, sweep_args

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proc = run_inproc(sweep_args(tmp_path, "hb", 1, "hydra.sweeper.heartbeat_interval=60"), cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not [w for w in caught if "Heartbeat of storage" in str(w.message)]
    assert "Heartbeat of storage" not in proc.stderr + proc.stdout


def test_a_failed_heartbeat_says_why(caplog):
    """A heartbeat that failed (the server stopped) said only 'heartbeat for trial 0 failed: StorageInternalError',
    Optuna's wrapper; the line now gives the driver's words (redacted) and when it is tried again."""
    import threading

    import optuna

    from hydra_plugins.mnist_sweep_sweeper._liveness import Heartbeat

    beats = Heartbeat.__new__(Heartbeat)
    beats.interval, beats.stop = 0.01, threading.Event()
    beats.in_flight = [type("T", (), {"number": 0})()]

    def beat(trial) -> None:  # noqa: ANN001
        beats.stop.set()
        raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from _wrapped(
            psycopg.OperationalError('connection failed: connection to server at "postgresql://me:pw@db/x" failed'))

    beats.beat = beat
    with caplog.at_level("WARNING"):
        beats._run()
    assert ("heartbeat for trial 0 failed (StorageInternalError: connection failed: connection to server at "
            '"postgresql://me:***@db/x" failed); retried in') in caplog.text


def test_a_bad_connection_parameter_is_not_retried_as_workers_racing(caplog):
    """postgresql://...?connect_timeout=abc (psycopg's ProgrammingError 'bad value for connect_timeout') was
    taken for workers racing to create the schema: 'storage busy being created by another worker
    (ProgrammingError); retrying' four times, 5 s, then the line."""
    from hydra_plugins.mnist_sweep_sweeper import _open
    from mnist_sweep.errors import SweepError

    url = "postgresql://me@127.0.0.1:1/x?connect_timeout=abc"
    with caplog.at_level("INFO"), pytest.raises(SweepError, match="bad value for connect_timeout"):
        _open.open_study(url, "s", None, None, ["maximize"], None, None)
    assert "retrying" not in caplog.text


def test_a_postgres_scheme_is_told_to_be_postgresql(monkeypatch):
    """postgres://... (Heroku's and libpq's spelling) said 'Can't load plugin: sqlalchemy.dialects:postgres;
    not a URL Optuna can open; use e.g. sqlite:///...', naming no fix of its own."""
    from mnist_sweep.storage import open_for_reading

    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    with pytest.raises(Exception, match=r"^--storage postgres://me@db/x: cannot open \(NoSuchModuleError: .*; SQLAlchemy "
                                        r"reads PostgreSQL's URLs as postgresql://, not postgres://: write postgresql://"):
        open_for_reading("postgres://me@db/x", "--storage")
