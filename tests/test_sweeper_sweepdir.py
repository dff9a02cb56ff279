"""A sweep dir and its study belong together: the default SQLite storage lives in hydra.sweep.dir
(a new dir is a new study, the same dir resumes), and a dir whose recorded storage or study
differs from the sweep's is refused in one line before anything is written."""
from __future__ import annotations

import json

import pytest

from conftest import assert_one_line_error, make_cfg_hydra, run, snapshot, sweep_args
from mnist_sweep.config.sweeper_checks import check_sweep_dir
from mnist_sweep.errors import SweepError

FOLLOWS_DIR = "hydra.sweeper.storage=sqlite:///${hydra.sweep.dir}/optuna.db"  # = the conf default, spelled out


def record(sweep_dir, storage: str, study: str = "s") -> None:
    sweep_dir.mkdir(parents=True, exist_ok=True)
    (sweep_dir / "storage.json").write_text(json.dumps({"study_name": study, "storage": storage, "cwd": "/"}))


def test_the_default_storage_follows_the_sweep_dir(monkeypatch, tmp_path):
    """conf/config.yaml (every search): ${oc.env:MNIST_SWEEP_STORAGE,sqlite:///${hydra.sweep.dir}/optuna.db}."""
    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    cfg = make_cfg_hydra(f"hydra.sweep.dir={tmp_path}/b", "hydra.sweeper.study_name=s")
    assert cfg.hydra.sweeper.storage == f"sqlite:///{tmp_path}/b/optuna.db"
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", "postgresql://me@db/sweeps")  # an explicit storage is unchanged
    assert make_cfg_hydra(f"hydra.sweep.dir={tmp_path}/b").hydra.sweeper.storage == "postgresql://me@db/sweeps"


