"""Every error a user can cause, in one place.

Each message is a single line naming the key or file, what was wrong and how to fix it.
Entry points print ``error: <message>`` and exit non-zero instead of a traceback. The ground floor:
it imports nothing of the package.
"""
from __future__ import annotations

import errno
import os
import re
from pathlib import Path

from hydra.errors import CompactHydraException

# scheme://user:PASSWORD@host. The user runs to the first ':'; the password to an '@' that a host
# follows, read in this order (the first that fits): to the last such '@' before a '/', '?' or '#'
# with spaces in it ('12 monkeys', 'a@b c'), or without (a@b); then to the first such '@' (as
# SQLAlchemy reads 'a/b?c'), with spaces but no '://' in it ('a b/c'). A user with '@' in it
# (Azure's me@server) takes a password without spaces. Not a password: prose after a name and a
# colon ("journal://x.log: cannot open ... user@host/db"), a port followed by prose (',;)' after
# it, an http URL's space: "http://localhost:8080 started by bob@host") or by a path the '@' is
# in ("http://127.0.0.1:8080/dashboard (me@example.com)", "...:5432/x?application_name=me@laptop").
# Another scheme's port and space begin a password only where the rest of a URL follows its '@'
# and host (a '/', '?', '#' or quote: "postgresql://me:12 monkeys@db/x") or the URL is all its line
# has ("postgresql://me:12 monkeys@db"): "postgresql://db:5432 by me@host" on a line is prose.
# Nor an IPv6 host's ':' ("postgresql://[::1]:5432/x (user me@host)"): no user begins '[...:...]'.
_LATER_AT = r"(?!@(?:(?![?&][^\s'\"@&?=]*=)[^\s'\"@])*@)"  # not an '@' another follows outside a query: me:a@b/c@db
_HOST = rf"(?=@[^\s@/?#'\"]*(?:[/?#'\"\s]|$)){_LATER_AT}"  # '@', then a host up to a '/', '?', '#', quote, space or the end
_URL_AFTER = rf"(?=@[^\s@/?#'\"]*[/?#'\"]){_LATER_AT}"  # '@', a host, then the rest of a URL (or its closing quote)
_LINE_END = r"(?=@[\w.:%\[\]-]*[^\S\n]*(?:\n|\Z))"  # '@', then a host (no prose's ',;)') that ends the line
_WEB = r"(?i:https?|wss?|ftps?)"  # URLs where a number and a space after the ':' are a port and prose
_SCHEME = r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]*"  # x_postgresql://: the scheme after the '_'
_NOT_V6 = r"(?!\[[^\]\s/@:]*+:[^\]\s/@]*+\])"  # not at an IPv6 literal ([::1], [fe80::1%eth0])
# A password read to the first '@' ends before another URL's 'scheme://user:' ('x://a:b/x://a:b/... @'):
# each place is read once, in linear time (a line of such heads, each read to the line's end, took seconds)
_NEXT_URL = rf"(?!(?:{_WEB}|{_SCHEME}):/?/[^/\s:'\"]*+:)"


def _userinfo(user: str, name: str, spaces: bool) -> str:
    """The pattern of ``scheme://USER:`` (group ``name``; ``name``_line: the spaces before it at a
    line's start) and its password (``name``_secret)."""
    word = rf"(?:{_NEXT_URL}\S)"  # a character of a password without spaces, which a '/' may be in
    solid = rf"[^\s/?#]*{_HOST}|(?!\d{{1,5}}[/?#]{word}*?[?#]){word}*?{_HOST}"  # to the last '@', or the first
    line = rf"(?:{_NEXT_URL}(?!://)[^\n])"  # one of a password with spaces
    spaced = (
        rf"[^\n/?#]*{_URL_AFTER}|{solid}|(?!\d{{1,5}}[/?#])(?:(?!\d{{1,5}}\s){line}*?{_HOST}"
        rf"|\d{{1,5}}\s{line}*?{_URL_AFTER}|(?({name}_line)\d{{1,5}}\s{line}*?{_LINE_END}|(?!)))")
    head = rf"(?:{_WEB}:/?/{user}:(?!\d{{1,5}}\s)|(?!{_WEB}:){_SCHEME}:/?/{user}:)(?!\s|\d{{1,5}}[,;)])"
    lead = rf"(?P<{name}_line>(?<![^\n])[^\S\n]*)?" if spaces else ""
    return rf"{lead}(?P<{name}>{head})(?P<{name}_secret>{spaced if spaces else solid})"


