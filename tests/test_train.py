from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from conftest import TINY
from mnist_sweep import model as mmodel
from mnist_sweep.errors import ConfigError, ParamBudgetExceeded
from mnist_sweep.next_steps import next_steps
from mnist_sweep.config.settings import SchedulerSettings, validate
from mnist_sweep.data import batch_bounds as batches
from mnist_sweep.training import make_scheduler, train


def test_short_run_lowers_the_loss_and_writes_its_files(cfg, tmp_path):
    c = cfg(*TINY, "trainer.max_epochs=3", "data.train_limit=1024")
    result = train(c, tmp_path)
    m = pd.read_csv(tmp_path / "metrics.csv")
    assert list(m.epoch) == [1, 2, 3]
    assert m.train_loss.iloc[-1] < m.train_loss.iloc[0]
    assert {"train_loss", "train_acc", "val_acc", "test_acc", "lr", "epoch_s", "images_per_s"} <= set(m.columns)
    saved = json.loads((tmp_path / "result.json").read_text())
    assert saved == result
    for key in ("params", "val_acc", "test_acc_final", "test_acc_best", "epoch_reached_target", "reached_target",
                "epochs", "wall_s", "seed", "device", "versions"):
        assert key in saved
    assert saved["params"] == 9_778 and saved["epochs"] == 3 and saved["value"] == m.val_acc.iloc[-1]
    assert saved["test_acc_best"] == m.test_acc.max() and saved["test_acc_final"] == m.test_acc.iloc[-1]
    state = torch.load(tmp_path / "model.pt", weights_only=True)
    net = mmodel.build(dict(c.model))
    net.load_state_dict(state)
    assert not (tmp_path / "curves.png").exists()  # TINY: trainer.save_curves=false
    assert next_steps(tmp_path, result)[0].endswith("; result.json, metrics.csv, model.pt)")


def test_same_seed_same_metrics_other_seed_differs(cfg, tmp_path):
    runs = [pd.read_csv(p / "metrics.csv") for p in _train_three(cfg, tmp_path)]
    cols = ["train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc", "lr"]
    pd.testing.assert_frame_equal(runs[0][cols], runs[1][cols], check_exact=True)
    assert not runs[0][cols].equals(runs[2][cols])


def _train_three(cfg, tmp_path):
    dirs = []
    for i, seed in enumerate([3, 3, 4]):
        d = tmp_path / str(i)
        d.mkdir()
        train(cfg(*TINY, f"trainer.seed={seed}"), d)
        dirs.append(d)
    return dirs


def test_target_epoch_recorded(cfg, tmp_path):
    result = train(cfg(*TINY, "trainer.target_acc=0.05"), tmp_path)
    assert result["epoch_reached_target"] == 1 and result["reached_target"] is True
    result = train(cfg(*TINY, "trainer.target_acc=1.0"), tmp_path)
    assert result["epoch_reached_target"] is None and result["reached_target"] is False


