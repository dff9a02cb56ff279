"""mnist_sweep.board_paths: cheap to import, so the dashboard takes its sweep dir lines from it
(the lines themselves are tested with the leaderboard, tests/test_leaderboard.py)."""
from __future__ import annotations

import importlib
import sys

import mnist_sweep


def test_importing_it_imports_no_pandas_torch_or_optuna():
    """It imported pandas (through results, moved and sweeps), so the dashboard kept its own
    narrower copy of sweep_holding. Imported afresh here with those three unimportable."""
    modules, package = dict(sys.modules), dict(vars(mnist_sweep))  # both put back afterwards
    for name in [n for n in modules if n.startswith("mnist_sweep.") and not n.startswith("mnist_sweep.config")]:
        del sys.modules[name]
    sys.modules.update(dict.fromkeys(("pandas", "torch", "optuna")))  # None: importing one raises ImportError
    try:
        board_paths = importlib.import_module("mnist_sweep.board_paths")
        assert board_paths.sweep_holding(board_paths.Path("no-such-dir/x")) is None  # callable without them too
    finally:
        for name in set(sys.modules) - set(modules):
            del sys.modules[name]
        sys.modules.update(modules)
        vars(mnist_sweep).clear()  # the fresh submodules were bound on the package too
        vars(mnist_sweep).update(package)


def test_confirms_table_is_named_and_its_dir_is_no_sweep_dir(tmp_path, monkeypatch):
    """OUT/robustness.csv (confirm --out OUT) given for a leaderboard was 'not a leaderboard (...);
    give the sweep dir holding it, OUT' (report and dashboard: 'give its sweep dir, OUT'), though OUT,
    its trial_0000/seed_N dirs named as a sweep's trials, is none: the advice refused in turn."""
    from mnist_sweep.board_paths import Path, not_a_table, sweep_holding

    monkeypatch.chdir(tmp_path)
    (tmp_path / "out" / "trial_0000" / "seed_1" / ".hydra").mkdir(parents=True)
    (tmp_path / "out" / "trial_0000" / "seed_1" / ".hydra" / "config.yaml").write_text("{}\n")
    (tmp_path / "out" / "robustness.csv").write_text("config,params,epochs,seed_1,mean\ntrial_0000,1,1,0.5,0.5\n")
    table = Path("out/robustness.csv")
    assert sweep_holding(table) is None
    assert not_a_table(table, "not a leaderboard") == (
        "out/robustness.csv: confirm's table of seeds, not a leaderboard; give the sweep dir whose trials it "
        "confirmed; reproduce and predict take one of its runs, e.g. out/trial_0000/seed_1")
    (tmp_path / "out" / "leaderboard.csv").write_text("rank\n")  # confirm --out SWEEP: the sweep dir it is
    assert sweep_holding(table) == Path("out")
