"""export interrupted (Ctrl-C): its line says which of its files exist, as they are at that moment.
No training: the one-row leaderboard of test_export_inputs over an untrained run dir."""
from __future__ import annotations

import pytest

from mnist_sweep import export
from test_export_inputs import board


def _outputs(tmp_path):  # noqa: ANN001, ANN202
    return tmp_path / "cfg" / "experiment" / "a.yaml", tmp_path / "cfg" / "a.onnx"


def _export(tmp_path, capsys, *extra: str) -> tuple[int, str]:  # noqa: ANN001
    out, onnx = _outputs(tmp_path)
    code = export.main([str(board(tmp_path)), "--out", str(out), "--onnx", str(onnx), *extra])
    return code, capsys.readouterr().err


def _interrupt(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202, ARG001
    raise KeyboardInterrupt


@pytest.fixture(autouse=True)
def _quick_onnx(monkeypatch):  # noqa: ANN001, ANN202
    """An ONNX file of a few bytes that passes its check: the export itself is test_export's (seconds each)."""
    def write(run, path):  # noqa: ANN001, ANN202, ARG001
        path.write_bytes(b"onnx")
        return {"input_name": "image"}

    monkeypatch.setattr(export, "export_onnx", write)
    monkeypatch.setattr(export, "onnx_parity", lambda path, run, batch_size=1000: (256, 0.0, 0))


def test_an_interrupt_before_the_files_are_in_place_says_nothing_was_written(tmp_path, monkeypatch, capsys):
    """It said a bare 'interrupted': whether a half-exported file was left, and what to do, unsaid."""
    monkeypatch.setattr(export, "onnx_parity", _interrupt)
    code, err = _export(tmp_path, capsys)
    assert code == 130 and err == "interrupted: nothing written; run the same command again\n", err
    assert not (tmp_path / "cfg").exists()


def test_an_interrupt_after_both_files_are_written_names_both(tmp_path, monkeypatch, capsys):
    """The moment after both files are in place, before the closing lines: both are complete, and it says so."""
    monkeypatch.setattr(export, "usage", _interrupt)
    code, err = _export(tmp_path, capsys)
    out, onnx = _outputs(tmp_path)
    assert code == 130 and out.is_file() and onnx.is_file()
    assert err == f"interrupted after writing {out} and {onnx}: each is complete\n", err


@pytest.mark.parametrize("force", [False, True])
def test_an_interrupt_between_the_two_files_leaves_neither_new(tmp_path, monkeypatch, capsys, force):
    """The ONNX file is in place before the experiment's is moved beside it: an interrupt there left the
    ONNX file alone (both files or neither); a file --force was replacing is named as replaced."""
    write_onnx = export.write_onnx

    def then_interrupt(run, out, force):  # noqa: ANN001, ANN202
        write_onnx(run, out, force)
        raise KeyboardInterrupt

    monkeypatch.setattr(export, "write_onnx", then_interrupt)
    out, onnx = _outputs(tmp_path)
    if force:
        onnx.parent.mkdir(parents=True)
        onnx.write_text("old")
    code, err = _export(tmp_path, capsys, *(["--force"] if force else []))
    assert code == 130 and not out.exists()
    if force:  # the old file is gone already: the new one stays, and the line says so
        assert onnx.read_bytes() != b"old"
        assert err == f"interrupted after writing {onnx}, not {out}; run the same command again with --force\n"
    else:
        assert not onnx.exists() and not (tmp_path / "cfg").exists()
        assert err == "interrupted: nothing written; run the same command again\n", err
