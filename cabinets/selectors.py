"""Reads of the organization domain. Every read is scoped to an organization."""

from django.db.models import QuerySet

from .models import Contract, LegalEntityRecord, Notification, Organization


def unread_notification_count(*, organization: Organization) -> int:
    return Notification.objects.filter(organization=organization, read_at__isnull=True).count()


def contracts_of(*, organization: Organization, kind: str | None = None, active_only: bool = True) -> QuerySet[Contract]:
    qs = Contract.objects.filter(organization=organization)
    if kind:
        qs = qs.filter(kind=kind)
    if active_only:
        qs = qs.filter(is_active=True)
    return qs


def legal_entity_lookup(*, bin: str) -> LegalEntityRecord | None:  # noqa: A002
    """The state legal-entity registry (emulated by a table). One interface: a real client
    can replace this function."""
    return LegalEntityRecord.objects.filter(bin=bin).first()
