"""A statement's default period is the year to date in Bishkek, whatever the machine's clock:
from midnight to 6:00 in Bishkek the UTC day is still yesterday (and on 1 January last year)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from web.routes.documents import year_to_date


@pytest.mark.parametrize(
    ("now", "period"),
    [
        (datetime(2026, 12, 6, 12, 0, tzinfo=UTC), (date(2026, 1, 1), date(2026, 12, 6))),
        # 00:44 on 7 December in Bishkek: a payment of that morning is in the statement
        (datetime(2026, 12, 6, 18, 44, tzinfo=UTC), (date(2026, 1, 1), date(2026, 12, 7))),
        # 1 January in Bishkek, still 31 December in UTC: the new year's statement
        (datetime(2026, 12, 31, 18, 0, tzinfo=UTC), (date(2027, 1, 1), date(2027, 1, 1))),
        (datetime(2026, 12, 31, 17, 59, tzinfo=UTC), (date(2026, 1, 1), date(2026, 12, 31))),
    ],
)
def test_the_default_period_is_the_year_to_date_in_bishkek(
    now: datetime, period: tuple[date, date]
) -> None:
    assert year_to_date(now) == period
