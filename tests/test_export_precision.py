"""export pins the precision the trial trained in: ``trainer.precision=auto`` decides per machine
(and per measurement cache), so an exported ``auto`` could train another precision than the trial's
elsewhere, while the file's header and docs promise the trial's metrics. And the header says what the
trial was ranked on: the mean over its seeds where it was trained on several. No training here."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from conftest import TINY, make_cfg
from mnist_sweep import export
from mnist_sweep.reproduce import resolved


def auto_trial(tmp_path: Path, **result: object) -> Path:
    """A sweep dir of one complete trial whose config says trainer.precision=auto, and whose
    result.json records ``result`` (what auto resolved to, where)."""
    trial = tmp_path / "sw" / "trial_0000"
    (trial / ".hydra").mkdir(parents=True)
    OmegaConf.save(make_cfg(*[o for o in TINY if not o.startswith("trainer.precision=")]), trial / ".hydra" / "config.yaml")
    (trial / "result.json").write_text(json.dumps({"status": "complete", **result}))
    (tmp_path / "sw" / "leaderboard.csv").write_text(f"rank,trial,status,trial_dir\n1,0,complete,{trial}\n")
    return tmp_path / "sw"


@pytest.mark.parametrize("confirm", [False, True])
def test_a_trials_auto_is_written_as_what_it_resolved_to(tmp_path, capsys, confirm):
    """The file said trainer.precision: auto; reproduce pins trainer.precision=<recorded>. On a
    machine where auto resolves otherwise (or after the cache is measured again) the file trained
    another precision than the trial, and its metrics differed from the ones its header promised."""
    sw = auto_trial(tmp_path, precision="bf16", host="box-a", device="cpu")
    out = tmp_path / "cfg" / "experiment" / "best.yaml"
    assert export.main([str(sw), "--out", str(out), *(["--confirm"] if confirm else [])]) == 0
    text = out.read_text()
    assert yaml.safe_load(text)["trainer"]["precision"] == "bf16"
    [line] = [t for t in text.splitlines() if t.startswith("  precision:")]
    assert line.startswith("  precision: bf16  # the trial's auto, as it resolved on box-a (cpu)"), line
    assert "in the precision it trained in" in text
    # what train runs with it: --config-dir DIR +experiment=best composes bf16, whatever auto would say here
    assert resolved(["--config-dir", str(tmp_path / "cfg"), "+experiment=best"], [])["trainer"]["precision"] == "bf16"


def test_a_pinned_precision_has_no_comment_and_an_unrecorded_one_stays(tmp_path, capsys):
    """A trial that set fp32 itself is written as it was, without a comment; one whose result.json
    records no precision (a run from before the key) keeps its config's value."""
    sw = auto_trial(tmp_path / "a", precision="fp32")
    config = sw / "trial_0000" / ".hydra" / "config.yaml"
    config.write_text(config.read_text().replace("precision: auto", "precision: fp32"))
    out = tmp_path / "experiment" / "a.yaml"
    assert export.main([str(sw), "--out", str(out)]) == 0
    assert "  precision: fp32\n" in out.read_text()
    out = tmp_path / "experiment" / "b.yaml"
    assert export.main([str(auto_trial(tmp_path / "b")), "--out", str(out)]) == 0
    assert "  precision: auto\n" in out.read_text()


def test_a_repeated_configs_header_shows_the_mean_over_seeds_it_was_ranked_on(tmp_path, capsys):
    """A config trained on 3 seeds (hydra.sweeper.repeats) is ranked on their mean; the header showed
    only seed 1's validation accuracy, as if it were what the trial scored. One seed: as it was."""
    sw = auto_trial(tmp_path, precision="fp32", seed=1, params=9778, epochs=1, val_acc=0.1133, test_acc_final=0.1367)
    trial = sw / "trial_0000"
    (sw / "leaderboard.csv").write_text("rank,trial,status,n_seeds,val_mean,val_sem,trial_dir\n"
                                        f"1,0,complete,3,0.09375,0.01128,{trial}\n")
    out = tmp_path / "experiment" / "a.yaml"
    assert export.main([str(sw), "--out", str(out)]) == 0
    head = [t for t in out.read_text().splitlines() if t.startswith("#   ")]
    assert head[0] == "#   judged over 3 seeds: validation mean 9.38% ± 1.13% (sem)", head
    assert head[1] == ("#   recorded by seed 1 (the first of the 3): 9,778 params, 1 epoch (complete), "
                       "validation 11.33%, final-epoch test 13.67%"), head
    assert "training it gives seed 1's metrics (the mean is over trainer.seed=1 to 3)" in head[2]
    (sw / "leaderboard.csv").write_text(f"rank,trial,status,n_seeds,val_mean,val_sem,trial_dir\n1,0,complete,1,0.1133,,{trial}\n")
    assert export.main([str(sw), "--out", str(out), "--force"]) == 0
    head = [t for t in out.read_text().splitlines() if t.startswith("#   ")]
    assert head[0] == "#   recorded: 9,778 params, 1 epoch (complete), validation 11.33%, final-epoch test 13.67%, seed 1", head
