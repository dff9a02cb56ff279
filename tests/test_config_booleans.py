"""A boolean key takes true or false alone: OmegaConf took any number (model.bias=-1, =2, a 20-digit
number: true; 0: false) and yes/on/1 for one, on the command line and in files, silently. Refused now
in one line naming the key, through the one conversion every bool node uses (sections._strict_booleans)."""
from __future__ import annotations

import typing
from dataclasses import fields

import pytest

from conftest import TINY
from mnist_sweep.config.sections import SCHEMAS
from mnist_sweep.overrides import check_command_line

BOOLS = sorted({f"{section}.{f.name}" for section, by_name in SCHEMAS.items() for schema in by_name.values()
                for f in fields(schema) if typing.get_type_hints(schema)[f.name] is bool})


def test_the_schema_has_boolean_keys():
    assert {"model.bias", "trainer.save_curves", "trainer.fast_dropout"} <= set(BOOLS), BOOLS


def test_a_number_for_any_boolean_key_is_refused_naming_the_key():
    for key in BOOLS:
        extra = ["optimizer=sgd"] if key.startswith("optimizer.") else []
        line = check_command_line([*TINY, *extra, f"{key}=-1"]).error
        assert line is not None and line.startswith(f"{key}: Value '-1' is not a valid bool"), (key, line)
        assert "; write true or false, e.g. " + key + "=" in line, line


@pytest.mark.parametrize("value", ["2", "12345678901234567890", "0", "1", "yes", "off"])
def test_a_number_or_a_word_is_refused(value):
    line = check_command_line([*TINY, f"model.bias={value}"]).error
    assert line is not None and line.startswith(f"model.bias: Value '{value}' is not a valid bool"), line


def test_true_false_and_a_files_yaml_booleans_are_taken_a_files_number_is_refused(tmp_path):
    for value, want in (("true", True), ("False", False)):
        assert check_command_line([*TINY, f"model.bias={value}"]).settings.model.bias is want
    (tmp_path / "experiment").mkdir()
    mine = tmp_path / "experiment" / "mine.yaml"
    mine.write_text("# @package _global_\nmodel:\n  bias: yes\n")  # YAML's own boolean: true
    assert check_command_line(["--config-dir", str(tmp_path), "+experiment=mine", *TINY]).settings.model.bias is True
    mine.write_text("# @package _global_\nmodel:\n  bias: 2\n")
    line = check_command_line(["--config-dir", str(tmp_path), "+experiment=mine", *TINY]).error
    assert line is not None and "model.bias: Value '2' is not a valid bool (type int); write true or false" in line, line
