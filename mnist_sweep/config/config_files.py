"""A config file Hydra cannot read, as one line naming the file and where: its YAML (the parser's
error, a traceback in a sweep's swept option). A run's composition and a sweep's candidates word
it alike (``settings.hydra_error_line``, the sweeper's ``_groups.not_composed``)."""
from __future__ import annotations

from mnist_sweep.errors import one_line


def config_file_line(e: BaseException) -> str | None:
    """The one line for ``e`` if it is one of the mistakes above, else None."""
    return yaml_line(e)


def yaml_line(e: BaseException) -> str | None:
    """``/d/experiment/mine.yaml: not valid YAML (mapping values are not allowed here at line 4,
    column 6); fix that file``; None for another error."""
    import yaml

    if not isinstance(e, yaml.YAMLError):
        return None
    mark = getattr(e, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
    name = getattr(mark, "name", None) or "a config file"
    problem = getattr(e, "problem", None) or type(e).__name__
    return one_line(f"{name}: not valid YAML ({problem}{where}); fix that file")
