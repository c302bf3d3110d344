import re

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from . import services
from .models import (
    Contract,
    FaqEntry,
    FaqGroup,
    LegalEntityRecord,
    Notification,
    OneTimeCode,
    Organization,
    OutboundMessage,
    RegistrationDraft,
    Survey,
    SurveyAnswer,
    SurveyChoice,
    SurveyQuestion,
    SurveyResponse,
    User,
)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("bin", "name_ru", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("bin", "name_ru", "name_kk")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("username",)
    list_display = ("username", "surname", "name", "iin", "organization", "is_staff", "is_active")
    list_select_related = ("organization",)
    list_filter = ("is_staff", "is_active")
    search_fields = ("username", "iin", "surname", "email", "organization__bin")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (_("Person"), {"fields": ("organization", "iin", "surname", "name", "patronymic", "email", "mobile", "language")}),
        (_("Access"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("username", "password1", "password2", "is_staff")}),)


@admin.register(LegalEntityRecord)
class LegalEntityRecordAdmin(admin.ModelAdmin):
    list_display = ("bin", "name_ru", "head_full_name", "registered_on")
    search_fields = ("bin", "name_ru", "name_kk")


@admin.register(Contract)
class ContractAdmin(admin.ModelAdmin):
    list_display = ("number", "signed_on", "kind", "organization", "developer", "is_active")
    list_filter = ("kind", "is_active")
    search_fields = ("number", "project_name", "organization__bin")
    list_select_related = ("organization", "developer")


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("title_ru", "organization", "created_at", "read_at")
    list_filter = ("read_at",)
    search_fields = ("title_ru", "organization__bin")
    list_select_related = ("organization",)
    autocomplete_fields = ("organization",)
    readonly_fields = ("read_at", "emailed_at")

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        # New notifications go through the service, so the e-mail copy is sent.
        created = services.notification_create(
            organization=obj.organization, title_ru=obj.title_ru, title_kk=obj.title_kk, body_ru=obj.body_ru,
            body_kk=obj.body_kk, link=obj.link,
        )
        obj.pk = created.pk
        obj.created_at = created.created_at


# A one-time code is 6 digits standing alone (BINs, IINs and phone numbers are longer).
ONE_TIME_CODE_RE = re.compile(r"(?<!\d)\d{6}(?!\d)")


def mask_codes(text: str) -> str:
    """The message as a moderator may read it: every one-time code replaced by dots."""
    return ONE_TIME_CODE_RE.sub("••••••", text or "")


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    """Messages kept by the dev backends (DEBUG or the staging opt-out): one-time codes are never
    shown here in clear; the dev outbox page (DEBUG only) is where a developer reads them."""

    list_display = ("created_at", "channel", "recipient", "subject")
    list_filter = ("channel",)
    exclude = ("body", "html_body")
    readonly_fields = ["channel", "recipient", "subject", "created_at", "masked_body", "masked_html_body"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("Text"))
    def masked_body(self, obj):
        return mask_codes(obj.body)

    @admin.display(description=_("HTML"))
    def masked_html_body(self, obj):
        return mask_codes(obj.html_body)


class SurveyChoiceInline(admin.TabularInline):
    model = SurveyChoice
    extra = 2


@admin.register(SurveyQuestion)
class SurveyQuestionAdmin(admin.ModelAdmin):
    list_display = ("text_ru", "survey", "kind", "position", "required")
    list_select_related = ("survey",)
    list_filter = ("survey", "kind")
    inlines = [SurveyChoiceInline]


class SurveyQuestionInline(admin.TabularInline):
    model = SurveyQuestion
    extra = 1
    show_change_link = True
    fields = ("position", "kind", "text_ru", "text_kk", "required")


@admin.register(Survey)
class SurveyAdmin(admin.ModelAdmin):
    list_display = ("title_ru", "is_published", "created_at")
    list_filter = ("is_published",)
    inlines = [SurveyQuestionInline]


class SurveyAnswerInline(admin.TabularInline):
    model = SurveyAnswer
    extra = 0
    can_delete = False
    fields = ("question", "text", "choices")
    readonly_fields = ("question", "text", "choices")

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SurveyResponse)
class SurveyResponseAdmin(admin.ModelAdmin):
    list_display = ("survey", "organization", "user", "submitted_at")
    list_filter = ("survey",)
    search_fields = ("organization__bin", "organization__name_ru")
    list_select_related = ("survey", "organization", "user")
    readonly_fields = ("survey", "organization", "user", "submitted_at")
    inlines = [SurveyAnswerInline]

    def has_add_permission(self, request):
        return False


class FaqEntryInline(admin.StackedInline):
    model = FaqEntry
    extra = 1


@admin.register(FaqGroup)
class FaqGroupAdmin(admin.ModelAdmin):
    list_display = ("title_ru", "title_kk", "position")
    inlines = [FaqEntryInline]


@admin.register(RegistrationDraft)
class RegistrationDraftAdmin(admin.ModelAdmin):
    list_display = ("created_at", "bin", "iin", "step", "agreement_signed_at", "user")
    list_select_related = ("user",)
    list_filter = ("step",)
    search_fields = ("bin", "iin", "email")
    exclude = ("token",)
    readonly_fields = [f.name for f in RegistrationDraft._meta.fields if f.name != "token"]

    def has_add_permission(self, request):
        return False


@admin.register(OneTimeCode)
class OneTimeCodeAdmin(admin.ModelAdmin):
    list_display = ("created_at", "purpose", "channel", "recipient", "attempts", "used_at", "superseded")
    list_filter = ("purpose", "channel")
    exclude = ("code_hash", "context")
    readonly_fields = ("purpose", "channel", "recipient", "created_at", "expires_at", "attempts", "used_at", "superseded")

    def has_add_permission(self, request):
        return False
