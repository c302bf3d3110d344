"""Small display helpers for appeal pages."""

import datetime

from django import template
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

register = template.Library()


@register.filter
def isodate(value: str) -> str:
    """An ISO date or datetime from a history payload shown as dd.mm.yyyy (hh:mm)."""
    if not isinstance(value, str):
        return value
    moment = parse_datetime(value)
    if moment is not None:
        if timezone.is_aware(moment):
            moment = timezone.localtime(moment)
        return moment.strftime("%d.%m.%Y %H:%M")
    day = parse_date(value)
    if isinstance(day, datetime.date):
        return day.strftime("%d.%m.%Y")
    return value
