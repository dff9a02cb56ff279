"""export: a trial as a ready +experiment config that trains to the trial's metrics, and its
weights as ONNX with parity against PyTorch checked by onnxruntime."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from conftest import assert_one_line_error, run, run_inproc, snapshot
from mnist_sweep import checkpoint, export, mnist_files
from mnist_sweep import data as mdata
from mnist_sweep.differences import COMPARED

pytestmark = pytest.mark.slow  # every test here needs the tiny sweep (built once per session)


@pytest.fixture(scope="module")
def exported(tiny_sweep, tmp_path_factory):
    """Rank 1 exported by the CLI (a subprocess) as DIR/experiment/best.yaml plus ONNX."""
    out = tmp_path_factory.mktemp("export")
    proc = run(["mnist_sweep.export", str(tiny_sweep.dir / "leaderboard.csv"), "--rank", "1",
                "--out", str(out / "cfg" / "experiment" / "best.yaml"), "--onnx", str(out / "best.onnx")], cwd=out)
    assert proc.returncode == 0, proc.stderr
    return out, proc.stdout


def test_exported_config_trains_to_the_trials_metrics(tiny_sweep, exported):
    out, stdout = exported
    cfg_file = out / "cfg" / "experiment" / "best.yaml"
    text = cfg_file.read_text()
    assert text.startswith("# @package _global_\n")
    body = yaml.safe_load(text)
    assert {"override /model": "cnn"} in body["defaults"] and {"override /optimizer": "sgd"} in body["defaults"]
    best = tiny_sweep.board.iloc[0]
    assert body["model"]["c3"] == best["hp.model.c3"] and body["optimizer"]["lr"] == best["hp.optimizer.lr"]
    assert body["model"]["widths"][3] == "${model.c3}"  # the trial's own interpolation, resolvable in the file
    assert "progress" not in body["trainer"]
    command = f"--config-dir {out / 'cfg'} +experiment=best"
    assert command in stdout and command in text  # the file says how to use it

    proc = run(["mnist_sweep.train", "--config-dir", str(out / "cfg"), "+experiment=best", f"hydra.run.dir={out}/run"],
               cwd=out)
    assert proc.returncode == 0, proc.stderr[-2000:]
    trial_dir = tiny_sweep.dir / f"trial_{int(best.trial):04d}"
    recorded, again = pd.read_csv(trial_dir / "metrics.csv"), pd.read_csv(out / "run" / "metrics.csv")
    assert len(recorded) == len(again) == 1
    assert (recorded[COMPARED] == again[COMPARED]).all().all()  # bit-identical: same protocol, seed, thread
    r1, r2 = (json.loads((d / "result.json").read_text()) for d in (trial_dir, out / "run"))
    assert (r2["params"], r2["val_acc"], r2["test_acc_final"]) == (r1["params"], r1["val_acc"], r1["test_acc_final"])


def onnx_matches(path, run: checkpoint.Run):  # noqa: ANN201
    """The ONNX file's onnxruntime session, checked against the run's PyTorch model on its test images."""
    import onnxruntime as ort

    x, _, _, _ = checkpoint.test_set(run.cfg)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for batch in (x[:1], x[:7], x):  # the batch dimension is dynamic
        got = session.run(None, {"image": batch.numpy()})[0]
        ref = checkpoint.logits(run.model, batch).numpy()
        assert got.shape == (len(batch), 10)
        assert (got.argmax(1) == ref.argmax(1)).all() and np.abs(got - ref).max() <= export.ONNX_TOLERANCE
    return session


def test_onnx_matches_pytorch(tiny_sweep, exported):
    out, stdout = exported
    m = re.search(r"on ([\d,]+) test images: same prediction on all, max \|logit diff\| ([\d.e+-]+) \(bound", stdout)
    assert m, stdout
    assert int(m.group(1).replace(",", "")) == 256 and float(m.group(2)) <= export.ONNX_TOLERANCE  # data.test_limit
    best = checkpoint.load(tiny_sweep.dir / f"trial_{int(tiny_sweep.board.trial.iloc[0]):04d}")
    x, y, _, _ = checkpoint.test_set(best.cfg)
    session = onnx_matches(out / "best.onnx", best)
    assert float((torch.from_numpy(session.run(None, {"image": x.numpy()})[0]).argmax(1) == y).float().mean()) == \
        json.loads((best.dir / "result.json").read_text())["test_acc_final"]


def raw_test_pixels(n: int) -> np.ndarray:
    """The first ``n`` test images as raw uint8 pixels, parsed here from the IDX file with numpy."""
    raw = (mnist_files.raw_dir(mnist_files.default_root()) / "t10k-images-idx3-ubyte").read_bytes()
    assert raw[:4] == bytes([0, 0, 8, 3])
    count, rows, cols = (int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(3))
    return np.frombuffer(raw, np.uint8, offset=16).reshape(count, rows, cols)[:n]


def test_onnx_metadata_alone_is_enough_to_use_it(tiny_sweep, exported):
    """A user with only onnxruntime and the file: the metadata says how to turn raw MNIST pixels
    into the input, and in which order the outputs are; the predictions are PyTorch's."""
    import onnxruntime as ort

    out, stdout = exported
    session = ort.InferenceSession(str(out / "best.onnx"), providers=["CPUExecutionProvider"])
    meta = session.get_modelmeta().custom_metadata_map
    for key, value in meta.items():
        assert f"    {key} = {value}\n" in stdout + "\n"  # the command printed every entry
    (inp,), (outp,) = session.get_inputs(), session.get_outputs()
    assert (inp.name, outp.name, meta["input_layout"]) == (meta["input_name"], meta["output_name"], "NCHW")
    shape = [-1 if d == "N" else int(d) for d in meta["input_shape"].split(",")]
    assert inp.shape[1:] == shape[1:] and inp.type == "tensor(float)" and meta["input_dtype"] == "float32"
    dtype = np.dtype(meta["input_dtype"])
    pixels = raw_test_pixels(1000)
    x = (pixels.astype(dtype) / dtype.type(meta["pixel_divisor"]) - dtype.type(meta["normalization_mean"])) \
        / dtype.type(meta["normalization_std"])
    logits = session.run([meta["output_name"]], {meta["input_name"]: x.reshape(shape)})[0]
    classes = np.array([int(c) for c in meta["class_order"].split(",")])
    assert logits.shape == (1000, len(classes)) and sorted(classes) == list(range(10))
    best = checkpoint.load(tiny_sweep.dir / f"trial_{int(tiny_sweep.board.trial.iloc[0]):04d}")
    x_ref, _, _, _ = checkpoint.test_set(best.cfg)  # the test tensors the trial was evaluated on
    assert np.abs(x[: len(x_ref)].reshape(shape) - x_ref.numpy()).max() < 1e-6
    _, _, test_images, _ = mnist_files.arrays(mnist_files.default_root())
    ref = checkpoint.logits(best.model, mdata.normalize(test_images[:1000])).numpy()  # as training normalizes
    assert (classes[logits.argmax(1)] == ref.argmax(1)).all() and np.abs(logits - ref).max() <= export.ONNX_TOLERANCE
    assert len(set(ref.argmax(1).tolist())) > 1  # the tiny model is not constant: the check means something
    assert meta["params"] == str(int(best.result["params"]))


