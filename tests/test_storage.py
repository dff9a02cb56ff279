"""mnist_sweep.storage: one redaction for every text, the clear-text password check, log filter."""
from __future__ import annotations

import logging

import pytest

from mnist_sweep.errors import LeaderboardError, SweepError
from mnist_sweep.storage import RedactFilter, check_no_clear_password, mask_url, redact

SECRET = "hunter2"
LEAKY = [
    f"postgresql://me:{SECRET}@db:5432/x",
    f"postgresql+psycopg2://me:{SECRET}@db/x?sslmode=require",
    f"postgresql://me@db/x?password={SECRET}",
    f"postgresql://me@db/x?sslmode=require&PASSWORD={SECRET}",
    f"mysql://db/x?user=me&passwd={SECRET}",
    f"mssql://db/x?pwd={SECRET};x=1",
    f"Could not parse SQLAlchemy URL from string 'postgresql://me:{SECRET}@[bad'",
    f"connection to server failed: host=db user=me password={SECRET} dbname=x",
    f"redis://:{SECRET}@host:6379/0",
]


@pytest.mark.parametrize("text", LEAKY)
def test_redact_masks_every_password(text):
    out = redact(text)
    assert SECRET not in out and "***" in out, out


@pytest.mark.parametrize("text", ["sqlite:///outputs/sweeps/s/optuna.db", "postgresql://me@db/x", "in-memory",
                                  "model.c1: must be >= 1, got 0", "https://user@example.com/a?b=c"])
def test_redact_leaves_secret_free_text_alone(text):
    assert redact(text) == text


@pytest.mark.parametrize("url", LEAKY[:6])
def test_a_password_anywhere_in_a_storage_url_is_refused(url):
    with pytest.raises(SweepError) as e:
        check_no_clear_password(url)
    assert str(e.value).startswith("hydra.sweeper.storage: ") and SECRET not in str(e.value)


def test_interpolated_and_password_free_urls_pass():
    for url in ("${oc.env:MNIST_SWEEP_STORAGE}", "postgresql://me@db/x", "sqlite:///a.db", None):
        check_no_clear_password(url)
    assert mask_url(None) == "in-memory"


def test_every_error_text_is_redacted():
    """MnistSweepError redacts whatever it quotes (a driver's error text included)."""
    assert SECRET not in str(LeaderboardError(f"cannot open ({LEAKY[6]})"))


def test_log_filter_masks_messages_and_arguments():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "opened %s", (LEAKY[2],), None)
    assert RedactFilter().filter(record) and SECRET not in record.getMessage()