_NAME = rf"{_NOT_V6}[^/@\s:'\"]*"  # a user name's characters but '@'
_USERINFO = re.compile(_userinfo(_NAME, "head", True) + "|" + _userinfo(rf"{_NAME}@(?!\[)[^/\s:'\"]*", "at", False))
# ?password=... &passwd=... ;pwd=... (URL query strings, DSNs, libpq key=value strings, quoted or not):
# in a URL's query the value runs to the next '&' or space, as SQLAlchemy reads it ('#,;)' and quotes in
# it; spaces inside quotes that begin it, "a b", or that close before the next '&' or the line's end);
# percent-encoded inside another value (odbc_connect=...%3BPWD%3Dsecret%3B...) to the next %3B or %26;
# in a key=value string to a space, ',;)' or '&' (quotes in it: libpq's ab'cd); quoted ('a b', 'it\'s')
# or ODBC's {braced;value} whole ('}}' in it is a '}'). A quote (and ',;:.)') that ends a value and
# closes one opened before its key (in the URL's token; on the key=value string's line) is shown:
# cannot open '...?password=***' (E).
SECRET_KEYS = ("password", "passwd", "pwd", "pass", "secret", "token")  # each also with an ssl prefix (sslpassword)
_KEY = rf"(?:ssl)?(?:{'|'.join(SECRET_KEYS)})"
_QUOTED = r"(?:\"[^\"&\n]*\"|'[^'&\n]*')"  # a quoted run in a query value: spaces may be in it, not '&'
_SPACED = r"(?:\"[^\"&\s]*[^\S\n][^\"&\n]*\"|'[^'&\s]*[^\S\n][^'&\n]*')"  # one with a space in it
_PARAM = re.compile(
    rf"(?P<head>(?<=[?&]){_KEY}=)(?P<secret>(?=[^&\s]){_QUOTED}?(?:[^&\s'\"]|{_SPACED}(?=[^&\s]*(?:&|\n|\Z))|['\"])*)"
    rf"|(?P<head2>(?<=%[0-9A-Fa-f]{{2}}){_KEY}%3D)(?P<secret2>%7B(?:(?!%7[BD]).|%7D%7D)*%7D|(?:(?!%3B|%26)[^&;\s'\",)])+)"
    rf"|(?P<head3>(?<![A-Za-z0-9_]){_KEY}\s*=\s*)"
    rf"(?P<secret3>'(?:\\.|[^'\\\n])*'|\"(?:\\.|[^\"\\\n])*\"|\{{(?:[^{{}}\n]|\}}\}})*\}}|[^&;\s'\",)][^&;\s,)]*)", re.IGNORECASE)
_CLOSING = re.compile(r"['\"][)\]},;:.!]*\Z")  # a closing quote at a value's end, and what may follow it
_SPACE, _NEWLINE = re.compile(r"\s"), re.compile(r"\n")


def _closing_quote(m: re.Match[str], name: str) -> str:
    """The quote (and ',;:.)' after it) that ends value ``name`` and closes the quote its URL or
    key=value began in: not the password's, so shown."""
    secret, key, text = m[name], m.start(), m.string
    close = _CLOSING.search(secret)
    if not close or name == "secret2" or text.startswith("&", m.end(name)):  # '&' next: the query goes on
        return ""
    if name == "secret3" and secret[0] in "'\"{":
        return ""  # a quoted key=value's own closing quote
    opened = text.rfind(close[0][0], 0, key)  # in a URL's token; in a key=value string's line
    return close[0] if opened >= 0 and not (_SPACE if name == "secret" else _NEWLINE).search(text, opened, key) else ""


def _mask_param(m: re.Match[str]) -> str:
    """A key=value match with its value masked."""
    name = "secret" if m["head"] else "secret2" if m["head2"] else "secret3"
    return m[0][: m.start(name) - m.start()] + "***" + _closing_quote(m, name)


def _mask_userinfo(m: re.Match[str]) -> str:
    """A userinfo match with its password masked (an empty one stays empty)."""
    name = "head_secret" if m["head_secret"] is not None else "at_secret"
    return m[0][: m.start(name) - m.start()] + ("***" if m[name] else "")


