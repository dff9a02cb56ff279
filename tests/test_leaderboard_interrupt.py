"""leaderboard interrupted (Ctrl-C): its line says whether --out was written, as the file is at that moment."""
from __future__ import annotations

from mnist_sweep import leaderboard

TABLE = "rank,trial,status,params,val_acc,trial_dir\n1,0,complete,900,0.9,\n"


def _interrupt(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202, ARG001
    raise KeyboardInterrupt


def test_an_interrupt_says_whether_the_out_file_was_written(tmp_path, monkeypatch, capsys):
    """It said a bare 'interrupted', whatever it had written: now nothing (the folders it made removed again),
    or the --out file in place, complete, once it is written."""
    (tmp_path / "sw").mkdir()
    (tmp_path / "sw" / "leaderboard.csv").write_text(TABLE)
    out = tmp_path / "new" / "all.csv"
    monkeypatch.setattr(leaderboard, "write_csv", _interrupt)
    assert leaderboard.main([str(tmp_path / "sw"), "--out", str(out)]) == 130
    assert capsys.readouterr().err == "interrupted: nothing written; run the same command again\n"
    assert not (tmp_path / "new").exists()
    monkeypatch.undo()
    monkeypatch.setattr(leaderboard, "show", _interrupt)  # the moment after the file is in place
    assert leaderboard.main([str(tmp_path / "sw"), "--out", str(out)]) == 130
    assert capsys.readouterr().err == f"interrupted after writing {out}: it is complete\n" and out.is_file()
    assert leaderboard.main([str(tmp_path / "sw")]) == 130  # only read: nothing written
    assert capsys.readouterr().err == "interrupted: nothing written; run the same command again\n"
