"""A command's output files (export's --out and --onnx): each checked as a file it may write (not
standard output, ``-``, nor a device such as /dev/stdout: ``stream_name``), and
which of them it has written at any moment, told by the file itself (``os.replace`` puts a new file in
place, so a path's identity changes), not by a flag set after the write, which an interrupt can come
before. An interrupt's line says what is true then: nothing written, one file, or each of them."""
from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Callable
from pathlib import Path

from mnist_sweep.errors import MnistSweepError, dangling_link, one_line


def check_writable(flag: str, out: Path, force: bool) -> None:
    """An output file: no directory, replaced only with ``force``, under a dir (a file above it said 'File exists')."""
    above = next(d for d in out.absolute().parents if d.exists() or d.is_symlink())  # "/" at the latest
    dangling = above.is_symlink() and not above.exists()  # a link to a dir that is gone (an unmounted disk)
    why = ("is a directory, not a file; give another name" if out.is_dir() else
           "already exists; pick another name or add --force to replace it" if out.exists() and not force else
           None if above.is_dir() else f"{dangling_link(above, above.readlink())}; create it "
           "or choose another path" if dangling else f"{above} is not a directory; choose another path")
    if why:
        raise MnistSweepError(f"{flag} {out}: {why}")


def stream_name(out: Path) -> str | None:
    """What ``out`` names instead of a file to write: standard output (``-``), or a device, pipe or socket
    that exists (``/dev/stdout``); None for a file's name."""
    if str(out) == "-":
        return "standard output"
    try:
        mode = out.stat().st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) or stat.S_ISDIR(mode) else f"{out}, a device, pipe or socket"


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino, st.st_mtime_ns


class Outputs:
    """The files a command is about to write, as they were before it wrote any (``start``)."""

    def __init__(self, again: str = "run the same command again") -> None:
        self.again = again  # how to go on where only some of them were written
        self.paths: list[Path] = []
        self.before: dict[Path, tuple[int, int, int] | None] = {}

    def start(self, *paths: Path | None) -> None:
        """Note each path's file as it is now (none, or the one ``--force`` replaces): called just before writing."""
        self.paths = [p for p in paths if p is not None]
        self.before = {p: _identity(p) for p in self.paths}

    def write(self, path: Path, write: Callable[[Path], None]) -> bool:
        """``write(path)``, the command's one output (noted first: ``start``), the folders it lacks made, and
        removed again, each while empty, where the write fails or is interrupted; whether it made a folder."""
        made = [d for d in path.absolute().parents if not d.exists()]  # deepest first
        self.start(path)
        try:
            write(path)
        except BaseException:
            for d in made:
                with contextlib.suppress(OSError):
                    d.rmdir()
            raise
        return bool(made)

    def new(self, path: Path) -> bool:
        """Whether ``path`` holds a file this command put there (absent before, or another file than before)."""
        return path in self.before and (now := _identity(path)) is not None and now != self.before[path]

    def was_there(self, path: Path) -> bool:
        return self.before.get(path) is not None

    def interrupted_line(self) -> str:
        """What an interrupt left, looked up now: the files (or a dir of them) written, each complete (written
        whole, then moved into place), and those not, with how to go on."""
        done = [p for p in self.paths if self.new(p)]
        if not done:
            return "interrupted: nothing written; run the same command again"
        names = " and ".join(one_line(p) for p in done)
        if len(done) == len(self.paths):
            return f"interrupted after writing {names}: {'each is' if len(done) > 1 else 'it is'} complete"
        missing = " and ".join(one_line(p) for p in self.paths if p not in done)
        return f"interrupted after writing {names}, not {missing}; {self.again}"
