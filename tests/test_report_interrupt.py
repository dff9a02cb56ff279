"""report interrupted (Ctrl-C): its line says what is on disk at that moment, report.html and report/."""
from __future__ import annotations

import pytest

from mnist_sweep import report, results
from test_report import made_sweep


def _interrupt(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202, ARG001
    raise KeyboardInterrupt


@pytest.mark.parametrize("at", ["figures", "page", "after"])
def test_an_interrupt_says_what_was_written(tmp_path, monkeypatch, capsys, at):
    """It said a bare 'interrupted': whether the page or its images had been replaced, unsaid."""
    d = tmp_path / "sw"
    made_sweep(d)
    build = report.build
    if at == "figures":
        monkeypatch.setattr(report, "figures", _interrupt)
    elif at == "page":  # the images moved into report/, the page not yet
        monkeypatch.setattr(results, "atomic_write", _interrupt)
    else:  # both in place, before the closing line
        monkeypatch.setattr(report, "build", lambda *a, **k: (build(*a, **k), _interrupt()))
    assert report.main([str(d), "--no-study"]) == 130
    page, images = d / "report.html", d / "report"
    assert capsys.readouterr().err == {
        "figures": "interrupted: nothing written; run the same command again\n",
        "page": f"interrupted after writing {images}, not {page}; run the same command again\n",
        "after": f"interrupted after writing {page} and {images}: each is complete\n"}[at]
    assert page.exists() == (at == "after") and images.exists() == (at != "figures")
