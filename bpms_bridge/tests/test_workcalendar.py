"""The working-day calendar and the 9:30–19:00 registration rule (issue 7's cases)."""

import datetime as dt

import pytest

from bpms_bridge import workcalendar as wc
from bpms_bridge.workcalendar import (
    ASTANA,
    CalendarError,
    add_working_time,
    is_working_day,
    is_working_time,
    next_working_opening,
    registration_moment,
)


def at(y, m, d, hh=0, mm=0):
    return dt.datetime(y, m, d, hh, mm, tzinfo=ASTANA)


@pytest.fixture(autouse=True)
def _fresh_corrections():
    wc.corrections_changed()
    yield
    wc.corrections_changed()


@pytest.mark.django_db
class TestRegistrationMoment:
    def test_friday_1859_is_inside_working_time(self):
        assert registration_moment(at(2026, 11, 20, 18, 59)) == at(2026, 11, 20, 18, 59)

    def test_friday_1900_moves_to_monday_0930(self):
        assert not is_working_time(at(2026, 11, 20, 19, 0))
        assert registration_moment(at(2026, 11, 20, 19, 0)) == at(2026, 11, 23, 9, 30)

    def test_before_opening_moves_to_0930_same_day(self):
        assert registration_moment(at(2026, 11, 23, 9, 29)) == at(2026, 11, 23, 9, 30)
        assert registration_moment(at(2026, 11, 23, 9, 30)) == at(2026, 11, 23, 9, 30)

    @pytest.mark.parametrize("day", [21, 22])
    def test_weekend_moves_to_monday(self, day):
        assert registration_moment(at(2026, 11, day, 12, 0)) == at(2026, 11, 23, 9, 30)

    def test_holiday_moves_to_next_working_day(self):
        # 16 December 2026 (Wednesday) — Independence Day.
        assert not is_working_day(dt.date(2026, 12, 16))
        assert registration_moment(at(2026, 12, 16, 11, 0)) == at(2026, 12, 17, 9, 30)

    def test_holiday_on_a_weekend_is_moved_to_monday(self):
        # Republic Day, Sunday 25 October 2026, is observed on Monday 26 October.
        assert not is_working_day(dt.date(2026, 10, 26))
        assert registration_moment(at(2026, 10, 24, 12, 0)) == at(2026, 10, 27, 9, 30)
        assert registration_moment(at(2026, 10, 26, 10, 0)) == at(2026, 10, 27, 9, 30)

    def test_transferred_working_saturday_from_admin_table(self):
        from bpms_bridge.models import CalendarCorrection

        saturday = at(2026, 11, 28, 10, 0)
        assert registration_moment(saturday) == at(2026, 11, 30, 9, 30)
        CalendarCorrection.objects.create(date=dt.date(2026, 11, 28), is_working=True, note="transfer")
        assert is_working_time(saturday)
        assert registration_moment(saturday) == saturday
        assert registration_moment(at(2026, 11, 27, 19, 30)) == at(2026, 11, 28, 9, 30)

    def test_monday_made_a_day_off_from_admin_table(self):
        from bpms_bridge.models import CalendarCorrection

        CalendarCorrection.objects.create(date=dt.date(2026, 11, 30), is_working=False, note="transfer")
        assert registration_moment(at(2026, 11, 27, 19, 30)) == at(2026, 12, 1, 9, 30)

    def test_substituted_weekend_workday_from_holidays_package(self):
        # 2025: 3 January was a day off in exchange for Sunday 5 January, a working day.
        assert not is_working_day(dt.date(2025, 1, 3))
        assert is_working_day(dt.date(2025, 1, 5))

    def test_31_december_evening_goes_past_the_new_year_holidays(self):
        # 1 Jan 2027 Fri, 2 Jan Sat (observed Mon 4 Jan) -> Tuesday 5 January 2027.
        assert registration_moment(at(2026, 12, 31, 19, 30)) == at(2027, 1, 5, 9, 30)
        # 1–2 Jan 2026 Thu/Fri, then the weekend -> Monday 5 January 2026.
        assert registration_moment(at(2025, 12, 31, 20, 0)) == at(2026, 1, 5, 9, 30)

    def test_other_timezones_are_converted_to_astana(self):
        utc_1400 = dt.datetime(2026, 11, 20, 14, 0, tzinfo=dt.UTC)  # 19:00 in Astana
        assert registration_moment(utc_1400) == at(2026, 11, 23, 9, 30)
        assert registration_moment(utc_1400 - dt.timedelta(minutes=1)) == utc_1400 - dt.timedelta(minutes=1)

    def test_naive_datetime_is_refused(self):
        with pytest.raises(CalendarError):
            registration_moment(dt.datetime(2026, 11, 20, 12, 0))


@pytest.mark.django_db
class TestAddWorkingTime:
    def test_days_keep_the_clock_time_and_skip_weekends(self):
        assert add_working_time(at(2026, 11, 20, 10, 0), days=1) == at(2026, 11, 23, 10, 0)
        assert add_working_time(at(2026, 11, 23, 10, 0), days=8) == at(2026, 12, 3, 10, 0)

    def test_minutes_inside_the_same_day(self):
        assert add_working_time(at(2026, 11, 23, 10, 0), minutes=20) == at(2026, 11, 23, 10, 20)

    def test_hours_roll_over_closing_time(self):
        # 18:00 + 7h40m: 60 min today, 400 min tomorrow from 9:30 -> 16:10.
        assert add_working_time(at(2026, 11, 23, 18, 0), hours=7, minutes=40) == at(2026, 11, 24, 16, 10)

    def test_ending_exactly_at_closing(self):
        assert add_working_time(at(2026, 11, 23, 18, 0), hours=1) == at(2026, 11, 23, 19, 0)

    def test_start_outside_working_time_starts_at_next_opening(self):
        assert add_working_time(at(2026, 11, 21, 12, 0), minutes=15) == at(2026, 11, 23, 9, 45)
        assert next_working_opening(at(2026, 11, 21, 12, 0)) == at(2026, 11, 23, 9, 30)

    def test_days_over_a_holiday(self):
        # Tue 15 Dec 2026 + 1 working day skips Independence Day (Wed 16 Dec).
        assert add_working_time(at(2026, 12, 15, 12, 0), days=1) == at(2026, 12, 17, 12, 0)

    def test_negative_is_refused(self):
        with pytest.raises(CalendarError):
            add_working_time(at(2026, 11, 23, 10, 0), days=-1)
