"""Deadlines told as a date: "decide by 12 March", "press the button by 4 February".
Whoever is told a date has the whole of it, in the portal's local time (settings.TIME_ZONE,
India's), wherever in the day the deadline was set. The approval steps and appeals of
onboarding and the yearly confirmation of verification all count their days so."""

from datetime import datetime, time, timedelta

from django.utils import timezone


def end_of_local_day(moment: datetime, days: int) -> datetime:
    """The last instant of the portal's local day ``days`` days after the one ``moment``
    falls on: a deadline told as a date ("by 12 March") ends with that date, wherever in
    the day it was set."""
    last_day = timezone.localdate(moment) + timedelta(days=days)
    return datetime.combine(last_day, time.max, tzinfo=timezone.get_current_timezone())


def deadline_passed_if_set_before(now: datetime, days: int) -> datetime:
    """end_of_local_day's rule for a query: the deadline ``end_of_local_day(moment, days)``
    has passed at ``now`` exactly when ``moment`` is before the instant returned, the
    first of the local day ``days`` days before the one ``now`` falls on."""
    first_day_open = timezone.localdate(now) - timedelta(days=days)
    return datetime.combine(first_day_open, time.min, tzinfo=timezone.get_current_timezone())
