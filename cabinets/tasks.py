from celery import shared_task

from . import services


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_notification_email(notification_id: int) -> None:
    """Sends the e-mail copy of a notification. Idempotent: a notification is mailed once."""
    services.notification_send_email_copy(notification_id=notification_id)


@shared_task(acks_late=True, reject_on_worker_lost=True)
def send_notification_emails(notification_ids: list[int]) -> None:
    """The e-mail copies of notifications written in bulk (the BPMS feed); each is mailed once."""
    for notification_id in notification_ids:
        services.notification_send_email_copy(notification_id=notification_id)


@shared_task
def purge_auth_records() -> None:
    """Daily: old one-time codes, login challenges and abandoned registrations."""
    services.auth_records_purge()
