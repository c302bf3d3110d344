"""KZhK's working-day calendar: Astana time, Mon–Fri 9:30–19:00, public holidays of Kazakhstan.

Public holidays (with the "observed" moves of a holiday falling on a weekend, and the
government's day-off substitutions the `holidays` package knows) come from `holidays`;
`bpms_bridge.CalendarCorrection` rows kept in admin override single days for each year's
transfers (a Saturday made working, a Monday made a day off) and corrections.

Every function takes and returns timezone-aware datetimes. See docs/workcalendar.md.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

ASTANA = ZoneInfo("Asia/Almaty")
OPENING = dt.time(9, 30)
CLOSING = dt.time(19, 0)
WORKING_MINUTES_PER_DAY = (CLOSING.hour * 60 + CLOSING.minute) - (OPENING.hour * 60 + OPENING.minute)
_MAX_SCAN_DAYS = 3660  # a safety net: never loop for ever on a misconfigured calendar

_CORRECTIONS_TTL = 60.0  # seconds; admin edits in another process are seen within a minute
_corrections_lock = threading.Lock()
_corrections_cache: dict[int, tuple[float, dict[dt.date, bool]]] = {}


class CalendarError(ValueError):
    pass


@lru_cache(maxsize=64)
def _public_holidays(year: int) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    """(days off, weekend days made working) of one year according to `holidays`."""
    kz = holidays.country_holidays("KZ", years=year, language="en_US")
    days_off = frozenset(d for d in kz if d.year == year)
    made_working = frozenset(d for d in getattr(kz, "weekend_workdays", ()) if d.year == year)
    return days_off, made_working


def _load_corrections(year: int) -> dict[dt.date, bool]:
    """{date: is_working} from the admin table; empty when the portal's DB is not available
    (the BPMS mock runs without it)."""
    try:
        from django.apps import apps

        if not apps.ready:
            return {}
        from .models import CalendarCorrection

        return dict(CalendarCorrection.objects.filter(date__year=year).values_list("date", "is_working"))
    except Exception:  # noqa: BLE001 — no DB (mock process, migrations not run): holidays only
        return {}


def _corrections(year: int) -> dict[dt.date, bool]:
    now = time.monotonic()
    with _corrections_lock:
        cached = _corrections_cache.get(year)
        if cached and now - cached[0] < _CORRECTIONS_TTL:
            return cached[1]
    data = _load_corrections(year)
    with _corrections_lock:
        _corrections_cache[year] = (now, data)
    return data


def corrections_changed() -> None:
    """Forget cached corrections (called when a CalendarCorrection is saved or deleted)."""
    with _corrections_lock:
        _corrections_cache.clear()


def _aware(value: dt.datetime) -> dt.datetime:
    if not isinstance(value, dt.datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise CalendarError("a timezone-aware datetime is required")
    return value


def _local(value: dt.datetime) -> dt.datetime:
    return _aware(value).astimezone(ASTANA)


def _at(day: dt.date, clock: dt.time) -> dt.datetime:
    return dt.datetime.combine(day, clock, tzinfo=ASTANA)


def is_working_day(day: dt.date) -> bool:
    """Mon–Fri that is not a public holiday, unless the admin table says otherwise."""
    corrections = _corrections(day.year)
    if day in corrections:
        return corrections[day]
    days_off, made_working = _public_holidays(day.year)
    if day in made_working:
        return True
    if day in days_off:
        return False
    return day.weekday() < 5


def is_working_time(value: dt.datetime) -> bool:
    """True from 9:30 (inclusive) to 19:00 (exclusive) Astana time on a working day."""
    local = _local(value)
    return is_working_day(local.date()) and OPENING <= local.time() < CLOSING


def next_working_day(day: dt.date) -> dt.date:
    """The first working day strictly after `day`."""
    for _ in range(_MAX_SCAN_DAYS):
        day += dt.timedelta(days=1)
        if is_working_day(day):
            return day
    raise CalendarError("no working day within ten years")


def next_working_opening(value: dt.datetime) -> dt.datetime:
    """The first 9:30 of a working day at or after `value` (Astana time)."""
    local = _local(value)
    day = local.date()
    if is_working_day(day) and local <= _at(day, OPENING):
        return _at(day, OPENING)
    return _at(next_working_day(day), OPENING)


def registration_moment(sent_at: dt.datetime) -> dt.datetime:
    """When something sent at `sent_at` counts as registered: `sent_at` itself inside working
    time, otherwise 9:30 of the next working day."""
    if is_working_time(sent_at):
        return _aware(sent_at)
    return next_working_opening(sent_at)


def add_working_time(start: dt.datetime, *, days: int = 0, hours: int = 0, minutes: int = 0) -> dt.datetime:
    """`start` plus a duration counted in working time.

    A start outside working time first moves to the next opening. `days` working days keep
    the clock time (Monday 10:00 + 1 day = Tuesday 10:00; Friday 10:00 + 1 = Monday 10:00);
    then `hours`/`minutes` are counted inside the 9:30–19:00 windows only, so a duration that
    ends exactly at closing time ends at 19:00 of that day.
    """
    if days < 0 or hours < 0 or minutes < 0:
        raise CalendarError("durations cannot be negative")
    current = registration_moment(start).astimezone(ASTANA)
    for _ in range(days):
        day = next_working_day(current.date())
        current = dt.datetime.combine(day, current.timetz().replace(tzinfo=None), tzinfo=ASTANA)
    remaining = hours * 60 + minutes
    for _ in range(_MAX_SCAN_DAYS):
        if remaining <= 0:
            break
        closing = _at(current.date(), CLOSING)
        available = (closing - current).total_seconds() / 60
        if remaining <= available:
            return current + dt.timedelta(minutes=remaining)
        remaining -= available
        current = _at(next_working_day(current.date()), OPENING)
    return current


def working_minutes_between(start: dt.datetime, end: dt.datetime) -> int:
    """Working minutes from `start` to `end` (0 if end <= start); used for overdue amounts."""
    current = registration_moment(start).astimezone(ASTANA)
    end = _local(end)
    total = 0.0
    for _ in range(_MAX_SCAN_DAYS):
        if current >= end:
            break
        closing = _at(current.date(), CLOSING)
        total += (min(closing, end) - current).total_seconds() / 60
        current = _at(next_working_day(current.date()), OPENING)
    return int(total)
