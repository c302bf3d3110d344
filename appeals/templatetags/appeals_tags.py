"""Small display helpers for appeal pages."""

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

register = template.Library()


@register.filter
def isodate(value: str) -> str:
    """An ISO date or datetime from a history payload shown as dd.mm.yyyy (hh:mm)."""
    if not isinstance(value, str):
        return value
    # Python 3.11's fromisoformat (under parse_datetime) reads "2026-12-02" as midnight: a bare
    # date stays a date.
    try:
        day = parse_date(value) if len(value) == 10 else None
        moment = None if day else parse_datetime(value)
    except ValueError:  # well-formed but impossible (2026-13-45): shown as it came
        return value
    if day is not None:
        return day.strftime("%d.%m.%Y")
    if moment is not None:
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%d.%m.%Y %H:%M")
    return value
