"""No number is claimed that the confirm table does not hold: the tables in README.md (## Results) and
docs/results.md (the Xeon's three seeds, "Five seeds on an AMD EPYC", "Targets") and the confirmation
sentences beside them, against the recorded confirmations in bench/results/confirm_*/ (robustness.csv,
seed_k/result.json, metrics.csv, config.yaml): per-seed final test accuracies, mean, std (n-1), min,
params, epochs and s/epoch, rounded as the docs round them. A row whose runs were never saved is a
named exception (UNRECORDED, with the reason): its statistics are checked against its own per-seed
figures, and a repeat against the row it repeats. Any other row must name a recorded trial, so no
new row slips in unchecked. No training; reads text and CSV only."""
from __future__ import annotations

import hashlib
import json
import re
from decimal import Decimal

import pytest
from omegaconf import OmegaConf

from conftest import CONF, make_cfg
from mnist_sweep import PROJECT_ROOT
from mnist_sweep.spec import spec_from_config, spec_params
from results_records import (EXPERIMENT_RECORDS, RESULTS, TRIAL_RECORDS, board, check_validation, claims, config, confirmation, fmt, record,
                             stats, trial_quotes)

README, DOC = PROJECT_ROOT / "README.md", PROJECT_ROOT / "docs" / "results.md"
XEON = "3 seeds, 2026-12-03..04, before any confirmation was saved in bench/results (only the docs hold them)"
EPYC = "5 seeds on the EPYC, 2026-12-03..04 (ae692b4, 56cb130; seeds 1-3 the first table's runs), never saved in bench/results"
# (table, row key) -> (why its runs are not in the repo, the row it repeats or None). A key is the
# row's first cell (README: its config cell), or the start of it up to a space.
UNRECORDED = {
    ("three", "`best_20k`"): (XEON, None), ("three", "`eva8_seed`"): (XEON, None),
    ("three", "`small_8k` until"): (XEON, None), ("three", "`tiny`"): (XEON, None),
    ("three", "best_20k round 2, rank 1"): (XEON, None), ("three", "best_20k round 2, rank 2"): (XEON, None),
    ("three", "tiny round 4"): (XEON, None),
    ("five", "`best_20k`"): (EPYC, None), ("five", "`tiny`"): (EPYC, None), ("five", "`small_8k` until"): (EPYC, None),
    ("readme", "`best_20k`"): (EPYC, ("five", "`best_20k`")), ("readme", "`tiny`"): (EPYC, ("five", "`tiny`")),
}
TARGETS = {  # the Targets table's rows restate these: a row of a table above, or a record
    "`best_20k`": ("three", "`best_20k`"), "`best_20k`, issue": ("three", "`best_20k`"),
    "`best_20k`, seeds": ("five", "`best_20k`"), "`small_8k` until 2026-12-05 (6,376)": ("three", "`small_8k` until"),
    "`small_8k` until 2026-12-05 (6,376),": ("five", "`small_8k` until"), "`tiny`": ("three", "`tiny`"),
    "`tiny`, seeds": ("five", "`tiny`"), "`small_8k` (7,376,": ("search_smallest_8k", 19),
    "`smallest_994` 2026-12-06..07": ("search_best_8k", 23), "`smallest_994` (5,470,": ("search_smallest_6k", 97),
    "`smallest_994` (4,960,": ("search_smallest_6k", 102),
    "`search_smallest_6k` trial 40": ("search_smallest_6k", 40),
}


def section(text: str, start: str, stop: str) -> str:
    return text[text.index(start):text.index(stop, text.index(start))]


def rows(text: str) -> list[list[str]]:
    lines = [ln for ln in text.splitlines() if ln.startswith("|")]
    return [[c.strip() for c in ln.strip().strip("|").split("|")] for ln in lines[2:]]  # no head, no ---


def quote(cells: list[str], table: str) -> dict:
    """A table row's quoted figures, as written (numbers without '%' and '**')."""
    target = ""
    if table == "readme":  # tier, config, params, epochs, 'a / b / ...', mean, std, min, target, s/epoch, found by
        target, cells = cells[8], [cells[1], cells[2], cells[3], *cells[4].split(" / "), *cells[5:8], *cells[9:]]
    n = len(cells) - (7 if table == "five" else 8)  # the seed columns
    nums = [re.sub(r"[*%]", "", c) for c in cells]
    return {"label": cells[0], "params": nums[1], "epochs": nums[2], "seeds": [s for s in nums[3:3 + n] if s],
            "mean": nums[3 + n], "std": nums[4 + n], "min": nums[5 + n], "spe": nums[6 + n],
            "found": cells[7 + n] if table != "five" else "", "target": target}


def tables() -> dict[str, list[dict]]:
    doc, readme = DOC.read_text(), README.read_text()
    return {"readme": [quote(r, "readme") for r in rows(section(readme, "## Results", "\n## "))],
            "three": [quote(r, "three") for r in rows(section(doc, "# Results", "\n## "))],
            "five": [quote(r, "five") for r in rows(section(doc, "## Five seeds", "\n## "))]}