def test_over_budget_rejected_before_any_file(cfg, tmp_path):
    with pytest.raises(ParamBudgetExceeded):
        train(cfg(*TINY, "model.c3=64", "model.c4=64"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_assignment_protocol_selects_on_test(cfg, tmp_path):
    result = train(cfg(*TINY, "trainer.select_on=test"), tmp_path)
    assert result["selection_metric"] == "test_acc" and result["value"] == result["test_acc_final"]


def test_full_train_mode_without_validation(cfg, tmp_path):
    result = train(cfg(*TINY, "data.val_size=0", "trainer.select_on=test"), tmp_path)
    assert result["val_acc"] is None and result["test_acc_final"] > 0


@pytest.mark.parametrize("name", ["none", "step", "onecycle", "cosine"])
def test_schedulers(name, cfg):
    st = validate(cfg(f"scheduler={name}"))
    opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
    stepper = make_scheduler(opt, st.scheduler, epochs=2, steps_per_epoch=5)
    assert (stepper.sched is None) == (name == "none")
    assert stepper.per_batch == (name in ("onecycle", "cosine"))
    for _ in range(2):
        for _ in range(5):
            stepper.batch_done()
        stepper.epoch_done()


def test_batches_drop_a_trailing_single_sample():
    assert batches(129, 64) == [(0, 64), (64, 128)]
    assert batches(130, 64) == [(0, 64), (64, 128), (128, 130)]


def test_a_config_error_is_raised_before_any_file(cfg, tmp_path):
    """Every value check is in test_config_settings (and test_fuzz); train() runs them before any work."""
    with pytest.raises(ConfigError, match=r"^optimizer.lr: must be in \(0, 10\], got -1"):
        train(cfg(*TINY, "optimizer.lr=-1"), tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_epoch_guard_can_be_lifted(cfg):
    assert validate(cfg("trainer.max_epochs=30", "trainer.epoch_cap=30")).trainer.max_epochs == 30


@pytest.mark.parametrize("total", [1, 2, 3, 4, 5, 8])
def test_onecycle_with_very_few_steps(total):
    """pct_start x total_steps == 1 made torch's warm-up zero steps long (ZeroDivisionError)."""
    for pct in (0.25, 0.5, 0.2, 0.125):
        opt = torch.optim.SGD(torch.nn.Linear(2, 2).parameters(), lr=0.1, momentum=0.9)
        kw = {"pct_start": pct, "div_factor": 25.0, "final_div_factor": 1000.0}
        stepper = make_scheduler(opt, SchedulerSettings("onecycle", kw), epochs=1, steps_per_epoch=total)
        for _ in range(total):
            stepper.batch_done()
        assert max(g["lr"] for g in opt.param_groups) <= 0.1


def test_eva8_seed_on_500_images_one_epoch_trains(cfg, tmp_path):
    """The issue's example: 4 batches x pct_start 0.25 used to divide by zero inside OneCycleLR."""
    c = cfg("model=eva8_seed", *TINY, "data.train_limit=500", "data.batch_size=128", "trainer.max_epochs=1")
    assert train(c, tmp_path)["epochs"] == 1


def test_an_ema_of_the_weights_is_what_is_evaluated_and_saved(cfg, tmp_path):
    """trainer.ema_decay: the saved model.pt is the averaged copy (a plain Net's keys, the same
    parameter count), and its test accuracy, recomputed from the file, is the one the run reported."""
    from conftest import run
    from mnist_sweep import predict

    out = tmp_path / "ema"
    proc = run(["mnist_sweep.train", *TINY, "trainer.ema_decay=0.9", f"hydra.run.dir={out}"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    plain = train(cfg(*TINY), tmp_path / "plain")
    ema_state = torch.load(out / "model.pt", weights_only=True)
    plain_state = torch.load(tmp_path / "plain" / "model.pt", weights_only=True)
    assert set(ema_state) == set(plain_state) and json.loads((out / "result.json").read_text())["params"] == plain["params"]
    assert not all(torch.equal(ema_state[k], plain_state[k]) for k in plain_state)  # the average, not the last step
    assert predict.main([str(out), "--test"]) == 0  # "identical" to the recorded test_acc_final


def test_an_ema_decay_of_0_is_off_so_a_sweep_can_search_it(cfg, tmp_path):
    """0 averages nothing: the run is the plain run (same metrics, same weights), and a sweep can
    search choice(0, 0.999) (Hydra's choice takes no null)."""
    from conftest import run

    metrics = {}
    for name, extra in (("off", []), ("zero", ["trainer.ema_decay=0"])):
        train(cfg(*TINY, *extra), tmp_path / name)
        metrics[name] = pd.read_csv(tmp_path / name / "metrics.csv")
    cols = [c for c in metrics["off"].columns if c.endswith(("_acc", "_loss"))]
    pd.testing.assert_frame_equal(metrics["off"][cols], metrics["zero"][cols])
    a, b = (torch.load(tmp_path / n / "model.pt", weights_only=True) for n in ("off", "zero"))
    assert all(torch.equal(a[k], b[k]) for k in a)
    dry = run(["mnist_sweep.train", "-m", "trainer.ema_decay=choice(0,0.999)", "hydra.sweeper.dry_run=true"], cwd=tmp_path)
    assert dry.returncode == 0 and "trainer.ema_decay" in dry.stderr + dry.stdout, dry.stderr[-2000:]


@pytest.mark.parametrize("root, needle", [("emptyroot", "/MNIST/raw/train-images-idx3-ubyte: missing; run `"),
                                          ("a_file", ": not a directory; ")])
def test_bad_data_root_is_one_line_before_the_model_summary(tmp_path, root, needle):
    """Missing data is found before the model summary (it was printed first: ~55 lines), and the
    fix for a root of one's own is its fetch command (make data fetches to the default root)."""
    from conftest import assert_one_line_error, run_inproc

    (tmp_path / "emptyroot").mkdir()
    (tmp_path / "a_file").write_text("")
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/run", f"data.root={tmp_path / root}"],
                      cwd=tmp_path)
    line = assert_one_line_error(proc, f"{tmp_path / root}{needle}")
    assert "Layer (type" not in proc.stdout and "model summary" not in proc.stdout, proc.stdout
    assert root == "a_file" or line.endswith(f"-m mnist_sweep.data fetch --root {tmp_path / root}` to fetch it")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a_file", "emptyroot"]


def test_a_run_that_diverges_after_an_epoch_keeps_it_and_says_why_in_its_log(tmp_path, monkeypatch):
    """A NaN loss in epoch 2: one line naming optimizer.lr and the epoch, exit 2; the run dir keeps
    epoch 1 in metrics.csv and says in train.log why it stopped (it had no word of it)."""
    from conftest import assert_one_line_error, run_inproc
    from mnist_sweep import training
    from mnist_sweep.errors import DivergedError

    real, calls = training.train_epoch, []

    def diverging(*args, **kwargs):  # noqa: ANN002, ANN003
        calls.append(1)
        if len(calls) == 2:
            raise DivergedError("training loss became nan at step 3")
        return real(*args, **kwargs)

    monkeypatch.setattr(training, "train_epoch", diverging)
    run = tmp_path / "run"
    proc = run_inproc(["mnist_sweep.train", *TINY, "trainer.max_epochs=2", f"hydra.run.dir={run}"], cwd=tmp_path)
    line = assert_one_line_error(proc, "error: optimizer.lr: training loss became nan at step 3 of epoch 2 "
                                       "(optimizer.lr=0.05); lower it", "(epochs 1-1 are in metrics.csv)")
    assert proc.returncode == 2
    assert line.removeprefix("error: ") in (run / "train.log").read_text()
    assert len(pd.read_csv(run / "metrics.csv")) == 1 and not (run / "result.json").exists()


def test_the_test_images_are_batched_from_their_first_image_as_predict_batches_them(cfg, tmp_path, monkeypatch):
    """Val and test were one tensor cut into eval batches, so a batch held val and test images
    together, and ``predict --test`` (test images alone) matched the recorded accuracy only where
    a CPU's kernels give each image the same logits in any batch. Now each part has its own."""
    from mnist_sweep import checkpoint, training

    seen: list[tuple[torch.Tensor, int]] = []
    real = training.evaluate
    monkeypatch.setattr(training, "evaluate", lambda m, x, y, bs, *a: seen.append((x, bs)) or real(m, x, y, bs, *a))
    c = cfg(*TINY, "data.eval_batch_size=100")  # 256 val images: a batch of 100 would straddle val and test
    train(c, tmp_path)
    x_test = checkpoint.test_set(c)[0]
    assert any(bs == 100 and torch.equal(x, x_test) for x, bs in seen)
