"""One console for all workers: a helper's per-trial lines (complete, pruned, failed, rejected,
duplicate) reach the main console through their own pipe; the rest of its output stays in
worker-N.log."""
from __future__ import annotations

import logging
import sys
import time

import pytest

from hydra_plugins.mnist_sweep_sweeper import _workers

# A helper that records one trial of each kind with the sweeper's own functions, on an in-memory study.
HELPER = r'''
import logging, sys
sys.modules["optuna_dashboard"] = None  # no dashboard notes here: saves its 2 s import
import optuna
from hydra.core.utils import JobReturn, JobStatus
from hydra_plugins.mnist_sweep_sweeper import _study
from hydra_plugins.mnist_sweep_sweeper._log import attach_helper_channel, log
from hydra_plugins.mnist_sweep_sweeper._progress import Progress

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="[%(name)s] %(message)s")
attach_helper_channel()
optuna.logging.set_verbosity(optuna.logging.WARNING)
study, progress = optuna.create_study(direction="maximize"), Progress(5)
progress.start_line(study, "in-memory")

def launched(value, status):
    trial = study.ask()
    _study.mark(trial, "running", overrides=f"x={trial.number}")
    _study.record(study, trial, JobReturn(status=status, _return_value=value))
    progress.trial_line(study, trial.number)
    return trial

first = launched(0.9, JobStatus.COMPLETED)
launched(optuna.TrialPruned("pruned after epoch 1"), JobStatus.FAILED)
launched(RuntimeError("boom"), JobStatus.FAILED)
_study.tell_rejected(study, study.ask(), "model has 30,000 parameters, over the budget")
_study.tell_duplicate(study, study.ask(), study.trials[first.number])
log.info("a detail line, not a trial's")
print("plain output of the helper")
'''


def test_every_kind_of_helper_trial_line_reaches_the_main_console(tmp_path, monkeypatch, caplog):
    monkeypatch.setattr(_workers, "helper_command", lambda: [sys.executable, "-c", HELPER])
    helpers = _workers.Helpers(2, tmp_path)
    with caplog.at_level(logging.INFO, logger="hydra_plugins.mnist_sweep_sweeper"):
        helpers.start()
        helpers.wait()
    forwarded = [(r.levelname, r.getMessage()) for r in caplog.records if r.getMessage().startswith("worker 1: ")]
    messages = [m for _, m in forwarded]
    assert messages[0].startswith("worker 1: study ") and "0 of 5 trials done" in messages[0]
    for needle in ("] trial 0 complete, metric 0.9000", "] trial 1 pruned", "trial 2 failed: RuntimeError: boom",
                   "] trial 2 failed", "trial 3 rejected before launch: model has 30,000 parameters",
                   "trial 4: same parameters as trial 0 (complete); not trained again"):
        assert sum(needle in m for m in messages) == 1, (needle, messages)
    assert ("WARNING", "worker 1: trial 2 failed: RuntimeError: boom") in forwarded  # at its own level
    assert not any("detail line" in m or "plain output" in m for m in messages)
    log = (tmp_path / "worker-1.log").read_text()
    assert "plain output of the helper" in log and "a detail line" in log and "trial 3 rejected" in log
    assert not any("exited with" in r.getMessage() for r in caplog.records)


def test_a_helper_without_a_pipe_logs_as_before(monkeypatch):
    """Started by hand (no $MNIST_SWEEP_PROGRESS_FD), or with a bad one: no handler, one warning."""
    from hydra_plugins.mnist_sweep_sweeper import _log

    monkeypatch.delenv(_log.PROGRESS_FD_ENV, raising=False)
    _log.attach_helper_channel()
    assert not any(isinstance(h, _log._Channel) for h in _log.log.handlers)
    assert _log.parse_channel_line("30\ttrial 1 failed") == (30, "trial 1 failed")
    assert _log.parse_channel_line("no tab") == (logging.INFO, "no tab")


