from django.contrib import admin, messages
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from . import selectors, services
from .client import BpmsError
from .models import (
    AppliedEvent,
    BpmsCase,
    CalendarCorrection,
    EventOutcome,
    FeedCursor,
    OutboxMessage,
    OutboxStatus,
    ReviewRoute,
    ReviewRouteStep,
)


@admin.register(CalendarCorrection)
class CalendarCorrectionAdmin(admin.ModelAdmin):
    list_display = ("date", "is_working", "note")
    list_filter = ("is_working",)
    date_hierarchy = "date"
    search_fields = ("note",)


class ReviewRouteStepInline(admin.TabularInline):
    model = ReviewRouteStep
    extra = 0
    ordering = ("number",)


@admin.register(ReviewRoute)
class ReviewRouteAdmin(admin.ModelAdmin):
    list_display = ("title_ru", "case_kind", "category", "total_working_days", "is_active")
    list_filter = ("case_kind", "is_active")
    inlines = [ReviewRouteStepInline]


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ("id", "case_kind", "case_id", "kind", "status", "attempts", "next_attempt_at", "short_error", "sent_at")
    list_filter = ("status", "case_kind", "kind")
    search_fields = ("case_id", "idempotency_key", "bpms_case_id")
    readonly_fields = [f.name for f in OutboxMessage._meta.fields]
    actions = ["retry"]

    @admin.display(description=_("last error"))
    def short_error(self, obj):
        return obj.last_error[:80]

    @admin.action(description=_("Send again (dead letters and waiting messages)"))
    def retry(self, request, queryset):
        count = 0
        for message in queryset.exclude(status=OutboxStatus.SENT):
            services.outbox_retry(message=message)
            count += 1
        self.message_user(request, ngettext("%d message queued again.", "%d messages queued again.", count) % count, messages.SUCCESS)

    def has_add_permission(self, request):
        return False

    def changelist_view(self, request, extra_context=None):
        backlog = selectors.outbox_backlog()
        if backlog["pending"] or backlog["dead"]:
            hours = (backlog["oldest_pending_seconds"] or 0) / 3600
            self.message_user(request, _("Waiting for BPMS: %(pending)d, the oldest for %(hours).1f h; dead letters: "
                                         "%(dead)d.") % {**backlog, "hours": hours},
                              messages.WARNING if backlog["dead"] else messages.INFO)
        return super().changelist_view(request, extra_context)


class OverdueFilter(admin.SimpleListFilter):
    title = _("overdue")
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", _("Overdue")), ("no", _("On time"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "yes":
            return queryset.filter(finished=False, deadline__lte=now)
        if self.value() == "no":
            return queryset.exclude(finished=False, deadline__lte=now)
        return queryset


class AppliedEventInline(admin.TabularInline):
    model = AppliedEvent
    extra = 0
    can_delete = False
    fields = ("case_seq", "seq", "status", "occurred_at", "applied_at", "source", "outcome", "error")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(BpmsCase)
class BpmsCaseAdmin(admin.ModelAdmin):
    list_display = ("case_kind", "case_id", "bpms_case_id", "last_status", "registered_at", "deadline", "is_overdue", "updated_at")
    list_display_links = ("case_id",)
    list_filter = (OverdueFilter, "case_kind", "finished")
    search_fields = ("case_id", "bpms_case_id")
    readonly_fields = [f.name for f in BpmsCase._meta.fields]
    inlines = [AppliedEventInline]

    @admin.display(description=_("overdue"), boolean=True)
    def is_overdue(self, obj):
        from .selectors import is_overdue

        return is_overdue(deadline=obj.deadline, now=timezone.now(), finished=obj.finished)

    def has_add_permission(self, request):
        return False


@admin.register(AppliedEvent)
class AppliedEventAdmin(admin.ModelAdmin):
    list_display = ("seq", "case", "case_seq", "status", "outcome", "source", "occurred_at", "applied_at", "short_error")
    list_filter = ("outcome", "source")
    search_fields = ("case__case_id", "status")
    list_select_related = ("case",)
    readonly_fields = [f.name for f in AppliedEvent._meta.fields]
    actions = ["reapply"]

    @admin.display(description=_("error"))
    def short_error(self, obj):
        return obj.error[:80]

    @admin.action(description=_("Apply again from BPMS (events the portal refused)"))
    def reapply(self, request, queryset):
        applied = still_failed = 0
        for event in queryset.exclude(outcome=EventOutcome.APPLIED).select_related("case").order_by("seq"):
            try:
                outcome = services.event_reapply(applied_event=event)
            except (services.BridgeError, BpmsError) as exc:
                self.message_user(request, _("Event %(seq)s: %(error)s") % {"seq": event.seq, "error": exc}, messages.ERROR)
                continue
            if outcome == EventOutcome.APPLIED:
                applied += 1
            else:
                still_failed += 1
        self.message_user(request, _("Applied: %(applied)d, still refused: %(failed)d.") % {"applied": applied, "failed": still_failed},
                          messages.SUCCESS if not still_failed else messages.WARNING)

    def has_add_permission(self, request):
        return False


@admin.register(FeedCursor)
class FeedCursorAdmin(admin.ModelAdmin):
    list_display = ("name", "last_seq", "updated_at")
