"""The `date` filter, same output, without Django's per-call format parsing (issue #18).

Every list and history row prints one or two dates («d.m.Y H:i»). Django's filter parses the
format string character by character and looks each one up on a formatter object: ≈ 25 µs a
call, a fifth of a history row's rendering. The portal's formats are made of numeric
day/month/year/hour/minute/second and punctuation only; those map one-to-one onto `strftime`,
which this filter uses. Anything else (a named format, a letter with a locale's word in it, a
value that is not a date) goes to Django's own filter, unchanged.

Installed as a template builtin (settings.TEMPLATES), after Django's, so it takes the `date`
name in every template without a `{% load %}`. tests/test_fast_date.py checks it against
Django's filter.
"""

import datetime
from functools import lru_cache

from django import template
from django.template.defaultfilters import date as django_date

register = template.Library()

_DATE_CODES = {"d": "%d", "m": "%m", "Y": "%Y"}
_TIME_CODES = {"H": "%H", "i": "%M", "s": "%S"}
_LITERALS = frozenset(" .:-/,")


@lru_cache(maxsize=64)
def _strftime_pattern(fmt: str) -> tuple[str, bool] | None:
    """The strftime equivalent of a Django format, and whether it needs a time; None if there is none."""
    parts, has_time = [], False
    for char in fmt:
        if char in _DATE_CODES:
            parts.append(_DATE_CODES[char])
        elif char in _TIME_CODES:
            parts.append(_TIME_CODES[char])
            has_time = True
        elif char in _LITERALS:
            parts.append(char)
        else:
            return None
    return "".join(parts), has_time


@register.filter(expects_localtime=True, is_safe=False)
def date(value, arg=None):
    pattern = _strftime_pattern(arg) if isinstance(arg, str) and arg else None
    # Django pads the year to 4 digits, strftime does not below 1000; a date has no time to print.
    if (pattern is not None and isinstance(value, datetime.date) and value.year >= 1000
            and (isinstance(value, datetime.datetime) or not pattern[1])):
        return value.strftime(pattern[0])
    return django_date(value, arg)
