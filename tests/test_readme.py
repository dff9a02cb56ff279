"""The README and docs/ against the code: every config default they quote equals the composed
conf/, every relative link reaches an existing file (and heading), and the commands the tools
print can be pasted into a shell; docs/layout.md names every module."""
from __future__ import annotations

import functools
import os
import re
import shlex
import sys
from pathlib import Path

import pytest
import yaml
from conftest import make_cfg_hydra
from omegaconf import OmegaConf

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.commandline import interpreter, shell_command

DOCS = [PROJECT_ROOT / "README.md", *sorted((PROJECT_ROOT / "docs").glob("*.md"))]
KEY = r"(?:hydra\.sweeper|model|optimizer|scheduler|data|trainer)(?:\.[A-Za-z_][A-Za-z0-9_]*)+"
NUMBER = r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:e[-+]?\d+)?"
# A defaults table: a marker naming the group options to compose, then `| key | default | ... |`.
MARKER = re.compile(r"^<!-- defaults:(?P<overrides>[^>]*)-->\n(?P<table>(?:\|.*\|\n?)+)", re.MULTILINE)
ROW = re.compile(r"^\| `(?P<key>[^`]+)` \| (?P<default>[^|]+?) \|", re.MULTILINE)
# Prose: "`data.val_size` (10,000)", "`model.max_params`, default 20,000", "`trainer.max_epochs` (default 20)".
PHRASE = re.compile(rf"`(?P<key>{KEY})`(?:\s\((?:default\s+)?|,\s+default\s+)(?P<default>{NUMBER})(?![\w.])")
LINK = re.compile(r"(?<!!)\[[^\]]*\]\((?P<target>[^)\s]+)\)")


def rel(path: Path) -> str:
    return str(path.relative_to(PROJECT_ROOT))


@functools.cache
def compose(overrides: str):
    """The real conf/ composed with these group options, its hydra node included (read, never changed)."""
    return make_cfg_hydra(*overrides.split())


def value(text: str):
    """What a table cell or phrase says: a number (10,000 -> 10000), else as YAML reads it."""
    text = text.strip().strip("`")
    if re.fullmatch(NUMBER, text):
        number = text.replace(",", "")
        return int(number) if re.fullmatch(r"-?\d+", number) else float(number)
    return yaml.safe_load(text)


def configured(cfg, key: str):
    """The composed value of ``key`` (interpolations resolved), or KeyError if there is no such key."""
    found = OmegaConf.select(cfg, key, default=KeyError)
    if found is KeyError:
        return KeyError
    return OmegaConf.to_container(found, resolve=True) if OmegaConf.is_config(found) else found


def same(quoted, actual) -> bool:
    """Equal as the docs mean it: numbers by value (20 == 20.0), booleans strictly, the rest by ==."""
    if isinstance(quoted, bool) or isinstance(actual, bool):
        return quoted is actual
    if isinstance(quoted, (int, float)) and isinstance(actual, (int, float)):
        return float(quoted) == float(actual)
    return quoted == actual


def defaults_tables() -> list[tuple[str, str, str, str]]:
    """(file, overrides, key, quoted default) of every row of every marked defaults table."""
    rows = []
    for doc in DOCS:
        for m in MARKER.finditer(doc.read_text()):
            header = m["table"].splitlines()[0]
            assert re.match(r"^\| key \| default \|", header), f"{rel(doc)}: a defaults marker before {header!r}"
            found = [(rel(doc), m["overrides"].strip(), r["key"], r["default"]) for r in ROW.finditer(m["table"])]
            assert found, f"{rel(doc)}: no `key` rows in the table after <!-- defaults:{m['overrides']}-->"
            rows += found
    return rows


def quoted_phrases() -> list[tuple[str, str, str]]:
    """(file, key, quoted number) of every "`key` (N)" or "`key`, default N" in the prose."""
    return [(rel(doc), m["key"], m["default"]) for doc in DOCS for m in PHRASE.finditer(doc.read_text())]


