from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from zonegate.providers.base import retry_after


@pytest.mark.parametrize(
    ("header", "seconds"),
    [(None, None), ("", None), ("7", 7.0), (" 0.5 ", 0.5), ("-3", 0.0), ("soon", None)],
)
def test_delta_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after(header) == seconds


def test_an_http_date_is_seconds_from_now() -> None:
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    delay = retry_after(when)
    assert delay is not None
    assert 25 <= delay <= 30


def test_a_date_in_the_past_means_now() -> None:
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0
