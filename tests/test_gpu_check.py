"""bench/gpu_check.sh, the GPU check, in its CPU dry run (so it cannot rot where no GPU is), and the
device choice and cuda marker on a machine without CUDA."""
from __future__ import annotations

import csv
import itertools
import os
import re
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from conftest import TINY, assert_one_line_error, run
from mnist_sweep import PROJECT_ROOT
from mnist_sweep.errors import MnistSweepError

try:  # the trial-side helpers moved to mnist_sweep.trial; older trees keep them in train
    from mnist_sweep import trial as device_module
except ImportError:
    from mnist_sweep import train as device_module

BENCH = PROJECT_ROOT / "bench"
CUDA = torch.cuda.is_available()
RESULT_FILES = {"summary.md", "env.txt", "cuda_tests.txt", "cpu_epoch.csv", "epoch.csv", "sweeps.csv", "sweep_logs.tar.gz",
                "log.txt"}
N_CUDA_TESTS = len(re.findall(r"^def test_", (PROJECT_ROOT / "tests" / "test_cuda.py").read_text(), re.M))


def bash(script: str, *args: str, timeout: int = 300, **extra_env: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("OUT", "MNIST_SWEEP_STORAGE", "MNIST_SWEEP_REQUIRE_CUDA")}
    env |= {"PYTHON": sys.executable, **extra_env}
    return subprocess.run(["bash", str(BENCH / script), *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=PROJECT_ROOT)


def rows(path: Path) -> list[dict]:
    return list(csv.DictReader(path.open()))


@pytest.fixture(scope="module")
def carry(tmp_path_factory) -> Path:
    """bench/gpu_prepare.sh --data-only (gzip of the 55 MB of MNIST, about 4 CPU-s), made once for the
    dry run and the Xeon trials; neither writes in it (the dry run unpacks into its own work dir)."""
    dest = tmp_path_factory.mktemp("gpu_carry")
    prep = bash("gpu_prepare.sh", "--data-only", "--dest", str(dest))
    assert prep.returncode == 0, prep.stderr
    return dest


# the two tests that use the carried data run on one xdist worker, which prepares it once
CARRY_GROUP = pytest.mark.xdist_group("gpu_carry")


@pytest.mark.slow
@CARRY_GROUP
def test_dry_run_runs_every_phase_on_cpu_with_the_carried_data(tmp_path, carry):
    out = tmp_path / "out"
    gz = sorted(p.name for p in (carry / "mnist").iterdir())
    assert gz == sorted(f"{n}.gz" for n in ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                           "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"))
    assert sum(p.stat().st_size for p in (carry / "mnist").iterdir()) < 16 * 2**20  # 55 MB raw

    proc = bash("gpu_check.sh", "--dry-run", "--out", str(out), "--carry", str(carry))
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    # what the device tool brings back: at most 8 plain files with plain names
    assert {p.name for p in out.iterdir()} == RESULT_FILES
    assert "all phases passed" in (out / "summary.md").read_text()
    env = (out / "env.txt").read_text()
    assert "mode: dry run" in env and f"MNIST_SWEEP_DATA={carry}" not in env and "MNIST_SWEEP_DATA=/" in env
    # the data the script used is the carried copy, unpacked (and verified) in its work dir
    assert "gpu_check." in env.split("MNIST_SWEEP_DATA=")[1].splitlines()[0]

    tests = (out / "cuda_tests.txt").read_text()
    if not CUDA:
        assert int(re.search(r"(\d+) skipped", tests).group(1)) >= N_CUDA_TESTS
        assert "passed" not in tests and "failed" not in tests
        assert "needs a CUDA GPU" in tests

    cpu = rows(out / "cpu_epoch.csv")  # the host CPU's precisions, run beside the CUDA tests
    assert [(r["status"], r["experiment"], r["requested"], r["precision"]) for r in cpu] == [
        ("ok", "tiny", "fp32", "fp32"), ("ok", "tiny", "bf16", "bf16")]
    assert all(r["epochs"] == "1" and float(r["epoch_s"]) > 0 and r["amx"] in ("True", "False") for r in cpu)

    epoch = rows(out / "epoch.csv")
    assert {r["status"] for r in epoch} == {"ok"}
    assert {(r["batch_size"], r["channels_last"], r["bf16"]) for r in epoch} == {
        (str(bs), str(cl), str(bf)) for bs, cl, bf in itertools.product((32, 128), (False, True), (False, True))}
    for r in epoch:  # the dry run's batches of 32 and 128 on 128 images (the GPU run's: 128 and 512, the whole split)
        assert r["model"] == "eva8_seed" and r["params"] == "17290" and r["device"] == "cpu"
        assert r["train_images"] == "128" and float(r["epoch_s"]) > 0 and float(r["images_per_s"]) > 0

    (sweep,) = rows(out / "sweeps.csv")
    assert sweep["status"] == "ok" and sweep["workers"] == "2"
    assert sweep["complete"] == sweep["trials"] == "2" and float(sweep["trials_per_min"]) > 0
    with tarfile.open(out / "sweep_logs.tar.gz") as tar:
        assert {"sweeps/w2/sweep.log", "sweeps/w2/worker-1.log", "sweeps/w2/leaderboard.csv"} <= set(tar.getnames())


