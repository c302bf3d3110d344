"""KZhK staff: appeals with filters by status, type, category and date; categories and their
document lists; a status change that goes only through the transition table."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import pgettext_lazy

from audit.admin import ChainEntryColumnMixin, ChainStatusMixin

from . import services, transitions
from .models import (
    Appeal,
    AppealCategory,
    AppealFile,
    AppealHistory,
    AppealSignature,
    AppealStatus,
    CategoryDocument,
)


class CategoryDocumentInline(admin.TabularInline):
    model = CategoryDocument
    extra = 1
    fields = ("name_ru", "name_kk", "is_required", "sort_order")


@admin.register(AppealCategory)
class AppealCategoryAdmin(admin.ModelAdmin):
    list_display = ("name_ru", "name_kk", "contract_kind", "asks_values", "asks_justification", "is_other", "is_active",
                    "sort_order")
    list_filter = ("contract_kind", "is_active")
    list_editable = ("sort_order", "is_active")
    search_fields = ("name_ru", "name_kk", "code")
    inlines = [CategoryDocumentInline]

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.category_other_ensure()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        services.category_other_ensure()

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.category_other_ensure()


class AppealFileInline(admin.TabularInline):
    model = AppealFile
    extra = 0
    can_delete = False
    fields = ("document", "original_name", "size", "content_type", "uploaded_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class AppealHistoryInline(ChainEntryColumnMixin, admin.TabularInline):
    model = AppealHistory
    extra = 0
    can_delete = False
    fields = ("created_at", "event", "from_status", "status", "actor_name", "payload", "document_name", "chain_entry")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class AppealSignatureInline(admin.TabularInline):
    model = AppealSignature
    extra = 0
    can_delete = False
    fields = ("party", "round", "organization_name", "bin", "signer_name", "signature", "signed_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class TransitionForm(forms.Form):
    """What KZhK sends with a status; the service checks the table and the required data."""

    to = forms.ChoiceField(label=pgettext_lazy("appeals", "New status"))
    registration_number = forms.CharField(label=pgettext_lazy("appeals", "Registration number"), required=False)
    review_deadline = forms.DateField(label=pgettext_lazy("appeals", "Review deadline"), required=False,
                                      widget=forms.DateInput(attrs={"type": "date"}))
    executor_name = forms.CharField(label=pgettext_lazy("appeals", "Responsible executor"), required=False)
    internal_number = forms.CharField(label=pgettext_lazy("appeals", "Internal number"), required=False)
    revision_deadline = forms.DateField(label=pgettext_lazy("appeals", "Revision deadline"), required=False,
                                        widget=forms.DateInput(attrs={"type": "date"}))
    document = forms.FileField(label=pgettext_lazy("appeals", "Document (PDF)"), required=False)
    ds_number = forms.CharField(label=pgettext_lazy("appeals", "SA number"), required=False)
    ds_date = forms.DateField(label=pgettext_lazy("appeals", "SA date"), required=False,
                              widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, appeal, **kwargs):
        super().__init__(*args, **kwargs)
        targets = transitions.allowed_targets(appeal.status, transitions.Actor.STAFF)
        self.fields["to"].choices = [(t, AppealStatus(t).label) for t in targets]


@admin.register(Appeal)
class AppealAdmin(ChainStatusMixin, admin.ModelAdmin):
    list_display = ("__str__", "organization", "contract", "kind", "category", "status", "created_at", "sent_at",
                    "registered_at")
    list_filter = ("status", "kind", "category", ("created_at", admin.DateFieldListFilter),
                   ("registered_at", admin.DateFieldListFilter))
    search_fields = ("registration_number", "contract__number", "organization__bin", "organization__name_ru",
                     "public_id")
    list_select_related = ("organization", "contract", "category")
    date_hierarchy = "created_at"
    readonly_fields = (
        "public_id", "organization", "contract", "kind", "category", "status", "change_subject", "value_from",
        "value_to", "justification", "other_text", "created_by", "created_at", "updated_at", "sent_at",
        "registration_number", "registered_at", "review_deadline", "executor_name", "internal_number",
        "revision_deadline", "ds_number", "ds_date", "ds_file", "ds_signed_file", "last_bpms_seq", "transition_link",
        "chain_status",
    )
    exclude = ()
    inlines = [AppealFileInline, AppealHistoryInline, AppealSignatureInline]
    actions = ["change_status"]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=pgettext_lazy("appeals", "Change status"))
    def transition_link(self, obj):
        if obj is None or not transitions.allowed_targets(obj.status, transitions.Actor.STAFF):
            return "—"
        url = reverse("admin:appeals_appeal_transition", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, pgettext_lazy("appeals", "Change status"))

    @admin.action(description=pgettext_lazy("appeals", "Change status (by the transition table)"))
    def change_status(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, pgettext_lazy("appeals", "Choose exactly one appeal."), messages.WARNING)
            return None
        return redirect("admin:appeals_appeal_transition", queryset.get().pk)

    def get_urls(self):
        return [
            path("<int:pk>/transition/", self.admin_site.admin_view(self.transition_view),
                 name="appeals_appeal_transition"),
            *super().get_urls(),
        ]

    def transition_view(self, request, pk):
        if not self.has_change_permission(request):
            raise PermissionDenied
        appeal = get_object_or_404(Appeal.objects.select_related("contract", "organization", "category"), pk=pk)
        form = TransitionForm(request.POST or None, request.FILES or None, appeal=appeal)
        if request.method == "POST" and form.is_valid():
            data = {k: v for k, v in form.cleaned_data.items() if v not in (None, "")}
            to = data.pop("to")
            upload = data.pop("document", None)
            if upload is not None:
                data["document"] = services.Document(name=upload.name, content=upload.read(),
                                                     content_type=upload.content_type or "application/pdf")
            try:
                if to == AppealStatus.DS_SIGNED and data.get("ds_number"):
                    # KZhK's signature: the ДС is issued as a PAdES PDF with the KZhK stamp — on the
                    # worker, never in this request; the status changes when the document is made.
                    services.appeal_ds_sign_by_kzhk_request(
                        appeal=appeal, user=request.user, ds_number=data["ds_number"],
                        ds_date=data.get("ds_date") or timezone.localdate())
                    done = pgettext_lazy("appeals", "The document is being prepared… The status changes to «SA signed» "
                                                    "once it carries KZhK's signature.")
                else:
                    services.appeal_transition(appeal, to=to, actor=transitions.Actor.STAFF, actor_user=request.user,
                                               payload=data)
                    done = pgettext_lazy("appeals", "The status is changed.")
            except services.AppealError as exc:
                form.add_error(None, exc.message)
            else:
                self.message_user(request, done, messages.SUCCESS)
                return redirect("admin:appeals_appeal_change", appeal.pk)
        context = {
            **self.admin_site.each_context(request), "opts": self.model._meta, "appeal": appeal, "form": form,
            "title": pgettext_lazy("appeals", "Change status"),
        }
        return render(request, "admin/appeals/appeal/transition.html", context)