def redact(text: object) -> str:
    """``text`` with every URL password (userinfo or query parameter) replaced by ***: the one
    redaction point (error lines, logs, printed storage URLs all go through it)."""
    text = text if isinstance(text, str) else str(text)
    if "@" in text:  # every userinfo password ends at an '@': a line without one is passed over in linear time
        text = _USERINFO.sub(_mask_userinfo, text)
    return _PARAM.sub(_mask_param, text)


class MnistSweepError(Exception):
    """Base class: a problem the user can fix (bad config, bad file). Its text never holds a
    password: whatever a message quotes (a URL, a database driver's error) is redacted."""

    exit_code = 2

    def __str__(self) -> str:
        return one_line(super().__str__())


class UsageError(MnistSweepError):
    """The arguments given do not make a command (none of those it needs, one without its partner):
    the line ends ``(see PROG --help)`` as the parser's own do (``commandline.exit_code_of``)."""


class ConfigError(MnistSweepError):
    """A config value is missing, of the wrong type or out of range."""


class ModelConfigError(ConfigError):
    """The model section describes an invalid architecture."""


class ParamBudgetExceeded(ModelConfigError):
    """The model has more parameters than ``model.max_params`` allows."""

    def __init__(self, params: int, budget: int) -> None:
        super().__init__(params, budget)
        self.params, self.budget = params, budget

    @property
    def user_attrs(self) -> dict[str, int]:
        """What the sweeper records for a rejected candidate."""
        return {"params": self.params}

    def __str__(self) -> str:
        return (
            f"model has {self.params:,} parameters, over the budget model.max_params={self.budget:,}; "
            "shrink model widths or raise model.max_params"
        )


class DataError(MnistSweepError):
    """The MNIST files are missing, truncated, corrupt or unreadable."""


class DivergedError(MnistSweepError):
    """Training produced a NaN or infinite loss."""


class LeaderboardError(MnistSweepError):
    """A path given as a leaderboard/sweep is not one, or a row asked for is not there."""


class StorageError(MnistSweepError):
    """An Optuna storage cannot be opened or needs an upgrade that a read-only command won't do."""


class ReproductionMismatch(MnistSweepError):
    """A reproduced run's metrics differ from the recorded ones."""

    exit_code = 1


class SweepError(MnistSweepError, CompactHydraException):
    """Bad search space, storage or sweep state; Hydra prints only the message."""


class SweepStopped(SweepError):
    """A rule stopped the sweep (max_failure_rate, the first trials failing alike, max_rejected):
    the study is kept, and the trials that finished get the end-of-sweep files, as at the end."""


def one_line(text: object) -> str:
    """``text`` as one printable line: passwords redacted, newlines and other control characters
    (a user's input quoted back) escaped."""
    clean = redact(str(text))
    if clean.isprintable():
        return clean
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in clean)


def unusable_path(e: OSError, key: str | None = None) -> str:
    """``[key: ]PATH: reason; fix`` for an OSError on a path."""
    where = f"{key}: " if key else ""
    what = f"{e.filename}: {e.strerror or type(e).__name__}" if e.filename else (str(e) or type(e).__name__)
    if isinstance(e, ConnectionError):  # BrokenPipeError, ConnectionResetError: no path of the user's to fix
        return f"{where}{what}; the process or connection it wrote to closed early (see its error above), run it again"
    path = Path(os.fsdecode(e.filename)) if isinstance(e.filename, (str, bytes, os.PathLike)) else None
    if path is not None and (link := _dangling(path)):  # in the way of a directory, or above the file: neither
        target = os.readlink(link)
        return (f"{where}{what} ({dangling_link(link, target)}); create {target}, "
                f"point the link elsewhere (ln -sfn DIR {link}) or remove it (rm {link})")
    if e.errno == errno.ENAMETOOLONG and path is not None and all(len(os.fsencode(p)) <= 255 for p in path.parts):
        return (f"{where}{what}; the path is {len(os.fsencode(path.absolute())):,} bytes, over the system's limit "
                f"({os.pathconf('/', 'PC_PATH_MAX'):,}); choose a shorter path")  # each name fits: the whole is too long
    if e.errno == errno.ENAMETOOLONG:  # not a permission: a name over the file system's 255 bytes
        return f"{where}{what}; choose a shorter path (at most 255 bytes a name)"
    if isinstance(e, (FileExistsError, NotADirectoryError)) and path is not None:  # a file where a directory is to be
        file = next((p for p in (path, *path.parents) if p.is_file()), path)
        return f"{where}{what} ({file} is a file, not a directory); move the file or choose a writable directory"
    if e.errno in (errno.ENOSPC, errno.EDQUOT):  # a full disk or quota: no permission or other dir of it helps
        return f"{where}{what}; free space on its disk (or choose a directory on another), then run the same command again"
    return f"{where}{what}; choose a writable directory" + " or fix its permissions" * (e.errno != errno.EROFS)


