"""export on outputs a user names: odd paths for --onnx and --out. No training: a one-row
leaderboard over a run dir made here (test_predict.made_run) with an untrained model."""
from __future__ import annotations

from pathlib import Path

from mnist_sweep import export
from test_predict import made_run


def board(tmp_path: Path) -> Path:
    """A sweep dir of one trained-looking trial."""
    made_run(tmp_path / "trial_0000")
    (tmp_path / "leaderboard.csv").write_text(f"rank,trial,status,trial_dir\n1,0,complete,{tmp_path / 'trial_0000'}\n")
    return tmp_path


def test_a_newline_in_an_output_name_stays_on_its_line(tmp_path, capsys):
    """'wrote DIR/a<newline>b.onnx; ...' was printed over two lines; the name is written with \\n."""
    out = tmp_path / "a\nb" / "m.onnx"
    assert export.main([str(board(tmp_path)), "--onnx", str(out)]) == 0
    assert out.is_file()
    first = capsys.readouterr().out.splitlines()[0]
    assert first.startswith(f"wrote {tmp_path}/a\\nb/m.onnx; onnxruntime vs PyTorch"), first


def test_a_nan_logit_difference_is_no_pass(tmp_path, monkeypatch, capsys):
    """'diff > bound' is false for NaN: an ONNX file whose outputs were NaN was written as matching."""
    monkeypatch.setattr(export, "onnx_parity", lambda path, run, batch_size=1000: (256, float("nan"), 0))
    out = tmp_path / "out" / "m.onnx"
    assert export.main([str(board(tmp_path)), "--onnx", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "max |logit diff| nan" in err[0] and err[0].endswith("not written"), err
    assert not (tmp_path / "out").exists()


def test_an_output_under_a_file_or_that_is_a_directory_is_refused_first(tmp_path, capsys):
    """--onnx under a file (two levels up too) said '.../afile: File exists; choose a writable
    directory', naming neither the flag nor what was wrong, after the export's work; --onnx naming a
    directory said 'add --force', and with --force failed after the parity check."""
    d = board(tmp_path)
    (tmp_path / "afile").write_text("")
    (tmp_path / "adir.onnx").mkdir()
    (tmp_path / "experiment" / "a.yaml").mkdir(parents=True)
    cases = [
        (["--onnx", str(tmp_path / "afile" / "x" / "m.onnx")], f"--onnx {tmp_path}/afile/x/m.onnx: {tmp_path}/afile is "
         "not a directory; choose another path"),
        (["--out", str(tmp_path / "afile" / "experiment" / "a.yaml")], f"{tmp_path}/afile is not a directory"),
        (["--onnx", str(tmp_path / "adir.onnx"), "--force"], f"--onnx {tmp_path}/adir.onnx: is a directory, not a file"),
        (["--out", str(tmp_path / "experiment" / "a.yaml")], "a.yaml: is a directory, not a file"),
        (["--onnx", str(tmp_path / "scratch" / "m.onnx")], f"--onnx {tmp_path}/scratch/m.onnx: {tmp_path}/scratch is a "
         f"link to {tmp_path}/gone, which does not exist; create it or choose another path"),  # was 'not a directory'
    ]
    (tmp_path / "scratch").symlink_to(tmp_path / "gone")
    for args, needle in cases:
        before = sorted(tmp_path.rglob("*"))
        assert export.main([str(d), *args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and needle in err[0] and err[0].startswith(f"error: {args[0]} "), (args, err)
        assert sorted(tmp_path.rglob("*")) == before


def test_an_onnx_name_in_upper_case_is_written(tmp_path, capsys):
    """--onnx M.ONNX said 'must end in .onnx (an ONNX model file); e.g. --onnx M.onnx',
    while predict and checkpoint read an .ONNX file as ONNX."""
    out = tmp_path / "out" / "M.ONNX"
    assert export.main([str(board(tmp_path)), "--onnx", str(out)]) == 0, capsys.readouterr().err
    assert out.is_file() and capsys.readouterr().out.startswith(f"wrote {out}; onnxruntime vs PyTorch")


def test_a_killed_exports_temporary_file_is_removed_later(tmp_path, capsys):
    """--onnx wrote .m.onnx.tmp.onnx beside the file, a fixed name: a killed export left it for good
    (and two exports to one file shared it). It is results.atomic_write's unique temporary now, and
    one an hour old is removed by the next export there."""
    import os
    import time

    out = tmp_path / "out" / "m.onnx"
    out.parent.mkdir()
    stale = out.parent / ".m.onnx.k1ll3d.tmp"
    stale.write_bytes(b"half an onnx file")
    os.utime(stale, (time.time() - 7200, time.time() - 7200))
    assert export.main([str(board(tmp_path)), "--onnx", str(out)]) == 0
    assert sorted(p.name for p in out.parent.iterdir()) == ["m.onnx"]


def test_a_wrong_out_or_onnx_name_says_what_is_wrong_and_the_name_to_use(tmp_path, capsys):
    """--out NAME.yml listed the characters NAME may hold (its name was fine: .yml was the problem),
    --out x.txt said only 'must be a .yaml file name', and --onnx x.txt 'must end in .onnx': none gave
    a name to use. Checked before the leaderboard is read: nothing is written."""
    exp = tmp_path / "conf" / "experiment"
    for args, line in [
        (["--out", str(exp / "Quick-Best.yml")], f"--out {exp}/Quick-Best.yml: use .yaml, not .yml: Hydra finds "
                                                 f"+experiment=NAME as experiment/NAME.yaml only; e.g. --out {exp}/Quick-Best.yaml"),
        (["--out", str(exp / "best.txt")], f"--out {exp}/best.txt: must end in .yaml: Hydra finds +experiment=NAME as "
                                           f"experiment/NAME.yaml; e.g. --out {exp}/best.yaml"),
        (["--out", str(exp / "my best.yml")], f"NAME (my best) may hold only ASCII letters, digits, _ or -; e.g. --out "
                                              f"{exp}/my_best.yaml"),
        (["--onnx", str(tmp_path / "x.txt")], f"--onnx {tmp_path}/x.txt: must end in .onnx (an ONNX model file); e.g. "
                                              f"--onnx {tmp_path}/x.onnx"),
    ]:
        assert export.main([str(tmp_path / "nowhere"), *args]) == 2, args
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and err[0].startswith("error: ") and line in err[0], (args, err)
    assert list(tmp_path.iterdir()) == []


def test_an_out_outside_the_project_named_as_one_of_its_experiments_is_refused(tmp_path, capsys):
    """--out DIR/experiment/tiny.yaml printed '--config-dir DIR +experiment=tiny', which trains the
    project's conf/experiment/tiny.yaml: Hydra reads the project's conf/ before --config-dir."""
    out = tmp_path / "cfg" / "experiment" / "tiny.yaml"
    assert export.main([str(board(tmp_path)), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "the project has conf/experiment/tiny.yaml" in err[0], err
    assert f"e.g. --out {out.with_name('tiny_2.yaml')}" in err[0] and not (tmp_path / "cfg").exists()


def test_an_out_that_is_a_dir_or_no_yaml_file_suggests_a_name_export_takes(tmp_path, monkeypatch):
    """--out conf/experiment/ (a dir: the file goes in it) said 'must end in .yaml; e.g. --out
    conf/experiment.yaml', and --out quick_best 'e.g. --out quick_best.yaml': each refused in turn as
    not in a dir named experiment. The name suggested now passes every check of --out."""
    import pytest

    from mnist_sweep.errors import MnistSweepError

    monkeypatch.chdir(tmp_path)
    (tmp_path / "conf" / "experiment").mkdir(parents=True)
    for out, fixed in [("conf/experiment", "conf/experiment/my_best.yaml"), ("conf", "conf/experiment/my_best.yaml"),
                       (".", "conf/experiment/my_best.yaml"), ("cfg/experiment", "cfg/experiment/my_best.yaml"),
                       ("quick_best", "conf/experiment/quick_best.yaml"), ("runs/x.onnx", "runs/experiment/x.yaml"),
                       ("conf/experiment/my best.yml", "conf/experiment/my_best.yaml")]:
        with pytest.raises(MnistSweepError) as e:
            export.check_out(Path(out), force=False)
        assert str(e.value).startswith(f"--out {out}: ") and str(e.value).endswith(f"; e.g. --out {fixed}"), e.value
        export.check_out(Path(fixed), force=False)  # taken as it stands
    assert "a directory; give the file to write" in str(pytest.raises(
        MnistSweepError, export.check_out, Path("conf/experiment"), False).value)


def test_a_trial_dir_given_for_its_sweep_names_the_trial_to_pick(tmp_path, capsys, monkeypatch):
    """export SWEEP/trial_0001 (confirm too) said 'give its sweep dir, SWEEP', and export SWEEP then
    exported rank 1, another trial: the line now gives the trial with it, as --trial N."""
    from mnist_sweep import confirm

    monkeypatch.chdir(tmp_path)
    sweep = board(tmp_path / "sw")
    (sweep / "trial_0000").rename(sweep / "trial_0001")
    (sweep / "leaderboard.csv").write_text(f"rank,trial,status,trial_dir\n1,1,complete,{sweep / 'trial_0001'}\n")
    (sweep / "trial_0001" / "seed_2" / ".hydra").mkdir(parents=True)  # a seed of the trial: the trial's config
    want = f"one run dir, not a sweep; give its sweep dir and trial: {sweep} --trial 1"
    seed = (" (the trial's config, with its own seed; this run is trainer.seed=2: add trainer.seed=2 to the command "
            "that trains it)")  # export SWEEP/trial_0001/seed_2 said only --trial 1: seed 1's config
    # confirm said so too, and refuses --set trainer.seed=2: it trains seeds 1..N itself
    seeds = " (confirm trains the trial's config over seeds 1..N, --seeds N: this run is its seed 2)"
    for given, line, confirms in ((sweep / "trial_0001", want, want), (sweep / "trial_0001" / "seed_2", want + seed,
                                                                        want + seeds)):
        assert export.main([str(given), "--onnx", str(tmp_path / "m.onnx")]) == 2
        assert capsys.readouterr().err.strip() == f"error: {given}: {line}"
        assert confirm.main([str(given), "--parallel", "1"]) == 2
        assert capsys.readouterr().err.strip() == f"error: {given}: {confirms}"
    assert not (tmp_path / "m.onnx").exists() and not (tmp_path / "outputs").exists()


def test_an_onnx_dir_says_the_file_goes_in_it(tmp_path, capsys):
    """--onnx DIR (an existing dir) said 'must end in .onnx; e.g. --onnx DIR.onnx', a file beside it;
    --onnx NEW.onnx/ (a trailing /: a dir meant) wrote the file NEW.onnx; --onnx DIR/.onnx suggested
    DIR/.onnx.onnx. Checked before the leaderboard is read: nothing is written."""
    (tmp_path / "models").mkdir()
    for given, fixed in [(f"{tmp_path}/models", f"{tmp_path}/models/model.onnx"),
                         (f"{tmp_path}/new/", f"{tmp_path}/new/model.onnx"),
                         (f"{tmp_path}/new.onnx/", f"{tmp_path}/new.onnx/model.onnx")]:
        assert export.main([str(tmp_path / "nowhere"), "--onnx", given]) == 2, given
        err = capsys.readouterr().err.strip().splitlines()
        assert err == [f"error: --onnx {given}: is a directory, not a file; give the file to write in it, "
                       f"e.g. --onnx {fixed}"], err
    assert export.main([str(tmp_path / "nowhere"), "--onnx", f"{tmp_path}/models/.onnx"]) == 2
    assert capsys.readouterr().err.strip() == f"error: --onnx {tmp_path}/models/.onnx: has no name before .onnx; " \
                                              f"e.g. --onnx {tmp_path}/models/model.onnx"
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["models"]


def test_a_lone_runs_bad_config_names_no_trial(tmp_path, capsys):
    """A train run's (in no sweep) hand-edited config said 'pick another trial', a missing section
    'not a trial of this project': there is no trial to pick; it says 'give another run dir'."""
    from mnist_sweep import reproduce

    run = tmp_path / "run"
    made_run(run)
    config = run / ".hydra" / "config.yaml"
    good = config.read_text()
    for text, says in [(good.replace("c1: 8", "c1: -8", 1), "; fix it in the file (edited by hand?) or give another "
                        "run dir: train would refuse it"),
                       (good.replace("data:", "dataX:", 1), "no data section; not a run of this project: give another run dir")]:
        config.write_text(text)
        for main, args in [(export.main, ["--out", str(tmp_path / "experiment" / "a.yaml")]),
                           (reproduce.main, ["--out", str(tmp_path / "again")])]:
            assert main([str(run), *args]) == 2
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and says in err[0] and "trial" not in err[0], err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run"]


def test_a_rank_past_a_one_row_table_reads_as_one_row(tmp_path, capsys):
    """'--rank 2: SWEEP has 1 rows': the count is plural() now, as every other count line's."""
    assert export.main([str(board(tmp_path)), "--rank", "2", "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"--rank 2: {tmp_path} has 1 row; give a rank in 1..1")


def test_a_pick_with_a_run_dir_names_its_sweep_only_where_it_has_one(tmp_path, capsys):
    """--rank/--trial with a train run's dir said 'or give the sweep dir instead': it has none; with a
    trial's dir (reproduce takes one) it named no sweep dir. Now: 'in no sweep', or the sweep and the pick."""
    from mnist_sweep import reproduce

    made_run(tmp_path / "lone")
    assert export.main([str(tmp_path / "lone"), "--rank", "1", "--onnx", str(tmp_path / "m.onnx")]) == 2
    assert capsys.readouterr().err.strip() == (f"error: --rank: picks a row of a leaderboard, and {tmp_path}/lone is one "
                                              "run dir in no sweep; leave --rank out (see python -m mnist_sweep.export --help)")
    sweep = board(tmp_path / "sw")
    assert reproduce.main([str(sweep / "trial_0000"), "--trial", "0", "--out", str(tmp_path / "again")]) == 2
    assert capsys.readouterr().err.strip().endswith(f"{sweep}/trial_0000 is one run dir; leave --trial out, or give its "
                                                    f"sweep dir instead: {sweep} --trial 0 (see python -m mnist_sweep.reproduce --help)")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lone", "sw"]


def test_a_file_in_a_run_dir_names_the_run_and_what_to_give(tmp_path, capsys):
    """export RUN/model.pt said 'not a CSV (it begins b'PK...'); give a leaderboard.csv', confirm and the
    leaderboard too: none named the run dir it lies in, nor the sweep dir and trial to give for it."""
    from mnist_sweep import leaderboard

    made_run(tmp_path / "lone")
    sweep = board(tmp_path / "sw")
    for given, want in [(tmp_path / "lone" / "model.pt", f"a file in the run dir {tmp_path}/lone, not a sweep, and no "
                         "leaderboard.csv above it; give a sweep dir (reproduce, predict and export take a run dir)"),
                        (sweep / "trial_0000" / "model.pt", f"a file in the run dir {sweep}/trial_0000, not a sweep; "
                         f"give its sweep dir and trial: {sweep} --trial 0")]:
        assert export.main([str(given), "--onnx", str(tmp_path / "m.onnx")]) == 2
        assert capsys.readouterr().err.strip() == f"error: {given}: {want}"
    assert leaderboard.main([str(sweep / "trial_0000" / "model.pt")]) == 2  # it picks no trial: the sweep dir alone
    assert capsys.readouterr().err.strip().endswith(f"not a sweep; give its sweep dir, {sweep}")
    assert not (tmp_path / "m.onnx").exists()


def test_the_onnx_metadata_says_how_the_digit_is_placed(tmp_path):
    """input_pixels said only '28x28, white digit on black': a user feeding a photo shrunk whole got
    a small digit (a 99.5% net: 14% of test digits padded by 50 pixels); it says MNIST's box too."""
    from mnist_sweep import checkpoint

    made_run(tmp_path / "run")
    pixels = export.onnx_metadata(checkpoint.load(tmp_path / "run"))["input_pixels"]
    assert "its box fit into 20x20 and centred by its centre of mass (as MNIST's: predict does so)" in pixels, pixels