def test_gpu_run_without_the_carried_wheels_stops_in_one_line(tmp_path):
    (tmp_path / "carry").mkdir()
    proc = bash("gpu_check.sh", "--out", str(tmp_path / "out"), "--carry", str(tmp_path / "carry"), timeout=60)
    assert proc.returncode == 1
    last = proc.stdout.strip().splitlines()[-1]
    assert "no wheels in" in last and "bench/gpu_prepare.sh" in last, proc.stdout
    assert "| setup | 1 |" in (tmp_path / "out" / "summary.md").read_text()


@pytest.mark.skipif(CUDA, reason="checks the behaviour without CUDA")
def test_cuda_tests_fail_instead_of_skipping_when_cuda_is_required(monkeypatch):
    """conftest's setup hook for ``cuda``-marked tests: a skip by default, a failure with
    MNIST_SWEEP_REQUIRE_CUDA=1. The dry run's cuda_tests phase sees the skips through a real pytest."""
    import conftest

    def outcome(marked: bool) -> tuple[str, str]:
        item = SimpleNamespace(get_closest_marker=lambda name: object() if marked and name == "cuda" else None)
        try:
            conftest.pytest_runtest_setup(item)
        except (pytest.skip.Exception, pytest.fail.Exception) as e:  # caught: a skip here must not skip this test
            return type(e).__name__, str(e)
        return "runs", ""

    monkeypatch.delenv(conftest.REQUIRE_CUDA_ENV, raising=False)
    kind, why = outcome(marked=True)
    assert kind == "Skipped" and "needs a CUDA GPU" in why
    monkeypatch.setenv(conftest.REQUIRE_CUDA_ENV, "1")
    kind, why = outcome(marked=True)
    assert kind == "Failed" and "MNIST_SWEEP_REQUIRE_CUDA=1" in why
    assert outcome(marked=False) == ("runs", "")  # unmarked tests run either way


@pytest.mark.skipif(CUDA, reason="checks the behaviour without CUDA")
def test_device_cuda_without_cuda_is_one_line_and_leaves_nothing(tmp_path):
    proc = run(["mnist_sweep.train", *TINY, "trainer.device=cuda", f"hydra.run.dir={tmp_path}/run"], cwd=tmp_path)
    assert_one_line_error(proc, "trainer.device: cuda requested but no CUDA device is available", "use auto or cpu")
    assert not (tmp_path / "run").exists()