def not_utf8(path: object, holds: str = "the run's log, leaderboard and the commands it prints hold its path as text") -> str | None:
    """Why ``path`` may not be a run's dir (or a file whose text ``holds`` it: export's --out), a path holding a byte
    that is no UTF-8 (os.fsdecode's escape, a Latin-1 name); None for any other. Every command's one wording."""
    bad = next((c for c in str(path) if "\udc80" <= c <= "\udcff"), None)
    return None if bad is None else f"not a UTF-8 path (byte \\x{ord(bad) - 0xDC00:02x}); {holds}, which cannot hold that byte; choose a UTF-8 path"


RUN_MARKS = ("result.json", ".hydra/config.yaml")  # a run's or a trial's dir, to the readers that scan run dirs


def inside_run_dir(path: object) -> str | None:
    """Why an output dir may not be ``path``: a dir above it is a run's or a trial's (its result.json or
    .hydra/config.yaml), and a run nested in it is misread by the readers that scan run dirs (leaderboard,
    report); None where no dir above it is one (a sweep dir holds neither: its trial dirs pass)."""
    try:
        for d in Path(os.path.abspath(os.fsdecode(path))).parents:
            if held := next((m for m in RUN_MARKS if (d / m).is_file()), None):
                return f"inside the run dir {d} (it holds {held}); give a dir outside it"
    except OSError:  # a path over the system's limit: the caller's own check names the path given
        pass
    return None


def not_an_output_dir(path: object) -> str | None:
    """Why a run's or a command's output dir may not be ``path`` (not UTF-8, or inside a run dir); None if it may."""
    return not_utf8(os.path.abspath(os.fsdecode(path))) or inside_run_dir(path)


def dangling_link(path: object, target: object) -> str:
    """'PATH is a link to TARGET, which does not exist'; 'a link to TARGET, ...' where ``path`` is
    None (the line names the path first). Each caller adds its own fix."""
    return f"{'' if path is None else f'{path} is '}a link to {target}, which does not exist"


def _dangling(path: Path) -> Path | None:
    """``path`` or the nearest of its parents that is a link to nothing; None if none is."""
    for p in (path, *path.parents):
        try:
            if p.is_symlink() and not p.exists():
                return p
        except OSError:  # a directory above that cannot be searched
            return None
    return None


# A file a command reads that is empty, or holds nothing of what it is read as: one wording, whichever
# command reads it (a leaderboard.csv, a metrics.csv, result.json, a saved config, model.pt, an image...).
EMPTY_FILE = "empty file (0 bytes, cut off while copied?), not {kind}"


def not_of_kind(path: object, kind: str) -> str:
    """Why a file its reader does not recognize as ``kind`` at all (a PyTorch checkpoint, an image, an
    Optuna storage) is not one, after 'PATH: ': EMPTY_FILE, or 'not KIND (it begins b'...')' naming its
    first bytes. The caller adds '; ' and its fix."""
    try:
        with open(os.fsdecode(path), "rb") as f:  # type: ignore[arg-type]
            head = f.read(16)
    except OSError as e:
        return f"not {kind} (unreadable: {e.strerror or type(e).__name__})"
    return _head_says(head, kind)


def _head_says(head: bytes, kind: str) -> str:
    """``not_of_kind``'s words for a file beginning with ``head``: EMPTY_FILE, or its first 16 bytes."""
    return EMPTY_FILE.format(kind=kind) if not head else f"not {kind} (it begins {head[:16]!r})"


def empty_or_binary(path: object, kind: str) -> str | None:
    """``not_of_kind`` for a text file (a CSV, JSON, a YAML config) that is empty or holds binary data (a NUL
    byte, bytes that are no UTF-8): the same words whichever command reads it; None for any other file
    (readable, or missing: its reader says why)."""
    try:
        with open(os.fsdecode(path), "rb") as f:  # type: ignore[arg-type]
            head = f.read(4096)
    except OSError:
        return None
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as e:
        binary = e.start < len(head) - 3  # not a character cut at the 4096th byte
    else:
        binary = b"\x00" in head
    return _head_says(head, kind) if not head or binary else None
