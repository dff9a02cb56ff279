"""_undo: a new sweep that trained nothing leaves nothing behind; a study, storage or dir that was
there keeps all it had. The sweep's start reads its storage once (``_resume.read``)."""
from __future__ import annotations

import optuna
import pytest

from conftest import assert_one_line_error, run_inproc, sweep_args
from hydra_plugins.mnist_sweep_sweeper import _open
from mnist_sweep.errors import SweepError

OVER = ("model.c3=choice(200,256)", "hydra.sweeper.max_duplicates=3")  # the base config fits, no candidate does


def test_a_sweep_start_reads_its_storage_once_before_opening_it(tmp_path, monkeypatch):
    """_undo.Start opened the storage once more at every sweep's start only to ask whether the study
    was there (optuna.get_all_study_names), beside the sweep's own read of it; that read answers both."""
    url = f"sqlite:///{tmp_path}/shared.db"
    optuna.create_study(study_name="other", storage=url)
    opened: list[str] = []
    real_init = optuna.storages.RDBStorage.__init__

    def counted(self, url, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        opened.append(url)
        real_init(self, url, *args, **kwargs)

    def open_study(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202 - the opens before it counted, then stop
        raise SweepError(f"stopped at the open: {len(opened)} read(s) before it")

    monkeypatch.setattr(optuna.storages.RDBStorage, "__init__", counted)
    monkeypatch.setattr(_open, "open_study", open_study)
    args = [a if not a.startswith("hydra.sweeper.storage=") else f"hydra.sweeper.storage={url}"
            for a in sweep_args(tmp_path, "once", 1)]
    proc = run_inproc(args, cwd=tmp_path)
    assert_one_line_error(proc, "stopped at the open: 1 read(s) before it")
    assert optuna.get_all_study_names(url) == ["other"] and not (tmp_path / "once").exists()


@pytest.mark.parametrize("storage", ["new", "new journal", "there"])
def test_a_new_sweep_that_trains_nothing_removes_the_storage_file_it_made_outside_its_dir(tmp_path, monkeypatch, storage):
    """hydra.sweeper.storage=sqlite:////tmp/x/o.db, outside the sweep dir: the undone new sweep removed
    its sweep dir but left o.db (and /tmp/x) holding its study with no trained trial. A file it made
    goes, with the dirs made for it; a file that was there stays, only the new study taken out of it."""
    from hydra_plugins.mnist_sweep_sweeper import _corner
    monkeypatch.setattr(_corner, "check", lambda *a: None)  # refused at the start, where it can be told: not here
    where = tmp_path / "elsewhere" / "deep"
    url = f"journal:///{where / 'o.log'}" if storage == "new journal" else f"sqlite:///{where / 'o.db'}"
    if storage == "there":
        where.mkdir(parents=True)
        optuna.create_study(study_name="other", storage=url)
    args = [a if not a.startswith("hydra.sweeper.storage=") else f"hydra.sweeper.storage={url}"
            for a in sweep_args(tmp_path, "over", 2, *OVER)]
    proc = run_inproc(args, cwd=tmp_path)
    assert_one_line_error(proc, "model.max_params: no trial was trained")
    assert "not all removed" not in proc.stdout + proc.stderr and not (tmp_path / "over").exists()
    if storage == "there":
        assert [p.name for p in where.iterdir()] == ["o.db"] and optuna.get_all_study_names(url) == ["other"]
    else:
        assert list(tmp_path.iterdir()) == []  # o.db (o.log and its lock) and elsewhere/deep/ made for it: gone


def test_a_study_another_sweep_created_since_the_start_read_is_joined_and_never_deleted(tmp_path, monkeypatch):
    """Two sweeps started at once on one new study name: both read no such study, each took it for its own,
    and the one refused (here another direction) or training nothing deleted, by name, the study the other
    was training in. The study created since the read is now joined: checked as a resume, never undone."""
    from hydra_plugins.mnist_sweep_sweeper import _resume
    url = f"sqlite:///{tmp_path}/shared.db"
    optuna.create_study(study_name="other", storage=url)  # a shared storage file, there before both sweeps
    real_read = _resume.read

    def read_then_another_sweep_creates_it(storage, name):  # noqa: ANN001, ANN202
        stored = real_read(storage, name)  # no such study yet
        theirs = optuna.create_study(study_name=name, storage=storage, direction="minimize")
        theirs.tell(theirs.ask(), 1.0)  # the other sweep's first finished trial
        return stored

    monkeypatch.setattr(_resume, "read", read_then_another_sweep_creates_it)
    args = [a if not a.startswith("hydra.sweeper.storage=") else f"hydra.sweeper.storage={url}"
            for a in sweep_args(tmp_path, "race", 1)]
    assert_one_line_error(run_inproc(args, cwd=tmp_path), "direction")
    assert sorted(optuna.get_all_study_names(url)) == ["other", "race"]
    assert len(optuna.load_study(study_name="race", storage=url).trials) == 1


def test_opening_a_new_study_another_sweep_created_meanwhile_joins_it(tmp_path):
    """_open.open_study(new=True) creates the study exclusively: one made since the start's read is loaded, its
    trials kept, and on_joined told (the start's undo then leaves it alone)."""
    from hydra_plugins.mnist_sweep_sweeper import _open
    url = f"sqlite:///{tmp_path}/o.db"
    theirs = optuna.create_study(study_name="s", storage=url, direction="maximize")
    theirs.tell(theirs.ask(), 0.5)
    joined: list[bool] = []
    study = _open.open_study(url, "s", None, None, ["maximize"], None, None, new=True, on_joined=lambda: joined.append(True))
    assert joined == [True] and len(study.trials) == 1
    joined.clear()
    assert len(_open.open_study(url, "t", None, None, ["maximize"], None, None, new=True,
                                on_joined=lambda: joined.append(True)).trials) == 0 and joined == []
