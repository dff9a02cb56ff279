"""Which finished runs confirm may reuse instead of training again: a run dir's complete run whose
resolved config equals the one asked for (a key added to the schema since, at its default, or the
data read from another data.root, is no difference), in ``--out`` or among a sweep trial's own runs
(its seeds under hydra.sweeper.repeats); a run whose ``trainer.precision=auto`` resolved to the
precision asked for (confirm pins a trial's) trained in it. A distilled run is reused only while its teacher's
model.pt is the one it learnt from (result.json's sha256): after the teacher changed it is another config's run
(``changed_teacher``), refused in --out, not reused among a sweep's. A damaged run there is one line naming its file.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

from mnist_sweep import results, teacher_file
from mnist_sweep.errors import MnistSweepError
from mnist_sweep.experiments import recorded_precision
from mnist_sweep.reproduce import resolved


@functools.lru_cache(maxsize=1)
def default_config() -> dict:
    """The project's default config, resolved: what a key added later defaults to."""
    return resolved([], [])


MISSING = "<missing>"
PLACES = ("data.root",)  # where the data is, not what: every reader checks the MNIST files by SHA-256


def first_difference(a: Any, b: Any, path: str = "", defaults: Any = None) -> str | None:
    """The first dotted key where a saved config ``a`` and the asked-for ``b`` differ, with both
    values. A key missing from ``a`` that ``b`` sets to its default (``defaults``: the project's
    default config) is no difference: a run saved before the key existed trained as that default
    does (keys are added with defaults that keep the old behaviour, e.g. trainer.ema_decay=null).
    Where the data was read (``PLACES``: a relative data.root read from the start dir, another
    machine's root) is no difference either."""
    if path in PLACES:
        return None
    if isinstance(a, dict) and isinstance(b, dict):
        defaults = defaults if isinstance(defaults, dict) else {}
        for k in sorted(set(a) | set(b), key=str):
            if k not in a and k in defaults and b.get(k) == defaults[k]:
                continue
            d = first_difference(a.get(k, MISSING), b.get(k, MISSING), f"{path}.{k}" if path else str(k), defaults.get(k))
            if d:
                return d
        return None
    return None if a == b else f"{path}: {a!r} there, {b!r} asked for"


def sweep_runs(trial_dir: Path | None) -> list[Path]:
    """A sweep trial's own run dirs: its first seed and, with hydra.sweeper.repeats, its further
    seeds (``seed_<n>/``); none for an experiment."""
    return [] if trial_dir is None else [trial_dir, *sorted(trial_dir.glob("seed_*"))]


OUT_FIX = "remove that run dir (confirm trains it again) or give another --out"


def finished(run_dir: Path) -> dict | None:
    """The result.json of a complete run in ``run_dir``; None where there is none (no file, or a
    run that did not complete); a damaged one is a MnistSweepError naming it."""
    result, why = results.load(run_dir)
    if why == "no such file":
        return None
    if why:
        raise MnistSweepError(f"{run_dir / results.FILENAME}: {why}; {OUT_FIX}")
    return result if result.get("status") == "complete" else None


def finished_diff(run_dir: Path, wanted: dict) -> str | None:
    """None when ``run_dir`` holds a complete run of exactly ``wanted``; else what differs. A
    damaged result.json or saved config is a MnistSweepError naming the file (it was a traceback)."""
    from omegaconf import OmegaConf

    if (done := finished(run_dir)) is None:
        return "no complete run"
    config = run_dir / ".hydra" / "config.yaml"
    try:
        saved = OmegaConf.to_container(results.read_config(run_dir), resolve=True)
    except MnistSweepError as e:
        raise MnistSweepError(f"{str(e).split('; ')[0]}; {OUT_FIX}") from None
    except Exception as e:  # noqa: BLE001 - an interpolation that no longer resolves (edited by hand?)
        raise MnistSweepError(f"{config}: does not resolve ({type(e).__name__}: {str(e).splitlines()[0]}); "
                              f"{OUT_FIX}") from None
    return first_difference(as_trained(saved, run_dir, wanted), wanted, defaults=default_config()) or changed_teacher(done, wanted)


def changed_teacher(result: dict, wanted: dict) -> str | None:
    """What differs between the teacher a distilled run learnt from (result.json's ``teacher``: its model.pt's
    sha256) and the one ``wanted`` would learn from (its trainer.teacher's model.pt now, a relative one from the
    current dir, as the run confirm starts reads it); None where they are the same file or no teacher was used.
    The same path with other weights is another config: its results would be stale."""
    rec, given = result.get("teacher"), (wanted.get("trainer") or {}).get("teacher")
    if not isinstance(rec, dict) or not isinstance(given, str):
        return None
    why = teacher_file.change(Path(given).expanduser() / "model.pt", str(rec.get("sha256")))
    return f"trainer.teacher: {why}" if why else None


def as_trained(saved: dict, run_dir: Path, wanted: dict) -> dict:
    """``saved`` with its trainer.precision ``auto`` as what it resolved to (result.json's precision)
    where ``wanted`` pins one (confirm pins a trial's): that run trained in it, as a pinned one does."""
    trainer, asked = saved.get("trainer") or {}, (wanted.get("trainer") or {}).get("precision")
    if trainer.get("precision") != "auto" or asked == "auto" or (got := recorded_precision(run_dir)) is None:
        return saved
    return {**saved, "trainer": {**trainer, "precision": got}}


def check_not_in_the_way(run_dir: Path, select: list[str], overrides: list[str]) -> dict | None:
    """The result.json of ``run_dir``'s finished run of exactly this config (``select`` and
    ``overrides``), to reuse; None where it holds no finished run; a MnistSweepError where it holds
    one of another config, which confirm would neither reuse nor replace."""
    if (done := finished(run_dir)) is None:
        return None
    if diff := finished_diff(run_dir, resolved(select, overrides)):
        raise MnistSweepError(f"{run_dir}: holds a finished run of another config ({diff}); give another --out or remove "
                              "that run")
    return done
