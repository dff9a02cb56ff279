"""More training threads than the CPUs this process may use: trainer.threads=4 on 2 CPUs trained
slower (and precision auto timed its candidates so) without a word; a sweep's workers x threads too."""
from __future__ import annotations

import logging

import pytest

import mnist_sweep.cli
from conftest import TINY, run_inproc
from hydra_plugins.mnist_sweep_sweeper import _workers
from mnist_sweep import cpus
from mnist_sweep.errors import MnistSweepError


@pytest.fixture
def two_cpus(monkeypatch):
    """A process that may use 2 CPUs, which has said nothing yet."""
    monkeypatch.setattr(cpus, "usable_cpus", lambda: 2)
    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    monkeypatch.setattr(cpus, "_said", [])


@pytest.mark.parametrize("threads, cpu_count, workers, line", [
    (1, 2, 2, None), (2, 2, 1, None), (1, 1, 1, None),  # a thread a CPU at most: nothing to say
    (4, 2, 1, "trainer.threads=4: more threads than the 2 CPUs this process may use (os.sched_getaffinity), so they "
              "take turns and training runs slower (precision auto's timing too); set trainer.threads=2"),
    (2, 1, 1, "trainer.threads=2: more threads than the 1 CPU this process may use"),
    (2, 2, 2, "hydra.sweeper.workers=2 x trainer.threads=2: 4 training threads on the 2 CPUs this process may use "
              "(os.sched_getaffinity), so they take turns and every trial trains slower (precision auto's timing too); "
              "set trainer.threads=1, so that workers x threads is at most 2"),
])
def test_the_line_names_the_threads_the_cpus_and_what_to_set(threads, cpu_count, workers, line):
    said = cpus.threads_line(threads, cpu_count, workers)
    assert said == line if line is None else said.startswith(line)


def test_a_run_with_more_threads_than_cpus_says_so_once(tmp_path, monkeypatch, two_cpus):
    """The run's line comes before training (train is stubbed: it fails at once, trains nothing)."""
    def train(st, out_dir, **kwargs):  # noqa: ANN001, ANN003, ANN202, ARG001
        raise MnistSweepError("stub: not trained")

    monkeypatch.setattr(mnist_sweep.cli, "train", train)
    args = ["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/run"]
    proc = run_inproc([*args, "trainer.threads=4"], cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert "error: stub: not trained" in proc.stderr
    assert out.count("trainer.threads=4: more threads than the 2 CPUs this process may use") == 1, out
    assert "set trainer.threads=2" in out
    again = run_inproc([*args, "trainer.threads=4"], cwd=tmp_path)  # the same process: said once
    assert "trainer.threads=4" not in again.stdout + again.stderr


def test_a_run_within_the_cpus_says_nothing(tmp_path, monkeypatch, two_cpus):
    monkeypatch.setattr(mnist_sweep.cli, "train", lambda *a, **k: (_ for _ in ()).throw(MnistSweepError("stub")))
    proc = run_inproc(["mnist_sweep.train", *TINY, f"hydra.run.dir={tmp_path}/run", "trainer.threads=2"], cwd=tmp_path)
    assert "error: stub" in proc.stderr and "os.sched_getaffinity" not in proc.stdout + proc.stderr


def test_a_sweeps_workers_times_threads_over_the_cpus_is_said_once_for_its_runs(two_cpus, caplog):
    """hydra.sweeper.workers=2 trainer.threads=2 on 2 CPUs: each worker's run takes turns with the
    other's; the sweep's line stands for its trials' (a trial's own would repeat it)."""
    with caplog.at_level(logging.INFO):
        assert _workers.worker_count(2, 10, threads=2) == 2
        cpus.warn_threads(2)  # a trial in the sweep process: already said
        cpus.warn_threads(4)
    lines = [r.getMessage() for r in caplog.records if "os.sched_getaffinity" in r.getMessage()]
    assert lines == [cpus.threads_line(2, 2, 2)]
    assert lines[0].startswith("hydra.sweeper.workers=2 x trainer.threads=2: 4 training threads")


@pytest.mark.parametrize("launcher, warned", [([], True), (["hydra/launcher=slurm"], False)])
def test_a_sweeps_warning_counts_the_threads_of_trials_trained_on_this_machine(tmp_path, two_cpus, launcher, warned):
    """docs/distributed.md's Slurm sweep (trainer.threads=4; slurm.yaml gives each job 4 CPUs of its node)
    was told 'hydra.sweeper.workers=2 x trainer.threads=4: 8 training threads on the 2 CPUs this process may
    use ...; set trainer.threads=1' on its login node: its trials train on Slurm's nodes (_workers.trial_threads)."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null",
                       "model.c1=choice(4,8)", *TINY, "trainer.threads=4", *launcher, f"hydra.sweep.dir={tmp_path}/sw"],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("hydra.sweeper.workers=2 x trainer.threads=4: 8 training threads" in proc.stdout + proc.stderr) is warned