def test_a_recorded_storage_that_differs_is_refused_with_both_urls(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "a"
    record(d, "postgresql://me@db/sweeps")
    check_sweep_dir(make_cfg_hydra(f"hydra.sweep.dir={d}", "hydra.sweeper.study_name=s",
                                   "hydra.sweeper.storage=postgresql://me@db/sweeps"))  # the same: resumes
    monkeypatch.setenv("MNIST_SWEEP_STORAGE", "postgresql://me:s3cret@db/other")
    cfg = make_cfg_hydra(f"hydra.sweep.dir={d}", "hydra.sweeper.study_name=s")
    with pytest.raises(SweepError) as e:
        check_sweep_dir(cfg)
    msg = str(e.value)
    assert msg.startswith("hydra.sweeper.storage: ") and "postgresql://me@db/sweeps" in msg, msg
    assert "postgresql://me:***@db/other" in msg and "s3cret" not in msg and "storage.json" in msg, msg
    monkeypatch.delenv("MNIST_SWEEP_STORAGE")
    with pytest.raises(SweepError, match=r"^hydra.sweeper.study_name: .* belongs to study 's'.*not to 't'"):
        check_sweep_dir(make_cfg_hydra(f"hydra.sweep.dir={d}", "hydra.sweeper.study_name=t",
                                       "hydra.sweeper.storage=postgresql://me@db/sweeps"))
    # a relative SQLite path is the file it names from here: the same file, however spelled
    record(d, f"sqlite:///{tmp_path}/x/optuna.db")
    check_sweep_dir(make_cfg_hydra(f"hydra.sweep.dir={d}", "hydra.sweeper.study_name=s",
                                   "hydra.sweeper.storage=sqlite:///x/optuna.db"))
    with pytest.raises(SweepError, match="in-memory"):
        check_sweep_dir(make_cfg_hydra(f"hydra.sweep.dir={d}", "hydra.sweeper.study_name=s", "hydra.sweeper.storage=null"))


def test_a_dir_of_an_in_memory_studys_trials_is_refused_whatever_the_storage(monkeypatch, tmp_path):
    """Its trials (storage null) are in no storage: a sweep there numbered its trials from 0 again, failed
    on trial_0000's finished run and rewrote leaderboard.csv with that one failed row."""
    monkeypatch.chdir(tmp_path)
    d = tmp_path / "m"
    (d / "trial_0000" / ".hydra").mkdir(parents=True)
    (d / "trial_0000" / ".hydra" / "hydra.yaml").write_text(
        "hydra:\n  mode: MULTIRUN\n  sweeper:\n    storage: null\n    study_name: m\n"
        "    trial_dir: trial_{number:04d}\n  runtime:\n    cwd: /\n")
    for storage in ("null", "sqlite:///x.db"):
        with pytest.raises(SweepError, match=r"^hydra.sweeper.storage: the sweep dir .*m holds the trials of an "
                                             r"in-memory study .*trial_0000/.hydra/hydra.yaml.*give a new hydra.sweep.dir$"):
            check_sweep_dir(make_cfg_hydra(f"hydra.sweep.dir={d}", "hydra.sweeper.study_name=m",
                                           f"hydra.sweeper.storage={storage}"))
    check_sweep_dir(make_cfg_hydra(f"hydra.sweep.dir={tmp_path}/new", "hydra.sweeper.storage=null"))  # a new dir


def test_the_sweep_refuses_another_studys_dir_before_writing_anything(tmp_path):
    d = tmp_path / "a"
    record(d, f"sqlite:///{tmp_path}/a/optuna.db", study="a")
    (d / "leaderboard.csv").write_text("trial,status\n")
    before = snapshot(tmp_path)
    args = [a for a in sweep_args(tmp_path, "a", 1, "model.c3=choice(8,16)") if not a.startswith("hydra.sweeper.storage")]
    proc = run([*args, f"hydra.sweeper.storage=sqlite:///{tmp_path}/elsewhere.db"], cwd=tmp_path)
    line = assert_one_line_error(proc, "hydra.sweeper.storage", f"sqlite:///{tmp_path}/a/optuna.db",
                                 f"sqlite:///{tmp_path}/elsewhere.db")
    assert proc.returncode == 2 and line.startswith("error: "), line
    assert snapshot(tmp_path) == before  # no database created, no dir, no leaderboard rewritten


def contents(d) -> dict[str, bytes | None]:
    """Every path under ``d`` with its bytes (None for a dir)."""
    return {str(p.relative_to(d)): None if p.is_dir() else p.read_bytes() for p in sorted(d.rglob("*"))}


@pytest.mark.parametrize("deleted", ["storage file", "storage.json"])
def test_a_sweep_dir_holding_another_studys_finished_run_is_refused_before_anything_is_written(tmp_path, deleted):
    """trial_0000 holds a finished run the study lacks: the dir's own storage file deleted (its trial's
    .hydra/hydra.yaml names it), or its storage.json deleted and another storage given. The sweep
    stopped at its first trial, having created the database, written storage.json and rewritten
    leaderboard.csv; now it stops before it opens the study, the dir as it was."""
    d = tmp_path / "a"
    (d / "trial_0000" / ".hydra").mkdir(parents=True)
    (d / "trial_0000" / "result.json").write_text("{}\n")
    (d / "leaderboard.csv").write_text("rank,trial,status\n1,0,complete\n")
    storage = f"sqlite:///{d}/optuna.db" if deleted == "storage file" else f"sqlite:///{tmp_path}/new.db"
    if deleted == "storage file":
        (d / "trial_0000" / ".hydra" / "hydra.yaml").write_text(
            f"hydra:\n  mode: MULTIRUN\n  sweeper:\n    storage: {storage}\n    study_name: a\n"
            "    trial_dir: trial_{number:04d}\n  runtime:\n    cwd: /\n")
    before = contents(tmp_path)
    args = [a for a in sweep_args(tmp_path, "a", 1, "model.c3=choice(8,16)") if not a.startswith("hydra.sweeper.storage")]
    proc = run([*args, f"hydra.sweeper.storage={storage}"], cwd=tmp_path)
    assert_one_line_error(proc, f"{d}/trial_0000: already holds a finished run but the study 'a' has no such trial",
                          "use a new hydra.sweep.dir")
    assert contents(tmp_path) == before  # no database, no storage.json, the leaderboard as it was


@pytest.mark.parametrize("sub", ["", "/sub"])
def test_a_file_in_the_way_of_the_sweep_dir_is_named_as_a_file(tmp_path, sub):
    """hydra.sweep.dir naming a file (or a dir under one): the line said 'File exists; choose a
    writable directory or fix its permissions', which no permission fixes; it names the file now."""
    (tmp_path / "a").write_text("notes\n")
    args = [a for a in sweep_args(tmp_path, "a", 1, "model.c3=choice(8,16)") if not a.startswith("hydra.sweep.dir=")]
    proc = run([*args, f"hydra.sweep.dir={tmp_path}/a{sub}"], cwd=tmp_path)
    assert_one_line_error(proc, f"hydra.sweep.dir: {tmp_path}/a{sub}: ", f"({tmp_path}/a is a file, not a directory); "
                                "move the file or choose a writable directory")
    assert (tmp_path / "a").read_text() == "notes\n" and sorted(p.name for p in tmp_path.iterdir()) == ["a"]


def test_a_sweep_started_beside_another_studys_into_one_dir_stops_before_any_trial(tmp_path, monkeypatch):
    """Two sweeps of different studies started at once into one sweep dir: both passed the dir's
    check before either had recorded its study, and each wrote its trials into the other's trial
    dirs (trial_0000 of x, then of y). Now the first to open its study claims the dir; the other,
    finding the record there, stops in one line naming it."""
    from hydra_plugins.mnist_sweep_sweeper import _open

    opened = _open.open_study

    def open_beside_another(*args, **kwargs):  # the other sweep records its study meanwhile
        study = opened(*args, **kwargs)
        record(tmp_path / "b", f"sqlite:///{tmp_path}/b/optuna.db", study="other")
        return study

    monkeypatch.setattr(_open, "open_study", open_beside_another)
    proc = run(sweep_args(tmp_path, "b", 1, "model.c3=choice(8,16)"), cwd=tmp_path)
    assert_one_line_error(proc, "hydra.sweeper.study_name: the sweep dir", "belongs to study 'other'", "not to 'b'")
    assert not list((tmp_path / "b").glob("trial_*")) and not list((tmp_path / "b").glob(".storage.json.*"))
    assert json.loads((tmp_path / "b" / "storage.json").read_text())["study_name"] == "other"


def test_a_sweep_records_its_study_in_its_dir_before_any_trial(tmp_path, monkeypatch):
    from hydra_plugins.mnist_sweep_sweeper import _loop
    seen = []
    monkeypatch.setattr(_loop.Loop, "run", lambda self, progress: seen.append(
        json.loads((tmp_path / "c" / "storage.json").read_text())))
    run(sweep_args(tmp_path, "c", 1, "model.c3=choice(8,16)"), cwd=tmp_path)
    assert seen == [{"study_name": "c", "storage": f"sqlite:///{tmp_path}/c/optuna.db", "cwd": str(tmp_path)}]


@pytest.mark.slow
def test_a_new_sweep_dir_is_a_new_study_and_the_same_dir_resumes(tmp_path):
    def sweep(directory: str, n: int):
        args = [a for a in sweep_args(tmp_path, "s", n, "optimizer.lr=tag(log,interval(0.01,0.1))")
                if not a.startswith(("hydra.sweeper.storage", "hydra.sweep.dir"))]
        return run([*args, f"hydra.sweep.dir={tmp_path / directory}", FOLLOWS_DIR], cwd=tmp_path)

    for directory in ("a", "b"):  # the same study name, two dirs: two studies, one trial each
        proc = sweep(directory, 1)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "study s in sqlite:///" in proc.stdout + proc.stderr and "0 of 1 trial done" in proc.stdout + proc.stderr
        recorded = json.loads((tmp_path / directory / "storage.json").read_text())
        assert recorded["storage"] == f"sqlite:///{tmp_path / directory}/optuna.db"
    again = sweep("a", 1)  # the same dir: resumed, nothing left to train
    assert again.returncode == 0, again.stderr[-3000:]
    assert "1 of 1 trial done or running; 0 to go" in again.stdout + again.stderr
    assert len(list((tmp_path / "a").glob("trial_*"))) == 1 and len(list((tmp_path / "b").glob("trial_*"))) == 1


@pytest.mark.parametrize("err", ["EPERM", "EOPNOTSUPP"])
def test_a_sweep_dir_on_a_file_system_without_hard_links_is_claimed_all_the_same(tmp_path, monkeypatch, err):
    """storage.json is claimed by a hard link (whole or not at all); where the file system has none
    (some FUSE or SMB mounts: EPERM, EOPNOTSUPP), it is created exclusively instead: the sweep
    stopped with the OSError."""
    import errno
    import os

    from hydra_plugins.mnist_sweep_sweeper import _resume

    def no_links(*args, **kwargs):
        raise OSError(getattr(errno, err), os.strerror(getattr(errno, err)))

    monkeypatch.setattr(os, "link", no_links)
    (tmp_path / "c").mkdir()
    _resume.claim_sweep_dir(None, tmp_path / "c", f"sqlite:///{tmp_path}/c/optuna.db", "c")
    assert json.loads((tmp_path / "c" / "storage.json").read_text())["study_name"] == "c"
    assert sorted(p.name for p in (tmp_path / "c").iterdir()) == ["storage.json"]  # no temporary left


def test_a_sweep_dir_named_a_percent_escape_offers_the_study_an_earlier_sweep_put_beside_it(monkeypatch, tmp_path):
    """A sweep made in a%20b before the check put its optuna.db in 'a b' (SQLAlchemy decodes %20):
    resuming it was refused with only 'choose a sweep dir without %XX, or give storage=...a%2520b...'
    (a new study, whose trial dirs clash with the old one's); where that file is there the line says how
    to resume the old study, and that override is taken."""
    import shlex

    import optuna

    from conftest import run_inproc

    monkeypatch.delenv("MNIST_SWEEP_STORAGE", raising=False)
    old = tmp_path / "a b" / "optuna.db"
    old.parent.mkdir()
    optuna.create_study(study_name="mnist_sweep", storage=f"sqlite:///{old}", direction="maximize")  # as the sweep (7a971ed: checked)
    args = ["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null", "model.c3=choice(8,16)",
            f"hydra.sweep.dir={tmp_path}/a%20b"]
    before = snapshot(tmp_path)
    line = assert_one_line_error(run_inproc(args, cwd=tmp_path), f"error: hydra.sweep.dir: {tmp_path}/a%20b: ",
                                 f"{old} is there (a sweep of this dir before this check put its study in it): "
                                 f"resume it with 'hydra.sweeper.storage=sqlite:///{old}'")
    assert snapshot(tmp_path) == before
    resume = shlex.split(line.split("resume it with ", 1)[1].split(", or ", 1)[0])
    assert run_inproc([*args, *resume], cwd=tmp_path).returncode == 0