def test_a_pruned_trial_shows_its_last_metric_and_epoch_not_as_the_objective(caplog):
    """Optuna keeps a pruned trial's last reported metric as its value; in smallest mode the line
    must not call that accuracy "params"."""
    import optuna
    from hydra.core.utils import JobReturn, JobStatus

    from hydra_plugins.mnist_sweep_sweeper import _study
    from hydra_plugins.mnist_sweep_sweeper._progress import Progress

    study = optuna.create_study(direction="minimize")
    _study.name_metrics(study, ["params"])
    trial = study.ask()
    trial.report(0.9812, 7)
    _study.record(study, trial, JobReturn(status=JobStatus.FAILED, _return_value=optuna.TrialPruned("pruned")))
    with caplog.at_level(logging.INFO):
        Progress(5).trial_line(study, trial.number)
    line = caplog.records[-1].getMessage()
    assert "trial 0 pruned, at epoch 7 98.12%" in line and "params 98.12%" not in line


def _helpers_running(tmp_path, monkeypatch, code: str) -> _workers.Helpers:
    monkeypatch.setattr(_workers, "helper_command", lambda: [sys.executable, "-c", code])
    helpers = _workers.Helpers(2, tmp_path)
    helpers.start()
    return helpers


def _stopped_quietly(helpers: _workers.Helpers, caplog) -> None:
    """Stop the helpers as the sweep does: logged as stopped with the sweep, no warning."""
    with caplog.at_level(logging.INFO, logger="hydra_plugins.mnist_sweep_sweeper"):
        helpers.stop()
        helpers.wait()
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "stopped with the sweep" in caplog.text


def test_a_helper_the_sweep_stops_is_not_reported_as_a_fault(tmp_path, monkeypatch, caplog):
    """The sweep ends (its first trials all failed, Ctrl-C, a SweepError): stop() SIGTERMs the helpers,
    and their exit by that signal is expected; it was a 'worker pid N exited with -15' warning."""
    helpers = _helpers_running(tmp_path, monkeypatch, "import time; time.sleep(60)")
    _stopped_quietly(helpers, caplog)


def test_a_helper_that_ctrl_c_reached_first_is_not_reported_as_a_fault(tmp_path, monkeypatch, caplog):
    """Ctrl-C at a terminal reaches the helpers too; one still starting (its imports) dies of the
    SIGINT itself: the interrupted sweep warned 'worker pid N exited with -2; see worker-1.log'."""
    import os
    import signal

    # as at a terminal: a background job (pytest under nohup ... &) starts with SIGINT ignored, which
    # its children inherit and Python keeps, so the helper would never see the Ctrl-C
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        helpers = _helpers_running(tmp_path, monkeypatch, "import time; print('ready', flush=True); time.sleep(60)")
    finally:
        signal.signal(signal.SIGINT, previous)
    for _ in range(200):  # a Python process: a SIGINT before its exec would be lost
        if "ready" in (tmp_path / "worker-1.log").read_text():
            break
        time.sleep(0.05)
    os.kill(helpers.procs[0][0].pid, signal.SIGINT)
    helpers.procs[0][0].wait(timeout=30)
    _stopped_quietly(helpers, caplog)


# what a helper's log holds after a SIGINT reached its Python in ``import site`` (probed: exit 1)
STARTUP_INTERRUPT = ("Fatal Python error: init_import_site: Failed to import the site module\n"
                     "Python runtime state: initialized\nTraceback (most recent call last):\n"
                     '  File "<frozen abc>", line 105, in __new__\nKeyboardInterrupt\n')


@pytest.mark.parametrize("stopped", [True, False])
def test_a_helper_that_ctrl_c_reached_while_its_python_started_is_not_a_fault(tmp_path, monkeypatch, caplog, stopped):
    """Ctrl-C to the process group while a helper's Python was still starting (``import site``, runpy's
    lookup) exits 1 with a KeyboardInterrupt traceback: it warned 'worker pid N exited with 1; see
    worker-1.log'. It is an interrupt, said as one; a real exit 1 keeps its warning (below)."""
    code = f"import sys; sys.stderr.write({STARTUP_INTERRUPT!r}); sys.exit(1)"
    helpers = _helpers_running(tmp_path, monkeypatch, code)
    helpers.procs[0][0].wait(timeout=30)
    with caplog.at_level(logging.INFO, logger="hydra_plugins.mnist_sweep_sweeper"):
        if stopped:
            helpers.stop()
        assert helpers.wait() is False  # no open trial of its to fail as lost
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text
    assert "was interrupted while starting" in caplog.text


