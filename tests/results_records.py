"""The recorded measurements the docs quote, read for tests/test_results_docs.py and
tests/test_experiment_headers.py: a confirmation on test (bench/results/confirm_*/) and a saved study's
validation seeds (bench/results/searches/, bench/results/val_seeds_6k/), with the statistics and the
claims a sentence makes of them, rounded as the docs round them."""
from __future__ import annotations

import csv
import functools
import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import yaml

from mnist_sweep import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results"
TRIAL_RECORDS = {  # (study, trial) -> its confirmation on test, over seeds, in bench/results/
    ("search_smallest_8k", 19): "confirm_smallest_8k_t19", ("search_best_20k", 8): "confirm_best_20k_t8",
    ("search_best_8k", 23): "confirm_best_8k_t23", ("search_best_8k", 34): "confirm_best_8k_t34",
    ("search_best_8k", 59): "confirm_best_8k_t59", ("search_best_8k", 65): "confirm_best_8k_t65",
    ("search_smallest_6k", 40): "confirm_6k_t40", ("search_smallest_6k", 97): "confirm_smallest_6k_t97",
    ("search_best_8k", 75): "confirm_best_8k_t75", ("search_smallest_6k", 102): "confirm_smallest_6k_t102",
}
EXPERIMENT_RECORDS = {  # a confirmation of a shipped experiment run otherwise (no trial): its folder -> its config
    "confirm_small_8k_kd": "small_8k",  # distilled from bench/results/teachers/best_20k_seed1 (docs/results.md)
}
NO_CONFIG = {"confirm_best_20k_t8"}  # records saved without the runs' config.yaml


def pct(acc: str | float) -> Decimal:
    return Decimal(str(acc)) * 100  # 0.9953 -> 99.53, exactly


def fmt(x: Decimal, places: int) -> str:
    return str(x.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP))


def stats(seeds: list[Decimal]) -> dict[str, Decimal]:
    mean = sum(seeds) / len(seeds)
    return {"mean": mean, "std": (sum((s - mean) ** 2 for s in seeds) / (len(seeds) - 1)).sqrt(), "min": min(seeds)}


def config(seed_dir: Path) -> dict | None:
    """A run's saved config.yaml; confirm_best_20k_t8's runs (2026-12-05) were saved without theirs."""
    path = seed_dir / "config.yaml"
    if not path.exists() and seed_dir.parent.name in NO_CONFIG:
        return None
    return yaml.safe_load(path.read_text())


@functools.cache
def record(study: str, trial: int) -> dict:
    """The confirmation's figures, once its files agree with each other: robustness.csv, and each
    seed's result.json, last metrics.csv row and config.yaml."""
    return confirmation(TRIAL_RECORDS[(study, trial)], f"trial_{trial:04d}")


@functools.cache
def confirmation(saved_as: str, config_name: str) -> dict:
    """``record``'s figures of bench/results/SAVED_AS, a confirmation of the one config ``config_name``."""
    folder = RESULTS / saved_as
    (row,) = csv.DictReader((folder / "robustness.csv").open())
    names = sorted((k for k in row if re.fullmatch(r"seed_\d+", k)), key=lambda k: int(k[5:]))
    assert row["config"] == config_name, folder
    assert sorted(p.name for p in folder.glob("seed_*")) == sorted(names), f"{folder}: a run not in robustness.csv"
    for name in names:
        result = json.loads((folder / name / "result.json").read_text())
        last = list(csv.DictReader((folder / name / "metrics.csv").open()))[-1]
        cfg = config(folder / name) or {"trainer": {"seed": result["seed"], "max_epochs": result["epochs"]}}
        assert result["status"] == "complete" and result["precision"] == "fp32", folder / name
        assert result["seed"] == cfg["trainer"]["seed"] == int(name[5:]), folder / name
        assert result["params"] == int(row["params"]), folder / name
        assert result["epochs"] == int(row["epochs"]) == int(last["epoch"]) == cfg["trainer"]["max_epochs"], folder / name
        assert result["test_acc_final"] == float(row[name]) == float(last["test_acc"]), folder / name
    seeds = [pct(row[k]) for k in names]
    for key, value in stats(seeds).items():
        assert abs(float(row[key]) * 100 - float(value)) < 1e-9, f"{folder}/robustness.csv: {key}"
    return {"seeds": seeds, "params": f"{int(row['params']):,}", "epochs": row["epochs"],
            "spe": f"{float(row['s_per_epoch']):.1f}"}


@functools.cache
def board(study: str) -> dict[int, dict]:
    return {int(r["trial"]): r for r in csv.DictReader((RESULTS / "searches" / study / "leaderboard.csv").open())}


@functools.cache
def validation(study: str, trial: int) -> tuple[Decimal, ...]:
    """A study's trial's validation accuracy by seed (1, 2, ...): seed 1 the leaderboard's, the
    repeats its saved trial dir's seed_k, or the hand-run seeds of bench/results/val_seeds_6k/."""
    row = board(study)[trial]
    seeds = {1: pct(row["val_acc"])}
    trial_dir = RESULTS / "searches" / study / Path(row["trial_dir"]).name if row["trial_dir"] else None
    extra = [*(trial_dir.glob("seed_*") if trial_dir else []),
             *((RESULTS / "val_seeds_6k").glob(f"t{trial}_s*") if study == "search_smallest_6k" else [])]
    for d in extra:
        seeds[int(re.search(r"\d+$", d.name)[0])] = pct(json.loads((d / "result.json").read_text())["val_acc"])
    assert sorted(seeds) == list(range(1, len(seeds) + 1)), f"{study} trial {trial}: seeds {sorted(seeds)}"
    return tuple(seeds[k] for k in sorted(seeds))


