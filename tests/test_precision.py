"""mnist_sweep.precision: fp32 and bf16 as asked; auto decided per machine and per model (by the
CPU's instructions or a short measurement of the run's own training steps) and cached, without
touching the run's weights, optimizer, thread count or random state."""
from __future__ import annotations

import copy
import json

import pandas as pd
import pytest
import torch
from torch import nn

from conftest import TINY
from mnist_sweep import precision
from mnist_sweep.training import train

CPU = torch.device("cpu")
BF16_CPU = ("New CPU", {"avx512_bf16", "amx_bf16"})
TIME_COLUMNS = ["epoch_s", "train_s", "images_per_s"]


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv(precision.CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


def net(width: int = 4) -> nn.Module:
    """A small CNN with BatchNorm and Dropout (buffers and random draws), in channels_last."""
    return nn.Sequential(nn.Conv2d(1, width, 3), nn.ReLU(), nn.BatchNorm2d(width), nn.Dropout(0.5),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, 10)).to(memory_format=torch.channels_last)


def sgd(params):
    return torch.optim.SGD(params, lr=0.1, momentum=0.9)


def workload(model: nn.Module | None = None, batch: int = 8, threads: int = 1, batches=None) -> precision.Workload:
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(batch, 1, 28, 28, generator=gen).contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch,), generator=gen)
    return precision.Workload(model or net(), sgd, batches or [(x, y)], threads,
                              {"optimizer": "sgd", "batch_size": batch, "channels_last": True})


def fake_measure(monkeypatch, bf16_rate: float = 2000.0) -> list:
    calls = []
    monkeypatch.setattr(precision, "measure", lambda device, work: calls.append(work) or {"fp32": 1000.0, "bf16": bf16_rate})
    return calls


def test_explicit_precisions_never_measure(cache, monkeypatch):
    monkeypatch.setattr(precision, "cpu_identity", lambda: BF16_CPU)
    calls = fake_measure(monkeypatch)
    for work in (None, workload()):
        assert precision.resolve("fp32", CPU, work) == "fp32" and precision.resolve("bf16", CPU, work) == "bf16"
    assert not calls and not cache.exists()  # nothing measured, nothing cached
    with pytest.raises(ValueError, match="workload"):
        precision.resolve("auto", CPU)


def test_a_cpu_without_bf16_instructions_is_fp32_without_measuring(cache, monkeypatch):
    monkeypatch.setattr(precision, "cpu_identity", lambda: ("Old CPU", {"avx2", "fma"}))
    calls = fake_measure(monkeypatch)
    decision = precision.auto_decision(CPU, workload())
    assert decision["precision"] == "fp32" and "no bf16 instructions" in decision["why"] and not calls


@pytest.mark.parametrize("bf16_rate, expected", [(1500.0, "bf16"), (1150.0, "bf16"), (1140.0, "fp32"), (800.0, "fp32")])
def test_auto_measures_once_and_caches_the_decision_with_its_rates(cache, monkeypatch, bf16_rate, expected):
    monkeypatch.setattr(precision, "cpu_identity", lambda: BF16_CPU)
    calls = fake_measure(monkeypatch, bf16_rate)
    work = workload()
    assert precision.resolve("auto", CPU, work) == expected
    assert precision.resolve("auto", CPU, work) == expected  # from the cache
    assert len(calls) == 1
    (path,) = cache.glob("precision-cpu-*.json")
    saved = json.loads(path.read_text())
    assert saved["precision"] == expected and saved["images_per_s"] == {"fp32": 1000.0, "bf16": bf16_rate}
    assert saved["speedup"] == round(bf16_rate / 1000.0, 3) and saved["workload"] == work.describe()


def test_each_model_and_batch_size_gets_its_own_decision(cache, monkeypatch):
    monkeypatch.setattr(precision, "cpu_identity", lambda: BF16_CPU)
    calls = fake_measure(monkeypatch)
    model = net(4)
    works = [workload(model), workload(net(6)), workload(model, batch=16), workload(model, threads=2)]
    for work in works + works + [workload(net(4))]:  # again, then an equal model built anew: all cached
        precision.auto_decision(CPU, work)
    assert calls == works
    assert len(list(cache.glob("precision-cpu-*.json"))) == 4


def test_models_differing_only_in_dropout_rate_share_a_decision_but_not_with_dropout_off(cache, monkeypatch):
    monkeypatch.setattr(precision, "cpu_identity", lambda: BF16_CPU)
    calls = fake_measure(monkeypatch)
    def with_rate(p: float) -> nn.Module:
        model = net(4)
        model[3].p = p
        return model
    works = [workload(with_rate(0.5)), workload(with_rate(0.0))]
    for work in works + [workload(with_rate(0.03)), workload(with_rate(1e-05)), workload(with_rate(0.0))]:
        precision.auto_decision(CPU, work)
    assert calls == works
    assert "Dropout(p=on" in works[0].describe()["model"] and "Dropout(p=off" in works[1].describe()["model"]


