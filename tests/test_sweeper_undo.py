"""_undo: a new sweep that trained nothing leaves nothing behind; a study, storage or dir that was
there keeps all it had. The sweep's start reads its storage once (``_resume.read``)."""
from __future__ import annotations

import optuna

from conftest import assert_one_line_error, run_inproc, sweep_args
from hydra_plugins.mnist_sweep_sweeper import _study
from mnist_sweep.errors import SweepError


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

