"""How a command line reads in a shell: a printed command as a line to paste (each argument quoted,
the interpreter named as the shell finds it), and a path the shell split at an unquoted space
(``reproduce /tmp/my sweeps/a b`` is three arguments) given back quoted, as one."""
from __future__ import annotations

import os
import shlex
import shutil
import sys
from pathlib import Path

MAX_PIECES = 8  # the most pieces a split path is looked for in (seven spaces)


def interpreter(executable: str | None = None, path: str | None = None) -> str:
    """This interpreter as a shell would name it: ``python`` when the ``python`` found on ``PATH``
    (default ``$PATH``) is this one in its own directory (an activated venv), else its full path
    (``/.../.venv/bin/python``), so that a printed command runs where it is pasted."""
    exe = os.path.abspath(executable or sys.executable)
    found = shutil.which("python", path=path)
    if found and os.path.dirname(os.path.abspath(found)) == os.path.dirname(exe) \
            and os.path.realpath(found) == os.path.realpath(exe):
        return "python"
    return exe


def shell_command(cmd: list[str]) -> str:
    """``cmd`` (``[sys.executable, ...]``) as a line to paste into a shell, each argument quoted."""
    return shlex.join([interpreter(cmd[0]), *map(str, cmd[1:])])


def pasteable(module: str, *args: object) -> str:
    """``python -m module args`` as a line a user can paste into a shell."""
    return shell_command([sys.executable, "-m", module, *map(str, args)])


def _exists(word: str) -> bool:
    try:
        return os.path.lexists(os.path.expanduser(word))
    except (OSError, ValueError):  # a name over the system's limit, a NUL
        return False


def _plausible(pieces: list[str]) -> bool:
    """The pieces joined name a path in an existing directory whose name has the space
    (``/tmp/my outs/x.yaml`` with ``/tmp/my outs`` there): not one that merely sits beside the first."""
    try:
        joined = Path(os.path.expanduser(" ".join(pieces)))
        return joined.parent.is_dir() and joined.parent != Path(os.path.expanduser(pieces[0])).parent
    except (OSError, ValueError):
        return False


def split_path(argv: list[str], plausible: bool = False) -> tuple[str, str] | None:
    """(a piece that names nothing, the pieces quoted as one argument) where ``argv`` holds a path the
    shell split at an unquoted space: consecutive words, not flags, one of them naming nothing here
    and all of them joined with spaces naming something that exists (``plausible``: or a path in an
    existing directory with the space in its name). None otherwise: a wrong argument keeps its error."""
    for i, first in enumerate(argv):
        if first.startswith("-"):
            continue
        last = min(len(argv), i + MAX_PIECES)  # predict's thousand images: a few stats each, not a thousand
        end = next((j for j in range(i + 1, last) if argv[j].startswith("-")), last)
        spans = [argv[i:j] for j in range(i + 2, end + 1)]  # a path that exists: the longest; else the shortest plausible
        for pieces in [*(p for p in reversed(spans) if _exists(" ".join(p))),
                       *(p for p in spans if plausible and _plausible(p))]:
            if (missing := next((w for w in pieces if not _exists(w)), None)) is not None:
                return missing, shlex.quote(" ".join(pieces))
    return None


def split_path_hint(argv: list[str], plausible: bool = False) -> str:
    """'; a path with a space is one argument, quoted: '...'' where ``argv`` holds one the shell split; else ""."""
    found = split_path(argv, plausible)
    return f"; a path with a space is one argument, quoted: {found[1]}" if found else ""
