"""What a finished command prints last (mnist_sweep/next_steps.py); the sweep's closing lines on
real sweeps are in test_leaderboard.py and test_sweeper_console.py."""
from __future__ import annotations

from pathlib import Path

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
    """export takes a train run's dir (91e8642): a run's last lines name the command, model.pt or not; with
    model.pt, its ONNX file too, as README teaches (it suggested the experiment file alone)."""
    for model in (False, True):
        if model:
            (tmp_path / "model.pt").write_bytes(b"")
        (line,) = [x for x in next_steps(tmp_path, RESULT) if x.startswith("keep it as an experiment: ")]
        assert line.endswith(f"-m mnist_sweep.export {tmp_path} --out conf/experiment/NAME.yaml" +
                             " --onnx NAME.onnx" * model), line


def test_a_finished_sweeps_export_command_keeps_the_weights_as_readme_teaches(tmp_path):
    """A sweep's closing lines said 'export SWEEP --rank 1 --out conf/experiment/NAME.yaml' without --onnx, while
    README's step 4 keeps config and weights; a trial without model.pt (export --onnx fails on it) gets none."""
    import shlex

    trial = tmp_path / "trial_0000"
    (trial / ".hydra").mkdir(parents=True)
    (trial / ".hydra" / "config.yaml").write_text("{}")
    pd.DataFrame([{"rank": 1, "trial": 0, "status": "complete", "trial_dir": str(trial), "val_acc": 0.9,
                   "params": 9778}]).to_csv(tmp_path / "leaderboard.csv", index=False)
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    assert "--out conf/experiment/NAME.yaml --onnx NAME.onnx" in readme
    for model in (False, True):
        if model:
            (trial / "model.pt").write_bytes(b"")
        (export,) = [shlex.split(x)[2:] for x in closing_lines(tmp_path) if "mnist_sweep.export" in x]
        assert export == ["mnist_sweep.export", str(tmp_path), "--rank", "1", "--out", "conf/experiment/NAME.yaml",
                          *["--onnx", "NAME.onnx"] * model], export


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
