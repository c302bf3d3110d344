"""bpms_bridge models: the calendar's corrections, regulated review routes, and (below) the
outbox to BPMS Simbase and the inbound event bookkeeping."""

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class CalendarCorrection(models.Model):
    """One day whose working status differs from the public-holiday calendar: a Saturday made
    working by a government transfer, a Monday made a day off, or a correction."""

    date = models.DateField(_("date"), unique=True)
    is_working = models.BooleanField(_("working day"))
    note = models.CharField(_("note"), max_length=255, blank=True)

    class Meta:
        ordering = ("date",)
        verbose_name = _("calendar correction")
        verbose_name_plural = _("calendar corrections")

    def __str__(self):
        return f"{self.date:%d.%m.%Y}"


class CaseKind(models.TextChoices):
    APPEAL = "appeal", _("Appeal")
    APPLICATION = "application", _("Guarantee application")


class ReviewRoute(models.Model):
    """A regulated review route (seed 004's pattern): numbered steps with durations and a total
    term in working days, per appeal category / application type. An empty category is the
    default route of its case kind."""

    case_kind = models.CharField(_("case kind"), max_length=20, choices=CaseKind.choices)
    category = models.CharField(_("category or type"), max_length=64, blank=True)
    title_ru = models.CharField(_("title (Russian)"), max_length=255)
    title_kk = models.CharField(_("title (Kazakh)"), max_length=255)
    total_working_days = models.PositiveSmallIntegerField(_("term, working days"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ("case_kind", "category")
        verbose_name = _("review route")
        verbose_name_plural = _("review routes")
        constraints = [
            models.UniqueConstraint(fields=("case_kind", "category"), name="bpms_route_kind_category_unique"),
            models.CheckConstraint(condition=Q(total_working_days__gt=0), name="bpms_route_term_positive"),
        ]

    def __str__(self):
        return self.title_ru


class DurationUnit(models.TextChoices):
    MINUTES = "minutes", _("minutes")
    HOURS = "hours", _("hours")
    WORKING_DAYS = "working_days", _("working days")


class ReviewRouteStep(models.Model):
    route = models.ForeignKey(ReviewRoute, on_delete=models.CASCADE, related_name="steps", verbose_name=_("route"))
    number = models.PositiveSmallIntegerField(_("number"))
    title_ru = models.CharField(_("title (Russian)"), max_length=500)
    title_kk = models.CharField(_("title (Kazakh)"), max_length=500)
    duration = models.PositiveIntegerField(_("duration"))
    unit = models.CharField(_("unit"), max_length=20, choices=DurationUnit.choices)

    class Meta:
        ordering = ("route", "number")
        verbose_name = _("route step")
        verbose_name_plural = _("route steps")
        constraints = [
            models.UniqueConstraint(fields=("route", "number"), name="bpms_route_step_number_unique"),
            models.CheckConstraint(condition=Q(duration__gt=0), name="bpms_route_step_duration_positive"),
        ]

    def __str__(self):
        return f"{self.number}. {self.title_ru}"

    def duration_kwargs(self) -> dict:
        if self.unit == DurationUnit.WORKING_DAYS:
            return {"days": self.duration}
        if self.unit == DurationUnit.HOURS:
            return {"hours": self.duration}
        return {"minutes": self.duration}
