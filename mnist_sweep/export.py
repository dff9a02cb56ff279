"""Turn a leaderboard trial, or one run dir, into a config you keep (``+experiment``) and its weights into ONNX.

``python -m mnist_sweep.export SWEEP_DIR|LEADERBOARD.csv --rank N|--trial N|--max-params N --out conf/experiment/NAME.yaml``
writes the trial's settings (its sections, the group options it used, the precision it trained in)
as an ``# @package _global_`` experiment; ``python -m mnist_sweep.train +experiment=NAME`` trains it
again with the trial's metrics. ``export RUN_DIR ...`` does the same for one run dir in no sweep (a
``python -m mnist_sweep.train`` run's; a trial dir is refused naming its sweep dir and --trial N).
``--out`` is ``conf/experiment/NAME.yaml`` or ``DIR/experiment/NAME.yaml`` (``--config-dir DIR``;
experiments.py). ``--confirm`` writes the confirmation protocol instead (no validation hold-out).
``--onnx FILE.onnx`` writes the final weights as ONNX (dynamic batch), checked against PyTorch on the
test set; the file's ``metadata_props`` say how to feed it (``onnx_metadata``), and the command prints
them. Both files are written, or neither.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import torch
from omegaconf import OmegaConf

from mnist_sweep import PROJECT_ROOT, checkpoint, results
from mnist_sweep import data as mdata
from mnist_sweep.board_paths import lone_run, sweeps_here
from mnist_sweep.commandline import CliParser, exit_code_of
from mnist_sweep.errors import MnistSweepError, UsageError, one_line, unusable_path
from mnist_sweep.experiments import (check_out, comment_precision, header_lines, precision_comment, recorded_precision,
                                     usage)
from mnist_sweep.leaderboard import read
from mnist_sweep.output_files import Outputs, check_writable, stream_name
from mnist_sweep.shell import argument
from mnist_sweep.saved_trial import (SECTIONS, TRAINED, absent_defaults, checked_config, no_pick, pick_row, run_config_dir,
                                     trial_config_dir)
from mnist_sweep.table import within_params

GROUPS = ("model", "optimizer", "scheduler", "data", "trainer")  # config groups whose option the trial chose
DISPLAY_ONLY = {"trainer": ("progress",)}  # not part of the protocol: the user's terminal decides
CONFIRM = {"data": {"val_size": 0, "train_limit": None, "test_limit": None},  # confirm's protocol: every image
           "trainer": {"select_on": "test", "objectives": None}}
ONNX_TOLERANCE = 1e-4  # max |logit difference| accepted between onnxruntime and PyTorch (float32)


def trial_dir_of(row: pd.Series, board: pd.DataFrame | None = None) -> Path:
    """A trained leaderboard row's trial dir; LeaderboardError otherwise (a duplicate's names its original)."""
    return trial_config_dir(row, board, "export").parent  # --onnx too: a config train would refuse is no trial


RUN_TOO = "a sweep dir, its leaderboard.csv, or a run dir (with .hydra/config.yaml)"  # what export takes, as reproduce


def picked(source: str, rank: int | None, trial: int | None, max_params: int | None = None) -> tuple[Any, Path, bool]:
    """(the leaderboard row, its trial dir, False); for one run dir in no sweep (``lone_run``), checked as
    reproduce checks one: ({its status}, the dir, True). A trial dir is refused naming its sweep and trial.
    ``max_params``: the best-ranked trained trial of at most that many parameters (``table.within_params``)."""
    if not lone_run(p := Path(source)):
        board = read(source, takes=RUN_TOO, picks=True)  # a path to nothing: export takes a run dir too
        if max_params is not None:  # complete ranks before pruned: the best of them
            rank = int(within_params(board[board.status.isin(TRAINED)], max_params, source, "trained trial")["rank"].iloc[0])
        row = pick_row(board, rank, trial, source)
        return row, trial_dir_of(row, board), False
    no_pick(rank, trial, p, max_params)
    run_dir = run_config_dir(p.absolute(), "export").parent  # absolute: the header and ONNX source_run name it
    return {"status": results.read(run_dir).get("status")}, run_dir, True


def experiment(trial_dir: Path, confirm: bool = False) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """(the experiment's body, its group choices) from a trial's saved ``.hydra/`` files. The
    trial's own interpolations (``model.widths`` from ``c1..c6``) are kept: they resolve inside
    the file, so ``+experiment=NAME model.c3=24`` still works."""
    cfg = checked_config(trial_dir, "export")  # damaged or edited by hand: one line, before anything is written
    hydra_yaml = trial_dir / ".hydra" / "hydra.yaml"
    try:
        choices = dict(OmegaConf.to_container(OmegaConf.load(hydra_yaml).hydra.runtime.choices))
    except Exception:  # noqa: BLE001 - missing or damaged: the group options' own names say (below)
        choices = {}
    body = {s: {**OmegaConf.to_container(cfg[s], resolve=False), **absent_defaults(s, cfg[s])} for s in SECTIONS}
    for section, key in [(section, key) for section, keys in DISPLAY_ONLY.items() for key in keys]:
        body[section].pop(key, None)
    for section, values in CONFIRM.items() if confirm else ():
        body[section].update(values)
    if precision := recorded_precision(trial_dir):  # what auto resolved to, as reproduce pins it
        body["trainer"]["precision"] = precision
    try:  # every interpolation must resolve within the exported sections
        OmegaConf.to_container(OmegaConf.create(body), resolve=True)
    except Exception:  # noqa: BLE001 - an interpolation reaching outside: write resolved values instead
        body = OmegaConf.to_container(OmegaConf.create(body), resolve=True)
    for g in GROUPS:  # no hydra.yaml: a group option's own `name` key says which it was
        name = body[g].get("name") if isinstance(body[g], dict) else None
        if g not in choices and isinstance(name, str) and (PROJECT_ROOT / "conf" / g / f"{name}.yaml").is_file():
            choices[g] = name
    defaults = [{f"override /{g}": choices[g]} for g in GROUPS if isinstance(choices.get(g), str)]
    return body, defaults


def absolute_teacher(trial_dir: Path, body: dict[str, Any]) -> str | None:
    """A distilled run's trainer.teacher made absolute in ``body`` (the dir the run read: ``reproduce.teacher_dir``), so
    +experiment=NAME trains with it from any dir; a note where its model.pt changed since (``reuse.changed_teacher``)."""
    from mnist_sweep.reproduce import teacher_dir
    from mnist_sweep.reuse import changed_teacher
    if not isinstance(given := body["trainer"].get("teacher"), str) or "${" in given:
        return None
    body["trainer"]["teacher"] = os.path.abspath(teacher_dir(trial_dir, given))
    why = changed_teacher(results.read(trial_dir), body)
    return f"note: {why}; trained from this experiment, its metrics will differ from the run's" if why else None


def render(body: dict[str, Any], defaults: list[dict[str, str]], header: list[str]) -> str:
    text = OmegaConf.to_yaml(OmegaConf.create({"defaults": defaults, **body}), sort_keys=False)
    return "# @package _global_\n" + "".join(f"# {line}\n" if line else "#\n" for line in header) + text


# ------------------------------------------------------------------ ONNX
def onnx_metadata(run: checkpoint.Run) -> dict[str, str]:
    """What a user of the ONNX file needs, as its ``metadata_props`` (strings; onnxruntime:
    ``session.get_modelmeta().custom_metadata_map``): the preprocessing is exactly
    ``data.normalize``, the output order the class index."""
    mean, std, scale = mdata.MEAN, mdata.STD, mdata.PIXEL_SCALE
    return {
        "input_name": "image", "input_shape": "N,1,28,28",
        "input_dtype": "float32", "input_layout": "NCHW",
        "input_pixels": "grayscale 28x28, white digit on black background, its box fit into 20x20 and centred by "
                        "its centre of mass (as MNIST's: predict does so); uint8 values 0-255",
        "pixel_divisor": f"{scale:g}",
        "normalization_mean": repr(mean),
        "normalization_std": repr(std),
        "preprocessing": f"(pixel / {scale:g} - {mean!r}) / {std!r}: pixels scaled to [0, 1], then normalized",
        "output_name": "logits", "output_shape": "N,10",
        "class_order": ",".join(str(k) for k in range(10)),
        "output_meaning": "logits[:, k] is the unnormalized score of digit class_order[k]; argmax is the "
                          "prediction, softmax gives probabilities",
        "params": str(sum(p.numel() for p in run.model.parameters())),
        "source_run": str(run.dir),
    }


def export_onnx(run: checkpoint.Run, path: Path) -> dict[str, str]:
    """torch.onnx.export with a dynamic batch dimension: input ``image`` [N, 1, 28, 28] normalized
    as in training, output ``logits`` [N, 10]; ``onnx_metadata`` written into the file's
    ``metadata_props`` and doc string. Returns that metadata."""
    import warnings

    import onnx

    batch = torch.export.Dim("batch", min=1, max=65536)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            run.model, (torch.zeros(2, 1, 28, 28),), str(path), input_names=["image"], output_names=["logits"],
            dynamic_shapes=({0: batch},), dynamo=True, external_data=False, verbose=False,
        )
    meta = onnx_metadata(run)
    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props}, **meta})
    proto.doc_string = (f"MNIST digit classifier (mnist_sweep). Input '{meta['input_name']}' {meta['input_dtype']} "
                        f"[{meta['input_shape']}] {meta['input_layout']} = {meta['preprocessing']}. Output "
                        f"'{meta['output_name']}' [{meta['output_shape']}], classes {meta['class_order']}.")
    onnx.save(proto, str(path))
    return meta


def onnx_parity(path: Path, run: checkpoint.Run, batch_size: int = 1000) -> tuple[int, float, int]:
    """(images compared, max |logit difference|, predictions that differ) between onnxruntime
    running ``path`` and the PyTorch model, on the run's test images (batches of ``batch_size``
    and a batch of one, so the dynamic batch dimension is exercised)."""
    import onnxruntime as ort

    x, _, _, _ = checkpoint.test_set(run.cfg)
    ref = checkpoint.logits(run.model, x, batch_size)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = torch.cat([torch.from_numpy(session.run(None, {"image": x[i : i + batch_size].numpy()})[0])
                     for i in range(0, len(x), batch_size)])
    one = torch.from_numpy(session.run(None, {"image": x[:1].numpy()})[0])
    diff = max(float((got - ref).abs().max()), float((one - ref[:1]).abs().max()))
    return len(x), diff, int((got.argmax(1) != ref.argmax(1)).sum())


def check_onnx(out: Path, force: bool, given: str = "") -> None:  # given: as typed, a trailing / (Path drops it) too
    if out.is_dir() or given.endswith("/"):  # a dir: the file goes in it, not beside it as DIR.onnx
        raise MnistSweepError(f"--onnx {given or out}: is a directory, not a file; give the file to write in it, "
                              f"e.g. --onnx {argument(out / 'model.onnx')}")
    if (stream := stream_name(out)) or out.suffix.lower() != ".onnx":  # M.ONNX is one: predict and checkpoint read it as one
        stem = out.stem.strip(".")  # '-', '+', .onnx alone: no name to keep
        named = not stream and any(c.isalnum() for c in stem) and stem.lower() != "onnx"
        fixed = Path(out.parent, f"{out.stem}.onnx") if named else Path("model.onnx") if stream else out.parent / "model.onnx"
        why = (f"names {stream}; export writes a file" if stream else "has no name before .onnx"
               if out.name.lower() == ".onnx" else "must end in .onnx (an ONNX model file)")
        raise MnistSweepError(f"--onnx {out}: {why}; e.g. --onnx {argument(fixed)}")  # -x.onnx: ./-x.onnx, not a flag
    check_writable("--onnx", out, force)


def write_onnx(run: checkpoint.Run, out: Path, force: bool) -> str:
    """Export and check in a temporary file, then rename (results.atomic_write: a killed one's is removed later)."""
    check_onnx(out, force)
    got: dict[str, Any] = {}

    def write(tmp: Path) -> None:
        got["meta"] = export_onnx(run, tmp)
        n, diff, differ = onnx_parity(tmp, run)
        if differ or not diff <= ONNX_TOLERANCE:  # NaN compares false: a NaN difference is no pass
            raise MnistSweepError(f"--onnx {out}: onnxruntime disagrees with PyTorch on {differ} of {n:,} test images "
                                  f"(max |logit diff| {diff:.2e}, bound {ONNX_TOLERANCE:.0e}); not written")
        got.update(n=n, diff=diff)

    try:
        results.atomic_write(out, write)
    except OSError as e:  # named by the file asked for, not the temporary one beside it
        raise MnistSweepError(unusable_path(OSError(e.errno, e.strerror or type(e).__name__, str(out)), "--onnx")) from None
    meta, n, diff = got["meta"], got["n"], got["diff"]
    return "\n".join([
        (f"wrote {one_line(out)}; onnxruntime vs PyTorch on {n:,} test images: same prediction on all, "
         f"max |logit diff| {diff:.2e} (bound {ONNX_TOLERANCE:.0e})"),
        "  how to feed it, in the file's metadata_props (onnxruntime: session.get_modelmeta().custom_metadata_map):",
        *(f"    {key} = {one_line(value)}" for key, value in meta.items()),  # one line each: a path's newline as \n
    ])


def write_both(out: Path | None, text: str | None, run: checkpoint.Run | None, onnx: Path | None,
               force: bool, outputs: Outputs) -> str | None:
    """Both files or neither: the experiment's temporary file first (an unwritable --out failed after
    the ONNX file was written), moved into place after the ONNX check; a failure or an interrupt
    removes a new ONNX file whose experiment is not in place, and the new dirs."""
    made = [d for f in (out, onnx) if f is not None for d in reversed(f.absolute().parents) if not d.exists()]
    line: list[str | None] = [None]
    outputs.start(out, onnx if run is not None else None)

    def write(tmp: Path | None) -> None:
        if tmp is not None and text is not None:
            tmp.write_text(text, encoding="utf-8")  # as Hydra reads it, in any locale (its '±' was a traceback in C)
        if run is not None and onnx is not None:
            line[0] = write_onnx(run, onnx, force)

    try:
        if out is not None:
            results.atomic_write(out, write)
        else:
            write(None)
    except BaseException:
        if onnx is not None and out is not None and outputs.new(onnx) and not outputs.new(out) \
                and not outputs.was_there(onnx):  # one --force replaced is gone already: the new one stays
            onnx.unlink(missing_ok=True)
        for d in sorted(set(made), key=lambda p: -len(p.parts)):  # deepest first, each while empty
            with contextlib.suppress(OSError):
                d.rmdir()
        raise
    return line[0]


def _run(args: argparse.Namespace, outputs: Outputs) -> None:
    if not args.out and not args.onnx:
        raise UsageError("give --out conf/experiment/NAME.yaml, --onnx FILE.onnx, or both")
    out = Path(args.out) if args.out else None
    if out is not None:
        check_out(out, args.force)
    if args.onnx:
        check_onnx(Path(args.onnx), args.force, args.onnx)
    row, trial_dir, lone = picked(args.source, args.rank, args.trial, args.max_params)
    text = note = None
    if out is not None:
        body, defaults = experiment(trial_dir, args.confirm)
        note = absolute_teacher(trial_dir, body)
        text = comment_precision(render(body, defaults, header_lines(row, trial_dir, out, args.confirm, lone)),
                                 precision_comment(trial_dir, "run" if lone else "trial"))
    run = checkpoint.load(trial_dir, "run dir" if lone else "trial dir") if args.onnx else None  # every check first
    onnx_line = write_both(out, text, run, Path(args.onnx) if args.onnx else None, args.force, outputs)
    if out is not None:
        what = f"the run in {one_line(trial_dir)}" if lone else f"trial {row['trial']}"
        print(f"wrote {one_line(out)}: {what} as an experiment; train it with\n  {usage(out)}\n"
              f"or confirm it over seeds (all 60,000 training images) with\n  {usage(out, 'confirm')}" + (f"\n{note}" if note else ""))
    if onnx_line:
        print(onnx_line)


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.export", description=__doc__.splitlines()[0], missing=sweeps_here)
    p.add_argument("source", help="a sweep dir or its leaderboard.csv (with --rank or --trial), or one run dir of "
                   "python -m mnist_sweep.train (its .hydra/ and result.json; a trial dir: give its sweep dir and --trial)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--rank", type=int, help="leaderboard rank (default 1); not with a run dir")
    g.add_argument("--trial", type=int, help="Optuna trial number; not with a run dir")
    g.add_argument("--max-params", type=int, metavar="N", help="the best trial with at most N parameters (the lowest rank "
                   "among them: leaderboard --max-params N lists them), e.g. the best under 5,000: 4999; not with a run dir")
    p.add_argument("--out", help="the experiment file: conf/experiment/NAME.yaml (then +experiment=NAME), "
                   "or DIR/experiment/NAME.yaml (then --config-dir DIR +experiment=NAME)")
    p.add_argument("--confirm", action="store_true",
                   help="write the confirmation protocol (data.val_size=0, no data.train_limit or test_limit, "
                        "trainer.select_on=test) instead of the trial's")
    p.add_argument("--onnx", help="also write the trial's (or run's) final weights (model.pt) as ONNX, checked on the test set")
    p.add_argument("--force", action="store_true", help="replace existing output files (never a shipped experiment)")
    args, outputs = p.parse_args(argv), Outputs("run the same command again with --force")
    return exit_code_of(lambda: _run(args, outputs), p.prog, outputs.interrupted_line)  # what is there when it comes


if __name__ == "__main__":
    sys.exit(main())
