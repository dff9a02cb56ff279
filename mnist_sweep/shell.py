"""How a command line reads in a shell: a printed command as a line to paste (each argument quoted,
the interpreter named as the shell finds it), and a path the shell split at an unquoted space
(``reproduce /tmp/my sweeps/a b`` is three arguments) given back quoted, as one; a number argparse refused
as written (``--trial trial_0004``, ``1,2``, ``1.0``) given back as it takes it."""
from __future__ import annotations

import os
import re
import shlex
import shutil
import sys
from pathlib import Path
from typing import Any

from mnist_sweep.errors import not_utf8

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


def _split_span(argv: list[str], plausible: bool) -> tuple[int, int, str] | None:
    """(first index, end index, a piece that names nothing) of the path ``split_path`` finds; None for none."""
    for i, first in enumerate(argv):
        if first.startswith("-"):
            continue
        last = min(len(argv), i + MAX_PIECES)  # predict's thousand images: a few stats each, not a thousand
        end = next((j for j in range(i + 1, last) if argv[j].startswith("-")), last)
        spans = [(i, j) for j in range(i + 2, end + 1)]  # a path that exists: the longest; else the shortest plausible
        for a, b in [*(s for s in reversed(spans) if _exists(" ".join(argv[s[0]:s[1]]))),
                     *(s for s in spans if plausible and _plausible(argv[s[0]:s[1]]))]:
            if (missing := next((w for w in argv[a:b] if not _exists(w)), None)) is not None:
                return a, b, missing
    return None


def split_path(argv: list[str], plausible: bool = False) -> tuple[str, str] | None:
    """(a piece that names nothing, the pieces quoted as one argument) where ``argv`` holds a path the
    shell split at an unquoted space: consecutive words, not flags, one of them naming nothing here
    and all of them joined with spaces naming something that exists (``plausible``: or a path in an
    existing directory with the space in its name). None otherwise: a wrong argument keeps its error."""
    if (found := _split_span(argv, plausible)) is None:
        return None
    a, b, missing = found
    return missing, shlex.quote(" ".join(argv[a:b]))


def split_value(prev: str, arg: str) -> str | None:
    """``prev arg`` quoted as one argument where ``arg`` is the end of a ``KEY=VALUE`` path with a space the
    shell split (``hydra.run.dir=/tmp/my runs``: a value with '/', or a key ending in dir or root); else None."""
    key, eq, value = prev.partition("=")
    if "=" in arg or arg.startswith(("-", "~")) or prev.startswith("-") or not eq \
            or not ("/" in value or key.endswith(("dir", "root"))):
        return None
    return shlex.quote(f"{prev} {arg}")


def split_path_hint(argv: list[str], plausible: bool = False) -> str:
    """'; a path with a space is one argument, quoted: '...'' where ``argv`` holds one the shell split; else ""."""
    found = split_path(argv, plausible)
    return f"; a path with a space is one argument, quoted: {found[1]}" if found else ""


def rejoined(argv: list[str]) -> tuple[list[str], str]:
    """(``argv`` with a path the shell split at a space given back as one argument, the hint that names it
    quoted): a path (``split_path``, plausible ones too) or a ``KEY=VALUE`` (``split_value``); (argv, "") without."""
    if (found := _split_span(argv, plausible=True)) is not None:
        a, b, _ = found
        joined = " ".join(argv[a:b])
        return [*argv[:a], joined, *argv[b:]], f"; a path with a space is one argument, quoted: {shlex.quote(joined)}"
    for i in range(1, len(argv)):
        if (quoted := split_value(argv[i - 1], argv[i])) is not None:
            return ([*argv[:i - 1], f"{argv[i - 1]} {argv[i]}", *argv[i + 1:]],
                    f"; a value with a space is one argument, quoted: {quoted}")
    return argv, ""


