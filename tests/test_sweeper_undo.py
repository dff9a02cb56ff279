"""_undo: a new sweep that trained nothing leaves nothing behind; a study, storage or dir that was
there keeps all it had. The sweep's start reads its storage once (``_resume.read``)."""
from __future__ import annotations

import optuna
import pytest

from conftest import assert_one_line_error, run_inproc, sweep_args
from hydra_plugins.mnist_sweep_sweeper import _study
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
    monkeypatch.setattr(_study, "open_study", open_study)
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
