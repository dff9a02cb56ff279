"""Predict digits with a finished run's weights, or check them on the test set.

``python -m mnist_sweep.predict RUN_DIR IMAGE.png [...]`` prints the predicted digit and its
probability per image. Any size (up to PIL's decompression-bomb limit) and mode (16-bit too) of a
still image file is accepted (``gray_levels``: how its pixels are read): converted to grayscale,
its digit boxed as MNIST's (``digit_box``: 20x20, centred by mass in 28x28), MNIST-normalized as in training. MNIST digits
are white on black; ``--invert auto`` (default) inverts an image whose border is lighter than its
strokes (a dark digit on paper) and says so; a background left gray (a photo) is made black. ``--test`` evaluates the checkpoint on the test images
the run was evaluated on (all 10,000, or its ``data.test_limit`` subset, stated) and compares with
the run's recorded final test accuracy.
"""
from __future__ import annotations

import argparse
import io
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mnist_sweep import checkpoint, digit_box, file_kinds, results
from mnist_sweep import data as mdata
from mnist_sweep.commandline import CliParser, check_cli, exit_code_of, pasteable
from mnist_sweep.errors import EMPTY_FILE, MnistSweepError, ReproductionMismatch, UsageError, dangling_link, not_of_kind, one_line
from mnist_sweep.shell import argument
from mnist_sweep.gray_levels import FLOATS, blank, to_gray
from mnist_sweep.model import IMAGE_SIZE


@dataclass
class Image28:
    """An input image as the network sees it, and what was done to it."""

    path: Path
    x: torch.Tensor  # [1, 28, 28], normalized
    inverted: bool
    size: tuple[int, int]
    background: int = 0  # the background's gray level (0-255) in the file, when made black; else 0
    levels: str = ""  # how a 32-bit image's pixels were read, when not as 0-255
    faint: int = 0  # the strokes' peak (0-255) when under MNIST's 254 and stretched to 255 on a black background; else 0


def _decode(p: Path) -> tuple[Any, tuple[int, int], str]:
    """The image file decoded to 8-bit grayscale, its size and how its levels were read (``_gray``);
    one MnistSweepError line naming the file for anything PIL cannot or will not decode (missing,
    unreadable, no regular file, empty, not an image, truncated, over PIL's decompression-bomb
    limit, several frames)."""
    import warnings

    from PIL import Image, ImageOps

    limit, src, fmt = Image.MAX_IMAGE_PIXELS, p, ""
    try:
        if str(p) != "-":
            _check_regular(p)
        src = io.BytesIO(sys.stdin.buffer.read()) if str(p) == "-" else p  # '-': the image piped in (curl ... |)
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)  # over the limit: refused, not loaded
            with Image.open(src) as im:
                fmt = im.format or ""  # its header read: a decoder's error after it is its data's (cut off, damaged)
                if getattr(im, "n_frames", 1) > 1 and im.format != "MPO":  # MPO: a camera's JPEG, its previews after it
                    raise MnistSweepError(f"{p}: has {im.n_frames} frames (an animation or a multi-page file); "
                                          "give a still image of one digit")
                im.load()
                upright = ImageOps.exif_transpose(im)  # a phone photo stored on its side, as a viewer shows it
                gray, how = to_gray(upright, p)
                return gray, upright.size, how
    except FileNotFoundError:
        raise MnistSweepError(f"{p}: no such image file; {_unexpanded(p)}") from None
    except IsADirectoryError:
        raise MnistSweepError(f"{p}: is a directory, not an image; give the image files in it (e.g. {argument(p)}/*.png)") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise MnistSweepError(f"{p}: too large to decode (over PIL's limit of {limit:,} pixels, "
                              "Image.MAX_IMAGE_PIXELS); give a smaller image of one digit") from None
    except MnistSweepError:
        raise
    except Exception as e:  # noqa: BLE001 - PIL's decoders raise OSError, SyntaxError, ValueError, EOFError...
        if isinstance(e, OSError) and e.errno is not None:  # the file system refused, not PIL: no image to blame
            fix = "make it readable (chmod u+r)" if isinstance(e, PermissionError) else "check the file or the link"
            raise MnistSweepError(f"{p}: cannot be read ({e.strerror}); {fix}, or give another image") from None
        if (src.getbuffer().nbytes if isinstance(src, io.BytesIO) else p.is_file() and p.stat().st_size) == 0:
            what = EMPTY_FILE.format(kind="an image") if src is p else "nothing on stdin (0 bytes)"
            raise MnistSweepError(f"{p}: {what}; give a PNG/JPEG of one digit") from None
        if p.suffix.lower() in (".npy", ".npz", ".idx", ".pt", ".pth") or p.name.endswith(("-ubyte", "-ubyte.gz")):
            what = "a PyTorch file (torch.save)" if p.suffix.lower() in (".pt", ".pth") else "an array file (NumPy or IDX)"
            raise MnistSweepError(f"{p}: {what}, not an image; save one digit as an image, e.g. "
                                  "PIL.Image.fromarray(digit_uint8_28x28).save('digit.png')") from None
        if isinstance(e, Image.UnidentifiedImageError) and src is p and (kind := file_kinds.undecodable(p)):
            raise MnistSweepError(f"{p}: {kind}") from None  # an image PIL has no decoder for, a drawing
        if isinstance(e, Image.UnidentifiedImageError) and src is p:  # no image at all: as every command words it
            raise MnistSweepError(f"{p}: {not_of_kind(p, 'an image')}; give a PNG/JPEG of one digit") from None
        why = (str(e).strip().splitlines() or [""])[0].replace(repr(src), "stdin")
        what, fix = ((f"a {fmt} whose pixels cannot be decoded (cut off or damaged?: ", "copy it again, or save it again")
                     if fmt and isinstance(e, (OSError, EOFError, SyntaxError)) else
                     ("not a readable image (", "give a PNG/JPEG of one digit"))
        raise MnistSweepError(f"{p}: {what}{type(e).__name__}{': ' + why if why else ''}); {fix}") from None