def matches(label: str, key: str) -> bool:
    return label == key or label.startswith(key + " ")


def find(table: list[dict], key: str) -> dict:
    found = [q for q in table if matches(q["label"], key)]
    assert len(found) == 1, f"{key!r}: {len(found)} rows"
    return found[0]


def named_trial(q: dict, table: str) -> tuple[str, int]:
    m = re.search(r"study `(\w+)`, trial (\d+)" if table == "readme" else r"`(\w+)` trial (\d+)",
                  q["found"] if table == "readme" else q["label"])
    assert m, f"{table} row {q['label']!r} names no recorded trial: add its record to TRIAL_RECORDS or the row to UNRECORDED"
    assert (m[1], int(m[2])) in TRIAL_RECORDS, f"{table} row {q['label']!r}: {m[0]} has no record in bench/results"
    return m[1], int(m[2])


def source(q: dict, table: str, all_tables: dict) -> dict:
    """What a row's figures must agree with: its record, the row it repeats, or (an exception
    without either) its own per-seed figures."""
    exception = [v for (t, key), v in UNRECORDED.items() if t == table and matches(q["label"], key)]
    if not exception:
        return record(*named_trial(q, table))
    repeats = exception[0][1]
    if repeats:
        other = find(all_tables[repeats[0]], repeats[1])
        return {**other, "seeds": [Decimal(s) for s in other["seeds"]]}
    return {"seeds": [Decimal(s) for s in q["seeds"]], "params": q["params"], "epochs": q["epochs"], "spe": q["spe"]}


def check(q: dict, src: dict, where: str) -> None:
    s = stats(src["seeds"])
    assert q["seeds"] == [fmt(v, 2) for v in src["seeds"]], f"{where}: seeds"
    mean = fmt(s["mean"], 2) + (f" ({fmt(s['mean'], 3)})" if "(" in q["mean"] else "")
    assert (q["mean"], q["std"], q["min"]) == (mean, fmt(s["std"], 3), fmt(s["min"], 2)), f"{where}: mean, std, min"
    assert (q["params"], q["epochs"]) == (src["params"], src["epochs"]), f"{where}: params, epochs"
    assert q["spe"] == src["spe"], f"{where}: s/epoch"


ALL = tables()
ROWS = [(t, q["label"]) for t in ("readme", "three", "five") for q in ALL[t]]


@pytest.mark.parametrize("table, label", ROWS)
def test_a_quoted_row_is_its_record(table, label):
    q = next(q for q in ALL[table] if q["label"] == label)
    src = source(q, table, ALL)
    check(q, src, f"{table} row {label!r}")
    if table == "readme":
        claims(q["target"], q["target"], src, f"README row {label!r}, target column")


@pytest.mark.parametrize("table, key", [k for k in UNRECORDED if (CONF / "experiment" / f"{k[1].strip('`')}.yaml").exists()])
def test_an_unrecorded_shipped_configs_size_is_its_configs(table, key):
    """A row without a record that names a shipped experiment ('`tiny`') quotes its parameter count
    and epochs."""
    cfg = OmegaConf.to_container(make_cfg(f"+experiment={key.strip('`')}"), resolve=True)
    have = (f"{spec_params(spec_from_config(cfg['model'])):,}", str(cfg["trainer"]["max_epochs"]))
    row = find(ALL[table], key)
    assert (row["params"], row["epochs"]) == have, f"{table} row {key}: params, epochs"


def test_the_tables_are_read_and_every_exception_names_one_row():
    assert [len(ALL[t]) >= n for t, n in (("readme", 4), ("three", 7), ("five", 10))] == [True] * 3  # the parser found them
    for (table, key), (reason, _) in UNRECORDED.items():
        find(ALL[table], key)
        assert reason
    assert set(TRIAL_RECORDS.values()) | set(EXPERIMENT_RECORDS) == {p.name for p in RESULTS.glob("confirm_*")}  # all read


def targets() -> list[list[str]]:
    return rows(section(DOC.read_text(), "## Targets", "\n## "))


@pytest.mark.parametrize("label", [r[0] for r in targets()])
def test_a_targets_row_says_what_its_source_holds(label):
    _config, _budget, _epochs, target, here, _published = next(r for r in targets() if r[0] == label)
    keys = [k for k in TARGETS if label.startswith(k)]
    assert keys, f"Targets row {label!r}: add it to TARGETS (the row or record it restates)"
    src = TARGETS[max(keys, key=len)]  # the longest: '`tiny`, seeds' over '`tiny`'
    if isinstance(src[1], int):
        src = record(*src)
    else:
        other = find(ALL[src[0]], src[1])
        src = {**other, "seeds": [Decimal(v) for v in other["seeds"]]}
    claims(here, target, src, f"Targets row {label!r}")
    size = re.search(r"\((\d{1,2},\d{3})[,;)]", label)
    assert size is None or size[1] == src["params"], f"Targets row {label!r}: params"


