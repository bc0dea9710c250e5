"""The shared arithmetic of the portal's limits (portal.limits): when the next is allowed,
and how a refusal names that moment."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import translation

from portal.limits import minute_up, shown, shown_from

IST = ZoneInfo("Asia/Kolkata")


@pytest.mark.parametrize(("moment", "up"), [
    (datetime(2026, 3, 2, 11, 0, 40, tzinfo=IST), datetime(2026, 3, 2, 11, 1, tzinfo=IST)),
    (datetime(2026, 3, 2, 11, 0, 0, 1, tzinfo=IST), datetime(2026, 3, 2, 11, 1, tzinfo=IST)),
    (datetime(2026, 3, 2, 11, 0, tzinfo=IST), datetime(2026, 3, 2, 11, 0, tzinfo=IST)),
    (datetime(2026, 12, 31, 23, 59, 1, tzinfo=IST), datetime(2027, 1, 1, 0, 0, tzinfo=IST)),
])
def test_a_moment_is_rounded_up_to_a_whole_minute(moment, up):
    assert minute_up(moment) == up


def test_the_moment_a_refusal_names_for_the_next_try_is_not_before_it():
    """A page names minutes, not seconds: the next allowed at 11:00:40 is named 11:01, when
    it is allowed, not 11:00, when it is still refused; what happened at 10:00:40 stays 10:00."""
    with translation.override("en"):
        assert shown_from(datetime(2026, 3, 2, 11, 0, 40, tzinfo=IST)) == "2 Mar 2026, 11:01"
        assert shown_from(datetime(2026, 3, 2, 11, 0, tzinfo=IST)) == "2 Mar 2026, 11:00"
        assert shown_from(datetime(2026, 3, 2, 5, 30, 40, tzinfo=ZoneInfo("UTC"))) == "2 Mar 2026, 11:01"
        assert shown(datetime(2026, 3, 2, 10, 0, 40, tzinfo=IST)) == "2 Mar 2026, 10:00"
        assert shown_from(datetime(2026, 3, 2, 11, 0, 40, tzinfo=IST) - timedelta(hours=1)) == "2 Mar 2026, 10:01"