def test_a_damaged_cache_is_measured_again(cache, monkeypatch):
    monkeypatch.setattr(precision, "cpu_identity", lambda: BF16_CPU)
    calls = fake_measure(monkeypatch)
    precision.auto_decision(CPU, workload())
    (path,) = cache.glob("precision-cpu-*.json")
    for damage in ("{not json", "[1, 2]", '{"precision": "fp16"}'):
        path.write_text(damage)
        assert precision.auto_decision(CPU, workload())["precision"] == "bf16"
    assert len(calls) == 4 and json.loads(path.read_text())["precision"] == "bf16"


def test_measuring_leaves_the_model_optimizer_random_state_and_threads_alone():
    model, threads_seen, params_seen = net(), [], []

    class Batches:  # the run's pipeline: which thread count does the measurement train with?
        def __iter__(self):
            threads_seen.append(torch.get_num_threads())
            yield from workload().batches

    def optimizer(params):
        params_seen.append(list(params))
        return sgd(params_seen[-1])

    opt = sgd(model.parameters())  # the run's optimizer, with momentum state
    torch.nn.functional.cross_entropy(model(workload().batches[0][0]), workload().batches[0][1]).backward()
    opt.step()
    before = copy.deepcopy((model.state_dict(), opt.state_dict()))
    work = precision.Workload(model, optimizer, Batches(), 2)
    torch.set_num_threads(1)
    torch.manual_seed(7)
    expected = torch.rand(4)
    torch.manual_seed(7)
    rates = precision.measure(CPU, work, steps=2, warmup=1)
    assert torch.equal(torch.rand(4), expected) and torch.get_num_threads() == 1 and set(threads_seen) == {2}
    after = (model.state_dict(), opt.state_dict())
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0]) and str(before[1]) == str(after[1])
    assert len(params_seen) == 2 and not {id(p) for ps in params_seen for p in ps} & {id(p) for p in model.parameters()}
    assert params_seen[0][0].is_contiguous(memory_format=torch.channels_last)  # the copy keeps the memory format
    assert set(rates) == {"fp32", "bf16", "speedup"} and all(r > 0 for r in rates.values())


def test_auto_trains_the_same_whether_it_measured_or_read_the_cache(cfg, cache, monkeypatch, tmp_path):
    monkeypatch.setattr(precision, "cpu_identity", lambda: BF16_CPU)
    real, works = precision.measure, []
    monkeypatch.setattr(precision, "measure", lambda device, work: works.append(work) or real(device, work, 2, 1))
    runs = []
    for name in ("measured", "cached"):
        result = train(cfg(*TINY, "trainer.precision=auto"), tmp_path / name)
        runs.append(pd.read_csv(tmp_path / name / "metrics.csv").drop(columns=TIME_COLUMNS))
        assert len(works) == 1 and result["precision"] in ("fp32", "bf16")
    pd.testing.assert_frame_equal(*runs, check_exact=True)
    (work,) = works  # the run's own model and pipeline
    x, y = next(iter(work.batches))
    assert work.what == {"optimizer": "sgd", "batch_size": 64, "channels_last": True, "augment": True}
    assert x.shape == (64, 1, 28, 28) and x.is_contiguous(memory_format=torch.channels_last) and len(y) == 64
    train(cfg(*TINY, "trainer.precision=auto", "model.c1=6"), tmp_path / "other")
    assert len(works) == 2 and str(works[1].model) != str(work.model)  # another model: measured anew


def test_bf16_trains_reproducibly_and_records_its_precision(cfg, tmp_path):
    runs = []
    for name in ("a", "b"):
        result = train(cfg(*TINY, "trainer.precision=bf16"), tmp_path / name)
        assert result["precision"] == "bf16"
        runs.append(pd.read_csv(tmp_path / name / "metrics.csv").drop(columns=TIME_COLUMNS))
    pd.testing.assert_frame_equal(*runs, check_exact=True)
    assert train(cfg(*TINY, "trainer.precision=fp32"), tmp_path / "c")["precision"] == "fp32"


def test_the_test_set_can_wait_for_the_final_epoch(cfg, tmp_path):
    result = train(cfg(*TINY, "trainer.max_epochs=2", "trainer.test_every_epoch=false"), tmp_path)
    m = pd.read_csv(tmp_path / "metrics.csv")
    assert m.test_acc.isna().tolist() == [True, False] and m.val_acc.notna().all()
    assert result["test_acc_final"] == m.test_acc.iloc[-1] and result["epoch_reached_target"] is None
    assert result["test_every_epoch"] is False and result["test_acc_best"] is None


def test_the_speedup_is_the_median_of_paired_blocks_in_cpu_time(monkeypatch):
    """Blocks alternate fp32 and bf16; each pair's ratio counts once (a slow block, e.g. while a
    neighbour ran, spoils one pair, not the decision), and a CPU is timed in process CPU time."""
    clock = iter(range(0, 10_000, 1))
    monkeypatch.setattr(precision.time, "process_time", lambda: float(next(clock)))
    monkeypatch.setattr(precision.time, "perf_counter", lambda: pytest.fail("wall time on a CPU"))
    rates = precision.measure(CPU, workload(), steps=precision.PAIRS, warmup=1)
    assert rates["speedup"] == 1.0 and rates["fp32"] == rates["bf16"]  # every block took one tick of CPU time