def whole_number(message: str, parser: Any) -> str:
    """'; give the number alone: --trial 4' where argparse (``parser``'s) refused ``--trial trial_0004`` (a dir's name) as no
    int; '--trial 1 2' for ``1,2`` (a flag that takes several), '--rank 1' for ``1.0``, '--max-params 10000' for ``10,000``
    or ``10k``; else ""."""
    if not (m := re.match(r"argument (\S+?)(?:/\S+)?: invalid int value: '(.*)'$", message)):
        return ""
    flag, value = m[1], m[2]
    action = parser._option_string_actions.get(flag)
    several = action is not None and action.nargs in ("+", "*")
    if re.fullmatch(r"(?:trial|seed)_0*(\d+)", value):
        return f"; give the number alone: {flag} {int(value.rpartition('_')[2])}"
    if not several and re.fullmatch(r"\d{1,3}(?:,\d{3})+", value):  # 10,000 (a budget, as the docs write them)
        return f"; write it without commas: {flag} {value.replace(',', '')}"
    if m := re.fullmatch(r"(\d+(?:\.\d+)?)([kKmM])", value):  # 5k, 1.5M
        number = round(float(m[1]) * (1000 if m[2] in "kK" else 1_000_000), 6)  # 1.1k: 1100, not 1100.0000000000002
        return f"; give a whole number: {flag} {int(number)}" if number.is_integer() else ""
    if re.fullmatch(r"\d+(?:\s*,\s*\d+)*\s*,\s*(?:\d+)?", value):  # 1,2 (or '1, 2' split by the shell: 1,)
        numbers = " ".join(re.findall(r"\d+", value)) + " ..." * value.rstrip().endswith(",")
        return f"; give the numbers apart, without commas: {flag} {numbers}" if several else f"; {flag} takes one number"
    try:
        number = float(value)
    except ValueError:
        return ""
    return f"; give a whole number: {flag} {int(number)}" if number.is_integer() else ""


def argument(value: object) -> str:
    """``value`` (a path an error line suggests) as one shell argument, pasteable: quoted where the shell would
    split or expand it (``'my model.onnx'``), a name starting with - as ``./-x.onnx`` (argparse reads it as a flag)."""
    text = str(value)
    return shlex.quote(f"./{text}" if text.startswith("-") and text != "-" else text)


_OVERRIDE = re.compile(r"(?<![\w.+~=/'-])('?)([+~]{0,2}[A-Za-z_][\w-]*(?:[./][\w-]+)*=(?:\[[^\]]*\]|[^\s;,?)\]'])*)\1"
                       r"(?=$|[\s;,?)])")
_COMMAND = re.compile(r"`[^`]*`|python -m mnist_sweep\.\w+(?: (?:'[^']*'|[^\s;)'`]+))*")
_SWEEP_WORDS = (("; add -m (", "; confirm runs no sweep: leave it out (a sweep takes it: "),
                (", or search them with -m: ", ", or search them in a sweep: python -m mnist_sweep.train -m "),
                ("a sweep expression needs -m, which searches its values: ",
                 "a sweep expression: confirm trains one value of each key, a sweep searches them: "),
                ("leave the override out", "leave this --set out"))


def as_set(line: str) -> str:
    """A train override's error ``line`` in confirm's words: each override its fix offers (after the first '; ',
    outside a whole command) as ``--set KEY=VALUE`` (``e.g. --set data.batch_size=128``), and no ``add -m``
    (confirm runs no sweep): every example pasteable into ``confirm ... --set``."""
    for train_words, confirm_words in _SWEEP_WORDS:
        line = line.replace(train_words, confirm_words)
    head, sep, hint = line.partition("; ")
    parts, at = [], 0
    for m in _COMMAND.finditer(hint):  # a whole command (python -m mnist_sweep.train -m ...) is kept as it is
        parts += [_OVERRIDE.sub(r"--set \1\2\1", hint[at:m.start()]), m[0]]
        at = m.end()
    return head + sep + "".join([*parts, _OVERRIDE.sub(r"--set \1\2\1", hint[at:])])


_EXAMPLE = re.compile(r"[+~]{0,2}[A-Za-z_][\w-]*(?:[./][\w-]+|\[\d+\])*=")  # KEY= of an override (model.widths[1]=)
_ENDS = ",.?;:!"  # ends an example where a space (or the line's end) follows: the sentence's punctuation


