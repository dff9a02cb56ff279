"""Other libraries' warnings a user of this project cannot act on are not printed, each silenced by its
category and words alone (mnist_sweep.library_warnings): another warning of the same category still is."""
from __future__ import annotations

import warnings

from conftest import run_inproc


def _sampler_option_of_ones_own(tmp_path):
    """DIR/hydra/sweeper/sampler/tpe.yaml: named as the sweeper's own option, whose schema checks its keys."""
    d = tmp_path / "mine" / "hydra" / "sweeper" / "sampler"
    d.mkdir(parents=True)
    (d / "tpe.yaml").write_text("seed: 7\n")
    return tmp_path / "mine"


def test_hydras_schema_matching_deprecation_is_not_printed(tmp_path):
    """Hydra printed 'UserWarning: 'hydra/sweeper/sampler/tpe' is validated against ConfigStore schema with the same
    name. This behavior is deprecated in Hydra 1.1 ...' four times (its file, line and a URL) before the config."""
    mine = _sampler_option_of_ones_own(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proc = run_inproc(["mnist_sweep.train", "--config-dir", str(mine), "hydra/sweeper/sampler=tpe",
                           "--cfg", "hydra", "-p", "hydra.sweeper.sampler"], cwd=tmp_path)
        warnings.warn("'hydra/sweeper/sampler/tpe' is another warning", UserWarning, stacklevel=1)
    assert proc.returncode == 0 and "seed: 7" in proc.stdout, proc.stderr[-2000:]
    said = [str(w.message) for w in caught]
    assert not [s for s in said if "validated against ConfigStore schema" in s], said
    assert "'hydra/sweeper/sampler/tpe' is another warning" in said  # the filter is that warning's alone


def test_wilcoxon_pruners_experimental_warning_is_not_printed(tmp_path):
    """hydra/sweeper/pruner=wilcoxon, an option the project ships: 'ExperimentalWarning: WilcoxonPruner is
    experimental (supported from v3.6.0). The interface can change in the future.' with Hydra's file and line."""
    from optuna.exceptions import ExperimentalWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        proc = run_inproc(["mnist_sweep.train", "-m", "hydra/sweeper/pruner=wilcoxon", "hydra.sweeper.dry_run=true",
                           "hydra.sweeper.params=null", "model.c1=choice(4,8)", f"hydra.sweep.dir={tmp_path}/sw"],
                          cwd=tmp_path)
        warnings.warn("SomethingElse is experimental", ExperimentalWarning, stacklevel=1)
    assert proc.returncode == 0 and "search space" in proc.stdout + proc.stderr, proc.stderr[-2000:]
    said = [str(w.message) for w in caught]
    assert not [s for s in said if "WilcoxonPruner" in s], said
    assert "SomethingElse is experimental" in said
