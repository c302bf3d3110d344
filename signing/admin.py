"""Read-only views of signing records for KZhK staff (signatures are evidence: never edited)."""

from django.contrib import admin

from audit.admin import ChainStatusMixin

from .models import QrSession, Signature, SignedDocument, SignedDocumentParty, SigningRequest


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PartyInline(admin.TabularInline):
    model = SignedDocumentParty
    fields = ("order", "bin", "organization_name", "expected_signer", "allowed_roles", "signature")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(SignedDocument)
class SignedDocumentAdmin(ChainStatusMixin, ReadOnlyAdmin):
    list_display = ("title_ru", "filename", "created_at")
    search_fields = ("title_ru", "parties__bin", "parties__organization_name")
    fields = ("public_id", "title_ru", "title_kk", "filename", "mime_type", "document_sha256", "created_at",
              "chain_status")
    readonly_fields = fields
    inlines = [PartyInline]


@admin.register(Signature)
class SignatureAdmin(ChainStatusMixin, ReadOnlyAdmin):
    list_display = ("signer_name", "signer_iin", "signer_bin", "organization_name", "method", "signed_at")
    list_filter = ("method",)
    search_fields = ("signer_name", "signer_iin", "signer_bin")
    fields = ("public_id", "signer_name", "signer_iin", "signer_bin", "organization_name", "roles", "method",
              "certificate_serial", "certificate_issuer", "certificate_not_after", "document_sha256", "signed_at",
              "signing_request", "signed_document", "chain_status", "chain_object", "chain_seq", "prev_hash", "hash")
    readonly_fields = fields


@admin.register(SigningRequest)
class SigningRequestAdmin(ReadOnlyAdmin):
    list_display = ("title_ru", "purpose", "status", "required_bin", "created_at", "expires_at")
    list_filter = ("status", "purpose")
    search_fields = ("title_ru", "required_bin")
    fields = ("public_id", "title_ru", "purpose", "status", "organization", "required_bin", "allowed_roles",
              "on_complete", "return_url", "created_at", "expires_at", "completed_at")
    readonly_fields = fields


@admin.register(QrSession)
class QrSessionAdmin(ReadOnlyAdmin):
    list_display = ("signing_request", "status", "created_at", "expires_at", "error")
    list_select_related = ("signing_request",)
    list_filter = ("status",)
    fields = ("signing_request", "status", "created_at", "expires_at", "api1_used_at", "api2_get_at", "api2_put_at",
              "error")
    readonly_fields = fields
