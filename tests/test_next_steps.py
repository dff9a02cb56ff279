"""What a finished command prints last (mnist_sweep/next_steps.py); the sweep's closing lines on
real sweeps are in test_leaderboard.py and test_sweeper_console.py."""
from __future__ import annotations

import pandas as pd

from mnist_sweep.next_steps import closing_lines, next_steps

RESULT = {"val_acc": 0.9, "test_acc_final": 0.8, "params": 9_778}


def test_a_run_without_model_pt_suggests_no_predict(tmp_path):
    """trainer.save_checkpoint=false: no predict command (predict on it fails), a line says why."""
    lines = next_steps(tmp_path, RESULT)
    assert lines[0].endswith("; result.json, metrics.csv)")
    assert not any("mnist_sweep.predict" in line for line in lines)
    assert lines[-1] == "predict needs model.pt, which trainer.save_checkpoint=false did not write"
    (tmp_path / "model.pt").write_bytes(b"")
    lines = next_steps(tmp_path, RESULT)
    assert [line.split(":")[0] for line in lines[1:]] == ["keep it as an experiment", "classify images", "check on the test set"]


def test_a_run_suggests_export_of_its_own_dir(tmp_path):
    """export takes a train run's dir (91e8642): a run's last lines name the command, model.pt or not."""
    for model in (False, True):
        if model:
            (tmp_path / "model.pt").write_bytes(b"")
        (line,) = [x for x in next_steps(tmp_path, RESULT) if x.startswith("keep it as an experiment: ")]
        assert line.endswith(f"-m mnist_sweep.export {tmp_path} --out conf/experiment/NAME.yaml")


def test_a_sweep_with_no_trial_complete_names_its_report(tmp_path):
    """Every trial pruned or failed: report.html is written, and the closing lines now say where
    (they named only the leaderboard); no report, no line."""
    pd.DataFrame([{"rank": 1, "trial": 0, "status": "pruned", "trial_dir": str(tmp_path / "trial_0000"),
                   "val_acc": 0.1, "params": 9778}]).to_csv(tmp_path / "leaderboard.csv", index=False)
    assert closing_lines(tmp_path) == [f"no trial completed; leaderboard: {tmp_path / 'leaderboard.csv'}"]
    (tmp_path / "report.html").write_text("<html></html>")
    assert closing_lines(tmp_path)[1:] == [f"report: {tmp_path / 'report.html'}"]
    (tmp_path / "leaderboard.csv").unlink()  # hydra.sweeper.on_trial_end=null, a report written by on_sweep_end
    assert closing_lines(tmp_path)[1:] == [f"report: {tmp_path / 'report.html'}"]
