"""stdout's reader gone (``... | head`` stopped reading): told apart from any other broken pipe, and
stdout pointed at /dev/null so that what is left to write raises nothing more. Used by every entry
point's exit status (commandline.broken_pipe_status, train's main) and by the console's log handler
(logs.ConsoleHandler)."""
from __future__ import annotations

import os
import sys


def stdout_gone() -> bool:
    """Whether stdout's reader has gone (``| head`` stopped reading). If so, stdout writes to /dev/null
    from now on, so what is left to write (the exit-time flush of its buffer too) raises no second error."""
    if not _stdout_closed():
        return False
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    return True


def _stdout_closed() -> bool:
    """Whether stdout is a pipe or socket whose reader has gone (``| head`` stopped reading): the
    system flags its descriptor with an error (POLLERR) or hang-up."""
    import select

    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured, or closed: not a pipe that broke
        return False
    if not hasattr(select, "poll"):  # Windows: no way to ask
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(event & (select.POLLERR | select.POLLHUP) for _, event in poller.poll(0))
