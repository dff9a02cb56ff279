"""mnist_sweep.config.table: docs/schema.md's table of keys and valid values."""
from __future__ import annotations

import re

from mnist_sweep import PROJECT_ROOT
from mnist_sweep.config.table import error_table

def test_readme_error_table_matches_the_schema():
    """docs/schema.md's table of keys and valid values is the schema's (error_table)."""
    readme = (PROJECT_ROOT / "docs" / "schema.md").read_text()
    section = readme.split("<!-- schema-table -->")[1]
    rows = re.findall(r"^\| `([^`]+)` \| (.+?) \| (.+?) \|$", section, re.M)
    assert rows == error_table()