def test_a_helper_whose_exit_1_is_its_own_error_is_still_reported(tmp_path, monkeypatch, caplog):
    code = "import sys; sys.stderr.write('KeyboardInterrupt seen earlier\\nRuntimeError: boom\\n'); sys.exit(1)"
    helpers = _helpers_running(tmp_path, monkeypatch, code)
    with caplog.at_level(logging.INFO, logger="hydra_plugins.mnist_sweep_sweeper"):
        assert helpers.wait() is True
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "exited with 1" in warnings[0] and "worker-1.log" in warnings[0], warnings


def test_a_helper_that_handles_the_sweeps_sigterm_is_not_reported_as_a_fault(tmp_path, monkeypatch, caplog):
    """A helper past its start has main()'s handler: SIGTERM is a KeyboardInterrupt and exit 130.
    Stopping the sweep (SIGTERM or Ctrl-C to it) logged 'worker pid N exited with 130; see ...'."""
    code = ("import signal, sys, time\n"
            "def stop(*_): raise KeyboardInterrupt\n"
            "signal.signal(signal.SIGTERM, stop)\n"
            "print('ready', flush=True)\n"
            "try:\n    time.sleep(60)\nexcept KeyboardInterrupt:\n    sys.exit(130)\n")
    helpers = _helpers_running(tmp_path, monkeypatch, code)
    log_file = tmp_path / "worker-1.log"
    for _ in range(200):  # its handler installed
        if "ready" in log_file.read_text():
            break
        time.sleep(0.05)
    _stopped_quietly(helpers, caplog)


def test_a_helper_that_misses_the_sweeps_sigterm_is_stopped_all_the_same(tmp_path, monkeypatch, caplog):
    """A KeyboardInterrupt raised by the SIGTERM handler inside a finalizer is ignored ('Exception
    ignored in ...'): the helper ran the rest of the sweep alone after its sweep was stopped, and
    the stopped sweep waited for it. Here the helper ignores SIGTERM altogether."""
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nprint('ready', flush=True)\ntime.sleep(60)\n"
    helpers = _helpers_running(tmp_path, monkeypatch, code)
    monkeypatch.setattr(_workers, "STOP_WAIT_S", (0.5, 0.5))
    log_file = tmp_path / "worker-1.log"
    for _ in range(200):  # SIG_IGN set
        if "ready" in log_file.read_text():
            break
        time.sleep(0.05)
    start = time.monotonic()
    with caplog.at_level(logging.INFO, logger="hydra_plugins.mnist_sweep_sweeper"):
        helpers.stop()
        helpers.wait()
    assert time.monotonic() - start < 10
    assert "did not stop" in caplog.text and "killed" in caplog.text


def test_a_helper_that_fails_on_its_own_is_reported_with_its_log(tmp_path, monkeypatch, caplog):
    helpers = _helpers_running(tmp_path, monkeypatch, "import sys; sys.exit(3)")
    with caplog.at_level(logging.INFO, logger="hydra_plugins.mnist_sweep_sweeper"):
        helpers.wait()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "exited with 3" in warnings[0] and "worker-1.log" in warnings[0], warnings


def test_every_accuracy_the_sweep_prints_is_a_percentage_and_a_spread_has_its_unit(tmp_path, caplog):
    """The per-trial lines said 'val_acc 0.1133, best 0.1133' and 'below the target by 0.0012' while
    the closing line said 'val_acc 11.33%', and its '± 1.76' over seeds had no unit; the gap to the
    target is percentage points ('by 0.12%' read as a share of the target)."""
    import optuna
    import pandas as pd

    from hydra_plugins.mnist_sweep_sweeper import _study
    from hydra_plugins.mnist_sweep_sweeper._progress import Progress
    from mnist_sweep.next_steps import closing_lines

    study = optuna.create_study(direction="maximize")
    _study.name_metrics(study, ["val_acc"])
    study.add_trial(optuna.trial.create_trial(value=0.1133, user_attrs={"status": "complete"},
                                              constraints={"target": 0.0012}))
    with caplog.at_level(logging.INFO):
        Progress(5).trial_line(study, 0)
    line = caplog.records[-1].getMessage()
    assert "val_acc 11.33% (below the target by 0.12 points), best feasible -" in line, line
    pd.DataFrame([{"rank": 1, "trial": 0, "status": "complete", "trial_dir": None, "val_acc": 0.1133,
                   "test_acc_final": 0.1101, "n_seeds": 3, "val_mean": 0.1201, "val_sem": 0.0176, "params": 9778}]
                 ).to_csv(tmp_path / "leaderboard.csv", index=False)
    best = closing_lines(tmp_path)[0]
    assert "val_acc 11.33%, test_acc_final 11.01%, val mean over 3 seeds 12.01% ± 1.76% (sem)" in best, best


