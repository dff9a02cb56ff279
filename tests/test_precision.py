"""mnist_sweep.precision: fp32 and bf16 as asked; auto decided once per machine (by its CPU's
instructions or a short measurement) and cached, without touching the training's random state."""
from __future__ import annotations

import json

import pandas as pd
import pytest
import torch

from conftest import TINY
from mnist_sweep import precision
from mnist_sweep.training import train

CPU = torch.device("cpu")


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(precision.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_explicit_precisions_pass_through(cache):
    assert precision.resolve("fp32", CPU) == "fp32" and precision.resolve("bf16", CPU) == "bf16"
    assert not cache.exists()  # nothing measured, nothing cached


def test_a_cpu_without_bf16_instructions_is_fp32_without_measuring(cache, monkeypatch):
    monkeypatch.setattr(precision, "cpu_identity", lambda: ("Old CPU", {"avx2", "fma"}))
    monkeypatch.setattr(precision, "measure", lambda *a, **k: pytest.fail("measured"))
    decision = precision.auto_decision(CPU)
    assert decision["precision"] == "fp32" and "no bf16 instructions" in decision["why"]


@pytest.mark.parametrize("bf16_rate, expected", [(1500.0, "bf16"), (1050.0, "fp32"), (800.0, "fp32")])
def test_auto_measures_once_and_caches_the_decision(cache, monkeypatch, bf16_rate, expected):
    monkeypatch.setattr(precision, "cpu_identity", lambda: ("New CPU", {"avx512_bf16", "amx_bf16"}))
    calls = []
    monkeypatch.setattr(precision, "measure", lambda device: calls.append(device) or {"fp32": 1000.0, "bf16": bf16_rate})
    assert precision.resolve("auto", CPU) == expected
    assert precision.resolve("auto", CPU) == expected  # from the cache
    assert len(calls) == 1
    (path,) = cache.glob("precision-cpu-*.json")
    assert json.loads(path.read_text())["precision"] == expected


def test_a_damaged_cache_is_measured_again(cache, monkeypatch):
    monkeypatch.setattr(precision, "cpu_identity", lambda: ("New CPU", {"avx512_bf16"}))
    monkeypatch.setattr(precision, "measure", lambda device: {"fp32": 1000.0, "bf16": 2000.0})
    precision.auto_decision(CPU)
    (path,) = cache.glob("precision-cpu-*.json")
    path.write_text("{not json")
    assert precision.auto_decision(CPU)["precision"] == "bf16"


def test_measuring_leaves_the_random_state_and_threads_alone():
    torch.manual_seed(7)
    expected = torch.rand(4)
    torch.manual_seed(7)
    threads = torch.get_num_threads()
    rates = precision.measure(CPU, steps=2, batch=8)
    assert torch.equal(torch.rand(4), expected) and torch.get_num_threads() == threads
    assert set(rates) == {"fp32", "bf16"} and all(r > 0 for r in rates.values())


def test_bf16_trains_reproducibly_and_records_its_precision(cfg, tmp_path):
    runs = []
    for name in ("a", "b"):
        result = train(cfg(*TINY, "trainer.precision=bf16"), tmp_path / name)
        assert result["precision"] == "bf16"
        runs.append(pd.read_csv(tmp_path / name / "metrics.csv").drop(columns=["epoch_s", "train_s", "images_per_s"]))
    pd.testing.assert_frame_equal(*runs, check_exact=True)
    assert train(cfg(*TINY, "trainer.precision=fp32"), tmp_path / "c")["precision"] == "fp32"


def test_the_test_set_can_wait_for_the_final_epoch(cfg, tmp_path):
    result = train(cfg(*TINY, "trainer.max_epochs=2", "trainer.test_every_epoch=false"), tmp_path)
    m = pd.read_csv(tmp_path / "metrics.csv")
    assert m.test_acc.isna().tolist() == [True, False] and m.val_acc.notna().all()
    assert result["test_acc_final"] == m.test_acc.iloc[-1] and result["epoch_reached_target"] is None
    assert result["test_every_epoch"] is False and result["test_acc_best"] is None
