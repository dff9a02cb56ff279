"""mnist_files: the raw IDX files verified by SHA-256, read once per process and file version,
and the fetch|verify command with one-line errors."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
import torch

from mnist_sweep import mnist_files
from mnist_sweep.errors import DataError

ROOT = mnist_files.default_root()


@pytest.fixture
def copy_root(tmp_path):
    """A copy of the real data root that a test may damage."""
    dst = mnist_files.raw_dir(tmp_path)
    dst.mkdir(parents=True)
    for name in mnist_files.SHA256:
        shutil.copy(mnist_files.raw_dir(ROOT) / name, dst / name)
    return tmp_path


def flip_last_byte(path):
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0xFF
    path.write_bytes(bytes(raw))


def test_real_files_pass_their_checksums():
    mnist_files.verify(ROOT)
    assert mnist_files.fetch(ROOT) == "present"  # idempotent: nothing to do on a second call


@pytest.mark.parametrize("damage, message", [
    ("truncate", "SHA-256 mismatch"),
    ("flip", "SHA-256 mismatch"),
    ("delete", "missing"),
    ("a directory", "a directory where the IDX file goes; remove it (rm -r "),  # was 'fix its permissions'
])
def test_bad_file_names_the_file(copy_root, damage, message):
    path = mnist_files.raw_dir(copy_root) / "t10k-labels-idx1-ubyte"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:100])
    elif damage == "flip":
        flip_last_byte(path)
    elif damage == "delete":
        path.unlink()
    else:
        path.unlink()
        path.mkdir()  # reading a directory fails even as root
    for check in (mnist_files.verify, mnist_files.arrays):
        with pytest.raises(DataError) as e:
            check(copy_root)
        text = str(e.value)
        assert str(path) in text and message in text  # a root of its own: its own fetch command, not make data
        assert f"mnist_sweep.data fetch --root {copy_root}`" in text and "make data" not in text
        assert "\n" not in text and text.endswith("to fetch it" if damage == "delete" else "to fetch it again")


def test_the_fix_names_make_data_for_the_default_root_only(tmp_path, monkeypatch):
    monkeypatch.setenv("MNIST_SWEEP_DATA", str(tmp_path / "default"))
    assert "make data" in mnist_files.fix(tmp_path / "default")
    assert "make data" in mnist_files.fix(f"{tmp_path}/x/../default/")  # the same directory, spelt otherwise
    other = mnist_files.fix(tmp_path / "mine")
    assert "make data" not in other and other.endswith(f"-m mnist_sweep.data fetch --root {tmp_path / 'mine'}` to fetch it")
    with pytest.raises(DataError) as e:  # files never there: fetch them, not "again"
        mnist_files.verify(tmp_path / "default")
    assert str(e.value).endswith("; run `make data` (python -m mnist_sweep.data fetch) to fetch it")


def test_a_root_that_is_a_file_is_not_a_directory(tmp_path):
    root = tmp_path / "a_file"
    root.write_text("")
    for check in (mnist_files.verify, mnist_files.arrays, mnist_files.fetch):
        with pytest.raises(DataError, match=f"^{root}: not a directory; "):
            check(root)
    assert root.read_text() == ""


def test_arrays_refuse_a_corrupt_file(copy_root):
    path = mnist_files.raw_dir(copy_root) / "train-images-idx3-ubyte"
    with open(path, "r+b") as f:
        f.truncate(os.path.getsize(path) // 2)
    with pytest.raises(DataError, match="train-images-idx3-ubyte: SHA-256 mismatch"):
        mnist_files.arrays(copy_root)


def test_arrays_read_once_per_process_and_again_when_a_file_changes(copy_root, monkeypatch):
    """A sweep process trains many trials: MNIST is read and hashed once, unless a file changed."""
    reads, hashes = [], []
    read_file, digest = mnist_files.read_file, mnist_files.digest
    monkeypatch.setattr(mnist_files, "read_file", lambda path: reads.append(path.name) or read_file(path))
    monkeypatch.setattr(mnist_files, "digest", lambda raw: hashes.append(len(raw)) or digest(raw))
    mnist_files.clear_cache()
    a = mnist_files.arrays(copy_root)
    assert sorted(reads) == sorted(mnist_files.SHA256) and len(hashes) == 4  # each file read and hashed once
    b = mnist_files.arrays(copy_root)
    assert len(reads) == 4 and len(hashes) == 4 and mnist_files.cache_info().hits == 1
    assert all(u is v for u, v in zip(a, b))
    touched = mnist_files.raw_dir(copy_root) / "t10k-images-idx3-ubyte"
    os.utime(touched, ns=(touched.stat().st_atime_ns, touched.stat().st_mtime_ns + 10**9))  # same bytes, read again
    c = mnist_files.arrays(copy_root)
    assert len(hashes) == 8 and all(torch.equal(u, v) for u, v in zip(a, c))
    path = mnist_files.raw_dir(copy_root) / "t10k-labels-idx1-ubyte"
    replaced = path.with_name("new")
    shutil.copy2(path, replaced)
    flip_last_byte(replaced)
    os.utime(replaced, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns))  # same size and mtime ...
    os.replace(replaced, path)  # ... but another file (inode): verified again
    with pytest.raises(DataError, match="t10k-labels-idx1-ubyte: SHA-256 mismatch"):
        mnist_files.arrays(copy_root)


def test_verify_always_hashes(monkeypatch):
    """The ``verify`` command checks the bytes on disk, whatever the process has cached."""
    hashes = []
    digest = mnist_files.digest
    monkeypatch.setattr(mnist_files, "digest", lambda raw: hashes.append(1) or digest(raw))
    mnist_files.arrays(ROOT)
    before = len(hashes)
    mnist_files.verify(ROOT)
    assert len(hashes) == before + 4


def test_idx_reader_equals_torchvisions_mnist_and_checks_the_header(tmp_path):
    from torchvision.datasets import MNIST

    x, y, x_test, y_test = mnist_files.arrays(ROOT)
    for train, (images, labels) in ((True, (x, y)), (False, (x_test, y_test))):
        tv = MNIST(str(ROOT), train=train, download=False)
        assert torch.equal(images, tv.data.unsqueeze(1)) and torch.equal(labels, tv.targets)
    assert x.dtype == torch.uint8 and y.dtype == torch.int64 and x.shape == (60_000, 1, 28, 28)
    good = tmp_path / "ok-idx1-ubyte"
    good.write_bytes(bytes([0, 0, 8, 2]) + (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + bytes(range(6)))
    assert mnist_files.read_idx(good).tolist() == [[0, 1, 2], [3, 4, 5]]
    empty = tmp_path / "zero-idx1-ubyte"
    empty.write_bytes(bytes([0, 0, 8, 1]) + (0).to_bytes(4, "big"))
    assert mnist_files.read_idx(empty).shape == (0,)
    for name, raw in [("short", bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + bytes(4)),
                      ("float", bytes([0, 0, 0x0D, 1]) + (1).to_bytes(4, "big") + bytes(4)),
                      ("empty", b"")]:
        bad = tmp_path / name
        bad.write_bytes(raw)
        with pytest.raises(DataError, match=f"{name}: not an unsigned-byte IDX file"):
            mnist_files.read_idx(bad)


@pytest.mark.parametrize("damage, message", [("missing_dir", "missing"), ("truncate", "SHA-256 mismatch")])
def test_data_cli_bad_root_one_line(copy_root, damage, message):
    """The missing dir as a subprocess (the entry point's one), the truncated file in-process."""
    from conftest import assert_one_line_error, run

    root = copy_root / "nowhere" if damage == "missing_dir" else copy_root
    path = mnist_files.raw_dir(copy_root) / "train-labels-idx1-ubyte"
    if damage == "truncate":
        path.write_bytes(path.read_bytes()[:50])
    proc = run(["mnist_sweep.data", "verify", "--root", str(root)], cwd=copy_root, process=damage == "missing_dir")
    assert_one_line_error(proc, message, f"mnist_sweep.data fetch --root {root}`")
    assert proc.returncode == 2


def test_data_cli_verifies(copy_root):
    from conftest import run

    for module in ("mnist_sweep.data", "mnist_sweep.mnist_files"):
        proc = run([module, "verify", "--root", str(copy_root)], cwd=copy_root)
        assert proc.returncode == 0 and proc.stdout.strip() == \
            f"MNIST in {mnist_files.raw_dir(copy_root)}: all four files verified", proc


@pytest.mark.parametrize("argv, needle", [(["verify", "--root", ""], "--root"), (["wipe"], "invalid choice")])
def test_data_cli_bad_flags_one_line(tmp_path, argv, needle):
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.data", *argv], cwd=tmp_path)
    assert_one_line_error(proc, needle)
    assert "python -m mnist_sweep.data" in proc.stderr or needle == "--root"
    assert list(tmp_path.iterdir()) == []


def test_data_cli_names_its_action_as_its_usage_does(tmp_path):
    """No action said 'required: action', a name the usage never shows ({fetch,verify}); --help gave
    the choices no help and a lower-case description."""
    from conftest import assert_one_line_error, run_inproc

    proc = run_inproc(["mnist_sweep.data"], cwd=tmp_path)
    assert_one_line_error(proc, "required: {fetch,verify} (see python -m mnist_sweep.data --help)")
    usage = run_inproc(["mnist_sweep.data", "--help"], cwd=tmp_path).stdout
    usage = " ".join(usage.split())
    assert "Fetch MNIST's" in usage and "verify: check each file's SHA-256" in usage
    assert list(tmp_path.iterdir()) == []


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
@pytest.mark.parametrize("env_root", [False, True])
def test_make_data_fetches_whenever_it_runs(tmp_path, env_root):
    """No stamp file stands for the files: after a deleted file (the fix its error line gives is
    `make data`) make data runs the fetch again; it said "Nothing to be done". With
    $MNIST_SWEEP_DATA elsewhere, it has no data/MNIST/raw/ to touch a stamp in."""
    import subprocess

    from mnist_sweep import PROJECT_ROOT

    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy(PROJECT_ROOT / name, tmp_path / name)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / ".installed").touch()
    if not env_root:
        mnist_files.raw_dir(tmp_path / "data").mkdir(parents=True)
        (mnist_files.raw_dir(tmp_path / "data") / ".verified").touch()  # what the old Makefile left
    env = {**os.environ, "MNIST_SWEEP_DATA": str(tmp_path / "elsewhere")} if env_root else None
    proc = subprocess.run(["make", "--no-print-directory", "-n", "data"], cwd=tmp_path, capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stdout.strip() == ".venv/bin/python -m mnist_sweep.data fetch", proc


def test_a_root_under_tilde_is_in_the_home_directory(copy_root, tmp_path, monkeypatch):
    """``data.root=~/mnist`` (no shell expands it there) or a quoted ``--root '~/mnist'``: the files
    were "missing" and a fetch would have created a directory named ``~`` in the current one."""
    from conftest import run_inproc

    monkeypatch.setenv("HOME", str(tmp_path.parent))
    root = f"~/{tmp_path.name}"
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    mnist_files.verify(root)
    assert len(mnist_files.arrays(root)[0]) == 60_000 and mnist_files.fetch(root) == "present"
    monkeypatch.setenv("MNIST_SWEEP_DATA", root)
    assert mnist_files.default_root() == copy_root
    proc = run_inproc(["mnist_sweep.data", "fetch", "--root", root], cwd=cwd, env={"HOME": str(tmp_path.parent)})
    assert proc.returncode == 0 and proc.stdout.startswith(f"MNIST in {mnist_files.raw_dir(copy_root)}: present"), proc
    assert list(cwd.iterdir()) == []


@pytest.mark.parametrize("failure", [DataError("npm: offline; torchvision: offline"), KeyboardInterrupt()])
def test_a_failed_fetch_leaves_no_directory_it_created(tmp_path, monkeypatch, failure):
    """Both sources failing (or Ctrl-C) on a new root: <root>/MNIST/raw/ stayed behind, empty."""
    def download(staging):
        (staging / "train-images-idx3-ubyte").write_bytes(b"half")
        raise failure

    monkeypatch.setattr(mnist_files, "_download", download)
    (tmp_path / "kept").mkdir()
    for root in (tmp_path / "new", tmp_path / "kept"):
        with pytest.raises(type(failure)):
            mnist_files.fetch(root)
    assert [p.name for p in tmp_path.iterdir()] == ["kept"] and list((tmp_path / "kept").iterdir()) == []


def test_fetch_names_a_directory_in_a_files_place(copy_root, monkeypatch):
    """It failed half way, naming its deleted staging copy (.fetch-*/NAME: Is a directory)."""
    monkeypatch.setattr(mnist_files, "_download", lambda staging: pytest.fail("fetched"))
    path = mnist_files.raw_dir(copy_root) / "t10k-labels-idx1-ubyte"
    path.unlink()
    path.mkdir()
    with pytest.raises(DataError) as e:
        mnist_files.fetch(copy_root)
    assert str(e.value) == f"{path}: a directory where the IDX file goes; remove it (rm -r {path}) and fetch again"


def test_a_gzip_file_is_named_as_one(copy_root):
    """MNIST is published gzipped: a .gz left next to a missing file names gunzip, and gzip bytes
    under the raw name say so; both said only "missing" or "truncated or corrupt"."""
    import gzip

    raw = mnist_files.raw_dir(copy_root)
    images, labels = raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte"  # the smaller images file:
    labels.write_bytes(gzip.compress(labels.read_bytes()))  # compressing the 47 MB train images took 14 s
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: SHA-256 mismatch \([\d,]+ bytes, gzip-compressed, "
                                        r"not the raw IDX file\); delete it and run"):
        mnist_files.verify(copy_root)
    images.with_name(images.name + ".gz").write_bytes(gzip.compress(images.read_bytes(), compresslevel=1))
    images.unlink()
    with pytest.raises(DataError, match=f"^{images}: missing; `gunzip -k {images}.gz` or run "):
        mnist_files.verify(copy_root)


@pytest.mark.parametrize("given", ["MNIST/raw", "MNIST", "flat"])
def test_a_root_one_level_off_names_the_right_one(copy_root, given, monkeypatch):
    """--root (or data.root) naming MNIST/raw/ or MNIST/ itself, or a flat directory of the files:
    the line said "missing" and to fetch, which put a second copy in <given>/MNIST/raw/."""
    from conftest import assert_one_line_error, run_inproc

    monkeypatch.setattr(mnist_files, "_download", lambda staging: pytest.fail("fetched a second copy"))

    if given == "flat":
        for path in mnist_files.raw_dir(copy_root).iterdir():
            shutil.move(path, copy_root / path.name)
    root = copy_root if given == "flat" else copy_root / given
    before = sorted(copy_root.rglob("*"))
    proc = run_inproc(["mnist_sweep.data", "fetch", "--root", str(root)], cwd=copy_root)
    fix = (f"{root}/train-images-idx3-ubyte is there: move the four IDX files into {mnist_files.raw_dir(root)}"
           if given == "flat" else f"the data root is the directory that holds MNIST/raw/: give {copy_root}, not {root}")
    assert_one_line_error(proc, f"{mnist_files.raw_dir(root)}/train-images-idx3-ubyte: missing; {fix}")
    assert sorted(copy_root.rglob("*")) == before


def test_a_data_root_from_the_environment_one_level_off_names_the_variable(copy_root, monkeypatch):
    """$MNIST_SWEEP_DATA naming MNIST/: the line said 'give DIR', though no flag or key had been given."""
    monkeypatch.setenv("MNIST_SWEEP_DATA", str(copy_root / "MNIST"))
    with pytest.raises(DataError, match=f": set MNIST_SWEEP_DATA={copy_root}, not {copy_root}/MNIST$"):
        mnist_files.verify(mnist_files.default_root())


def test_fetch_removes_a_killed_fetchs_staging_dir(copy_root, monkeypatch):
    """A fetch killed half way (SIGKILL) leaves <root>/MNIST/raw/.fetch-*/ (up to 55 MB); each
    later fetch left it there. One an hour old goes; a younger one may be a fetch running now."""
    raw = mnist_files.raw_dir(copy_root)
    old, young = raw / ".fetch-old", raw / ".fetch-young"
    for d in (old, young):
        d.mkdir()
        (d / "train-images-idx3-ubyte").write_bytes(b"half")
    os.utime(old, (0, 0))
    flip_last_byte(raw / "t10k-labels-idx1-ubyte")
    monkeypatch.setattr(mnist_files, "_download", lambda staging: [
        shutil.copy(mnist_files.raw_dir(ROOT) / name, staging / name) for name in mnist_files.SHA256] and "test")
    assert mnist_files.fetch(copy_root) == "fetched from test"
    assert sorted(p.name for p in raw.iterdir()) == sorted([*mnist_files.SHA256, ".fetch-young"])


def test_make_data_is_the_fix_only_where_make_data_fetches(tmp_path, monkeypatch):
    """A relative $MNIST_SWEEP_DATA: make data (run in the repo) fetches to <repo>/REL, so from
    another directory the fix is the fetch command; it said make data, which fetched elsewhere."""
    from mnist_sweep import PROJECT_ROOT

    monkeypatch.setenv("MNIST_SWEEP_DATA", "rel_data")
    monkeypatch.chdir(tmp_path)
    assert "make data" not in mnist_files.fix(mnist_files.default_root())
    monkeypatch.chdir(PROJECT_ROOT)
    assert "make data" in mnist_files.fix(mnist_files.default_root())


@pytest.mark.parametrize("where", ["--root", "env"])
def test_a_root_under_the_home_of_no_such_user_is_one_line(tmp_path, where):
    """'~nosuchuser' (--root, data.root or $MNIST_SWEEP_DATA) was pathlib's RuntimeError 'Could not
    determine home directory.' as a traceback (found by tests/test_fuzz.py)."""
    from conftest import assert_one_line_error, run_inproc

    root = "~nosuchuser_mnist_sweep/data"
    argv, env = (["--root", root], None) if where == "--root" else ([], {"MNIST_SWEEP_DATA": root})
    proc = run_inproc(["mnist_sweep.data", "verify", *argv], cwd=tmp_path, env=env)
    assert_one_line_error(proc, f"{root}: no home directory to expand its ~ to (no such user here); give the full path")
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_fetch_says_which_files_it_had_put_in_place(copy_root, monkeypatch, capsys):
    """Ctrl-C printed a bare 'interrupted': now nothing written, or the files moved into place by then (each whole)."""
    raw = mnist_files.raw_dir(copy_root)
    flip_last_byte(raw / "t10k-labels-idx1-ubyte")
    before = {name: (raw / name).read_bytes() for name in mnist_files.SHA256}

    def interrupted(staging):  # noqa: ANN001, ANN202, ARG001
        raise KeyboardInterrupt

    monkeypatch.setattr(mnist_files, "_download", interrupted)
    assert mnist_files.main(["fetch", "--root", str(copy_root)]) == 130
    assert capsys.readouterr().err == "interrupted: nothing written; run the same command again\n"
    assert {name: (raw / name).read_bytes() for name in mnist_files.SHA256} == before
    monkeypatch.setattr(mnist_files, "_download", lambda staging: [
        shutil.copy(mnist_files.raw_dir(ROOT) / name, staging / name) for name in mnist_files.SHA256] and "test")
    replace, moved = os.replace, []

    def then_interrupted(src, dst):  # noqa: ANN001, ANN202
        replace(src, dst)
        moved.append(Path(dst))
        if len(moved) == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(mnist_files.os, "replace", then_interrupted)
    assert mnist_files.main(["fetch", "--root", str(copy_root)]) == 130
    rest = [raw / name for name in mnist_files.SHA256 if raw / name not in moved]
    assert capsys.readouterr().err == (f"interrupted after writing {moved[0]} and {moved[1]}, not {rest[0]} and "
                                       f"{rest[1]}; run the same command again\n")


def test_swapped_files_are_named_as_swapped_not_damaged(copy_root):
    """Two of the four under each other's names (copied by hand, misnamed) were 'SHA-256 mismatch
    (10,008 bytes, truncated or corrupt); delete it and ... fetch it again': a fetch that an offline
    machine cannot make, for files that are whole. The line names the file whose bytes it holds."""
    raw = mnist_files.raw_dir(copy_root)
    images, labels = raw / "t10k-images-idx3-ubyte", raw / "t10k-labels-idx1-ubyte"
    os.replace(images, raw / "swap")
    os.replace(labels, images)
    os.replace(raw / "swap", labels)
    for check in (mnist_files.verify, mnist_files.t10k_arrays):
        with pytest.raises(DataError) as e:
            check(copy_root)
        assert str(e.value).startswith(f"{images}: SHA-256 mismatch (10,008 bytes, the bytes of t10k-labels-idx1-ubyte: "
                                       "the files swapped or misnamed?); give each its own name (mv), or delete it and run")
    labels.write_bytes(labels.read_bytes()[:100])  # damaged, not another's: said as before
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: SHA-256 mismatch \(100 bytes, truncated or corrupt\); "):
        mnist_files.verify(copy_root, mnist_files.TEST_FILES[1:])
