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
    SUBSIDY = "subsidy", _("Subsidy application")


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


# --- Outbox to BPMS Simbase --------------------------------------------------------------------


class OutboxStatus(models.TextChoices):
    PENDING = "pending", _("pending")
    SENT = "sent", _("sent")
    DEAD = "dead", _("dead letter")


class OutboxMessage(models.Model):
    """One message to BPMS Simbase, written in the same transaction as the domain status change
    that caused it; sent by a Celery task, re-sent by the beat sweeper, retried with backoff."""

    case_kind = models.CharField(_("case kind"), max_length=20)
    case_id = models.CharField(_("case"), max_length=64, db_index=True)
    kind = models.CharField(_("message kind"), max_length=40)
    payload = models.JSONField(_("payload"), default=dict, blank=True)
    idempotency_key = models.CharField(_("idempotency key"), max_length=128, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=OutboxStatus.choices, default=OutboxStatus.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), db_index=True)
    last_error = models.TextField(_("last error"), blank=True)
    bpms_case_id = models.CharField(_("BPMS case"), max_length=64, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        ordering = ("-id",)
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        indexes = [models.Index(fields=("status", "next_attempt_at"), name="bpms_outbox_due_idx")]

    def __str__(self):
        return f"{self.case_kind}:{self.case_id} {self.kind}"


# --- Inbound: cases, the feed cursor and applied events -------------------------------------------


class BpmsCase(models.Model):
    """The bridge's view of one portal case in BPMS: its Simbase id, the last event applied
    (per-case sequence), the registration moment and the review deadline."""

    case_kind = models.CharField(_("case kind"), max_length=20)
    case_id = models.CharField(_("case"), max_length=64)
    bpms_case_id = models.CharField(_("BPMS case"), max_length=64, blank=True)
    last_case_seq = models.PositiveIntegerField(_("last applied event (per case)"), default=0)
    last_status = models.CharField(_("last status"), max_length=40, blank=True)
    registered_at = models.DateTimeField(_("registered at"), null=True, blank=True)
    deadline = models.DateTimeField(_("review deadline"), null=True, blank=True)
    finished = models.BooleanField(_("finished"), default=False)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ("-updated_at",)
        verbose_name = _("BPMS case")
        verbose_name_plural = _("BPMS cases")
        constraints = [models.UniqueConstraint(fields=("case_kind", "case_id"), name="bpms_case_kind_id_unique")]

    def __str__(self):
        return f"{self.case_kind}:{self.case_id}"


class EventOutcome(models.TextChoices):
    APPLIED = "applied", _("applied")
    FAILED = "failed", _("failed")
    UNKNOWN_KIND = "unknown_kind", _("unknown case kind")


class AppliedEvent(models.Model):
    """A BPMS event that was handled (once): the guard against repeats and the audit trail."""

    case = models.ForeignKey(BpmsCase, on_delete=models.CASCADE, related_name="events", verbose_name=_("case"))
    seq = models.BigIntegerField(_("feed sequence"), unique=True)
    case_seq = models.PositiveIntegerField(_("case sequence"))
    status = models.CharField(_("status"), max_length=40)
    occurred_at = models.DateTimeField(_("occurred at"))
    applied_at = models.DateTimeField(_("applied at"), auto_now_add=True)
    source = models.CharField(_("source"), max_length=10)
    outcome = models.CharField(_("outcome"), max_length=20, choices=EventOutcome.choices)
    error = models.TextField(_("error"), blank=True)
    documents = models.JSONField(_("documents"), default=list, blank=True)

    class Meta:
        ordering = ("case", "case_seq")
        verbose_name = _("applied BPMS event")
        verbose_name_plural = _("applied BPMS events")
        constraints = [models.UniqueConstraint(fields=("case", "case_seq"), name="bpms_event_case_seq_unique")]

    def __str__(self):
        return f"#{self.seq} {self.status}"


class FeedCursor(models.Model):
    """The last feed sequence acknowledged (everything up to it has been handled)."""

    name = models.CharField(max_length=40, unique=True)
    last_seq = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("feed cursor")
        verbose_name_plural = _("feed cursors")

    def __str__(self):
        return f"{self.name}: {self.last_seq}"