def test_a_gap_to_the_target_or_a_sem_that_two_decimals_round_to_zero_still_shows(tmp_path, caplog):
    """A constrained sweep's trial line said 'below the target by 0.00 points' for a trial 0.003
    points short (infeasible, yet read as on the target), and the closing line '± 0.00% (sem)' for
    three seeds 0.01 points apart: both through text.points/spread now, a third decimal where needed."""
    import optuna
    import pandas as pd

    from hydra_plugins.mnist_sweep_sweeper import _study
    from hydra_plugins.mnist_sweep_sweeper._progress import Progress
    from mnist_sweep.next_steps import closing_lines

    study = optuna.create_study(direction="maximize")
    _study.name_metrics(study, ["val_acc"])
    study.add_trial(optuna.trial.create_trial(value=0.99397, user_attrs={"status": "complete"},
                                              constraints={"target": 0.994 - 0.99397}))
    with caplog.at_level(logging.INFO):
        Progress(5).trial_line(study, 0)
    line = caplog.records[-1].getMessage()
    assert "val_acc 99.40% (below the target by 0.003 points), best feasible -" in line, line
    pd.DataFrame([{"rank": 1, "trial": 0, "status": "complete", "trial_dir": None, "val_acc": 0.9941,
                   "n_seeds": 3, "val_mean": 0.99413, "val_sem": 0.0000333, "params": 9778}]
                 ).to_csv(tmp_path / "leaderboard.csv", index=False)
    best = closing_lines(tmp_path)[0]
    assert "val mean over 3 seeds 99.41% ± 0.003% (sem)" in best, best
    from mnist_sweep.table import _fmt  # the printed leaderboard's val_sem column

    assert _fmt("val_sem", 0.0000333) == "0.003%" and _fmt("val_mean", 0.99413) == "99.41%"