def test_a_trial_quoted_beside_a_row_is_its_record():
    """'trial 34, 6,816 params: 4-seed mean 99.50%' (README's found-by column, and anywhere in
    README.md or docs/results.md): the study is the last `search_*` named before it."""
    assert sum(trial_quotes(path.read_text(), path.name) for path in (README, DOC)) >= 5


def test_a_confirmation_sentence_is_its_record():
    """'Seeds 1-5 ended at a / b / c / d / e%, mean X% (Y), std Z' and the bold '**a / ... / e%,
    mean ..., min W%**' in docs/results.md's five-seed and smallest-net sections: the record is the
    first bench/results/confirm_* folder named after it in its paragraph."""
    text = section(DOC.read_text(), "## Five seeds", "## Targets")
    found = 0
    for para in text.split("\n\n"):
        for m in re.finditer(r"\d+\.\d\d(?: / \d+\.\d\d){3,}%(?P<rest>[^:.]*(?:\.\d+[^:.]*)*)", para):
            folder = re.search(r"bench/results/(confirm_\w+)/", para[m.end():])
            assert folder, f"docs/results.md: {m[0]!r} names no record after it in its paragraph"
            (study, trial), = [k for k, v in TRIAL_RECORDS.items() if v == folder[1]]
            rec = record(study, trial)
            seeds = m[0][:m.start("rest") - m.start()].rstrip("%").split(" / ")
            assert seeds == [fmt(v, 2) for v in rec["seeds"]], f"docs/results.md: {m[0]!r}"
            for s in re.finditer(r"\bstd (\d\.\d+)", m["rest"]):
                assert s[1] == fmt(stats(rec["seeds"])["std"], 3), f"docs/results.md: {m[0]!r}"
            claims(m["rest"], "", rec, f"docs/results.md: {m[0]!r}")
            found += 1
    assert found >= 5


def test_a_record_is_the_trial_of_its_study():
    """Each confirmation ran its study's trial: the saved leaderboard's params and every hp.* value."""
    for (study, trial), folder in TRIAL_RECORDS.items():
        row = board(study)[trial]
        for seed_dir in sorted((RESULTS / folder).glob("seed_*")):
            cfg = config(seed_dir)
            assert int(row["params"]) == json.loads((seed_dir / "result.json").read_text())["params"], seed_dir
            for key, value in row.items():
                if cfg and key.startswith("hp.") and value != "":
                    node = cfg
                    for part in key[3:].split("."):
                        node = node[part]
                    assert str(node) == value, f"{seed_dir}: {key[3:]} {node!r}, the study's {value}"


def test_a_quoted_validation_is_its_studys():
    """The validation figures the five-seed and smallest-net sections quote for a study's trial."""
    text = section(DOC.read_text(), "## Five seeds", "## Targets")
    assert check_validation(text, "docs/results.md") >= 5


ASIDES = {  # what README's table says in passing of a row of docs/results.md's, and that row
    r"\(Xeon, 3 seeds: (?P<mean>\d+\.\d+)%\)": ("three", "`best_20k`"),
    r"the previous `small_8k`, (?P<params>[\d,]+) params: mean (?P<mean>\d+\.\d+)%": ("five", "`small_8k` until"),
}


def test_an_aside_in_the_readmes_table_is_the_row_it_quotes():
    text = section(README.read_text(), "## Results", "\n## ")
    for pattern, (table, key) in ASIDES.items():
        m = re.search(pattern, text)
        assert m, f"README.md no longer says {pattern!r}: update ASIDES"
        row = find(ALL[table], key)
        assert m["mean"] == row["mean"].split(" ")[0], f"README.md: {m[0]}, but docs/results.md's {key} row has {row['mean']}"
        assert m.groupdict().get("params") in (None, row["params"]), f"README.md: {m[0]}"


def test_the_distillation_table_is_its_records():
    """docs/results.md's Distillation at 8k: the shipped small_8k's row is its confirmation, the distilled row
    bench/results/confirm_small_8k_kd's, every seed of it distilled from the teacher file shipped beside it."""
    plain, distilled = [quote(r, "five") for r in rows(section(DOC.read_text(), "## Distillation at 8k", "\n## "))]
    check(plain, record("search_smallest_8k", 19), "Distillation at 8k: small_8k")
    check(distilled, confirmation("confirm_small_8k_kd", EXPERIMENT_RECORDS["confirm_small_8k_kd"]), "Distillation at 8k: distilled")
    teacher = RESULTS / "teachers" / "best_20k_seed1"
    digest = hashlib.sha256((teacher / "model.pt").read_bytes()).hexdigest()
    for seed_dir in sorted((RESULTS / "confirm_small_8k_kd").glob("seed_*")):
        taught = json.loads((seed_dir / "result.json").read_text())["teacher"]
        assert (taught["path"], taught["sha256"]) == ("bench/results/teachers/best_20k_seed1", digest), seed_dir
