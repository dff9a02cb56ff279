"""What a finished command prints last (mnist_sweep/next_steps.py); the sweep's closing lines on
real sweeps are in test_leaderboard.py and test_sweeper_console.py."""
from __future__ import annotations

from mnist_sweep.next_steps import next_steps

RESULT = {"val_acc": 0.9, "test_acc_final": 0.8, "params": 9_778}


def test_a_run_without_model_pt_suggests_no_predict(tmp_path):
    """trainer.save_checkpoint=false: no predict command (predict on it fails), a line says why."""
    lines = next_steps(tmp_path, RESULT)
    assert lines[0].endswith("; result.json, metrics.csv)")
    assert not any("mnist_sweep.predict" in line for line in lines)
    assert lines[-1] == "predict needs model.pt, which trainer.save_checkpoint=false did not write"
    (tmp_path / "model.pt").write_bytes(b"")
    lines = next_steps(tmp_path, RESULT)
    assert [line.split(":")[0] for line in lines[1:]] == ["classify images", "check on the test set"]