def test_the_docs_have_defaults_tables_for_every_group():
    sections = {key.split(".")[0] if not key.startswith("hydra.") else "hydra" for _, _, key, _ in defaults_tables()}
    assert sections == {"model", "optimizer", "scheduler", "data", "trainer", "hydra"}


@pytest.mark.parametrize("where,overrides,key,quoted", defaults_tables())
def test_table_default_matches_the_config(where, overrides, key, quoted):
    actual = configured(compose(overrides), key)
    assert actual is not KeyError, f"{where}: `{key}` is not a key of the config composed with {overrides!r}"
    assert same(value(quoted), actual), f"{where}: `{key}` default quoted as {quoted}, conf/ says {actual!r}"


def test_phrases_are_recognized():
    """The prose quotes defaults in these forms, and the pattern finds them (so a wrong one fails below)."""
    found = {(where, key) for where, key, _ in quoted_phrases()}
    assert {("README.md", "model.max_params"), ("docs/sweeps.md", "model.max_params")} <= found


@pytest.mark.parametrize("where,key,quoted", quoted_phrases())
def test_quoted_default_matches_the_config(where, key, quoted):
    cfg = compose("")
    actual = configured(cfg, key)
    if actual is KeyError:  # a key of a non-default option (scheduler.gamma): any option that has it
        group = key.split(".")[0]
        options = sorted(p.stem for p in (PROJECT_ROOT / "conf" / group).glob("*.yaml"))
        values = [v for o in options if (v := configured(compose(f"{group}={o}"), key)) is not KeyError]
        assert values, f"{where}: `{key}` is not a key of any {group} option"
        assert any(same(value(quoted), v) for v in values), f"{where}: `{key}` quoted as {quoted}, conf/ says {values}"
        return
    assert same(value(quoted), actual), f"{where}: `{key}` default quoted as {quoted}, conf/ says {actual!r}"


def test_a_wrong_quoted_default_is_caught():
    """The checks above would see a wrong number: the parsers find it and the comparison fails."""
    text = "`data.val_size` (5,000) and `model.max_params`, default 20,000\n"
    found = {m["key"]: value(m["default"]) for m in PHRASE.finditer(text)}
    assert found == {"data.val_size": 5000, "model.max_params": 20000}
    cfg = compose("")
    assert not same(found["data.val_size"], configured(cfg, "data.val_size"))
    assert same(found["model.max_params"], configured(cfg, "model.max_params"))
    table = "<!-- defaults: optimizer=adam -->\n| key | default | meaning |\n|---|---|---|\n| `optimizer.lr` | 0.05 | x |\n"
    (m,) = MARKER.finditer(table)
    (row,) = ROW.finditer(m["table"])
    assert not same(value(row["default"]), configured(compose(m["overrides"]), row["key"]))