def test_no_printed_line_formats_a_count_or_an_accuracy_by_hand():
    """Counts go through text.plural ('1 more seed', never 'device(s)' or '%d configs'), accuracies
    through text.percent/metric ('99.25%', never '0.9925'): the sweeper, the trial side, the report
    and its plots; a line written by hand read '1 more seeds queued' or 'mean over 2 seeds 0.9925'."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    files = [*sorted((root / "hydra_plugins" / "mnist_sweep_sweeper").glob("*.py"))] + [
        root / "mnist_sweep" / name for name in ("trial.py", "report.py", "plots.py", "config/space.py")]
    nouns = r"(trial|candidate|config|seed|worker|epoch|point|byte|draw|device|run|job|file|parameter|row)s\b"
    by_hand = [re.compile(r"[a-z]\(s\)(?! for\b)"), re.compile(r"%d (\w+ )?" + nouns),
               re.compile(r"[:%]\.4f"), re.compile(r"\{100 \* [^{}]*\}%")]
    found = [f"{f.relative_to(root)}:{i}: {line.strip()}" for f in files
             for i, line in enumerate(f.read_text().splitlines(), 1)
             if any(p.search(line) for p in by_hand) and "plural(" not in line]
    assert not found, "\n".join(found)


def test_the_sweep_console_has_one_line_format_before_and_after_its_first_job():
    """Hydra's own logging (before the first job) printed '[time][HYDRA] study ...', the job's
    logging after it '[time][hydra_plugins.mnist_sweep_sweeper][INFO] - ...': one console, two forms."""
    from conftest import make_cfg_hydra
    hydra = make_cfg_hydra().hydra
    assert hydra.hydra_logging.formatters.simple.format == hydra.job_logging.formatters.simple.format
    assert hydra.hydra_logging.handlers.console.formatter == hydra.job_logging.handlers.console.formatter == "simple"


def test_the_first_line_of_an_in_memory_study_says_in_memory_once(caplog):
    """hydra.sweeper.storage=null read 'study nodef in in-memory: ...'."""
    import optuna

    from hydra_plugins.mnist_sweep_sweeper._progress import Progress

    study = optuna.create_study(study_name="nodef", direction="maximize")
    with caplog.at_level(logging.INFO):
        for storage in (None, "in-memory"):
            Progress(2).start_line(study, storage)
        Progress(2).start_line(study, "sqlite:///outputs/sweeps/nodef/optuna.db")
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("study ")]
    assert lines[:2] == ["study nodef in memory: 0 of 2 trials done or running; 2 to go"] * 2, lines
    assert lines[2].startswith("study nodef in sqlite:///outputs/sweeps/nodef/optuna.db: 0 of 2"), lines


def test_a_study_past_a_lowered_n_trials_says_so(caplog):
    """Resumed with a lower hydra.sweeper.n_trials, the first line read 'study q ...: 2 of 1 trial done or running'."""
    import optuna

    from hydra_plugins.mnist_sweep_sweeper._progress import Progress

    study = optuna.create_study(study_name="q", direction="maximize")
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    with caplog.at_level(logging.INFO):
        assert Progress(1).start_line(study, None) == 0
    assert "study q in memory: 2 trials done or running, more than its n_trials (1); 0 to go" in caplog.messages


def test_an_interrupt_while_the_sweep_waits_for_its_helpers_stops_them(tmp_path, monkeypatch, caplog):
    """This worker's trials were done and it waited for a helper's last trial when SIGTERM (or a
    Ctrl-C to it alone) came: it said 'interrupted' and exited, and the helper trained on, alone."""
    import signal

    def interrupt(signum, frame):  # noqa: ANN001, ANN202 - what main()'s SIGTERM handler raises
        raise KeyboardInterrupt("SIGTERM")

    helpers = _helpers_running(tmp_path, monkeypatch, "import time; time.sleep(60)")
    proc = helpers.procs[0][0]
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with caplog.at_level(logging.INFO, logger="hydra_plugins.mnist_sweep_sweeper"), \
                pytest.raises(KeyboardInterrupt):
            helpers.wait()
        assert proc.poll() is not None, "the helper runs on"
        assert "stopped with the sweep" in caplog.text
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        proc.kill()
        proc.wait()


def test_an_interrupt_while_the_sweep_sets_up_its_loop_leaves_no_helper_running(tmp_path, monkeypatch):
    """SIGTERM or Ctrl-C to the sweep process between its helpers' start and its loop (the side
    study of repeats opened, on a slow PostgreSQL a while): the helpers ran the sweep on, alone."""
    from conftest import run_inproc, sweep_args
    from hydra_plugins.mnist_sweep_sweeper import _impl

    started: list = []
    real_start = _workers.Helpers.start

    def start(self: _workers.Helpers) -> None:
        real_start(self)
        started.extend(proc for proc, _ in self.procs)

    def interrupted(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise KeyboardInterrupt("SIGTERM")

    monkeypatch.setattr(_workers, "usable_cpus", lambda: 2)
    monkeypatch.setattr(_workers, "helper_command", lambda: [sys.executable, "-c", "import time; time.sleep(60)"])
    monkeypatch.setattr(_workers.Helpers, "start", start)
    monkeypatch.setattr(_impl.Repeats, "open", interrupted)
    args = [a for a in sweep_args(tmp_path, "setup", 2, "optimizer.lr=tag(log,interval(0.01,0.1))")
            if a != "hydra.sweeper.workers=1"] + ["hydra.sweeper.workers=2"]
    try:
        proc = run_inproc(args, cwd=tmp_path)
        assert proc.returncode == 130 and "interrupted" in proc.stderr, proc.stderr[-2000:]
        assert all(p.poll() is not None for p in started), "a helper runs on"
    finally:
        for p in started:
            p.kill()
            p.wait()
