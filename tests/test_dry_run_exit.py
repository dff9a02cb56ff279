"""A dry run whose every draw would be refused ends as the sweep would: one error line, exit 2."""
from __future__ import annotations


def test_a_dry_run_whose_draws_are_all_over_the_budget_exits_non_zero(tmp_path):
    """-m +experiment=tiny under the default space: 'all 50 random draws are over the budget' and exit 0,
    while the sweep itself trains nothing and ends with an error line, exit 2. Its base (tiny's model)
    fits, so the start counts one candidate, finds it over, and names the space's smallest model."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "-m", "hydra.sweeper.dry_run=true", "+experiment=tiny",
                       f"hydra.sweep.dir={tmp_path}/d"], cwd=tmp_path)
    assert_one_line_error(proc, "error: model.max_params: every candidate of the search space is over the budget of "
                          "4,000 parameters: the smallest it allows has ", "raise model.max_params to at least ")
    assert proc.returncode == 2 and not (tmp_path / "d").exists()


def test_hydras_multirun_mode_override_is_checked_as_the_sweep_it_starts(tmp_path):
    """hydra.mode=MULTIRUN is Hydra's -m, and it ran the default sweep, but the command line was checked as a
    run: its sweeper keys were refused ('hydra.sweeper.dry_run=true: a key of the sweeper, used only by a
    sweep; add -m'), and a sweep expression ('model.c1=8,10: a sweep expression needs -m'). Only that exact
    spelling was taken as -m: +hydra.mode='MULTIRUN' (also a sweep to Hydra) was still checked as a run."""
    from conftest import run_inproc, sweep_args

    args = [a for a in sweep_args(tmp_path, "mode", 2, "model.c1=8,10") if a != "-m"]
    for mode in ("hydra.mode=MULTIRUN", "+hydra.mode='MULTIRUN'"):
        proc = run_inproc([*args, mode, "hydra.sweeper.dry_run=true"], cwd=tmp_path)
        assert proc.returncode == 0 and "error" not in proc.stderr, (mode, proc.stderr[-2000:])
        assert "model.c1: CategoricalDistribution(choices=(8, 10))" in proc.stdout + proc.stderr
        assert "estimate: 2 trials x 1 epoch x " in proc.stdout + proc.stderr


def test_every_spelling_hydra_reads_as_multirun_is_taken_as_m():
    """cli.main takes as -m each override Hydra reads as hydra.mode=MULTIRUN (its grammar, then OmegaConf's enum
    node: +, ++, quotes, RunMode.MULTIRUN, 2), not one Hydra refuses or reads as a run (composing names those)."""
    from mnist_sweep.cli import starts_a_sweep

    sweeps = ["-m", "--multirun", "hydra.mode=MULTIRUN", "+hydra.mode=MULTIRUN", "++hydra.mode=MULTIRUN",
              "hydra.mode='MULTIRUN'", 'hydra.mode="MULTIRUN"', "hydra.mode= MULTIRUN", "hydra.mode=RunMode.MULTIRUN",
              "++hydra.mode='RunMode.MULTIRUN'", "hydra.mode=2"]
    runs = ["hydra.mode=RUN", "+hydra.mode=RUN", "hydra.mode=1", "hydra.mode=multirun", "++hydra.mode='multirun'",
            "hydra.mode=Multirun", "hydra.mode=null", "~hydra.mode", "hydra.mode=MULTIRUN,RUN", "hydra.mode='MULTIRUN '",
            "hydra.mode=2.0", "model.c1=8", "--config-dir", "hydra.sweeper.study_name=hydra.mode=MULTIRUN"]
    assert [a for a in sweeps if not starts_a_sweep(a)] == []
    assert [a for a in runs if starts_a_sweep(a)] == []


def test_hydras_mode_in_lower_case_is_one_line_naming_its_value(tmp_path):
    """hydra.mode=multirun (MULTIRUN is -m, and is taken as one) got Hydra's own 'Invalid value 'multirun', expected
    one of [RUN, MULTIRUN]' with no fix: the line says Hydra's value is in capitals, or -m; run, that a run is the default."""
    from conftest import assert_one_line_error, run_inproc

    for value, fix in [("multirun", "Hydra's value is MULTIRUN, in capitals; or give -m, which sets it (a sweep)"),
                       ("run", "Hydra's value is RUN, in capitals; a run is the default: leave it out"),
                       ("nope", "must be RUN or MULTIRUN; leave it out for a run, or give -m for a sweep")]:
        for given in (f"hydra.mode={value}", f"++hydra.mode='{value}'"):  # as Hydra's other spellings read it
            proc = run_inproc(["mnist_sweep.train", given, f"hydra.run.dir={tmp_path}/r"], cwd=tmp_path)
            assert_one_line_error(proc, f"error: hydra.mode={value}: {fix}")
        assert not (tmp_path / "r").exists()


def test_a_sweeper_key_given_to_a_run_offers_the_sweep_quoted(tmp_path):
    """hydra.sweeper.study_name='a b' without -m offered 'python -m mnist_sweep.train -m hydra.sweeper.study_name=a b',
    two arguments once pasted: the sweep's command quotes it as one (shell.argument), in confirm's --set line too."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.train", "hydra.sweeper.study_name=a b", f"hydra.run.dir={tmp_path}/r"], cwd=tmp_path)
    assert_one_line_error(proc, "add -m (python -m mnist_sweep.train -m 'hydra.sweeper.study_name=a b')")
    proc = run_inproc(["mnist_sweep.confirm", "--experiment", "tiny", "--set", "hydra.sweeper.study_name=a b",
                       "--out", str(tmp_path / "o")], cwd=tmp_path)
    assert_one_line_error(proc, "(a sweep takes it: python -m mnist_sweep.train -m 'hydra.sweeper.study_name=a b')")
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()
