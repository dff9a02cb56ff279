"""An override an error line offers as its fix is quoted whole where a shell would expand it: an unquoted
'e.g. trainer.objectives=[val_acc,params]' pasted into zsh (or bash with failglob) said 'no matches found'."""
from __future__ import annotations

import shlex

from conftest import assert_one_line_error, run_inproc


def test_a_bracketed_example_is_pasteable_as_one_quoted_argument(tmp_path):
    """train's and confirm's lines (and confirm's --set words, as_set) quote the list example whole; pasted, the
    shell gives it back as one argument, which the command line then takes."""
    from mnist_sweep.overrides import check_command_line

    proc = run_inproc(["mnist_sweep.train", "optimizer=adam", "optimizer.betas=0.9", f"hydra.run.dir={tmp_path}/r"],
                      cwd=tmp_path)
    line = assert_one_line_error(proc, "; write a list of numbers, e.g. 'optimizer.betas=[0.9,0.999]'")
    (pasted,) = shlex.split(line.rpartition("e.g. ")[2])
    assert check_command_line(["optimizer=adam", pasted]).error is None
    proc = run_inproc(["mnist_sweep.confirm", "--experiment", "tiny", "--set", "optimizer=adam", "--set",
                       "optimizer.betas=0.9", "--out", str(tmp_path / "o")], cwd=tmp_path)
    assert_one_line_error(proc, "e.g. --set 'optimizer.betas=[0.9,0.999]'")
    assert not (tmp_path / "r").exists() and not (tmp_path / "o").exists()


def test_the_one_rule_for_examples_in_a_line():
    """In the fix (after the first '; '): quoted where shlex.quote would quote it (brackets, braces, parentheses, *, ?,
    <>, a leading ~); left as written where already quoted, holding a quote of its own, plain, or in the line's head
    (what the user gave); the sentence's punctuation stays outside."""
    from mnist_sweep.shell import quoted_examples

    cases = {
        "k: bad; e.g. trainer.objectives=[val_acc,params]": "k: bad; e.g. 'trainer.objectives=[val_acc,params]'",
        "k; close it: model.c1=choice(4,8), or model.widths[1]=8.": "k; close it: 'model.c1=choice(4,8)', or 'model.widths[1]=8'.",
        "k; give +hydra.sweeper.params={model.c1:4}? or (model.c1=interval(0,1))":
            "k; give '+hydra.sweeper.params={model.c1:4}'? or ('model.c1=interval(0,1)')",
        "model=[a,b]: one option; pick one, e.g. model=cnn, or search them with -m: model=cnn,eva8_seed":
            "model=[a,b]: one option; pick one, e.g. model=cnn, or search them with -m: model=cnn,eva8_seed",
        "k; a list is written in brackets: 'model.c1=[4,8]'": "k; a list is written in brackets: 'model.c1=[4,8]'",
        "k; quote it (trainer.device='c=pu') or {leaf}:\"choice(4)\"": "k; quote it (trainer.device='c=pu') or {leaf}:\"choice(4)\"",
        "k; add -m (python -m mnist_sweep.train -m 'hydra.sweeper.study_name=a b')":
            "k; add -m (python -m mnist_sweep.train -m 'hydra.sweeper.study_name=a b')",
        "no fix part: model.c1=[1]": "no fix part: model.c1=[1]",
    }
    assert {line: quoted_examples(line) for line in cases} == cases
