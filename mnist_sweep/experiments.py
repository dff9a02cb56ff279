"""Experiment files (``+experiment=NAME``): the command that trains one, and the precision an
exported one pins.

Hydra looks ``+experiment=NAME`` up as ``experiment/NAME.yaml`` in the project's ``conf/``, then in
``--config-dir DIR``: a file outside the project is trained with ``--config-dir DIR``.
"""
from __future__ import annotations

from pathlib import Path

from mnist_sweep import PROJECT_ROOT, results
from mnist_sweep.commandline import pasteable

PROJECT = PROJECT_ROOT / "conf" / "experiment"  # the project's own experiments, searched first
PRECISIONS = ("fp32", "bf16")  # what trainer.precision resolves to (result.json's precision)


def config_dir_of(out: Path) -> Path | None:
    """The ``--config-dir`` that finds ``out`` (``DIR/experiment/NAME.yaml``); None in the project's conf/experiment."""
    return None if out.parent.resolve() == PROJECT.resolve() else out.parent.parent.resolve()


def usage(out: Path) -> str:
    """The train command that uses the experiment file ``out``, pasteable (a config dir with a space
    is quoted; the interpreter's path, as other commands print)."""
    where = () if (d := config_dir_of(out)) is None else ("--config-dir", d)
    return pasteable("mnist_sweep.train", *where, f"+experiment={out.stem}")


def recorded_precision(trial_dir: Path) -> str | None:
    """What the trial trained in (result.json's precision), for an exported file to pin: ``auto``
    decides per machine (and a re-measured cache may decide anew), so the file would train another
    precision elsewhere, as reproduce would (it pins it too); None where none was recorded."""
    got = results.read(trial_dir).get("precision")
    return got if got in PRECISIONS else None


def precision_comment(trial_dir: Path) -> str | None:
    """The comment for an exported file's pinned precision line where the trial's config said
    another (``auto``) than it trained in; None where they agree."""
    res, got = results.read(trial_dir), recorded_precision(trial_dir)
    saved = (results.read_config(trial_dir).get("trainer") or {}).get("precision")
    if got is None or saved in (None, got):
        return None
    where = f" on {res['host']}" if res.get("host") else ""
    return (f"the trial's {saved}, as it resolved{where} ({res.get('device', '?')}): pinned so the trial's "
            "metrics reproduce; auto decides per machine")


def comment_precision(text: str, comment: str | None) -> str:
    """A rendered experiment with ``comment`` after its trainer section's ``precision:`` line."""
    head, sep, rest = text.partition("\ntrainer:\n")
    lines = rest.split("\n")
    for i, line in enumerate(lines if comment and sep else []):
        if not line.startswith(" "):  # the next section: no precision line
            break
        if line.startswith("  precision: "):
            lines[i] = f"{line}  # {comment}"
            break
    return head + sep + "\n".join(lines)
