"""The portal's `date` filter (homeportal/templatetags/fast_date.py) prints what Django's prints."""

import datetime
import zoneinfo

from django.template import Context, Template
from django.template.defaultfilters import date as django_date
from django.utils import timezone, translation
from hypothesis import given, settings
from hypothesis import strategies as st

from homeportal.templatetags import fast_date

ASTANA = zoneinfo.ZoneInfo("Asia/Almaty")
# The portal's formats, and letters that must go to Django's filter (words, week days, named formats).
FORMATS = st.one_of(
    st.sampled_from(["d.m.Y H:i", "d.m.Y", "d.m.Y H:i:s", "Y-m-d", "H:i", "e", "D d M Y", "DATE_FORMAT", "N j, Y", ""]),
    st.text(alphabet="dmYHis .:-/,jnNlDMyaA\\", max_size=12),
)
VALUES = st.one_of(
    st.datetimes(min_value=datetime.datetime(1, 1, 1), max_value=datetime.datetime(9999, 12, 30)),
    st.datetimes(min_value=datetime.datetime(1900, 1, 2), max_value=datetime.datetime(2200, 1, 1), timezones=st.just(ASTANA)),
    st.dates(),
    st.sampled_from([None, "", "2026-12-02", 0, "not a date"]),
)


def _outcome(filter_function, value, fmt):
    try:
        return filter_function(value, fmt)
    except Exception as error:  # Django refuses a time format on a date: the same refusal is expected
        return type(error)


@settings(max_examples=400, deadline=None)
@given(value=VALUES, fmt=FORMATS, language=st.sampled_from(["ru", "kk"]))
def test_same_output_as_djangos_filter(value, fmt, language):
    with translation.override(language):
        assert _outcome(fast_date.date, value, fmt) == _outcome(django_date, value, fmt)


def test_every_template_gets_it_without_a_load():
    template = Template('{{ moment|date:"d.m.Y H:i" }}')
    filter_node = template.nodelist[0].filter_expression.filters[0][0]
    assert filter_node is fast_date.date


def test_a_template_shows_local_time():
    moment = datetime.datetime(2026, 12, 4, 18, 5, tzinfo=datetime.UTC)
    with timezone.override(ASTANA):
        assert Template('{{ moment|date:"d.m.Y H:i" }}').render(Context({"moment": moment})) == "04.12.2026 23:05"
