"""A sweep whose surroundings fail (hydra_plugins.mnist_sweep_sweeper._faults): a full or
read-only sweep dir or storage stops it with one line and how to resume; the trial that met it is
lost, not failed, and the same command resumes. In-process, one worker, tiny trials."""
from __future__ import annotations

import errno
import os
import sqlite3

import optuna
import pytest
from optuna.trial import TrialState

from conftest import assert_one_line_error, load, run_inproc, snapshot, sweep_args
from hydra_plugins.mnist_sweep_sweeper import _faults, _open, _study
from mnist_sweep import cli

SPACE = "optimizer.lr=tag(log,interval(0.01,0.1))"


def _full_disk_on_call(monkeypatch, n: int) -> None:
    """The n-th trial's training meets a full disk writing its checkpoint (as results.atomic_write reports it)."""
    real, calls = cli.train, []

    def train(st, out_dir, **kwargs):  # noqa: ANN001, ANN202
        calls.append(out_dir)
        if len(calls) == n:
            raise OSError(errno.ENOSPC, "No space left on device", str(out_dir / "model.pt"))
        return real(st, out_dir, **kwargs)

    monkeypatch.setattr(cli, "train", train)


@pytest.mark.slow
def test_a_full_disk_stops_the_sweep_in_one_line_and_the_same_command_resumes(tmp_path, monkeypatch):
    """It was a failed trial (the config's fault, counted against n_trials) and the sweep went on,
    every later trial failing the same way."""
    args = sweep_args(tmp_path, "full", 2, SPACE)
    _full_disk_on_call(monkeypatch, 2)
    line = assert_one_line_error(run_inproc(args, cwd=tmp_path), "model.pt", "No space left on device",
                                 "run the same command again")
    assert "trial_0001" in line
    trials = load(tmp_path, "full").trials
    assert [(t.state, t.user_attrs["status"]) for t in trials] == [(TrialState.COMPLETE, "complete"),
                                                                   (TrialState.FAIL, "lost")]
    monkeypatch.undo()  # the disk has space again
    proc = run_inproc(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    done = [t for t in load(tmp_path, "full").trials if t.state == TrialState.COMPLETE]
    assert len(done) == 2 and done[0].number == 0  # the finished trial kept, the lost one replaced


@pytest.mark.slow
def test_a_storage_that_cannot_be_written_stops_the_sweep_in_one_line(tmp_path, monkeypatch):
    """The storage fails while a trial is told, and again while the open trials are marked lost:
    it was a three-part Optuna/sqlalchemy traceback ending in 'exceeding max length'."""
    def broken(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        try:
            raise sqlite3.OperationalError("database or disk is full")
        except sqlite3.OperationalError as e:
            raise optuna.exceptions.StorageInternalError("An exception is raised during the commit.") from e

    monkeypatch.setattr(_study, "record", broken)
    monkeypatch.setattr(_study, "lose", broken)
    line = assert_one_line_error(run_inproc(sweep_args(tmp_path, "db", 2, SPACE), cwd=tmp_path),
                                 "hydra.sweeper.storage", "database or disk is full", "run the same command again")
    assert "optuna.db" in line


def test_only_faults_of_the_surroundings_stop_a_sweep():
    assert _faults.message(OSError(errno.EROFS, "Read-only file system", "/x/trial_0001/metrics.csv")) is not None
    assert _faults.message(OSError(errno.ENOENT, "No such file or directory", "/x/data")) is None
    assert _faults.message(ValueError("bad return value")) is None
    assert _faults.message(RuntimeError("CUDA error")) is None


def test_a_locked_sqlite_storage_is_not_told_to_free_space():
    """SQLite's 'database is locked' (a writer held it past the timeout) said 'free space or make it
    writable', neither of which it needs."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    locked = OperationalError("UPDATE trials", {}, sqlite3.OperationalError("database is locked"))
    line = _faults.message(locked, "sqlite:///x/optuna.db")
    assert "database is locked" in line and "free space" not in line and "run the same command again" in line


def test_a_journal_cut_off_mid_record_is_mended_before_the_sweep_appends(tmp_path, caplog):
    """A worker killed (or a disk full) while appending left half a record: Optuna skips it when
    reading, but appended the resumed sweep's first record onto it, and the journal was unreadable
    from then on (JSONDecodeError: the sweep, leaderboard, dashboard)."""
    import logging

    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    path = tmp_path / "journal.log"
    url = f"journal:///{path}"
    first = optuna.create_study(study_name="s", storage=JournalStorage(JournalFileBackend(str(path))))
    first.tell(first.ask(), 0.5)
    whole = path.read_bytes()
    path.write_bytes(whole + b'{"op_code":4,"worker_id":"x","study_id":0,"sta')  # cut off mid-record
    with caplog.at_level(logging.WARNING, logger="hydra_plugins.mnist_sweep_sweeper"):
        study = _open.open_study(url, "s", None, None, ["minimize"], None, None)
    study.tell(study.ask(), 0.25)
    again = optuna.load_study(study_name="s", storage=JournalStorage(JournalFileBackend(str(path))))
    assert [t.value for t in again.trials] == [0.5, 0.25]
    assert path.read_bytes().startswith(whole) and "cut off" in caplog.text


def test_optimization_results_is_replaced_whole_or_not_at_all(tmp_path, monkeypatch):
    """The sweep's last write, interrupted halfway (a kill, a full disk): the file was cut off."""
    from omegaconf import OmegaConf

    from hydra_plugins.mnist_sweep_sweeper._impl import MnistOptunaSweeperImpl

    study = optuna.create_study(direction="maximize")
    study.tell(study.ask(), 0.5)
    before = "name: optuna\nbest_trial: 7\n"
    (tmp_path / "optimization_results.yaml").write_text(before)

    def cut_off(cfg, f):  # noqa: ANN001, ANN202
        with open(f, "w") as out:
            out.write("name: opt")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(OmegaConf, "save", cut_off)
    with pytest.raises(OSError):
        MnistOptunaSweeperImpl._report_best(None, study, tmp_path)
    assert (tmp_path / "optimization_results.yaml").read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["optimization_results.yaml"]


def test_a_url_the_storage_module_refuses_is_its_own_line_not_wrapped_again(tmp_path):
    """The storage module's StorageError is already one masked line with its fix; the sweep wrapped
    it in its own "cannot open '...' (StorageError: ...); use e.g. ..." around it."""
    from conftest import TINY

    url = "postgresql://me:hunter@zq9rest@127.0.0.1:1/db"
    proc = run_inproc(["mnist_sweep.train", "-m", *TINY, "hydra.sweeper.n_trials=1", f"hydra.sweep.dir={tmp_path}/s"],
                      cwd=tmp_path, env={"MNIST_SWEEP_STORAGE": url})
    line = assert_one_line_error(proc, "error: hydra.sweeper.storage: postgresql://me:***@",
                                 ": more than one '@' before the host; write a '@' in the password or user name as %40")
    assert "StorageError" not in line and "cannot open" not in line and "use e.g." not in line, line
    assert "hunter" not in proc.stdout + proc.stderr and "zq9rest" not in proc.stdout + proc.stderr


@pytest.mark.parametrize("ended, state", [("complete", TrialState.COMPLETE), ("pruned", TrialState.PRUNED)])
def test_a_run_that_ended_before_the_interrupt_is_told_not_lost(tmp_path, ended, state):
    """Two jobs at once (hydra.sweeper.n_jobs=2): Ctrl-C or SIGTERM while the slower one ran failed
    the batch's finished trial as lost too, its result.json on disk ('failed' with its accuracy on
    the leaderboard), and the resumed sweep trained a replacement."""
    import warnings

    from optuna.distributions import FloatDistribution

    from hydra_plugins.mnist_sweep_sweeper._loop import Hooks, Limits, Loop
    from hydra_plugins.mnist_sweep_sweeper._progress import Progress
    from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace
    from mnist_sweep import results

    def launch(jobs: list[list[str]]) -> list:  # the first job's run ends; the signal comes while the second runs
        sub = next(o.split("=", 1)[1] for o in jobs[0] if o.startswith("hydra.sweep.subdir="))
        results.write(tmp_path / sub, {"status": ended, "value": 0.9, "val_acc": 0.9, "params": 100, "epochs": 1})
        raise KeyboardInterrupt

    study = optuna.create_study(direction="maximize")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        study.set_metric_names(["val_acc"])
    loop = Loop(study, SearchSpace(values={"+x": FloatDistribution(0, 1)}), tmp_path, "trial_{number:04d}",
                Limits(2, 2, 0, 5, 1.0, None), Hooks(lambda overrides: None, launch, None, None, lambda number: None))
    with pytest.raises(KeyboardInterrupt):
        loop.run(Progress(2))
    assert [(t.state, t.user_attrs["status"]) for t in study.trials] == [(state, ended), (TrialState.FAIL, "lost")]
    assert state == TrialState.PRUNED or study.trials[0].values == [0.9]


def _loop(study, tmp_path, launch):  # noqa: ANN001, ANN202
    from optuna.distributions import FloatDistribution

    from hydra_plugins.mnist_sweep_sweeper._loop import Hooks, Limits, Loop
    from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace

    return Loop(study, SearchSpace(values={"+x": FloatDistribution(0, 1)}), tmp_path, "trial_{number:04d}",
                Limits(1, 1, 0, 5, 1.0, None), Hooks(lambda overrides: None, launch, None, None, lambda number: None))


def test_an_interrupt_while_a_finished_run_is_told_still_tells_it(tmp_path, monkeypatch):
    """A signal that landed while the sweep told a finished run (between taking it out of the runs
    in flight and telling the storage) left the trial RUNNING, neither told nor lost: the resume
    failed it as a dead worker's and trained a replacement (a finished seed of a repeated config:
    ran again over its result.json)."""
    from hydra.core.utils import JobReturn, JobStatus

    from hydra_plugins.mnist_sweep_sweeper._progress import Progress
    from mnist_sweep import results

    def launch(jobs: list[list[str]]) -> list:
        sub = next(o.split("=", 1)[1] for o in jobs[0] if o.startswith("hydra.sweep.subdir="))
        results.write(tmp_path / sub, {"status": "complete", "value": 0.9, "val_acc": 0.9, "params": 100, "epochs": 1})
        ret = JobReturn()
        ret.status, ret.return_value = JobStatus.COMPLETED, 0.9
        return [ret]

    real, calls = _study.record, []

    def record(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the signal lands as the first tell begins
        calls.append(1)
        if len(calls) == 1:
            raise KeyboardInterrupt("SIGTERM")
        return real(*args, **kwargs)

    monkeypatch.setattr(_study, "record", record)
    study = optuna.create_study(direction="maximize", storage=f"sqlite:///{tmp_path}/o.db")
    with pytest.raises(KeyboardInterrupt):
        _loop(study, tmp_path, launch).run(Progress(1))
    assert [(t.state, t.user_attrs["status"], t.values) for t in study.trials] == [(TrialState.COMPLETE, "complete", [0.9])]


def test_an_interrupt_inside_a_storage_transaction_does_not_keep_sqlites_lock(tmp_path, monkeypatch):
    """A SIGTERM that landed inside a storage transaction (BEGIN IMMEDIATE taken) left its cursor
    alive in the interrupt's traceback, and SQLite's write lock with it: the stopping sweep waited
    SQLITE_BUSY_MS (60 s) to mark its open trial lost and as long again to read it for the
    leaderboard, then failed both, the trial left RUNNING."""
    import time

    from sqlalchemy import event

    from hydra_plugins.mnist_sweep_sweeper._progress import Progress
    from mnist_sweep import storage as storage_module

    monkeypatch.setattr(storage_module, "SQLITE_BUSY_MS", 5000)  # a wait for the lock: 5 s, each write
    storage = storage_module.open_storage(f"sqlite:///{tmp_path}/o.db", claims=True)  # a sweep worker's
    study = optuna.create_study(direction="maximize", storage=storage)

    def interrupt(conn, cursor, statement, *args) -> None:  # noqa: ANN001
        if statement.startswith("SELECT"):  # after BEGIN IMMEDIATE, before the commit
            event.remove(storage.engine, "after_cursor_execute", interrupt)
            raise KeyboardInterrupt("SIGTERM")

    def launch(jobs: list[list[str]]) -> list:  # the signal lands while the storage is read
        event.listen(storage.engine, "after_cursor_execute", interrupt)
        study.get_trials()
        raise AssertionError("not interrupted")

    start = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        _loop(study, tmp_path, launch).run(Progress(1))
    assert time.monotonic() - start < 5.0  # no wait for the lock (a busy machine takes a second or so)
    assert [(t.state, t.user_attrs["status"]) for t in study.trials] == [(TrialState.FAIL, "lost")]


@pytest.mark.parametrize("reason, fix", [("database or disk is full", "free space or make it writable"),
                                         ("attempt to write a readonly database", "free space or make it writable"),
                                         ("database is locked", "another process held it")])
def test_a_storage_that_cannot_be_created_for_its_disk_is_not_told_to_change_its_url(tmp_path, monkeypatch, reason, fix):
    """A sweep started on a full disk said 'cannot open ... (database or disk is full); use e.g.
    sqlite:///outputs/sweeps/NAME/optuna.db, journal:///... or postgresql://...': the URL was right."""
    from sqlalchemy.exc import OperationalError

    from mnist_sweep.errors import SweepError

    def create_study(**kwargs):  # noqa: ANN003, ANN202
        raise OperationalError("CREATE TABLE studies", {}, sqlite3.OperationalError(reason))

    monkeypatch.setattr(optuna, "create_study", create_study)
    monkeypatch.setattr(_open.time, "sleep", lambda s: None)  # 'locked' is retried first, as a race of workers
    with pytest.raises(SweepError) as e:
        _open.open_study(f"sqlite:///{tmp_path}/o.db", "s", None, None, ["minimize"], None, None)
    line = str(e.value)
    assert line.startswith("hydra.sweeper.storage: ") and reason in line and fix in line, line
    assert "use e.g." not in line and "\n" not in line, line


def test_a_journal_storage_on_a_full_disk_is_not_told_to_change_its_url(tmp_path, monkeypatch):
    """A journal file that could not be written at the open (OSError: no space left on device) was
    'cannot open ... (OSError: [Errno 28] ...); use e.g. sqlite:///..., journal:///... or postgresql://...':
    the URL was right, the disk full. It reads as SQLite's full disk does now, with its way out."""
    from optuna.storages.journal import JournalFileBackend

    from mnist_sweep.errors import SweepError

    def full(self, logs):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(JournalFileBackend, "append_logs", full)
    with pytest.raises(SweepError) as e:
        _open.open_study(f"journal:///{tmp_path}/j.log", "s", None, None, ["minimize"], None, None, new=True)
    line = str(e.value)
    assert line.startswith("hydra.sweeper.storage: ") and "No space left on device; free space" in line, line
    assert "use e.g." not in line and "to resume" not in line and "its first trial" in line, line


def _sweep_on_a_full_disk(tmp_path, monkeypatch):
    """The sweep "full" run in-process, its storage's study creation failing as on a full disk."""
    from sqlalchemy.exc import OperationalError

    real = optuna.create_study

    def create_study(**kwargs):  # noqa: ANN003, ANN202 - the sampler's check creates one in memory
        if kwargs.get("storage") is None:
            return real(**kwargs)
        raise OperationalError("INSERT INTO studies", {}, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(optuna, "create_study", create_study)
    return run_inproc(sweep_args(tmp_path, "full", 1), cwd=tmp_path)


@pytest.mark.parametrize("shared", [False, True])
def test_a_sweep_started_on_a_full_disk_leaves_no_half_written_sweep_dir(tmp_path, monkeypatch, shared):
    """The storage file made, then its study not (SQLite's 'database or disk is full'): the new
    sweep dir stayed with a 0-byte optuna.db in it. A new study is undone, its one line kept; a
    storage file that was there (``shared``: another study's) is kept as it was, without a warning."""
    if shared:
        (tmp_path / "full").mkdir()
        optuna.create_study(study_name="other", storage=f"sqlite:///{tmp_path}/full/optuna.db")
    before = {k: v for k, v in snapshot(tmp_path).items() if k != "full"}  # the dir's mtime: a file made and removed
    proc = _sweep_on_a_full_disk(tmp_path, monkeypatch)
    assert_one_line_error(proc, "hydra.sweeper.storage", "database or disk is full", "free space")
    assert (tmp_path / "full").exists() == shared and "not all removed" not in proc.stdout + proc.stderr
    assert {k: v for k, v in snapshot(tmp_path).items() if k != "full"} == before


@pytest.mark.parametrize("resumed", [False, True])
def test_a_full_disk_at_the_start_says_resume_only_where_something_was_kept(tmp_path, monkeypatch, resumed):
    """The full-disk line ended 'run the same command again to resume (finished trials are kept)'
    also for a brand-new sweep, whose new study and files had just been removed: nothing to resume.
    A new sweep's line says it starts again from its first trial; a resumed one's keeps 'to resume'."""
    if resumed:
        (tmp_path / "full").mkdir()
        optuna.create_study(study_name="full", storage=f"sqlite:///{tmp_path}/full/optuna.db", direction="maximize")
    proc = _sweep_on_a_full_disk(tmp_path, monkeypatch)
    line = assert_one_line_error(proc, "hydra.sweeper.storage", "database or disk is full", "free space")
    if resumed:
        assert line.endswith("run the same command again to resume (finished trials are kept)"), line
        assert "full" in optuna.get_all_study_names(f"sqlite:///{tmp_path}/full/optuna.db")
    else:
        assert "resume" not in line and "nothing of this new sweep was kept" in line, line
        assert not (tmp_path / "full").exists()


@pytest.mark.parametrize("outside", [False, True])
def test_a_full_disk_writing_a_new_sweeps_storage_json_leaves_nothing(tmp_path, monkeypatch, outside):
    """The storage opened and the new study made, then storage.json not written (no space left on the
    device): the new empty study and its sweep dir were left behind, and the line said 'run the same
    command again to resume'. Undone now, as a full disk at the open is; its line says it starts again.
    ``outside``: the storage file made outside the sweep dir goes too."""
    from hydra_plugins.mnist_sweep_sweeper import _resume

    def full(config, sweep_dir, url, study_name):  # noqa: ANN001, ANN202
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(sweep_dir / "storage.json"))

    monkeypatch.setattr(_resume, "claim_sweep_dir", full)
    before = snapshot(tmp_path)
    args = sweep_args(tmp_path, "full", 1)
    if outside:
        args.append(f"hydra.sweeper.storage=sqlite:///{tmp_path}/elsewhere/o.db")
    proc = run_inproc(args, cwd=tmp_path)
    line = assert_one_line_error(proc, "storage.json", "No space left on device", "free space")
    assert "resume" not in line and "nothing of this new sweep was kept" in line, line
    assert snapshot(tmp_path) == before and "not all removed" not in proc.stdout + proc.stderr
