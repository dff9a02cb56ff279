"""The CUDA paths on a real GPU: ``bench/gpu_check.sh`` runs these (``pytest -m cuda``) on the GPU
machine; anywhere without CUDA each one skips with a one-line reason (tests/conftest.py)."""
from __future__ import annotations

import json
import math

import pandas as pd
import pytest
import torch

from conftest import TINY, run, sweep_args
from mnist_sweep import model as mmodel
from mnist_sweep.errors import DivergedError
from mnist_sweep.training import train

from mnist_sweep.trial import gpu_slot, pick_device

pytestmark = pytest.mark.cuda

METRICS = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr"]
LR_SPACE = "optimizer.lr=tag(log,interval(0.01,0.1))"


def expected_device(slot: int) -> str:
    """What a job in GPU slot ``slot`` must train on with trainer.device=cuda on this machine."""
    n = torch.cuda.device_count()
    return f"cuda:{slot % n}" if n > 1 else "cuda"


def test_run_with_device_cuda_trains_on_the_gpu(cfg, tmp_path):
    c = cfg(*TINY, "trainer.device=cuda", "trainer.max_epochs=3", "data.train_limit=1024")
    torch.cuda.reset_peak_memory_stats()
    result = train(c, tmp_path)
    assert result["device"] == expected_device(0)
    assert torch.cuda.max_memory_allocated() > 0  # data and model really lived on the GPU
    m = pd.read_csv(tmp_path / "metrics.csv")
    assert list(m.epoch) == [1, 2, 3]
    assert all(math.isfinite(v) for v in m[METRICS].to_numpy().ravel())
    assert m.train_loss.iloc[-1] < m.train_loss.iloc[0]
    # the checkpoint of a GPU run opens on a machine without one
    state = torch.load(tmp_path / "model.pt", weights_only=True, map_location="cpu")
    mmodel.build(dict(c.model)).load_state_dict(state)


def test_same_seed_twice_on_cuda_gives_identical_metrics(cfg, tmp_path):
    runs = []
    for i, seed in enumerate([3, 3, 4]):
        d = tmp_path / str(i)
        d.mkdir()
        train(cfg(*TINY, "trainer.device=cuda", "trainer.max_epochs=2", f"trainer.seed={seed}"), d)
        runs.append(pd.read_csv(d / "metrics.csv")[METRICS])
    pd.testing.assert_frame_equal(runs[0], runs[1], check_exact=True)
    assert not runs[0].equals(runs[2])


def test_nan_loss_on_cuda_stops_the_run_as_diverged(cfg, tmp_path, monkeypatch):
    build = mmodel.build

    def poisoned(model_cfg, **kwargs):  # a NaN weight: the first loss is NaN, on the GPU
        net = build(model_cfg, **kwargs)  # fast_dropout=, as training passes it
        with torch.no_grad():
            net.fc.bias.fill_(float("nan"))
        return net

    monkeypatch.setattr(mmodel, "build", poisoned)
    with pytest.raises(DivergedError, match="training loss became nan"):
        train(cfg(*TINY, "trainer.device=cuda"), tmp_path)


def test_auto_and_cuda_pick_the_gpu_of_each_slot():
    assert pick_device("auto").type == "cuda"
    for slot in range(8):
        device = pick_device("cuda", slot)
        assert str(device) == expected_device(slot)
        assert torch.ones(2, device=device).sum().item() == 2  # a usable device, not just a name
    assert str(pick_device("cuda:0")) == "cuda:0"


def test_cli_run_with_device_cuda(tmp_path):
    proc = run(["mnist_sweep.train", *TINY, "trainer.device=cuda", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert json.loads((tmp_path / "run" / "result.json").read_text())["device"] == expected_device(0)


def _trial_devices(tmp_path, study: str) -> pd.DataFrame:
    board = pd.read_csv(tmp_path / study / "leaderboard.csv")
    board["device"] = [json.loads((tmp_path / study / d.rsplit("/", 1)[1] / "result.json").read_text())["device"]
                       for d in board.trial_dir]
    return board


def test_multigpu_launcher_jobs_train_on_their_gpu_slot(tmp_path):
    args = sweep_args(tmp_path, "mgpu", 2, LR_SPACE, "trainer.device=cuda")
    proc = run([*args, "hydra/launcher=multigpu", "hydra.sweeper.n_jobs=2"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = _trial_devices(tmp_path, "mgpu")
    assert list(board.status) == ["complete", "complete"]
    # one batch of two jobs (job numbers 0 and 1) from worker 0: slots 0 and 1
    assert sorted(board.device) == sorted(expected_device(gpu_slot(j, 2, 0)) for j in (0, 1))


def test_two_sweep_workers_share_the_gpu(tmp_path):
    args = [a if not a.startswith("hydra.sweeper.workers=") else "hydra.sweeper.workers=2"
            for a in sweep_args(tmp_path, "share", 4, LR_SPACE, "trainer.device=cuda")]
    proc = run(args, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    board = _trial_devices(tmp_path, "share")
    assert list(board.status) == ["complete"] * 4
    assert set(board.device) <= {expected_device(0), expected_device(1)}  # worker w trains in slot w
    assert (tmp_path / "share" / "worker-1.log").exists()  # the second worker was started
