from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.utils.translation import gettext_lazy as _

from .models import Contract, LegalEntityRecord, Notification, Organization, OutboundMessage, User


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("bin", "name_ru", "kind", "created_at")
    list_filter = ("kind",)
    search_fields = ("bin", "name_ru", "name_kk")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("username",)
    list_display = ("username", "surname", "name", "iin", "organization", "is_staff", "is_active")
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


@admin.register(OutboundMessage)
class OutboundMessageAdmin(admin.ModelAdmin):
    list_display = ("created_at", "channel", "recipient", "subject")
    list_filter = ("channel",)
    readonly_fields = [f.name for f in OutboundMessage._meta.fields]
