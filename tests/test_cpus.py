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
    use ...; set trainer.threads=1' on its login node: its trials train on Slurm's nodes (_workers.trial_load)."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.params=null",
                       "model.c1=choice(4,8)", *TINY, "trainer.threads=4", *launcher, f"hydra.sweep.dir={tmp_path}/sw"],
                      cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert ("hydra.sweeper.workers=2 x trainer.threads=4: 8 training threads" in proc.stdout + proc.stderr) is warned


@pytest.mark.parametrize("threads, workers, jobs, searched, line", [
    (1, 2, 1, False, None), (1, 1, 2, False, None),  # a thread a CPU: nothing to say
    (1, 2, 2, False, "hydra.sweeper.workers=2 x hydra.sweeper.n_jobs=2 x trainer.threads=1: 4 training threads on the 2 "
                     "CPUs this process may use (os.sched_getaffinity), so they take turns and every trial trains slower "
                     "(precision auto's timing too); set hydra.sweeper.n_jobs=1 and trainer.threads=1, so that workers x "
                     "n_jobs x threads is at most 2"),
    (2, 1, 2, False, "hydra.sweeper.n_jobs=2 x trainer.threads=2: 4 training threads"),
    (2, 2, 1, True, "hydra.sweeper.workers=2 x trainer.threads=2 (the most its search draws): 4 training threads on the 2 "
                    "CPUs this process may use (os.sched_getaffinity), so they take turns and every trial trains slower "
                    "(precision auto's timing too); search trainer.threads up to 1, so that workers x threads is at most 2"),
    (4, 1, 1, True, "trainer.threads=4 (the most its search draws): more threads than the 2 CPUs"),
])
def test_the_line_counts_the_jobs_at_once_and_a_searched_threads_most(threads, workers, jobs, searched, line):
    said = cpus.threads_line(threads, 2, workers, jobs, searched)
    assert said == line if line is None else said.startswith(line), said


@pytest.mark.parametrize("extra, said", [
    # workers=2 with trainer.threads=choice(1,2): a trial of each worker drawing 2 trains 4 threads on the 2 CPUs
    (["hydra.sweeper.workers=2", "trainer.threads=choice(1,2)"],
     "hydra.sweeper.workers=2 x trainer.threads=2 (the most its search draws): 4 training threads"),
    # the joblib launcher (the default, parallel) trains a worker's n_jobs trials at once: 2 x 2 threads
    (["hydra.sweeper.workers=1", "hydra/launcher=parallel", "hydra.sweeper.n_jobs=2", "trainer.threads=2"],
     "hydra.sweeper.n_jobs=2 x trainer.threads=2: 4 training threads"),
    (["hydra.sweeper.workers=1", "hydra/launcher=basic", "hydra.sweeper.n_jobs=2", "trainer.threads=2"], None),  # one after another
    (["hydra.sweeper.workers=2", "hydra/launcher=slurm", "hydra.sweeper.n_jobs=4", "trainer.threads=choice(2,4)"], None),
], ids=["searched", "joblib", "basic", "slurm"])
def test_a_sweeps_warning_counts_what_runs_at_once(tmp_path, two_cpus, extra, said):
    """The warning read the base config's trainer.threads and the workers alone: trainer.threads=choice(1,2)
    with two workers, and hydra/launcher=parallel's n_jobs trials at once, went unsaid."""
    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "hydra.sweeper.n_trials=4",
                       "hydra.sweeper.params=null", "model.c1=choice(4,8)", *TINY, *extra, f"hydra.sweep.dir={tmp_path}/sw"],
                      cwd=tmp_path)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, out[-2000:]
    assert (said in out) if said else "os.sched_getaffinity" not in out, out[-3000:]


def test_a_fixed_value_of_the_space_is_the_threads_its_trials_train_with():
    """hydra.sweeper.params={trainer.threads:3} gives every candidate 3, whatever the base config says."""
    from omegaconf import OmegaConf

    from hydra_plugins.mnist_sweep_sweeper._space import SearchSpace

    config = OmegaConf.create({"trainer": {"threads": 1}, "hydra": {"launcher": {"_target_": "x.JoblibLauncher"}}})
    assert _workers.trial_load(config, SearchSpace(fixed={"trainer.threads": "3"}), 2) == cpus.Load(3, 2, False)
    assert _workers.trial_load(config, None, 2) == cpus.Load(1, 2, False)