def _example_end(line: str, at: int) -> tuple[int, bool]:
    """(the end of the override's value starting at ``at``, whether it holds a quote of its own): brackets, braces and
    parentheses kept whole (``choice(8,12)``, ``[a, b]``), a quoted part skipped; ends at a space, a ')' or ']' it did
    not open, or punctuation followed by a space or the line's end."""
    depth, quoted = 0, False
    while at < len(line):
        c = line[at]
        if c in "'\"" and (close := line.find(c, at + 1)) > 0:
            at, quoted = close + 1, True
            continue
        if depth == 0 and (c.isspace() or c in ")]}" or (c in _ENDS and line[at + 1:at + 2] in ("", " "))):
            break
        depth += (c in "([{") - (c in ")]}")
        at += 1
    return at, quoted


def quoted_examples(line: str) -> str:
    """``line`` (an error or warning line) with each override its fix offers (after its first '; ') quoted whole, as
    ``argument`` quotes a path, where the shell would split or expand it: ``'trainer.objectives=[val_acc,params]'``,
    ``'model.c1=choice(8,12)'`` (zsh, or bash with failglob, stops at an unquoted bracket: 'no matches found').
    One the line quotes already, or that holds a quote of its own (``model.c1='abc'``), is left as written."""
    head, sep, fix = line.partition("; ")
    out, at, start = [], 0, 0
    while at < len(fix):
        c, before = fix[at], fix[at - 1:at]
        if c in "'\"`" and not before.isalnum() and (close := fix.find(c, at + 1)) > 0:  # a quoted span: as written
            at = close + 1
            continue
        if before in ("", " ", "(") and (m := _EXAMPLE.match(fix, at)):
            end, quoted = _example_end(fix, m.end())
            word = fix[at:end]
            if not quoted and shlex.quote(word) != word:
                out += [fix[start:at], shlex.quote(word)]
                start = end
            at = max(end, at + 1)
            continue
        at += 1
    return head + sep + "".join([*out, fix[start:]])


LOCALE_FIX = "set PYTHONUTF8=1 (or a UTF-8 locale, e.g. LC_ALL=C.UTF-8) and run the same command again"


def locale_escaped(path: object) -> str | None:
    """Why ``path`` cannot be written as text by this process: a UTF-8 name that its locale, not UTF-8 (Python's
    UTF-8 mode off: PYTHONUTF8=0 in C or POSIX), read as escapes (os.fsdecode's \\udcXX), which no UTF-8 file,
    log or printed command can hold; None for any other (a name that is no UTF-8 at all: errors.not_utf8's)."""
    text = os.fsdecode(path) if isinstance(path, (str, bytes, os.PathLike)) else str(path)
    if not any("\udc80" <= c <= "\udcff" for c in text):
        return None
    try:
        os.fsencode(text).decode("utf-8")
    except UnicodeError:
        return None
    return (f"a non-ASCII name, which this locale ({sys.getfilesystemencoding()}: Python's UTF-8 mode is off) reads "
            f"as escapes that the files and lines a command writes cannot hold; {LOCALE_FIX}, or choose an ASCII path")


def unencodable(e: UnicodeEncodeError) -> str:
    """The one line for text a command could not write in ``e.encoding``: a name read in a locale that is not
    UTF-8 (``locale_escaped``) or a character that locale lacks, or a name that is no UTF-8 in any locale."""
    bad = e.object[e.start:e.end] if isinstance(e.object, str) else ""
    raw = bytes(ord(c) - 0xDC00 for c in bad if "\udc80" <= c <= "\udcff")  # os.fsdecode's escapes: the name's bytes
    if raw and locale_escaped(os.fsdecode(raw)) is None and (line := not_utf8(os.fsdecode(raw), "this command's text holds it")):
        return line  # a Latin-1 name: no locale's fix
    return f"{ascii(bad)} has no {e.encoding} form: this locale is not UTF-8 (Python's UTF-8 mode is off); {LOCALE_FIX}"
