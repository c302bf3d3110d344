"""The history chain in Django admin (issue #17): «Цепочка истории цела / нарушена» on each object
(appeals, applications: `chain_status` and the history inlines' per-entry column), the last
verifications and anchors (read-only), and the audit log export (CSV) by period and user for
KZhK's privacy officer."""

from __future__ import annotations

import csv
import datetime as dt

from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.http import StreamingHttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from . import chain, selectors
from .models import Anchor, ChainHead, Verification

INTACT = _("History chain intact")
BROKEN = _("History chain broken")


def _badge(ok: bool):
    return format_html('<strong style="color:{}">{}</strong>', "#1a7f37" if ok else "#c62828", INTACT if ok else BROKEN)


class ChainStatusMixin:
    """For a ModelAdmin of an object with a history: add "chain_status" to readonly_fields."""

    @admin.display(description=_("History chain"))
    def chain_status(self, obj):
        if obj is None or obj.pk is None:
            return "—"
        report = chain.verify_object(obj)
        if report.intact:
            return _badge(True)
        items = format_html_join("", "<li>{}</li>", ((str(p),) for p in report.problems[:20]))
        return format_html("{}<ul>{}</ul>", _badge(False), items)


class ChainEntryColumnMixin:
    """For a history inline: add "chain_entry" to fields/readonly_fields; one verification per
    object and request (inline instances live for one request)."""

    @admin.display(description=_("History chain"))
    def chain_entry(self, entry):
        if entry is None or entry.pk is None:
            return "—"
        cache = self.__dict__.setdefault("_chain_reports", {})
        key = (entry._meta.label, getattr(entry, f"{entry.OWNER_FIELD}_id"))
        if key not in cache:
            cache[key] = chain.verify_object(entry.owner).broken_entries()
        ok = (entry._meta.label, entry.pk) not in cache[key]
        return format_html('<span style="color:{}" title="{}">{}</span>', "#1a7f37" if ok else "#c62828",
                           entry.hash, "✓" if ok else "✗")


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ExportForm(forms.Form):
    date_from = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    date_to = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    user = forms.CharField(label=_("User (login or e-mail)"), required=False, max_length=150)

    def clean(self):
        data = super().clean()
        start, end = data.get("date_from"), data.get("date_to")
        if start and end and start > end:
            raise forms.ValidationError(_("The period ends before it starts."))
        if start and end and (end - start).days > 366:
            raise forms.ValidationError(_("Export at most one year at a time."))
        login = (data.get("user") or "").strip()
        if login:
            users = get_user_model().objects.filter(username=login) | get_user_model().objects.filter(email__iexact=login)
            user = users.first()
            if user is None:
                self.add_error("user", _("No such user."))
            data["user_obj"] = user
        return data


class _Echo:
    def write(self, value):
        return value


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdmin):
    list_display = ("finished_at", "verdict", "entries", "anchors", "problem_count")
    fields = ("started_at", "finished_at", "verdict", "entries", "anchors", "problem_list")
    readonly_fields = fields
    change_list_template = "audit/verification_changelist.html"

    @admin.display(description=_("History chain"))
    def verdict(self, obj):
        return _badge(obj.intact)

    @admin.display(description=_("Problems"))
    def problem_count(self, obj):
        return len(obj.problems)

    @admin.display(description=_("Problems"))
    def problem_list(self, obj):
        return format_html_join("", "<li>{} {}</li>", ((p.get("kind"), p.get("detail")) for p in obj.problems)) or "—"

    def changelist_view(self, request, extra_context=None):
        extra_context = extra_context or {}
        head = ChainHead.objects.filter(pk=1).first()
        last = chain.last_verification()
        extra_context.update(
            chain_head=head, last_anchor=Anchor.objects.order_by("-seq", "-pk").first(), last_verification=last,
            overall=_badge(last.intact) if last else _("Not verified yet"),
            export_url=reverse("admin:audit_history_export"),
            can_export=request.user.has_perm("audit.export_history"),
        )
        return super().changelist_view(request, extra_context=extra_context)

    def get_urls(self):
        return [path("export/", self.admin_site.admin_view(self.export_view), name="audit_history_export"),
                *super().get_urls()]

    def export_view(self, request):
        """The audit log (every history entry of every object) by period and user, as CSV."""
        if not request.user.has_perm("audit.export_history"):
            raise PermissionDenied
        form = ExportForm(request.GET or None)
        if request.GET and form.is_valid():
            tz = timezone.get_current_timezone()
            start = dt.datetime.combine(form.cleaned_data["date_from"], dt.time.min, tzinfo=tz)
            end = dt.datetime.combine(form.cleaned_data["date_to"] + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
            user = form.cleaned_data.get("user_obj")
            writer = csv.writer(_Echo())
            rows = selectors.audit_log_rows(start=start, end=end, user=user)
            response = StreamingHttpResponse((writer.writerow(r) for r in rows), content_type="text/csv; charset=utf-8")
            name = f"history-{form.cleaned_data['date_from']:%Y%m%d}-{form.cleaned_data['date_to']:%Y%m%d}.csv"
            response["Content-Disposition"] = f'attachment; filename="{name}"'
            return response
        context = {**self.admin_site.each_context(request), "title": _("Export the history log"), "form": form,
                   "opts": self.model._meta}
        return TemplateResponse(request, "audit/export.html", context)


@admin.register(Anchor)
class AnchorAdmin(ReadOnlyAdmin):
    list_display = ("seq", "head", "tsa_time", "created_at")
    fields = ("seq", "head", "tsa_time", "created_at")
    readonly_fields = fields