def test_device_choice_with_and_without_gpus(monkeypatch):
    pick_device = device_module.pick_device
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device("auto", 3) == torch.device("cpu")
    for name in ("cuda", "cuda:1"):
        with pytest.raises(MnistSweepError, match=f"^trainer.device: {name} requested but no CUDA device"):
            pick_device(name)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 4)
    assert [str(pick_device("cuda", s)) for s in range(6)] == ["cuda:0", "cuda:1", "cuda:2", "cuda:3", "cuda:0", "cuda:1"]
    assert str(pick_device("auto", 6)) == "cuda:2" and str(pick_device("cuda:3", 0)) == "cuda:3"
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert str(pick_device("cuda", 5)) == "cuda"  # one GPU: every slot shares it


@pytest.mark.slow
@CARRY_GROUP
def test_xeon_trials_start_then_collect_returns_whole_trials_per_seed(tmp_path, carry):
    """bench/xeon_trials.sh: trials started in one call survive it, and the next call collects them."""
    work, out = tmp_path / "work", tmp_path / "out"
    smoke = ("--epochs 0 --seeds 1 2 --experiments tiny --precisions fp32 --deadline-s 120 --set data.train_limit=256 "
             "--set data.test_limit=128 --set trainer.max_epochs=2 --set trainer.save_curves=false")
    start = bash("xeon_trials.sh", "start", "--carry", str(carry), "--work", str(work), "--out", str(out),
                 "--wait", "0", XEON_ARGS=smoke)
    assert not (out / "trials.csv").exists()  # start returned while the trials ran on
    collect = bash("xeon_trials.sh", "collect", "--work", str(work), "--out", str(out))
    assert start.returncode == 0 and "started" in start.stdout, start.stderr
    assert collect.returncode == 0, collect.stderr
    got = rows(out / "trials.csv")
    assert [(r["status"], r["seed"], r["epochs"]) for r in got] == [("ok", "1", "2"), ("ok", "2", "2")]
    assert all(0 <= float(r["test_acc"]) <= 1 and float(r["wall_s"]) > 0 for r in got)
    with tarfile.open(out / "runs.tar.gz") as tar:
        assert {"runs/tiny_fp32_s1/metrics.csv", "runs/tiny_fp32_s2/result.json"} <= set(tar.getnames())


def test_xeon_trials_without_carried_data_or_a_start_stops_in_one_line(tmp_path):
    start = bash("xeon_trials.sh", "start", "--carry", str(tmp_path), "--work", str(tmp_path / "w"), "--out",
                 str(tmp_path / "o"), timeout=60)
    collect = bash("xeon_trials.sh", "collect", "--work", str(tmp_path / "none"), "--out", str(tmp_path / "o"))
    for proc, words in ((start, "has no mnist/*.gz"), (collect, "nothing started")):
        assert proc.returncode == 2 and proc.stderr.strip().count("\n") == 0 and words in proc.stderr


def test_cpu_epoch_reports_a_failed_run_as_a_row(tmp_path, monkeypatch, capsys):
    """A run that exits non-zero is a row with its exit status and the log's last line, not a crash.
    bench/cpu_epoch.py's main in this process (the dry run and the Xeon trials run the script itself,
    a new interpreter); its run is a new interpreter either way."""
    import importlib.util

    monkeypatch.setattr(sys, "path", list(sys.path))  # the script puts the repo first on it
    spec = importlib.util.spec_from_file_location("cpu_epoch", BENCH / "cpu_epoch.py")
    cpu_epoch = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cpu_epoch)
    out = tmp_path / "cpu.csv"
    rc = cpu_epoch.main(["--experiments", "tiny", "--precisions", "fp32", "--epochs", "1", "--set", "model.c1=-1",
                         "--work", str(tmp_path / "w"), "--out", str(out)])
    assert rc == 1, capsys.readouterr()
    (r,) = rows(out)
    assert r["status"].startswith("exit 2: ") and "model.c1" in r["status"] and r["seed"] == "1"