def anchors(doc: Path) -> set[str]:
    """GitHub's heading anchors of a markdown file (lowercased, punctuation dropped, spaces -> '-')."""
    seen: dict[str, int] = {}
    out = set()
    in_code = False
    for line in doc.read_text().splitlines():
        if line.startswith("```"):
            in_code = not in_code
        m = None if in_code else re.match(r"^#{1,6} (.*)$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m[1].strip().lower()).replace(" ", "-")
            n = seen.get(slug, 0)
            seen[slug] = n + 1
            out.add(slug if n == 0 else f"{slug}-{n}")
    return out


def links() -> list[tuple[str, str]]:
    """(file, target) of every relative link in README.md and docs/*.md (code blocks excluded)."""
    found = []
    for doc in DOCS:
        text = re.sub(r"^(    |\t).*$", "", doc.read_text(), flags=re.MULTILINE)  # indented code blocks
        text = re.sub(r"`[^`\n]*`", "", text)
        for m in LINK.finditer(text):
            target = m["target"]
            if not re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:
                found.append((rel(doc), target))
    return found


def test_the_docs_link_each_other():
    targets = {(where, t.split("#")[0]) for where, t in links()}
    pages = {rel(p) for p in DOCS if p.parent.name == "docs"}
    linked = {str(Path("docs") / Path(t).name) for w, t in targets if w == "README.md" and t.startswith("docs/")}
    assert pages <= linked, f"docs pages the README does not link: {sorted(pages - linked)}"


@pytest.mark.parametrize("where,target", links())
def test_relative_link_points_to_an_existing_file(where, target):
    path, _, anchor = target.partition("#")
    doc = PROJECT_ROOT / where
    dest = (doc.parent / path).resolve() if path else doc
    assert dest.exists(), f"{where}: link {target!r} points to {dest}, which does not exist"
    if anchor and dest.suffix == ".md":
        assert anchor in anchors(dest), f"{where}: link {target!r}: no heading #{anchor} in {rel(dest)}"


def test_the_schema_table_moved_to_docs():
    """tests/test_config_table.py checks the table between the markers; it lives in docs/schema.md."""
    assert (PROJECT_ROOT / "docs" / "schema.md").read_text().count("<!-- schema-table -->") == 2
    assert "<!-- schema-table -->" not in (PROJECT_ROOT / "README.md").read_text()


def test_reproduce_prints_a_command_a_shell_can_run(tmp_path):
    """reproduce's `$ ...` line: `python -m ...` where `python` on PATH is this interpreter (an
    activated venv), else the interpreter's full path; every argument shell-quoted."""
    venv_bin = tmp_path / "venv" / "bin"
    venv_bin.mkdir(parents=True)
    exe = venv_bin / "python"
    exe.symlink_to(sys.executable)
    other = tmp_path / "other"
    other.mkdir()
    (other / "python").symlink_to(sys.executable)
    assert interpreter(str(exe), path=str(venv_bin)) == "python"
    assert interpreter(str(exe), path=os.pathsep.join([str(other), str(venv_bin)])) == str(exe)  # another python first
    assert interpreter(str(exe), path=str(other)) == str(exe)
    assert interpreter(str(exe), path="") == str(exe)
    cmd = [str(exe), "-m", "mnist_sweep.train", "--config-path", "/a dir/with 'quotes'/.hydra", "hydra.run.dir=out"]
    line = shell_command(cmd)
    argv = shlex.split(line)
    assert argv[1:] == cmd[1:] and argv[0] in ("python", str(exe))
    assert not line.startswith("-m")


def test_layout_names_every_module():
    """docs/layout.md lists the package floor by floor and the sweeper's modules; a module added
    without its line (the sweeper's _failures.py and _faults.py) left the page incomplete."""
    text = (PROJECT_ROOT / "docs" / "layout.md").read_text()
    modules = [*(PROJECT_ROOT / "mnist_sweep").rglob("*.py"), *(PROJECT_ROOT / "hydra_plugins").rglob("*.py")]
    missing = sorted(str(p.relative_to(PROJECT_ROOT)) for p in modules
                     if p.name != "__init__.py" and not re.search(rf"(?<![\w.]){re.escape(p.name)}", text))
    assert not missing, f"docs/layout.md does not name: {missing}"


def test_make_help_lists_every_target():
    """'make help' was "No rule to make target 'help'", and the Makefile's head named four targets of
    nine: it lists every target the Makefile declares, each in docs/setup.md's table too."""
    import subprocess

    makefile = (PROJECT_ROOT / "Makefile").read_text()
    targets = re.search(r"^\.PHONY:(.*)$", makefile, re.MULTILINE).group(1).split()
    shown = subprocess.run(["make", "-s", "-C", str(PROJECT_ROOT), "help"], capture_output=True, text=True, check=True).stdout
    listed = {t for line in shown.splitlines() for t in re.findall(r"[\w-]+", line.split("  ")[0])}
    assert set(targets) <= listed, (targets, shown)
    setup = (PROJECT_ROOT / "docs" / "setup.md").read_text()
    assert all(f"`make {t}`" in setup for t in targets if not t.startswith("pg")), targets