def sentences(text: str) -> list[str]:
    return re.split(r"\.\*{0,2}\s+", re.sub(r"\s*\n[#\s]*", " ", text))


VALIDATION = re.compile(r"validation (?P<each>\d+\.\d\d(?: / \d+\.\d\d)*)%(?: on seeds? (?P<first>\d+)(?:-\d+)?)?"
                        r"(?:,? (?:\*\*)?mean (?P<mean>\d+\.\d+)%)?|(?<!bar a )(?P<n>\d)-seed validation mean of (?P<of>\d+\.\d+)%")


def check_validation(text: str, where: str) -> int:
    """'validation a / b / c%[ on seeds 1-3][, mean M%]' and 'N-seed validation mean of M%' (not 'the
    bar a 3-seed ...'): the trial is the sentence's first (not "trial 58's"), its study the last
    `search_*` (or 'study X') named before. Returns the number of claims checked."""
    checked, before = 0, ""
    for sentence in sentences(text):
        for m in VALIDATION.finditer(sentence):
            trial = re.search(r"\btrial (\d+)\b(?!'s)", sentence, re.I)
            studies = re.findall(r"`(search_\w+)`|study (\w+)", before + sentence[:m.start()])
            assert trial and studies, f"{where}: {m[0]!r} names no study's trial in its sentence"
            study = [a or b for a, b in studies][-1]
            seeds = validation(study, int(trial[1]))
            what = f"{where}: {m[0]!r}, but {study} trial {trial[1]} has {[fmt(v, 2) for v in seeds]}"
            if m["each"]:
                quoted, first = m["each"].split(" / "), int(m["first"] or 1)
                assert [fmt(v, 2) for v in seeds[first - 1:first - 1 + len(quoted)]] == quoted, what
            mean, n = m["mean"] or m["of"], int(m["n"] or len(quoted))
            if mean:
                assert len(seeds) >= n and mean == fmt(sum(seeds[:n]) / n, len(mean.split(".")[1])), what
            checked += 1
        before += sentence + ". "
    return checked


def trial_quotes(text: str, where: str) -> int:
    """'trial 34, 6,816 params: 4-seed mean 99.50%' or 'trial 23 (5,666 params, 5-seed mean 99.46%':
    the record of the trial of the last search_* study named before it. Returns how many."""
    found = 0
    for m in re.finditer(r"trial (\d+)(?:, | \()([\d,]+) params[:,] (\d)-seed mean (\d+\.\d+)%", text):
        study = re.findall(r"\b(search_\w+)", text[:m.start()])[-1]
        assert (study, int(m[1])) in TRIAL_RECORDS, f"{where}: {m[0]} ({study}): no record in bench/results"
        rec = record(study, int(m[1]))
        want = (rec["params"], len(rec["seeds"]), fmt(stats(rec["seeds"])["mean"], 2))
        assert (m[2], int(m[3]), m[4]) == want, f"{where}: {m[0]} ({study}): the record has {want}"
        found += 1
    return found


def claims(text: str, target: str, src: dict, where: str) -> None:
    """What a sentence says of a row's seeds: 'mean X% (Y)', 'min X%', 'every seed >= X%',
    'N of M seeds [>= X%]' (X the target's 'each >= X%' if not given), 'met by X', 'X short', and
    the size in 'size not met (P)' or 'the size is not (P)'."""
    text, target = (re.sub(r"≥ ?", ">= ", t).replace("**", "") for t in (text, target))
    seeds, s = src["seeds"], stats(src["seeds"])
    for m in re.finditer(r"\bmean (\d+\.\d+)%(?: \((\d+\.\d{3})\))?", text):
        assert m[1] == fmt(s["mean"], 2) and m[2] in (None, fmt(s["mean"], 3)), f"{where}: {m[0]}"
    for m in re.finditer(r"\bmin (\d+\.\d+)%", text):
        assert m[1] == fmt(s["min"], 2), f"{where}: {m[0]}"
    for m in re.finditer(r"every seed >= (\d+\.\d+)%", text):
        assert s["min"] >= Decimal(m[1]), f"{where}: {m[0]}"
    floor = re.search(r"each >= (\d+\.\d+)%", target)
    for m in re.finditer(r"\b(\d+) of (\d+)(?: seeds)?(?: (?:>=|above) (\d+\.\d+)%| \((\d+\.\d+)%\))?", text):
        bar = Decimal(m[3] or floor[1])
        assert (int(m[1]), int(m[2])) == (sum(v >= bar for v in seeds), len(seeds)), f"{where}: {m[0]}"
        assert m[4] is None or [m[4]] == [fmt(v, 2) for v in seeds if v >= bar], f"{where}: {m[0]}"
    bar = re.search(r"mean >= (\d+\.\d+)%", target)
    for m in re.finditer(r"\bby (\d+\.\d+)|(\d+\.\d+) (?:points? )?short", text):
        gap = s["mean"] - Decimal(bar[1]) if m[1] else Decimal(bar[1]) - s["mean"]
        assert (m[1] or m[2]) == fmt(gap, len((m[1] or m[2]).split(".")[1])), f"{where}: {m[0]}"
    for m in re.finditer(r"size (?:not met|is not) \(([\d,]+)\)", text):
        assert m[1] == src["params"], f"{where}: {m[0]}"