def test_a_train_run_dir_exports_as_a_trial_does(tiny_sweep, tmp_path, capsys):
    """export RUN_DIR (python -m mnist_sweep.train's, in no sweep) said 'one run dir, not a sweep, and no
    leaderboard.csv above it; give a sweep dir': a config trained alone could not be kept or exported.
    A trained trial dir copied out of its sweep stands for one: no training here."""
    import shutil

    from mnist_sweep.reproduce import resolved

    run = tmp_path / "run"
    shutil.copytree(tiny_sweep.dir / f"trial_{int(tiny_sweep.board.trial.iloc[0]):04d}", run)
    out, onnx = tmp_path / "cfg" / "experiment" / "mine.yaml", tmp_path / "mine.onnx"
    assert export.main([str(run), "--out", str(out), "--onnx", str(onnx)]) == 0
    stdout = capsys.readouterr().out
    assert f"wrote {out}: the run in {run} as an experiment" in stdout and "same prediction on all" in stdout
    assert out.read_text().splitlines()[1] == f"# mine: the run in {run}, exported by python -m mnist_sweep.export"
    composed = resolved(["--config-dir", str(tmp_path / "cfg"), "+experiment=mine"], [])
    saved = resolved(["--config-path", str(run / ".hydra"), "--config-name", "config"], [])
    for cfg in (composed, saved):
        cfg["trainer"].pop("progress")  # display only: not exported
    assert {s: composed[s] for s in export.SECTIONS} == {s: saved[s] for s in export.SECTIONS}
    onnx_matches(onnx, checkpoint.load(run))


