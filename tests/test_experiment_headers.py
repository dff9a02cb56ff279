"""Each conf/experiment/*.yaml header names the study and trial that found it ('study X, trial N'),
and the numbers it quotes are the records': the parameter count (the composed config's, counted
without building the net), the trial's validation figures and another trial of its study ('trial 53
at 7,948 params', bench/results/searches/X/), a trial quoted with its confirmation ('trial 23 (5,666
params, 5-seed mean 99.46%'), and its own confirmation on test (bench/results/confirm_*/). A study
that was never saved in the repo is a named exception (UNSAVED, with the reason): only its header's
parameter count is checked. No training."""
from __future__ import annotations

import functools
import re
from decimal import Decimal

import pytest
from omegaconf import OmegaConf

from conftest import CONF, make_cfg
from mnist_sweep.spec import spec_from_config, spec_params
from results_records import RESULTS, TRIAL_RECORDS, board, check_validation, claims, fmt, record, trial_quotes

UNSAVED = {  # study -> why its trials are not in bench/results/searches/
    "best_20k": "issue 5's first sweeps (12 trials, 2026-12-02), before studies were saved in the repo",
    "tiny_plain": "issue 5's first sweeps (10 trials, 2026-12-02), before studies were saved in the repo",
}
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))


def header(name: str) -> str:
    """The comment lines before the first key, as one line of text."""
    lines = (CONF / "experiment" / f"{name}.yaml").read_text().splitlines()
    comments = [ln.lstrip("# ").rstrip() for ln in lines[:next(i for i, ln in enumerate(lines) if not ln.startswith("#"))]]
    return " ".join(c for c in comments if c and not c.startswith("@package"))


@functools.cache
def composed(name: str) -> dict:
    return OmegaConf.to_container(make_cfg(f"+experiment={name}"), resolve=True)


def found_by(text: str, name: str) -> tuple[str, int]:
    study = re.search(r"\bstudy (\w+)", text)
    trial = study and re.search(r"\btrial (\d+)", text[study.end():])
    assert trial, f"conf/experiment/{name}.yaml: its header names no 'study X, ... trial N' that found it"
    return study[1], int(trial[1])


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_a_header_names_the_study_and_trial_that_found_it(name):
    text = header(name)
    study, trial = found_by(text, name)
    params = f"{spec_params(spec_from_config(composed(name)['model'])):,}"
    quoted = re.search(r"trial \d+: ([\d,]+) params", text) or re.search(r"([\d,]+)-parameter", text)
    assert quoted and quoted[1] == params, f"{name}: the header says {quoted and quoted[0]!r}; the config has {params}"
    if study in UNSAVED:
        assert not (RESULTS / "searches" / study).exists(), f"{study} is saved now: drop it from UNSAVED"
        return
    assert f"{int(board(study)[trial]['params']):,}" == params, f"{name}: {study} trial {trial} is not this net"
    for m in re.finditer(r"trial (\d+) at ([\d,]+) params", text):
        assert f"{int(board(study)[int(m[1])]['params']):,}" == m[2], f"{name}: {m[0]}"
    assert check_validation(text, f"conf/experiment/{name}.yaml") >= 1
    trial_quotes(text, f"conf/experiment/{name}.yaml")


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_a_headers_confirmation_is_its_record(name):
    """'(AMD EPYC, fp32: 99.50/99.50/99.48/99.44/99.53%, mean 99.49%, every seed >= 99.44%' is the
    confirmation of the study's trial that the header names."""
    text = header(name)
    for m in re.finditer(r"(\d+\.\d\d(?:/\d+\.\d\d){2,})%(?P<rest>[^;)]*)", text):
        study, trial = found_by(text, name)
        assert (study, trial) in TRIAL_RECORDS, f"{name}: {m[0]!r}: {study} trial {trial} has no record"
        rec = record(study, trial)
        assert m[1].split("/") == [fmt(v, 2) for v in rec["seeds"]], f"{name}: {m[0]!r}"
        claims(m["rest"], "", rec, f"conf/experiment/{name}.yaml")
        for floor in re.finditer(r"(?:each|every seed) >= (\d+\.\d+)%", m["rest"]):
            assert min(rec["seeds"]) >= Decimal(floor[1]), f"{name}: {floor[0]}"


@pytest.mark.parametrize("name", EXPERIMENTS)
def test_a_headers_net_and_recipe_are_its_configs(name):
    """'Widths 8-8-(pool)-8(1x1)-12-14-8-14', 'batch 64', 'OneCycle peak 0.114', 'augmentation 1.37',
    'dropout 0.05': the composed config's values, rounded as written."""
    text, cfg = header(name), composed(name)
    have = {r"Widths ((?:\d+|\(pool\)|\(1x1\)|-)*\d)": "-".join(map(str, cfg["model"]["widths"])),
            r"\bbatch (\d+)": str(cfg["data"]["batch_size"]), r"OneCycle peak (\d\.\d+)": cfg["optimizer"]["lr"],
            r"augmentation (\d+\.\d+)": cfg["data"]["augment"]["strength"], r"dropout (\d\.\d+)": cfg["model"]["dropout"]}
    widths = re.search(next(iter(have)), text)
    if widths:  # where the max-pool and the 1x1 are
        tokens = widths[1].split("-")
        pools = [i - 1 - tokens[:i].count("(pool)") for i, t in enumerate(tokens) if t == "(pool)"]
        ones = [i - tokens[:i].count("(pool)") for i, t in enumerate(tokens) if t.endswith("(1x1)")]
        assert pools == cfg["model"]["pool_after"], f"{name}: {widths[0]}: pool after {cfg['model']['pool_after']}"
        assert ones == [i for i, k in enumerate(cfg["model"]["kernels"]) if k == 1], f"{name}: {widths[0]}"
    for pattern, value in have.items():
        for m in re.finditer(pattern, text):
            said = re.sub(r"\(pool\)-|\(1x1\)", "", m[1])
            assert said == (value if isinstance(value, str) else f"{value:.{len(said.split('.')[1])}f}"), f"{name}: {m[0]}"


def test_every_header_is_read():
    assert {"best_20k", "small_8k", "smallest_994", "tiny"} <= set(EXPERIMENTS)
    assert sum(bool(re.search(r"\d/\d+\.\d\d/", header(n))) for n in EXPERIMENTS) >= 2