def _unexpanded(p: Path) -> str:
    """How to fix an image path that names no file: a shell pattern the shell passed on, quoted (it
    was 'a pattern no file matches' while it matched files) or matching nothing, or the name itself."""
    import glob

    if not set("*?[") & set(str(p)):
        return "check its path and name"
    if found := sorted(glob.glob(str(p))):
        return (f"a pattern the shell did not expand (quoted?), matching {len(found)} file{'s' * (len(found) > 1)} "
                f"({', '.join(found[:3])}{', ...' if len(found) > 3 else ''}); leave it unquoted for the shell")
    return "a pattern no file matches (check it, or leave it unquoted for the shell)"


def _check_regular(p: Path) -> None:
    """An image path that is no regular file is refused before it is opened: a FIFO with no writer
    made open() wait forever, a device read without end. A directory is left to open() (its line
    names the files to give); a link to nothing is named as such. A pipe the shell hands over as
    /dev/fd/N (process substitution, <(curl ...)) or /dev/stdin has its writer: it is read, as '-' is."""
    import stat

    try:
        mode = p.stat().st_mode
    except FileNotFoundError:
        if p.is_symlink():
            raise MnistSweepError(f"{p}: {dangling_link(None, os.readlink(p))}; fix the link or give "
                                  "the image file itself") from None
        raise
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or str(p) == "/dev/stdin" or str(p).startswith(("/dev/fd/", "/proc/self/fd/")):
        return
    kind = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket" if stat.S_ISSOCK(mode) else
            "a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode) else "a special file")
    raise MnistSweepError(f"{p}: {kind}, not a regular file (reading it could wait forever); give an image file, "
                          "or pipe the image in as - (... | python -m mnist_sweep.predict RUN_DIR -)")


def load_image(path: str | Path, invert: str = "auto") -> Image28:
    """Grayscale, background made black (``invert``: auto | yes | no), boxed into 28x28 as MNIST's, normalized."""
    from PIL import ImageOps

    p = Path(path)
    gray, size, levels = _decode(p)
    low, high = gray.getextrema()
    if low == high:  # no strokes: the network would still name a digit, with a probability
        raise blank(p, str(low))
    a = np.asarray(gray)
    back = int(np.median(np.concatenate([a[0], a[-1], a[:, 0], a[:, -1]])))  # the border: the background's level
    do_invert = invert == "yes" or (invert == "auto" and back > (low + high) / 2)  # lighter than the strokes
    if do_invert:
        gray, back, low, high = ImageOps.invert(gray), 255 - back, 255 - high, 255 - low
    leveled = back < (low + high) / 2 and (back > 0 or high < 254)  # MNIST's digits all peak at 254 or 255
    if leveled:  # a gray background (a photo of paper) made black, faint strokes (a dim scan): stretched to 255
        gray = gray.point(lambda v: round(max(0, v - back) * 255 / (high - back)))
    if gray.size != (IMAGE_SIZE, IMAGE_SIZE):  # a 28x28 image is taken as MNIST's own; any other is boxed as theirs
        gray = digit_box.fit(gray)
    x = torch.from_numpy(np.array(gray, dtype=np.uint8)).view(1, IMAGE_SIZE, IMAGE_SIZE)
    return Image28(p, mdata.normalize(x), do_invert, size, (255 - back if do_invert else back) if leveled else 0,
                   levels, high if leveled and back == 0 else 0)


def predict(model: torch.nn.Module, images: list[Image28]) -> list[tuple[int, float]]:
    """(digit, probability) per image."""
    with torch.no_grad():
        probs = torch.softmax(checkpoint.logits(model, torch.stack([i.x for i in images])), dim=1)
    conf, digit = probs.max(1)
    return [(int(d), float(c)) for d, c in zip(digit, conf)]