@pytest.mark.parametrize("extra, says", [
    (["--trial", "0"], "--trial: picks a row of a leaderboard, and {run} is one run dir"),
    (["--rank", "1"], "--rank: picks a row of a leaderboard, and {run} is one run dir"),
    ([], "{run}/result.json: status 'failed'; the run did not finish, nothing to export"),
])
def test_a_run_dir_with_a_leaderboard_pick_or_unfinished_is_refused_in_one_line(tmp_path, capsys, extra, says):
    """--rank/--trial pick a leaderboard row: a run dir has none; a run that did not finish has no config to keep."""
    from test_predict import made_run

    run = tmp_path / "run"
    made_run(run, **({"status": "failed"} if not extra else {}))
    before = snapshot(tmp_path)
    assert export.main([str(run), *extra, "--out", str(tmp_path / "experiment" / "m.yaml"),
                        "--onnx", str(tmp_path / "m.onnx")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: " + says.format(run=run)), err
    assert snapshot(tmp_path) == before and not (tmp_path / "experiment").exists()


def test_confirm_protocol(tiny_sweep, tmp_path, capsys):
    """The confirmation protocol is confirm's: every training and test image. It kept the trial's
    data.train_limit (1024 here) under a header saying 'every training image', so +experiment=NAME
    trained on 1,024 images while confirm --experiment NAME, which drops the limits, trained on 60,000."""
    out = tmp_path / "experiment" / "conf_run.yaml"
    assert export.main([str(tiny_sweep.dir), "--rank", "2", "--out", str(out), "--confirm"]) == 0
    body = yaml.safe_load(out.read_text())
    assert body["data"]["val_size"] == 0 and body["trainer"]["select_on"] == "test"
    assert body["data"]["train_limit"] is None and body["data"]["test_limit"] is None
    assert body["trainer"]["max_epochs"] == tiny_sweep.board.iloc[1]["epochs"]  # everything else is the trial's
    assert "protocol: confirmation (data.val_size=0, trainer.select_on=test): every training image" in out.read_text()


def test_failed_parity_writes_nothing(tiny_sweep, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(export, "onnx_parity", lambda path, run, batch_size=1000: (256, 0.5, 3))
    (tmp_path / "experiment").mkdir()
    assert export.main([str(tiny_sweep.dir), "--onnx", str(tmp_path / "m.onnx"),
                        "--out", str(tmp_path / "experiment" / "m.yaml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "disagrees with PyTorch on 3 of 256" in err[0] and "not written" in err[0]
    assert [p.name for p in tmp_path.rglob("*")] == ["experiment"]  # neither the ONNX file nor the config


def _bad(tmp_path, tiny_sweep):
    rejected = int(tiny_sweep.board.loc[tiny_sweep.board.status == "rejected", "trial"].iloc[0])
    exp = str(tmp_path / "experiment" / "x.yaml")
    return [
        ([str(tiny_sweep.dir), "--rank", "1"], ["--out", "--onnx"]),
        ([str(tiny_sweep.dir), "--out", str(tmp_path / "x.yaml")], ["--out", "experiment/NAME.yaml", "--config-dir"]),
        ([str(tiny_sweep.dir), "--out", str(tmp_path / "experiment" / "x.yml")], ["--out", "NAME.yaml"]),
        ([str(tiny_sweep.dir), "--out", str(tmp_path / "experiment" / "a b.yaml")], ["--out", "letters, digits"]),
        ([str(tiny_sweep.dir), "--out", str(tmp_path / "experiment" / "ä.yaml")], ["--out", "ASCII letters, digits"]),
        ([str(tiny_sweep.dir), "--out", str(tmp_path / "experiment" / "old.yaml")], ["already exists", "--force"]),
        ([str(tiny_sweep.dir), "--rank", "99", "--out", exp], ["--rank 99", f"has {len(tiny_sweep.board)} rows"]),
        ([str(tiny_sweep.dir), "--trial", str(rejected), "--out", exp], [f"trial {rejected} (rejected)", "never trained"]),
        ([str(tmp_path / "nowhere"), "--out", exp], ["nowhere", "no such file"]),
        ([str(tiny_sweep.dir), "--onnx", str(tmp_path / "m.pt")], ["--onnx", ".onnx"]),
    ]


def test_bad_inputs_one_line_nothing_written(tiny_sweep, tmp_path, capsys):
    (tmp_path / "experiment").mkdir()
    (tmp_path / "experiment" / "old.yaml").write_text("keep me\n")
    for args, needles in _bad(tmp_path, tiny_sweep):
        assert export.main(args) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: "), (args, err)
        for needle in needles:
            assert needle in err[0], (args, err[0])
        assert sorted(p.name for p in tmp_path.rglob("*")) == ["experiment", "old.yaml"], args
        assert (tmp_path / "experiment" / "old.yaml").read_text() == "keep me\n"


def test_bad_input_subprocess(tiny_sweep, tmp_path):
    assert_one_line_error(run(["mnist_sweep.export", str(tiny_sweep.dir), "--out", "x.yaml"], cwd=tmp_path, process=True),
                          "--out x.yaml", "experiment")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("with_hydra_yaml", [True, False])
def test_group_options_are_kept(tmp_path, with_hydra_yaml):
    """The experiment overrides the groups the trial used (from hydra.yaml's choices, else each
    option's own name key), so adamw's keys are not merged onto sgd's."""
    from omegaconf import OmegaConf

    from conftest import make_cfg_hydra

    cfg = make_cfg_hydra("optimizer=adamw", "scheduler=step", "model.c3=24")
    hydra_dir = tmp_path / "trial_0000" / ".hydra"
    hydra_dir.mkdir(parents=True)
    OmegaConf.save({k: cfg[k] for k in export.SECTIONS}, hydra_dir / "config.yaml")
    if with_hydra_yaml:
        OmegaConf.save({"hydra": {"runtime": {"choices": {"model": "cnn", "optimizer": "adamw", "scheduler": "step",
                                                           "data": "mnist", "trainer": "default"}}}}, hydra_dir / "hydra.yaml")
    body, defaults = export.experiment(tmp_path / "trial_0000")
    assert {"override /optimizer": "adamw"} in defaults and {"override /scheduler": "step"} in defaults
    assert body["model"]["c3"] == 24 and "betas" in body["optimizer"]


@pytest.mark.parametrize("bad", ["--out", "--onnx"])
def test_both_files_or_neither(tmp_path, monkeypatch, bad):
    """An --out that could not be written failed after the ONNX file was written (9 s of export),
    leaving it and the dirs made for it; an --onnx that could not be written was named by its
    temporary file (.a.onnx.tmp.onnx)."""
    from test_predict import made_run

    made_run(tmp_path / "trial_0000")
    (tmp_path / "leaderboard.csv").write_text(f"rank,trial,status,trial_dir\n1,0,complete,{tmp_path / 'trial_0000'}\n")
    (tmp_path / "afile").write_text("")
    out, onnx = tmp_path / "new" / "experiment" / "a.yaml", tmp_path / "new" / "onnx" / "a.onnx"
    if bad == "--out":
        out = tmp_path / "afile" / "experiment" / "a.yaml"
    else:  # a directory that takes no new files (chmod 000 does not stop root, who runs CI)
        def refused(run, path):  # noqa: ANN001, ANN202
            raise PermissionError(13, "Permission denied", str(path))

        monkeypatch.setattr(export, "export_onnx", refused)
    files = lambda: {p: v for p, v in snapshot(tmp_path).items() if not (tmp_path / p).is_dir()}  # noqa: E731
    before, dirs = files(), sorted(tmp_path.rglob("*"))
    proc = run_inproc(["mnist_sweep.export", str(tmp_path), "--out", str(out), "--onnx", str(onnx), "--force"],
                      cwd=tmp_path)
    assert_one_line_error(proc, "afile" if bad == "--out" else f"--onnx: {onnx}: Permission denied")
    assert files() == before and sorted(tmp_path.rglob("*")) == dirs


def test_the_printed_train_command_quotes_a_config_dir_with_a_space(tmp_path):
    """'--config-dir /tmp/my configs +experiment=a' was printed unquoted: pasted, it failed."""
    import shlex

    line = export.usage(tmp_path / "my configs" / "experiment" / "a.yaml")
    assert shlex.split(line)[-2:] == [str((tmp_path / "my configs").resolve()), "+experiment=a"]


def test_the_printed_train_command_names_this_interpreter_as_every_command_does(tmp_path):
    """The hint said a bare 'python -m mnist_sweep.train': outside the venv, pasted, it ran
    another Python (no torch); the other commands print the interpreter's path."""
    import shlex
    import sys

    from mnist_sweep import PROJECT_ROOT
    from mnist_sweep.commandline import interpreter

    for out in (PROJECT_ROOT / "conf" / "experiment" / "a.yaml", tmp_path / "experiment" / "a.yaml"):
        words = shlex.split(export.usage(out))
        assert words[:3] == [interpreter(sys.executable), "-m", "mnist_sweep.train"] and words[-1] == "+experiment=a"


@pytest.mark.parametrize("saved", [None, True])
def test_a_key_the_saved_config_lacks_is_written_as_the_run_took_it(tmp_path, saved):
    """A trial from before trainer.fast_dropout ran torch's dropout (the schema's false); its
    experiment had no such key, so +experiment composed conf/trainer's true onto it and trained
    other masks than the trial's."""
    from omegaconf import OmegaConf

    from conftest import make_cfg_hydra

    cfg = make_cfg_hydra()
    hydra_dir = tmp_path / "trial_0000" / ".hydra"
    hydra_dir.mkdir(parents=True)
    saved_cfg = {k: OmegaConf.to_container(cfg[k]) for k in export.SECTIONS}
    saved_cfg["trainer"].pop("fast_dropout")
    if saved is not None:
        saved_cfg["trainer"]["fast_dropout"] = saved
    OmegaConf.save(saved_cfg, hydra_dir / "config.yaml")
    body, _ = export.experiment(tmp_path / "trial_0000")
    assert body["trainer"]["fast_dropout"] is (saved is True)
