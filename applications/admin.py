"""KZhK moderators work here: the lists of documents and consents, the moderation queue, the
read-only application with its files and the checklist with «Есть замечания» / «Замечаний нет»."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from audit.admin import ChainEntryColumnMixin, ChainStatusMixin
from homeportal.uploads import private_file_response

from . import selectors, services
from .models import (
    Application,
    ApplicationFile,
    ApplicationHistory,
    ConsentType,
    DecisionDocument,
    DocumentType,
    ModerationReview,
    Status,
)


@admin.register(DocumentType)
class DocumentTypeAdmin(admin.ModelAdmin):
    list_display = ("name_ru", "stage", "required", "provider", "order", "is_active")
    list_editable = ("required", "provider", "order", "is_active")
    list_filter = ("stage", "provider", "required", "is_active")
    search_fields = ("name_ru", "name_kk")


@admin.register(ConsentType)
class ConsentTypeAdmin(admin.ModelAdmin):
    list_display = ("name_ru", "provider", "order", "is_active")
    list_editable = ("provider", "order", "is_active")
    list_filter = ("provider", "is_active")


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class FileInline(ReadOnlyInline):
    model = ApplicationFile
    fields = ("document_type", "download", "size", "content_type", "uploaded_at")
    readonly_fields = fields

    @admin.display(description=_("File"))
    def download(self, obj):
        url = reverse("admin:applications_application_file", args=[obj.application_id, obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.original_name)


class HistoryInline(ChainEntryColumnMixin, ReadOnlyInline):
    model = ApplicationHistory
    fields = ("created_at", "event", "status", "actor_name", "comment", "document_name", "chain_entry")
    readonly_fields = fields


class ReviewInline(ReadOnlyInline):
    model = ModerationReview
    fields = ("created_at", "decision", "moderator", "conclusion_pdf")
    readonly_fields = fields


class ModerationQueueFilter(admin.SimpleListFilter):
    title = _("Moderation queue")
    parameter_name = "queue"

    def lookups(self, request, model_admin):
        return [("now", _("Accepted, waiting for a moderator")), ("later", _("Queued until the next working day"))]

    def queryset(self, request, queryset):
        now = timezone.now()
        if self.value() == "now":
            return queryset.filter(status=Status.ON_MODERATION, moderation_opens_at__lte=now)
        if self.value() == "later":
            return queryset.filter(status=Status.ON_MODERATION, moderation_opens_at__gt=now)
        return queryset


@admin.register(Application)
class ApplicationAdmin(ChainStatusMixin, admin.ModelAdmin):
    list_display = ("project_name", "organization", "developer", "status", "moderation_opens_at", "created_at", "moderate_link")
    list_filter = (ModerationQueueFilter, "status", "moderation_opens_at", "created_at", "sent_at")
    search_fields = ("project_name", "organization__bin", "organization__name_ru", "developer_bin", "registration_number")
    date_hierarchy = "created_at"
    list_select_related = ("organization", "developer")
    ordering = ("moderation_opens_at", "-created_at")
    inlines = [FileInline, ReviewInline, HistoryInline]
    readonly_fields = (
        "public_id", "organization", "contract", "developer", "developer_bin", "status", "project_name", "form_data",
        "registration_number", "registered_at", "due_date", "moderation_opens_at", "sent_at", "created_at", "updated_at",
        "chain_status",
    )
    exclude = ("bpms_seq", "created_by", "data")

    @admin.display(description=_("Form data"))
    def form_data(self, obj):
        parts = []
        for title, rows in selectors.application_sections(obj):
            body = format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", rows)
            parts.append(format_html("<h4>{}</h4><table>{}</table>", title, body))
        return format_html_join("", "{}", ((p,) for p in parts))

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Moderation"))
    def moderate_link(self, obj):
        if obj.status != Status.ON_MODERATION:
            return "—"
        return format_html('<a class="button" href="{}">{}</a>',
                           reverse("admin:applications_application_moderate", args=[obj.pk]), _("Check"))

    def get_urls(self):
        return [
            path("<int:pk>/moderate/", self.admin_site.admin_view(self.moderate_view), name="applications_application_moderate"),
            path("<int:pk>/file/<int:file_id>/", self.admin_site.admin_view(self.file_view), name="applications_application_file"),
        ] + super().get_urls()

    def file_view(self, request, pk, file_id):
        if not self.has_view_permission(request):
            raise PermissionDenied
        f = get_object_or_404(ApplicationFile, application_id=pk, pk=file_id)
        return private_file_response(f.file, f.original_name, f.content_type)

    def checklist(self, application):
        """The service definition's checklist: every active document slot, then its checklist tabs."""
        return selectors.checklist(application)

    def moderate_view(self, request, pk):
        if not self.has_change_permission(request):
            raise PermissionDenied
        application = get_object_or_404(Application.objects.select_related("organization", "developer"), pk=pk)
        items = self.checklist(application)
        errors = []
        if request.method == "POST":
            decision = request.POST.get("decision")
            result = []
            for item in items:
                ok = request.POST.get(f"ok-{item['key']}") == "on"
                remark = (request.POST.get(f"remark-{item['key']}") or "").strip()[:2000]
                item.update(ok=ok, remark=remark)
                result.append({"name": item["name"], "ok": ok, "remark": remark})
            if decision == "ok" and not all(r["ok"] for r in result):
                errors.append(_("«No remarks» needs a tick at every item."))
            elif decision == "remarks" and not any(not r["ok"] and r["remark"] for r in result):
                errors.append(_("«There are remarks» needs at least one unticked item with a remark."))
            elif decision not in ("ok", "remarks"):
                errors.append(_("Choose a decision."))
            if not errors:
                try:
                    outcome = services.moderation_decide_request(application=application, moderator=request.user,
                                                                 items=result)
                except services.ApplicationError as exc:
                    errors.append(exc.message)
                else:
                    messages.success(request, _("The decision has been saved.") if outcome == "done" else _(
                        "The document is being prepared… The application goes to revision once the conclusion "
                        "carries KZhK's signature."))
                    return redirect("admin:applications_application_changelist")
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "application": application,
            "items": items, "errors": errors, "title": _("Checking the completeness of documents"),
            "readiness": selectors.application_readiness(application),
            "queued": bool(application.moderation_opens_at and application.moderation_opens_at > timezone.now()),
        }
        return TemplateResponse(request, "admin/applications/application/moderate.html", context)


@admin.register(DecisionDocument)
class DecisionDocumentAdmin(admin.ModelAdmin):
    list_display = ("title", "application", "kind", "state", "created_at")
    list_select_related = ("application",)
    list_filter = ("kind", "state")
    readonly_fields = ("signed_document",)
