"""Writes of the organization domain."""

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from .models import Notification, Organization


def notification_create(
    *, organization: Organization, title_ru: str, title_kk: str, body_ru: str = "", body_kk: str = "", link: str = ""
) -> Notification:
    """A message to an organization; its e-mail copy is sent by a task once the row commits."""
    from .tasks import send_notification_email

    notification = Notification.objects.create(
        organization=organization, title_ru=title_ru, title_kk=title_kk, body_ru=body_ru, body_kk=body_kk, link=link
    )
    send_notification_email.delay_on_commit(notification.pk)
    return notification


def notification_send_email_copy(*, notification_id: int) -> None:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update().select_related("organization").filter(pk=notification_id).first()
        )
        if notification is None or notification.emailed_at is not None:
            return
        recipients = list(
            notification.organization.users.filter(is_active=True).exclude(email="").values_list("email", "language")
        )
        for email, language in recipients:
            title = notification.title_kk if language == "kk" else notification.title_ru
            body = notification.body_kk if language == "kk" else notification.body_ru
            link = f"{settings.PORTAL_BASE_URL}{notification.link}" if notification.link else ""
            send_mail(title, f"{body}\n\n{link}".strip(), None, [email])
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])