def test_accuracy(run: checkpoint.Run) -> tuple[int, int, str]:
    """(correct, images, which images) on the run's test images, evaluated as training did
    (same batch size, memory format and thread count, CPU)."""
    x, y, _, what = checkpoint.test_set(run.cfg)
    trainer = run.cfg.get("trainer", {})
    torch.set_num_threads(int(trainer.get("threads") or 1))
    fmt = torch.channels_last if trainer.get("channels_last", False) else torch.contiguous_format
    out = checkpoint.logits(run.model, x, int(run.cfg.data.get("eval_batch_size") or 1000), fmt)
    return int((out.argmax(1) == y).sum()), len(y), what


def _run(args: argparse.Namespace) -> None:
    if not Path(args.run_dir).is_dir() and (run_dir := next((i for i in args.images if Path(i).is_dir()), None)):
        rest = [args.run_dir, *(i for i in args.images if i != run_dir), *["--test"] * args.test,  # a.png RUN: swapped
                *["--invert", args.invert] * (args.invert != "auto")]
        raise UsageError(f"{args.run_dir}: not a run dir, and {run_dir} is a dir: the run dir comes first, "
                         f"{pasteable('mnist_sweep.predict', run_dir, *rest)}")
    run = checkpoint.load(args.run_dir, "run dir (the first argument)")  # an image first (a.png RUN) is named as that
    if (not args.images and not args.test) or args.images.count("-") > 1:  # '- -': the second read an empty stdin
        raise UsageError("give IMAGE files to classify, --test, or both" if not args.images else
                         f"-: given {args.images.count('-')} times; standard input holds one image: give - once")
    images = [load_image(p, args.invert) for p in args.images]  # every input checked before any output
    recorded = _recorded(run) if args.test else None  # checked before any output
    for img, (digit, p) in zip(images, predict(run.model, images) if images else []):  # a newline in a name: \n
        notes = [f"{img.size[0]}x{img.size[1]} resized"] if img.size != (IMAGE_SIZE, IMAGE_SIZE) else []
        notes += [img.levels] if img.levels else []
        if img.inverted:
            notes.append("inverted: light background")
        if img.background:
            notes.append(f"gray background ({img.background}/255) made black")
        notes += [f"faint strokes (brightest {img.faint}/255) stretched to 255"] if img.faint else []
        print(f"{one_line(img.path)}: {digit} (p={p:.3f})" + (f"  [{', '.join(notes)}]" if notes else ""))
    if args.test:
        correct, n, what = test_accuracy(run)
        acc = correct / n
        device = run.result.get("device")
        print(f"test accuracy {100 * acc:.2f}% ({correct:,}/{n:,}) on {what}, on cpu")
        if acc == recorded:
            print(f"recorded final test accuracy (result.json test_acc_final): {100 * recorded:.2f}%: identical")
        else:
            on_gpu = isinstance(device, str) and not device.startswith("cpu")
            hint = f"; it trained on {device}, evaluated here on cpu" if on_gpu else ""
            raise ReproductionMismatch(
                f"{run.dir}: test accuracy {acc} differs from the recorded test_acc_final {recorded}{hint}; "
                "is model.pt from this run?"
            )


def _recorded(run: checkpoint.Run) -> float:
    """The run's recorded final test accuracy, for --test; one line when result.json is missing or
    damaged or holds no accuracy there."""
    path = run.dir / results.FILENAME
    fix = "restore it from the run (a copy of its dir), or leave out --test to classify images only"
    if why := results.problem(run.dir):
        raise MnistSweepError(f"{path}: {why}; --test compares with the test_acc_final it records: {fix}")
    value = run.result.get("test_acc_final")
    if value is None:
        raise MnistSweepError(f"{path}: no test_acc_final recorded (the run did not finish?); {fix}")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise MnistSweepError(f"{path}: test_acc_final {value!r} is not an accuracy between 0 and 1 (damaged?); {fix}")
    return float(value)


def main(argv: list[str] | None = None) -> int:
    p = CliParser(prog="python -m mnist_sweep.predict", description=__doc__.splitlines()[0], missing=checkpoint.rank_ones_here)
    p.add_argument("run_dir", help="a run dir (outputs/runs/...) or trial dir (outputs/sweeps/NAME/trial_NNNN) with model.pt")
    p.add_argument("images", nargs="*", help="image files of one digit each (PNG, JPEG, TIFF, ...; any size; - reads "
                   f"one from stdin); {FLOATS}")
    p.add_argument("--test", action="store_true",
                   help="evaluate on the run's test images and compare with its recorded final test accuracy "
                        "(without images: only this check)")
    p.add_argument("--invert", choices=["auto", "yes", "no"], default="auto",
                   help="make the background black like MNIST: auto (when the border is lighter than the strokes), yes, no")
    args = p.parse_intermixed_args(argv)  # a flag among the images too: RUN --test a.png ('unrecognized: a.png')
    if bad := check_cli(p.prog, args):  # what CliParser.parse_args checks
        p.error(bad)
    return exit_code_of(lambda: _run(args), p.prog, "interrupted: nothing written (predict only reads); run it again")


if __name__ == "__main__":
    sys.exit(main())
